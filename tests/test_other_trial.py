"""The whole book on a trial named otherwise (issue 15's acceptance): HAMD
(0-52) instead of MADRS, arms ``drug`` and ``placebo``, a baseline visit
``week0`` and weekly visits over 8 weeks, described by its ``dataset.json``
(``tests/other_trial.py``). At test size every chapter runs, the book renders
and passes check-book, and what the chapters show about these data is in the
data's names. The data come as real data would: ``dataset.json`` does not
call them synthetic, and the participants' identifiers are the kind no book
may show (the book has no synthetic-data banner and shows no identifier)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from other_trial import write_hamd_trial

from conftest import TINY_BOOK, book_text, cli, make_project

pytestmark = pytest.mark.slow
THIS_TRIALS_WORDS = re.compile(r"(?<![\w-])(MADRS|[Kk]etamine|[Ss]aline)(?![\w-])")
# chapters about this trial's own design and studies, whatever the data: the design sensitivity of the
# published trial (simulated from its twin) and the external validation on Beat the Blues
ABOUT_THIS_TRIAL = {"10-design-sensitivity", "09-external-validation"}
WEEKS = [f"week{k}" for k in range(1, 9)]


def as_real_data(data: Path) -> Path:
    """``data`` as a trial's own data would come: not marked synthetic, and
    the participants' identifiers replaced by ones that must stay private."""
    metadata = json.loads((data / "dataset.json").read_text(encoding="utf-8"))
    real = {"study": metadata["study"], "description": "A trial's own data (here the renamed twin, posing as real)."}
    (data / "dataset.json").write_text(json.dumps(real, indent=2) + "\n", encoding="utf-8")
    for table in ("participants", "measurements"):
        frame = pd.read_csv(data / f"{table}.csv", dtype=str, keep_default_na=False)
        frame["participant_id"] = frame["participant_id"].str.replace("P", "SECRETID-", regex=False)
        frame.to_csv(data / f"{table}.csv", index=False, lineterminator="\n")
    return data


@pytest.fixture(scope="module")
def hamd_book(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("other-trial"))
    data = as_real_data(write_hamd_trial(root / "data" / "hamd"))
    ran = cli(root, "run", "--data", str(data), *TINY_BOOK)
    assert ran.returncode == 0, ran.stderr
    rendered = cli(root, "render")
    assert rendered.returncode == 0, rendered.stderr
    return root


def shown(notebook) -> str:
    """What the chapter's code cells showed (Markdown outputs: sentences and tables)."""
    return "\n".join(o.get("data", {}).get("text/markdown", "") for c in notebook.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_the_whole_book_builds_and_passes_its_checks(hamd_book):
    checked = cli(hamd_book, "check-book")
    assert checked.returncode == 0, checked.stderr
    assert len(list((hamd_book / "_build" / "notebooks").glob("*.ipynb"))) == 12


def test_real_data_show_no_banner_and_no_participant_ids(hamd_book):
    """What check-book cannot see (it runs in the test above, and for real data also finds no banner and the
    data folder's path nowhere): the identifiers in the PDF's text too, and the index's words for real data."""
    html, pdf = book_text(hamd_book)
    assert "SECRETID" not in html and "SECRETID" not in pdf
    assert "synthetic-banner" not in html and "SYNTHETIC" not in pdf
    assert "real trial data" in html


def test_the_chapters_show_these_data_in_their_own_names(hamd_book):
    notebooks = {p.stem: nbformat.read(p, 4) for p in sorted((hamd_book / "_build" / "notebooks").glob("*.ipynb"))}
    for stem, notebook in notebooks.items():
        if stem in ABOUT_THIS_TRIAL:
            continue
        leaks = sorted({m.group(0) for m in THIS_TRIALS_WORDS.finditer(shown(notebook))})
        assert not leaks, f"{stem} shows {leaks}"
    for stem in ("02-nif-trajectories", "03-coupling", "04-baseline-prediction"):
        prose = "\n".join(c.source for c in notebooks[stem].cells if c.cell_type == "markdown")
        assert "HAMD" in prose or stem == "02-nif-trajectories", stem
        assert "drug" in prose and "placebo" in prose, stem
        assert not THIS_TRIALS_WORDS.search(prose), f"{stem}: {THIS_TRIALS_WORDS.search(prose).group(0)}"
    summary = shown(notebooks["index"])
    assert "Did drug lower depression scores (HAMD) more than placebo?" in summary
    assert "It holds 20 participants (12 drug, 8 placebo), rated at 9 visits (week0, week1" in summary
    assert "drug participants improved by" in shown(notebooks["03-coupling"])
    assert "**The outcome's priors are this trial's.**" in shown(notebooks["03-coupling"])
    assert "these data's outcome, HAMD (0 to 52), uses them as they stand" in summary
    assert "The subgroup parameter file also defines 1 split by a covariate these data do not hold: training" in shown(notebooks["01-data"])
    html = (hamd_book / "_book" / "03-coupling.html").read_text(encoding="utf-8")
    assert "HAMD" in html and "placebo" in html


def test_the_estimates_are_per_week_under_the_registered_names(hamd_book):
    outputs = hamd_book / "_build" / "outputs"
    ratios = pd.read_csv(outputs / "02-nif-trajectories" / "estimates.csv")
    assert sorted(set(ratios["visit"]), key=WEEKS.index) == WEEKS
    coupling = pd.read_csv(outputs / "03-coupling" / "estimates.csv")
    assert {"madrs_change_difference", "coupling_within_ketamine", "coupling_within_saline"} <= set(coupling["estimand"])
    outcome = coupling[coupling["estimand"] == "madrs_change_difference"]
    assert set(outcome["visit"]) == set(WEEKS) and set(outcome["marker"]) == {"HAMD"}
