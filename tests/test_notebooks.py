"""The notebook sources follow the project's conventions: a Jupytext py:percent
file with a kernelspec, a question first, a parameters cell that Papermill reads
completely, and a parameter file whose keys the notebook knows."""

from __future__ import annotations

import ast

import jupytext
import pytest
import yaml

from ketamine_nif.render.convert import cell_options
from ketamine_nif.runner import book_jobs, notebook_parameters, to_notebook

JOBS = book_jobs()


@pytest.mark.parametrize("job", JOBS, ids=[j.stem for j in JOBS])
def test_notebook_source_conventions(job):
    notebook = jupytext.read(job.source)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    parameter_cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameter_cells) == 1
    assigned = {t.id for node in ast.parse(parameter_cells[0].source).body for t in node.targets}
    assert {"data_dir", "output_dir"} <= assigned
    # Papermill must read every assignment (comments with quotes or '=' can hide one)
    assert notebook_parameters(to_notebook(job)) == assigned
    if job.params_file.exists():
        assert set(yaml.safe_load(job.params_file.read_text()) or {}) <= assigned


@pytest.mark.parametrize("job", JOBS, ids=[j.stem for j in JOBS])
def test_labels_are_kebab_case_with_captions(job):
    for cell in jupytext.read(job.source).cells:
        if cell.cell_type != "code":
            continue
        options, _ = cell_options(cell.source)
        label = str(options.get("label", ""))
        if label.startswith("fig-"):
            assert "fig-cap" in options and "fig-alt" in options
        if label.startswith("tbl-"):
            assert "tbl-cap" in options
        assert "_" not in label
