"""End to end: the book's notebooks run through the command line on a small
twin, in a copy of the project, and render into the book; unchanged notebooks
are not re-executed; real data leave no ids and no banner; a notebook reruns
with new parameters; failures name the cell and keep the partial output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from conftest import BIN, TINY, TINY_BOOK, book_text, cli, make_project
from ketamine_nif import estimates
from ketamine_nif.runner import run_settings

pytestmark = pytest.mark.slow


def chapter_count(root: Path) -> int:
    """How many chapters the project's _quarto.yml lists (chapters are added over time)."""
    return len(yaml.safe_load((root / "_quarto.yml").read_text())["book"]["chapters"])


@pytest.fixture(scope="module")
def project(built_book):
    """The book built at test size (conftest.built_book, shared with the browser and summary tests)."""
    return built_book


def test_book_is_built_from_executed_notebooks(project):
    root, first, rendered = project
    n = chapter_count(root)
    assert f"{n} executed, 0 unchanged" in first.stdout
    assert re.search(rf"\[\d+/{n}\] 01-data: done in", first.stdout)
    assert (root / "_book" / "index.html").exists() and (root / "_book" / "01-data.html").exists()
    assert (root / "_book" / "ketamine-nif-reanalysis.pdf").exists()
    assert "HTML:" in rendered.stdout and "PDF:" in rendered.stdout
    html, pdf = book_text(root)
    assert html.count('class="synthetic-banner"') == n
    assert "Figure 1.1: MADRS by days since the infusion" in html and "Table 1.1: What was read" in html
    assert not re.search(r"[?]?@(fig|tbl|sec)-", html) and "#|" not in html
    assert "The data" in pdf and "Contents" in pdf and "Figure 1.2" in pdf
    outputs = root / "_build" / "outputs" / "01-data"
    assert {"validation.csv", "flow.csv", "baseline.csv", "subgroups.csv"} <= {p.name for p in outputs.iterdir()}
    for stem in ("02-nif-trajectories", "03-coupling", "04-baseline-prediction"):
        table = pd.read_csv(root / "_build" / "outputs" / stem / "estimates.csv")
        assert list(table.columns) == estimates.COLUMNS and len(table) > 0
        assert not table["converged"].any()  # 2 chains x 60 draws cannot pass the checks ...
        assert json.loads((root / "_build" / "outputs" / stem / "diagnostics.json").read_text())
        page = (root / "_book" / f"{stem}.html").read_text()
        assert "Convergence checks failed" in page and "No answer is given" in page  # ... and the chapter says so
    run_log = json.loads((root / "_build" / "run-log.json").read_text())
    assert run_log["01-data"]["threads"]["OMP_NUM_THREADS"] == "1"


def test_check_book_passes_on_the_built_book(project):
    """The offline book at test size: every rule of check-book holds (layout,
    links, offline math, no stderr, no machine paths, alt text, banner, PDF)."""
    root, _, _ = project
    result = cli(root, "check-book")
    assert result.returncode == 0, result.stderr
    assert f"passes every check ({chapter_count(root)} pages" in result.stdout


def test_second_run_reuses_unchanged_notebooks(project, tmp_path):
    root = tmp_path / "copy"  # it edits the book's sources: on a copy, as the shared book is read by other tests at once
    shutil.copytree(project[0], root, symlinks=True)
    again = cli(root, "run", *TINY_BOOK)
    assert again.returncode == 0, again.stderr
    n = chapter_count(root)
    assert f"0 executed, {n} unchanged" in again.stdout
    # a comment in a parameter file changes no parameter, so nothing runs
    (root / "params" / "01-data.yaml").write_text("subgroups_file: params/subgroups.yaml\n# edited\n")
    assert f"0 executed, {n} unchanged" in cli(root, "run", *TINY_BOOK).stdout
    # a changed source re-executes only its notebook, and the notebooks that report run times (the appendix)
    (root / "notebooks" / "01-data.py").write_text((root / "notebooks" / "01-data.py").read_text() + "\n# %%\n1\n")
    changed = cli(root, "run", *TINY_BOOK)
    followers = sum("run-log" in (run_settings(p).get("reads") or []) for p in (root / "notebooks").glob("*.py"))
    assert f"{1 + followers} executed, {n - 1 - followers} unchanged" in changed.stdout
    assert "01-data: done in" in changed.stdout


