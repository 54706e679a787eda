"""The subgroup model (chapter 05) at reduced size (2 markers, 3 splits, 2
chains): on the planted-subgroup twin it finds the planted difference (IL-1RA
coupling in BMI < 25, ketamine arm) and no other; on the paper-null twin it
finds no subgroup difference, while the frequentist per-subgroup tests of the
same data give their handful of p < 0.05."""

from __future__ import annotations

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
from ketamine_nif.twin import simulate

pytestmark = pytest.mark.slow
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


def test_estimates_are_keyed_like_the_truth(planted):
    table, _, twin, _, _ = planted
    assert list(table.columns) == estimates.COLUMNS
    assert not table.duplicated(["estimand", "marker", "visit", "subgroup"]).any()
    joined = estimates.recovery(table, twin.truth)
    # every subgroup row of the planted split has its truth: 3 arms x 2 subgroups + 2 differences, per marker
    assert len(joined) == len(MARKERS) * (3 * 2 + 2)
    assert joined["covered"].mean() >= 0.85


def test_planted_subgroup_effect_is_detected(planted):
    table, diagnostics, _, _, _ = planted
    assert diagnostics.max_r_hat < 1.05
    found = differences(table)[estimates.detected(differences(table))]
    key = (SUBGROUP_COUPLING_DIFFERENCE["ketamine"], "IL-1RA", "BMI < 25 vs BMI >= 25")
    assert list(zip(found["estimand"], found["marker"], found["subgroup"], strict=True)) == [key], found
    assert found.iloc[0]["mean"] > 2.0


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
