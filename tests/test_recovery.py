"""Recovery at reduced size (2 chains, 4 markers): on the planted-effects twin
(modest effects, one to three standard errors each) the 95% intervals cover
the truth, the planted effects lean their way, and no null effect is
detected; on the paper-null twin no NIF effect is detected. How often a
planted effect is detected is the recovery study's business
(sweeps/recovery.yaml), not one twin's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ketamine_nif import estimates
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import MADRS_CHANGE_DIFFERENCE
from ketamine_nif.inference import SamplerSettings
from ketamine_nif.recovery import fit_all
from ketamine_nif.twin import simulate

pytestmark = pytest.mark.slow
MARKERS = ["BDNF", "IL-6", "IL-1RA", "CRP"]  # the planted ones and a null one
SETTINGS = SamplerSettings(draws=400, tune=400, chains=2, seed=5)


def recovered(scenario: str, tmp_path_factory, sampler: str) -> tuple:
    out = tmp_path_factory.mktemp(scenario)
    twin = simulate(scenario, seed=20250404)
    twin.write(out)
    table, diagnostics = fit_all(load_dataset(out), replace(SETTINGS, sampler=sampler), MARKERS)
    assert {d.sampler for d in diagnostics} == {sampler}
    truth = twin.truth[twin.truth["marker"].isin([*MARKERS, "MADRS"])]
    return estimates.recovery(table, truth), diagnostics


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return recovered("planted-effects", tmp_path_factory, "pymc")  # inference.fit


@pytest.fixture(scope="module")
def null(tmp_path_factory):
    return recovered("paper-null", tmp_path_factory, "nutpie")  # the fit engine, as the recovery sweep


def test_estimates_are_keyed_like_the_truth(planted):
    joined, _ = planted
    assert len(joined) == 3 + 4 * 3 + 4 * 3 + 4 * 3  # MADRS; ratios; couplings (3 arms); moderations
    assert set(estimates.COLUMNS) <= set(joined.columns)


def test_planted_effects_are_recovered(planted):
    joined, diagnostics = planted
    assert joined["covered"].mean() >= 0.85, joined.loc[~joined["covered"], ["estimand", "marker", "visit", "mean", "truth"]]
    nif_planted = joined[joined["planted"] & (joined["estimand"] != MADRS_CHANGE_DIFFERENCE)]
    assert len(nif_planted) >= 8
    null = nif_planted["estimand"].map(estimates.null_value)
    assert (np.sign(nif_planted["mean"] - null) == np.sign(nif_planted["truth"] - null)).mean() >= 0.75
    false_alarms = joined[~joined["planted"] & joined["detected"]]
    assert false_alarms.empty, false_alarms[["estimand", "marker", "visit", "mean", "ci_low", "ci_high"]]
    assert all(d.max_r_hat < 1.05 for d in diagnostics)


def test_null_scenario_detects_no_nif_effect(null):
    joined, _ = null
    nif = joined[joined["estimand"] != MADRS_CHANGE_DIFFERENCE]
    assert not nif["planted"].any()
    false_alarms = nif[nif["detected"]]
    assert false_alarms.empty, false_alarms[["estimand", "marker", "visit", "mean", "ci_low", "ci_high"]]
    assert joined["covered"].mean() >= 0.85
    # the ketamine effect on MADRS one day after the infusion is there in both scenarios
    day1 = joined[(joined["estimand"] == MADRS_CHANGE_DIFFERENCE) & (joined["visit"] == "24h")].iloc[0]
    assert day1["p_positive"] < 0.025


def test_recovery_summary_counts_coverage_bias_and_detections():
    import pandas as pd

    from ketamine_nif.recovery import recovery_summary

    rows = pd.DataFrame({
        "estimand": ["a"] * 4 + ["b"] * 2, "seed": [1, 1, 2, 2, 1, 2],
        "covered": [True, False, True, True, True, True], "error": [1.0, -1.0, 3.0, -1.0, 0.0, 0.0],
        "planted": [True, False, True, False, False, False], "detected_in_direction": [True, False, False, False, False, False],
        "detected": [True, True, False, False, False, True], "converged": [True, True, True, False, True, True],
    })
    summary = recovery_summary(rows).set_index("estimand")
    assert summary.loc["a", "coverage"] == 0.75 and summary.loc["a", "bias"] == 0.5
    assert summary.loc["a", "converged"] == 0.75 and summary.loc["b", "converged"] == 1.0
    assert summary.loc["a", "rmse"] == (12 / 4) ** 0.5 and summary.loc["a", "replicates"] == 2
    assert summary.loc["a", "detected_planted"] == 0.5 and summary.loc["a", "false_detections"] == 1
    assert pd.isna(summary.loc["b", "detected_planted"]) and summary.loc["b", "false_detections"] == 1