def test_notebook_reruns_with_new_parameters(project, tmp_path):
    root, _, _ = project
    splits = tmp_path / "two-splits.yaml"
    splits.write_text(
        "splits:\n  - {name: bmi, covariate: bmi, rule: threshold, value: 30, labels: ['BMI < 30', 'BMI >= 30']}\n"
        "  - {name: sex, covariate: sex, rule: category, level: female, labels: [female, male]}\n"
    )
    out = tmp_path / "runs" / "01-data.ipynb"
    result = cli(root, "run", "01-data", "--out", str(out), "-p", f"subgroups_file={splits}")
    assert result.returncode == 0, result.stderr
    counts = pd.read_csv(tmp_path / "runs" / "01-data-outputs" / "subgroups.csv")
    assert set(counts["subgroup"]) == {"BMI < 30", "BMI >= 30", "female", "male"}
    injected = [c for c in nbformat.read(out, 4).cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert str(splits) in injected[0].source

    # the same through Jupytext and Papermill directly (the README's one-liner)
    direct = tmp_path / "direct.ipynb"
    command = (
        f"{BIN}/jupytext --to ipynb -o - notebooks/01-data.py | "
        f"{BIN}/papermill - {direct} -p data_dir data/synthetic -p output_dir {tmp_path / 'direct-out'} -p subgroups_file {splits}"
    )
    piped = subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert set(pd.read_csv(tmp_path / "direct-out" / "subgroups.csv")["subgroup"]) == {"BMI < 30", "BMI >= 30", "female", "male"}


def test_unknown_parameter_is_refused(tmp_path):
    root = make_project(tmp_path / "project")  # a run that stops at once still writes in its project: not the shared book
    result = cli(root, "run", "-p", "no_such_knob=1")
    assert result.returncode == 1
    assert "unknown parameter(s) no_such_knob" in result.stderr and "Traceback" not in result.stderr


def test_failed_notebook_names_the_cell_and_keeps_partial_output(project, tmp_path):
    root, _, _ = project
    out = tmp_path / "failed.ipynb"
    result = cli(root, "run", "01-data", "--out", str(out), "-p", "subgroups_file=params/missing.yaml")
    assert result.returncode == 1
    assert "01-data failed in cell" in result.stderr and "SubgroupError" in result.stderr
    assert "Traceback" not in result.stderr
    notebook = nbformat.read(out, 4)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0]["ename"] == "SubgroupError"
    assert any(o.get("data", {}).get("text/markdown", "").startswith("| item") for c in notebook.cells for o in c.get("outputs", []))


def test_bad_data_stop_the_run_before_any_notebook(tmp_path):
    root = make_project(tmp_path / "project")
    bad = tmp_path / "bad"
    shutil.copytree(root / "data" / "synthetic", bad)
    p = pd.read_csv(bad / "participants.csv", dtype=str, keep_default_na=False)
    p.loc[0, "arm"] = "placebo"
    p.to_csv(bad / "participants.csv", index=False)
    result = cli(root, "run", "--data", str(bad))
    assert result.returncode == 2
    assert "rule 'arm-known'" in result.stderr and "executing" not in result.stdout


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    return {str(f.relative_to(root)): (f.stat().st_size, f.stat().st_mtime_ns) for f in root.rglob("*") if f.is_file()}


def test_a_run_with_out_writes_nothing_in_a_read_only_project(tmp_path):
    root = make_project(tmp_path / "project")
    before = tree(root)
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        out = tmp_path / "mine" / "01-data.ipynb"
        result = cli(root, "run", "01-data", "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "mine" / "01-data-outputs" / "subgroups.csv").exists()
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert tree(root) == before and not (root / "_build").exists()


def test_one_aim_reruns_on_one_marker_with_another_sampler(project, tmp_path):
    """The README's one-liner: aim 1, IL-6 only, numpyro, into a folder of one's own."""
    root, _, _ = project
    out = tmp_path / "il6" / "02-nif-trajectories.ipynb"
    before = tree(root)
    result = cli(root, "run", "02-nif-trajectories", "--out", str(out), "-p", 'markers=["IL-6"]', "-p", "sampler=numpyro", *TINY)
    assert result.returncode == 0, result.stderr
    assert tree(root) == before  # nothing written in the project: the notebook, its caches and outputs are under il6/
    table = pd.read_csv(tmp_path / "il6" / "02-nif-trajectories-outputs" / "estimates.csv")
    assert set(table["marker"]) == {"IL-6"} and len(table) == 3
    diagnostics = json.loads((tmp_path / "il6" / "02-nif-trajectories-outputs" / "diagnostics.json").read_text())
    assert diagnostics["nif-trajectories"]["sampler"] == "numpyro"
