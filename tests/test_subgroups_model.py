"""The subgroup model (chapter 05) at reduced size (2 markers, 3 splits, 2
chains): on the planted-subgroup twin it finds the planted difference (IL-1RA
coupling in BMI < 25, ketamine arm) and no other; on the paper-null twin it
finds no subgroup difference, while the frequentist per-subgroup tests of the
same data give their handful of p < 0.05."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ketamine_nif import estimates, frequentist
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import (
    COUPLING_WITHIN,
    NIF_CHANGE_RATIO,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
)
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models.subgroups import (
    build_subgroup_model,
    subgroup_data,
    subgroup_design,
    subgroup_estimates,
)
from ketamine_nif.paths import PARAMS
from ketamine_nif.subgroups import load_splits
from ketamine_nif.twin import load_scenario, simulate

MARKERS = ["IL-1RA", "BDNF"]  # the planted marker and a null one
SPLITS = ["bmi", "sex", "age"]  # the planted split and two null ones
SETTINGS = SamplerSettings(draws=400, tune=400, chains=2, seed=7, target_accept=0.9)
ROPES = {**{name: (-1.0, 1.0) for name in [*COUPLING_WITHIN.values(), *SUBGROUP_COUPLING_DIFFERENCE.values()]},
         NIF_CHANGE_RATIO: (0.9, 1.1), SUBGROUP_NIF_RATIO: (0.9, 1.1)}


def fitted(scenario: str, tmp_path_factory):
    out = tmp_path_factory.mktemp(scenario)
    twin = simulate(scenario, seed=20250404)
    twin.write(out)
    dataset = load_dataset(out)
    splits = [s for s in load_splits(PARAMS / "subgroups.yaml") if s.name in SPLITS]
    data = subgroup_data(dataset, MARKERS)
    design = subgroup_design(dataset, splits, data.participants)
    result = fit(build_subgroup_model(data, design), SETTINGS, "subgroups")
    table = subgroup_estimates(result.idata, data, design, ROPES, result.diagnostics.converged)
    return table, result.diagnostics, twin, dataset, splits


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return fitted("planted-subgroup", tmp_path_factory)


@pytest.fixture(scope="module")
def null(tmp_path_factory):
    return fitted("paper-null", tmp_path_factory)


def differences(table):
    return table[table["estimand"].isin([*SUBGROUP_COUPLING_DIFFERENCE.values(), SUBGROUP_NIF_RATIO])]


def test_planted_subgroup_coupling_is_in_the_data_and_the_truth():
    scenario = load_scenario("planted-subgroup", overrides={"design": {"n_ketamine": 3000, "n_saline": 1000}})
    twin = simulate(scenario, seed=9)
    m, p = twin.measurements, twin.participants.set_index("participant_id")
    wide = {k: m[m["measure"] == k].pivot(index="participant_id", columns="visit", values="value").apply(pd.to_numeric)
            .reindex(p.index) for k in ("MADRS", "IL-1RA")}
    post = ["24h", "day3", "day5"]
    for low_bmi, gamma in ((True, 10.0), (False, 0.0)):
        ids = p.index[(p["arm"] == "ketamine") & ((p["bmi"] < 25) == low_bmi)]
        dy = wide["MADRS"].loc[ids, post].sub(wide["MADRS"].loc[ids, "baseline"], axis=0)
        dx = np.log2(wide["IL-1RA"].loc[ids, post]).sub(np.log2(wide["IL-1RA"].loc[ids, "baseline"]), axis=0)
        dy, dx = dy.sub(dy.mean(axis=1), axis=0), dx.sub(dx.mean(axis=1), axis=0)
        slope = np.nansum((dx * dy).to_numpy()) / np.nansum((dx**2).to_numpy())
        assert abs(slope - gamma) < 1.0, (low_bmi, slope)
    truth = twin.truth.set_index(["estimand", "marker", "visit", "subgroup"])["value"]
    share = 0.5 * math.erfc(-(math.log(24.95) - math.log(25.0)) / (0.2 * math.sqrt(2)))
    assert truth[(COUPLING_WITHIN["ketamine"], "IL-1RA", "all", "all")] == pytest.approx(10.0 * share)
    assert truth[(COUPLING_WITHIN["ketamine"], "IL-1RA", "all", "BMI < 25")] == 10.0
    assert truth[(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], "IL-1RA", "all", "BMI < 25 vs BMI >= 25")] == 10.0
    assert truth[(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], "BDNF", "all", "BMI < 25 vs BMI >= 25")] == 0.0
    assert not simulate("paper-null", 1).truth["subgroup"].ne("all").any()  # other scenarios keep their truth


@pytest.mark.slow
def test_estimates_are_keyed_like_the_truth(planted):
    table, _, twin, _, _ = planted
    assert list(table.columns) == estimates.COLUMNS
    assert not table.duplicated(["estimand", "marker", "visit", "subgroup"]).any()
    joined = estimates.recovery(table, twin.truth)
    # every subgroup row of the planted split has its truth: 3 arms x 2 subgroups + 2 differences, per marker
    assert len(joined) == len(MARKERS) * (3 * 2 + 2)
    assert joined["covered"].mean() >= 0.85


@pytest.mark.slow
def test_planted_subgroup_effect_is_detected(planted):
    table, diagnostics, _, _, _ = planted
    assert diagnostics.max_r_hat < 1.05
    found = differences(table)[estimates.detected(differences(table))]
    key = (SUBGROUP_COUPLING_DIFFERENCE["ketamine"], "IL-1RA", "BMI < 25 vs BMI >= 25")
    assert list(zip(found["estimand"], found["marker"], found["subgroup"], strict=True)) == [key], found
    assert found.iloc[0]["mean"] > 2.0


@pytest.mark.slow
def test_null_has_no_subgroup_effect_but_frequentist_hits(null):
    table, diagnostics, _, dataset, splits = null
    assert diagnostics.max_r_hat < 1.05
    false_alarms = differences(table)[estimates.detected(differences(table))]
    assert false_alarms.empty, false_alarms
    tests, failures = frequentist.all_tests(dataset, splits, MARKERS)
    assert not failures
    hits = int((tests["p_value"] < 0.05).sum())
    expected = 0.05 * len(tests)
    assert 1 <= hits <= 3 * expected, (hits, expected)
