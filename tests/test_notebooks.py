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


MAX_CELL_LINES = 15  # a code cell longer than this belongs in lib/ (the parameters cell excepted)


@pytest.mark.parametrize("job", JOBS, ids=[j.stem for j in JOBS])
def test_code_cells_are_short_and_build_no_figure(job):
    """Every code cell but the parameters cell has at most MAX_CELL_LINES
    non-blank lines (cell options included); figures come from ``plotting``
    (a cell may only show them)."""
    for cell in jupytext.read(job.source).cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        lines = [line for line in cell.source.splitlines() if line.strip()]
        assert len(lines) <= MAX_CELL_LINES, f"{job.stem}: a code cell of {len(lines)} lines:\n{cell.source}"
        assert not any(call in cell.source for call in ("plt.subplots", "plt.figure", "ax.", "axes[", ".axvspan")), \
            f"{job.stem}: a figure built in the notebook:\n{cell.source}"
