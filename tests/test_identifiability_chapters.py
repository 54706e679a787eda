"""End to end: chapters run on data that cannot inform some estimands show a
callout naming them and why, and leave them out of estimates.csv (the rules
themselves: tests/test_identifiability.py)."""

from __future__ import annotations

import shutil

import nbformat
import pandas as pd
import pytest
from test_identifiability import no_baseline, one_arm

from conftest import TINY, cli, make_project, read, write
from ketamine_nif.estimands import BASELINE_MODERATION_DIFFERENCE, COUPLING_WITHIN, NIF_CHANGE_RATIO

pytestmark = pytest.mark.slow
MARKERS = ["-p", 'markers=["IL-6", "CRP"]']


def run(tmp_path, chapter: str, corrupt) -> tuple[pd.DataFrame, str]:
    """``chapter`` at test size on the twin changed by ``corrupt``: its estimates and its markdown output."""
    root = make_project(tmp_path / "project")
    data = tmp_path / "data"
    shutil.copytree(root / "data" / "synthetic", data)
    (data / "truth.csv").unlink()
    corrupt(data)
    out = tmp_path / "run" / f"{chapter}.ipynb"
    result = cli(root, "run", chapter, "--data", str(data), "--out", str(out), *MARKERS, *TINY)
    assert result.returncode == 0, result.stderr
    text = "\n".join(o.get("data", {}).get("text/markdown", "") for c in nbformat.read(out, 4).cells
                     if c.cell_type == "code" for o in c.get("outputs", []))
    return pd.read_csv(tmp_path / "run" / f"{chapter}-outputs" / "estimates.csv"), text


def test_one_arm_reports_no_arm_difference_and_no_coupling_of_the_missing_arm(tmp_path):
    table, text = run(tmp_path, "03-coupling", one_arm)
    assert set(table["estimand"]) == {COUPLING_WITHIN["ketamine"]}
    assert set(table["marker"]) == {"IL-6", "CRP"}
    assert '::: {.callout-warning title="Not reported: estimates these data cannot inform"}' in text
    assert "- **MADRS change, ketamine - saline**: the saline arm has 0 participants with MADRS at baseline and at 24h" in text
    assert "- **coupling, saline arm** for IL-6 and CRP: the saline arm has 0 participants" in text
    assert "- **coupling, ketamine - saline** for IL-6 and CRP: the saline arm has 0 participants" in text
    assert "**No answer is given**: these data hold too little to inform the arm difference in MADRS" in text
    assert "ketamine participants improved by" not in text


def test_a_marker_missing_at_baseline_loses_its_ratios_only(tmp_path):
    table, text = run(tmp_path, "02-nif-trajectories", no_baseline)
    assert set(table["estimand"]) == {NIF_CHANGE_RATIO}
    assert set(table["marker"]) == {"CRP"} and len(table) == 3
    assert ("- **NIF change, ketamine / saline** for IL-6: the marker is measured at baseline in 0 participants "
            "(at least 3 needed), and the models anchor each marker's course at its baseline level: it is left out of the fits.") in text
    assert "CRP" not in text.split("Not reported")[1].split(":::")[0]


def wholly_censored_at_baseline(data_dir, marker="IL-6"):
    """Every baseline sample of one marker under its detection limit (later ones kept)."""
    rows = read(data_dir, "measurements")
    base = (rows["measure"] == marker) & (rows["visit"] == "baseline") & (rows["value"] != "")
    rows.loc[base, "value"], rows.loc[base, "below_lod"] = "", "true"
    write(rows, data_dir, "measurements")


def test_a_marker_wholly_under_its_limit_at_baseline_is_left_out_of_the_moderation_model(tmp_path):
    """Chapter 04 runs without it, and its callout says why."""
    table, text = run(tmp_path, "04-baseline-prediction", wholly_censored_at_baseline)
    assert set(table["estimand"]) == {BASELINE_MODERATION_DIFFERENCE}
    assert set(table["marker"]) == {"CRP"} and len(table) == 3
    assert ("- **baseline NIF as moderator** for IL-6: none of the marker's values at baseline is above the detection "
            "limit (at least 3 needed to set its SD across participants, the unit of a moderation): it is left out of the "
            "baseline-prediction model.") in text
