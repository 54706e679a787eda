"""Notebooks executed side by side (``ketamine-nif run --jobs N``): each starts
once the notebooks it depends on are done (the outputs it lists under
``inputs``; every chapter for a ``run: last`` notebook), and independent ones
overlap. Checked on a book of small notebooks that record when they ran."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import cli, make_project
from ketamine_nif import runner

CHAPTER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   ketamine-nif:
{header}
# ---

# %% tags=["parameters"]
data_dir = ""
output_dir = ""
fail = False

# %%
import json
import time
from pathlib import Path

started = time.time()
time.sleep({sleep})
if fail:
    raise RuntimeError("planted failure")
Path(output_dir).mkdir(parents=True, exist_ok=True)
(Path(output_dir) / "times.json").write_text(json.dumps([started, time.time()]))
"""

BOOK = {  # stem: (header lines, seconds asleep)
    "index": (["#     run: last", "#     reads: [times.json]"], 0),
    "a": (["#     inputs: []"], 6),
    "b": (["#     inputs: []"], 6),
    "c": (["#     inputs: [_build/outputs/a/times.json]"], 1),
}


@pytest.fixture(scope="module")
def small_book(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("scheduling"))
    shutil.rmtree(root / "notebooks")
    shutil.rmtree(root / "params")
    (root / "notebooks").mkdir()
    (root / "params").mkdir()
    shutil.copy(runner.ANALYSIS_CONFIG, root / "params" / "analysis.yaml")
    for stem, (header, sleep) in BOOK.items():
        (root / "notebooks" / f"{stem}.py").write_text(CHAPTER.format(header="\n".join(header), sleep=sleep))
    (root / "_quarto.yml").write_text("project:\n  type: book\nbook:\n  chapters:\n"
                                      + "".join(f"    - {stem}.ipynb\n" for stem in BOOK))
    return root


def _times(root) -> dict[str, tuple[float, float]]:
    return {stem: tuple(json.loads((root / "_build" / "outputs" / stem / "times.json").read_text())) for stem in BOOK}


@pytest.mark.slow
def test_independent_notebooks_overlap_and_dependent_ones_wait(small_book):
    result = cli(small_book, "run", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    times = _times(small_book)
    (a0, a1), (b0, b1), (c0, c1), (i0, _) = (times[s] for s in ("a", "b", "c", "index"))
    assert a0 < b1 and b0 < a1, "a and b, independent, did not run side by side"
    assert c0 >= a1, "c read a's output before a wrote it"
    assert i0 >= max(a1, b1, c1), "the summary started before the chapters it reads were done"
    log = json.loads((small_book / "_build" / "run-log.json").read_text())
    assert set(log) == set(BOOK) and all(r["status"] == "executed" for r in log.values())

    again = cli(small_book, "run", "--jobs", "2")
    assert "notebooks: 0 executed, 4 unchanged" in again.stdout, again.stdout


@pytest.mark.slow
def test_a_failure_lets_running_notebooks_finish_and_starts_no_more(small_book):
    result = cli(small_book, "run", "--jobs", "2", "--force", "-p", "fail=true")
    assert result.returncode != 0
    assert "failed in cell" in result.stderr and "planted failure" in result.stderr
    assert "] a: executing" in result.stdout and "] b: executing" in result.stdout  # side by side, both planted to fail
    assert "] c: executing" not in result.stdout and "] index: executing" not in result.stdout  # nothing started after
    assert not any((small_book / "_build" / "cache" / f"{stem}.key").exists() for stem in ("a", "b"))


def test_prerequisites_of_the_book():
    jobs = runner.execution_order(runner.book_jobs())
    needs = {job.stem: runner.prerequisites(job, jobs) for job in jobs}
    chapters = {job.stem for job in jobs if not job.runs_last}
    assert needs["01-data"] == set() and needs["02-nif-trajectories"] == set()
    assert needs["05-subgroups"] == {"02-nif-trajectories"}  # it imputes from chapter 02's posterior
    assert needs["06-evidence-for-absence"] == {"02-nif-trajectories", "03-coupling", "04-baseline-prediction"}
    assert needs["index"] == chapters and needs["appendix"] == chapters | {"index"}


@pytest.mark.slow
def test_notebooks_that_wait_for_each_other_are_refused(small_book, tmp_path):
    root = tmp_path / "cycle"
    shutil.copytree(small_book, root)
    source = root / "notebooks" / "a.py"
    source.write_text(source.read_text().replace("inputs: []", "inputs: [_build/outputs/c/times.json]"))
    result = cli(root, "run", "--jobs", "2", "--force")
    assert result.returncode != 0
    assert "these notebooks cannot start" in result.stderr and "a, c" in result.stderr
    assert "executing" not in result.stdout  # refused before any notebook ran
