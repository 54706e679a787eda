"""A trial of the same shape as this one, named otherwise (for the tests of
issue 15): a HAMD outcome (0-52), arms ``drug`` and ``placebo``, a baseline
visit ``week0`` and weekly visits over 8 weeks, described by the ``study``
block of its ``dataset.json`` (with the markers' units). Made from the synthetic twin with a weekly
schedule, then renamed; no covariate of the parent trial's training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ketamine_nif.twin import load_scenario, simulate

WEEKS = 8
UNITS = {"BDNF": "ng/mL", "IL-6": "pg/mL", "IL-1RA": "pg/mL", "TNF-alpha": "pg/mL", "IL-8": "pg/mL", "IL-10": "pg/mL",
         "CRP": "mg/L"}
STUDY = {"outcome": {"name": "HAMD", "range": [0, 52], "title": "Hamilton Depression Rating Scale"},
         "arms": {"treatment": "drug", "reference": "placebo"}, "baseline": "week0", "markers": UNITS}
HAMD_PER_MADRS = 52 / 60


def weekly_scenario(n_treated: int = 12, n_reference: int = 8) -> dict:
    """The twin's paper-null scenario on a weekly schedule: the placebo arm improves steadily, the drug arm a
    little more from week 2."""
    weeks = [f"week{k}" for k in range(1, WEEKS + 1)]
    scenario = load_scenario("paper-null", overrides={"design": {"n_ketamine": n_treated, "n_saline": n_reference}})
    scenario["schedule"] = ([{"visit": "baseline", "hours": -1.0, "jitter_hours": 0.5}]
                            + [{"visit": w, "hours": 168.0 * k, "jitter_hours": 4.0} for k, w in enumerate(weeks, start=1)])
    scenario["madrs"]["saline_change"] = {w: -1.5 * k for k, w in enumerate(weeks, start=1)}
    scenario["madrs"]["ketamine_minus_saline"] = {w: -float(min(k, 4)) for k, w in enumerate(weeks, start=1)}
    return scenario


def write_hamd_trial(out: Path, seed: int = 3, **sizes) -> Path:
    """The renamed twin's contract tables and ``dataset.json`` (with its study block) in ``out``."""
    twin = simulate(weekly_scenario(**sizes), seed=seed)
    participants = twin.participants.drop(columns=["training"]).replace({"arm": {"ketamine": "drug", "saline": "placebo"}})
    m = twin.measurements.drop(columns=["unit"])  # the units are in the study block
    scale = m["measure"] == "MADRS"
    hamd = np.round(pd.to_numeric(m.loc[scale, "value"].replace("", None)) * HAMD_PER_MADRS)
    m.loc[scale, "value"] = [f"{v:g}" if np.isfinite(v) else "" for v in hamd]
    m["measure"] = m["measure"].replace({"MADRS": "HAMD"})
    m["visit"] = m["visit"].replace({"baseline": "week0"})
    out.mkdir(parents=True, exist_ok=True)
    participants.to_csv(out / "participants.csv", index=False, lineterminator="\n")
    pd.DataFrame(m).to_csv(out / "measurements.csv", index=False, lineterminator="\n")
    metadata = {**twin.metadata, "study": STUDY, "description": "The synthetic twin on a weekly schedule, renamed as a HAMD trial."}
    (out / "dataset.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return out
