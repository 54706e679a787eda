"""The frequentist replication (chapter 07): each test's numbers equal a direct
statsmodels call on the same data, within subgroups too; values under the
detection limit are substituted as stated; the output contract and the
multiplicity count are right."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from ketamine_nif import estimates, frequentist
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import BASELINE_MODERATION_DIFFERENCE, COUPLING_WITHIN, NIF_CHANGE_RATIO
from ketamine_nif.paths import PARAMS
from ketamine_nif.subgroups import load_splits
from ketamine_nif.twin import load_scenario, simulate

MARKERS = ["IL-1RA", "IL-6"]  # IL-6 is often under its detection limit


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("twin")
    simulate(load_scenario("paper-null", overrides={"design": {"n_ketamine": 40, "n_saline": 30}}), seed=3).write(out)
    return load_dataset(out)


@pytest.fixture(scope="module")
def bmi_tests(dataset):
    splits = [s for s in load_splits(PARAMS / "subgroups.yaml") if s.name == "bmi"]
    return frequentist.all_tests(dataset, splits, MARKERS)


def direct(formula: str, frame: pd.DataFrame, term: str) -> tuple[float, float, float]:
    fit = smf.mixedlm(formula, frame, groups=frame["participant_id"]).fit(reml=True)
    return fit.fe_params[term], fit.bse[term], fit.pvalues[term]


def check(row: pd.Series, expected: tuple[float, float, float]) -> None:
    assert row["estimate"] == pytest.approx(expected[0], rel=1e-9, abs=1e-12)
    assert row["se"] == pytest.approx(expected[1], rel=1e-9)
    assert row["p_value"] == pytest.approx(expected[2], rel=1e-9, abs=1e-15)


def one(tests: pd.DataFrame, estimand: str, marker: str, visit: str, subgroup: str) -> pd.Series:
    rows = tests[(tests["estimand"] == estimand) & (tests["marker"] == marker) & (tests["visit"] == visit)
                 & (tests["subgroup"] == subgroup)]
    assert len(rows) == 1
    return rows.iloc[0]


def long_table(dataset, lod_fraction=0.5) -> pd.DataFrame:
    """The same data built independently of the module: one row per person x visit."""
    m = dataset.measurements.copy()
    m["value"] = np.where(m["below_lod"], m["lod"] * lod_fraction, m["value"])
    wide = m.pivot_table(index=["participant_id", "visit"], columns="measure", values="value").reset_index()
    arm = dataset.participants.set_index("participant_id")["arm"]
    wide["arm"] = wide["participant_id"].map(arm)
    wide["ketamine"] = (wide["arm"] == "ketamine").astype(float)
    return wide


@pytest.mark.parametrize("subgroup", ["all", "BMI < 25"])
def test_numbers_equal_a_direct_statsmodels_call(dataset, bmi_tests, subgroup):
    tests, failures = bmi_tests
    assert not failures
    wide = long_table(dataset)
    if subgroup != "all":
        low = dataset.participants.loc[dataset.participants["bmi"] < 25, "participant_id"]
        wide = wide[wide["participant_id"].isin(low)]
    base = wide[wide["visit"] == "baseline"].set_index("participant_id")
    post = wide[wide["visit"] != "baseline"].copy()
    marker = "IL-1RA"

    # aim 1: change in log NIF, ketamine minus saline at day 3
    a1 = post.assign(change=np.log(post[marker]) - np.log(post["participant_id"].map(base[marker]))).dropna(subset=["change"])
    expected = direct("change ~ 0 + C(visit) + C(visit):ketamine", a1, "C(visit)[day3]:ketamine")
    check(one(tests, NIF_CHANGE_RATIO, marker, "day3", subgroup), expected)

    # aim 2: MADRS on within-person centred log2 NIF and the person mean, ketamine arm
    a2 = wide.dropna(subset=["MADRS", marker]).copy()
    a2["log2"] = np.log2(a2[marker])
    a2["pm"] = a2.groupby("participant_id")["log2"].transform("mean")
    a2["within"], a2["between"] = a2["log2"] - a2["pm"], a2["pm"] - a2["pm"].mean()
    a2 = a2.rename(columns={"MADRS": "madrs"})
    ket = a2[a2["arm"] == "ketamine"]
    check(one(tests, COUPLING_WITHIN["ketamine"], marker, "all", subgroup),
          direct("madrs ~ C(visit) + within + between", ket, "within"))
    check(one(tests, COUPLING_WITHIN["difference"], marker, "all", subgroup),
          direct("madrs ~ C(visit) * ketamine + within * ketamine + between * ketamine", a2, "within:ketamine"))

    # aim 3: MADRS change on arm x standardised baseline log NIF, at 24h
    a3 = post.assign(change=post["MADRS"] - post["participant_id"].map(base["MADRS"]),
                     x0=np.log(post["participant_id"].map(base[marker]))).dropna(subset=["change", "x0"])
    people = a3.drop_duplicates("participant_id")["x0"]
    a3["z"] = (a3["x0"] - people.mean()) / people.std()
    expected = direct("change ~ 0 + C(visit) + C(visit):ketamine + C(visit):z + C(visit):ketamine:z", a3,
                      "C(visit)[24h]:ketamine:z")
    check(one(tests, BASELINE_MODERATION_DIFFERENCE, marker, "24h", subgroup), expected)


def test_values_under_the_limit_are_half_the_limit(dataset):
    table = frequentist.person_visit_table(dataset, lod_fraction=0.5)
    m = dataset.measurements
    censored = m[(m["measure"] == "IL-6") & m["below_lod"]].iloc[0]
    row = table[(table["participant_id"] == censored["participant_id"]) & (table["visit"] == censored["visit"])]
    assert row["IL-6"].iloc[0] == pytest.approx(math.log(censored["lod"] / 2))


def test_every_test_is_counted_and_in_the_contract(bmi_tests):
    tests, _ = bmi_tests
    # per group and marker: 3 visits (aim 1) + 3 couplings (aim 2) + 3 visits (aim 3); overall and 2 subgroups
    assert len(tests) == 3 * len(MARKERS) * 9
    table = frequentist.to_estimates(tests)
    assert list(table.columns) == estimates.COLUMNS
    ratio = tests["estimand"] == NIF_CHANGE_RATIO
    assert np.allclose(np.log(table.loc[ratio, "mean"]), tests.loc[ratio, "estimate"])
    assert np.allclose(table.loc[~ratio, "sd"], tests.loc[~ratio, "se"])
    assert table["p_positive"].isna().all() and table["r_hat"].isna().all()
    counts = frequentist.multiplicity(tests).set_index("aim")
    assert counts.loc["all", "tests"] == len(tests)
    assert counts.loc["all", "p < 0.05"] == int((tests["p_value"] < 0.05).sum())
    assert counts.loc["all", "expected under the global null"] == pytest.approx(0.05 * len(tests))


def test_the_prior_shrinks_estimates_in_closed_form():
    # one estimate: the classic precision-weighted mean of the estimate and the prior's 0
    assert np.allclose(frequentist.shrunk_by_prior(np.array([4.0]), np.array([[1.0]]), 2.0), 4.0 * 4 / 5)
    # a vague prior leaves the estimates as they are
    cov = np.array([[2.0, 1.3], [1.3, 2.0]])
    assert np.allclose(frequentist.shrunk_by_prior(np.array([-7.0, -2.5]), cov, 1e4), [-7.0, -2.5], atol=1e-6)
    # correlated estimates move along their common direction: the small one nearly as much as the large one
    shrunk = frequentist.shrunk_by_prior(np.array([-7.0, -2.5]), cov, 10.0)
    pull = shrunk - np.array([-7.0, -2.5])
    assert (pull > 0).all() and pull[1] > 0.5 * pull[0]
    independent = frequentist.shrunk_by_prior(np.array([-7.0, -2.5]), np.diag([2.0, 2.0]), 10.0) - np.array([-7.0, -2.5])
    assert independent[1] < 0.4 * independent[0]  # without the correlation the pull is proportional to the estimate


def test_the_shrunk_arm_difference_holds_every_visit_at_once(dataset):
    """The prior is on every visit's difference together: the shrunk value of
    a visit does not depend on which visits are asked for."""
    from ketamine_nif.models import prepare

    data = prepare(dataset)
    every = frequentist.arm_difference_mixed_model(data, data.post_visits, 10.0)
    some = frequentist.arm_difference_mixed_model(data, data.post_visits[-1:], 10.0)
    assert some["shrunk"].to_numpy() == pytest.approx(every["shrunk"].to_numpy()[-1:], abs=1e-6)
    assert (every["shrunk"].abs() < every["estimate"].abs()).all()
    assert "shrunk" not in frequentist.arm_difference_mixed_model(data, data.post_visits)
