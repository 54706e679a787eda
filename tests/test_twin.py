"""The synthetic twin: the trial's design, the stated marker properties (and
the difficulties of real assays a scenario may add: assay error, correlated
markers), planted effects that are really in the data, truth keyed like the
estimates, and byte-identical output for a seed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ketamine_nif import estimands
from ketamine_nif.cli import main
from ketamine_nif.contract import load_dataset
from ketamine_nif.twin import DEFAULT_SEED, ScenarioError, assay_sd, load_scenario, simulate

NO_MISSING = {"missingness": {"dropout_per_visit": 0.0, "missed_visit": 0.0, "blood_not_obtained": 0.0}}
LARGE = {"design": {"n_ketamine": 2000, "n_saline": 2000}, **NO_MISSING}


@pytest.fixture(scope="module")
def default_twin(tmp_path_factory):
    out = tmp_path_factory.mktemp("twin")
    simulate("paper-null", DEFAULT_SEED).write(out)
    return load_dataset(out)


@pytest.fixture(scope="module")
def large_null():
    return simulate(load_scenario("paper-null", overrides=LARGE), seed=3)


@pytest.fixture(scope="module")
def large_planted():
    return simulate(load_scenario("planted-effects", overrides=LARGE), seed=4)


def wide(twin, measure):
    m = twin.measurements
    rows = m[m["measure"] == measure]
    return rows.pivot(index="participant_id", columns="visit", values="value").apply(pd.to_numeric, errors="coerce")


def test_design_matches_the_trial(default_twin):
    arms = default_twin.participants["arm"].value_counts()
    assert (arms["ketamine"], arms["saline"]) == (89, 44)
    bmi_low = (default_twin.participants["bmi"] < 25).mean()
    assert 0.38 <= bmi_low <= 0.62  # paper: 66 of 133 = 0.50
    p = default_twin.participants
    assert set(p.loc[p["arm"] == "saline", "training"]) == {"asat"}
    assert set(p.loc[p["arm"] == "ketamine", "training"]) == {"asat", "sham"}
    assert 28 <= p["age"].mean() <= 40 and p["age"].between(18, 60).all()
    assert 0.5 <= (p["sex"] == "female").mean() <= 0.75


def test_population_shares(large_null):
    p = large_null.participants
    assert abs((p["bmi"] < 25).mean() - 0.5) < 0.03
    assert abs(p["failed_trials"].mean() - 2.64) < 0.15
    assert abs(p["failed_trials"].std() - 1.93) < 0.25


def test_schedule_follows_the_scenario(default_twin):
    scenario = load_scenario("paper-null")
    assert default_twin.visits == [v["visit"] for v in scenario["schedule"]]
    medians = default_twin.measurements.groupby("visit")["hours"].median()
    for visit in scenario["schedule"]:
        assert abs(medians[visit["visit"]] - visit["hours"]) < 2.0
    # some missed visits and dropout, never a missing baseline rating
    madrs = wide(default_twin, "MADRS")
    assert madrs["baseline"].notna().all()
    assert 0.75 < madrs["day5"].notna().mean() < 0.97


def icc(values: pd.DataFrame) -> float:
    """One-way random-effects ICC(1) of log values, participants x visits."""
    logs = np.log(values.to_numpy())
    k = logs.shape[1]
    within = logs.var(axis=1, ddof=1).mean()
    between = logs.mean(axis=1).var(ddof=1) - within / k
    return between / (between + within)


@pytest.mark.parametrize("marker", ["BDNF", "IL-6", "IL-1RA", "TNF-alpha", "IL-8", "IL-10", "CRP"])
def test_within_person_icc_as_stated(marker):
    scenario = load_scenario("paper-null", overrides=LARGE)
    for spec in scenario["markers"].values():
        spec["lod"] = None  # the latent values, uncensored
    twin = simulate(scenario, seed=5)
    assert abs(icc(wide(twin, marker)) - scenario["markers"][marker]["icc"]) < 0.05


@pytest.mark.parametrize("marker", ["IL-6", "IL-10", "CRP"])
def test_share_below_lod_as_stated(large_null, marker):
    spec = load_scenario("paper-null")["markers"][marker]
    expected = stats.norm.cdf((math.log(spec["lod"]) - math.log(spec["geometric_mean"])) / spec["log_sd"])
    m = large_null.measurements
    observed = (m.loc[m["measure"] == marker, "below_lod"] == "true").mean()
    assert abs(observed - expected) < 0.03
    assert (m.loc[(m["measure"] == marker) & (m["below_lod"] == "true"), "value"] == "").all()


def test_madrs_course(large_null):
    madrs = wide(large_null, "MADRS")
    arm = large_null.participants.set_index("participant_id")["arm"]
    assert abs(madrs["baseline"].mean() - 32.8) < 0.5
    assert 8 <= madrs["24h"].std() <= 10.5
    change = madrs.sub(madrs["baseline"], axis=0)
    for visit, diff in {"24h": -7.0, "day3": -4.5, "day5": -2.5}.items():
        observed = change.loc[arm == "ketamine", visit].mean() - change.loc[arm == "saline", visit].mean()
        assert abs(observed - diff) < 0.8


def test_planted_effects_are_in_the_data(large_planted):
    arm = large_planted.participants.set_index("participant_id")["arm"]
    bdnf = np.log(wide(large_planted, "BDNF"))  # BDNF: no lod, so no censoring
    change = bdnf.sub(bdnf["baseline"], axis=0)
    ratio = math.exp(change.loc[arm == "ketamine", "24h"].mean() - change.loc[arm == "saline", "24h"].mean())
    assert abs(math.log(ratio) - math.log(1.25)) < 0.05

    madrs = wide(large_planted, "MADRS")
    il1ra = np.log2(wide(large_planted, "IL-1RA"))
    post = ["24h", "day3", "day5"]
    for group, gamma in (("ketamine", 3.0), ("saline", 0.0)):
        ids = arm.index[arm == group]
        # within-person (fixed-effects) slope of MADRS change on log2 IL-1RA change
        dy = madrs.loc[ids, post].sub(madrs.loc[ids, "baseline"], axis=0)
        dx = il1ra.loc[ids, post].sub(il1ra.loc[ids, "baseline"], axis=0)
        dy, dx = dy.sub(dy.mean(axis=1), axis=0), dx.sub(dx.mean(axis=1), axis=0)
        slope = (dx * dy).to_numpy().sum() / (dx**2).to_numpy().sum()
        assert abs(slope - gamma) < 0.6

    bdnf0 = np.log(wide(large_planted, "BDNF")["baseline"])
    spec = load_scenario("planted-effects")["markers"]["BDNF"]
    z = (bdnf0 - math.log(spec["geometric_mean"])) / spec["log_sd"]
    ket = arm.index[arm == "ketamine"]
    slope = np.polyfit(z[ket], (madrs.loc[ket, "24h"] - madrs.loc[ket, "baseline"]), 1)[0]
    assert abs(slope - (-3.0)) < 0.6


def test_truth_is_keyed_like_the_estimates():
    null = simulate("paper-null", 1).truth
    planted = simulate("planted-effects", 1).truth
    assert list(null.columns) == [*estimands.KEY_COLUMNS, "value"]
    assert not null.duplicated(list(estimands.KEY_COLUMNS)).any()
    assert set(null["estimand"]) == set(estimands.MAIN)
    nif = null[null["estimand"] != estimands.MADRS_CHANGE_DIFFERENCE]
    ratio = nif["estimand"] == estimands.NIF_CHANGE_RATIO
    assert (nif.loc[ratio, "value"] == 1.0).all() and (nif.loc[~ratio, "value"] == 0.0).all()
    key = planted.set_index(list(estimands.KEY_COLUMNS))["value"]
    assert key[(estimands.NIF_CHANGE_RATIO, "IL-6", "24h", "all")] == pytest.approx(1.25)
    assert key[(estimands.COUPLING_WITHIN["ketamine"], "IL-1RA", "all", "all")] == 3.0
    assert key[(estimands.COUPLING_WITHIN["difference"], "IL-1RA", "all", "all")] == 3.0
    assert key[(estimands.BASELINE_MODERATION_DIFFERENCE, "BDNF", "day3", "all")] == -3.0
    assert key[(estimands.MADRS_CHANGE_DIFFERENCE, "MADRS", "24h", "all")] == -7.0


def test_summarised_madrs_difference_joins_the_truth():
    """The outcome model's arm difference has only a visit dim; its estimates
    are keyed to the MADRS rows of truth.csv, so recovery sees every visit."""
    import xarray as xr

    from ketamine_nif.estimates import recovery, summarise

    truth = simulate("paper-null", 1).truth
    visits = truth.loc[truth["estimand"] == estimands.MADRS_CHANGE_DIFFERENCE, "visit"].tolist()
    draws = np.random.default_rng(0).normal(-5.0, 1.0, (2, 50, len(visits)))
    posterior = xr.Dataset({estimands.MADRS_CHANGE_DIFFERENCE: (("chain", "draw", "post_visit"), draws)},
                           coords={"post_visit": visits})
    table = summarise(xr.DataTree.from_dict({"/posterior": posterior}), estimands.MADRS_CHANGE_DIFFERENCE, (-2, 2), True)
    assert len(recovery(table, truth)) == len(visits) == 3


def test_same_seed_gives_identical_files(tmp_path):
    for run in ("a", "b"):
        assert main(["simulate", "--scenario", "planted-effects", "--seed", "7", "--out", str(tmp_path / run)]) == 0
    assert main(["simulate", "--scenario", "planted-effects", "--seed", "8", "--out", str(tmp_path / "c")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["dataset.json", "measurements.csv", "participants.csv", "scenario.yaml", "truth.csv"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "measurements.csv").read_bytes() != (tmp_path / "c" / "measurements.csv").read_bytes()


def test_unknown_scenario_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ScenarioError, match="paper-null"):
        load_scenario("no-such-scenario")
    assert main(["simulate", "--scenario", "no-such-scenario", "--out", str(tmp_path)]) == 2
    assert "unknown scenario" in capsys.readouterr().err


def test_scenario_naming_an_unknown_marker_is_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: paper-null\neffects:\n  nif_change_ratio:\n    IL-99: {24h: 2.0}\n")
    with pytest.raises(ScenarioError, match="IL-99"):
        load_scenario(bad)


def uncensored(overrides: dict) -> dict:
    """The large paper-null scenario with ``overrides``, every value reported (no lod)."""
    scenario = load_scenario("paper-null", overrides={**LARGE, **overrides})
    for spec in scenario["markers"].values():
        spec["lod"] = None
    return scenario


def test_assay_error_is_as_stated():
    """A reading is the sample's true value times a log-normal assay error
    of the stated coefficient of variation; the twin without assay error,
    same seed, holds the true values, so each reading's error is known. The
    error lowers the ICC of the readings as it should, and a marker without
    ``assay_cv`` is read exactly."""
    cv = {"BDNF": 0.20, "IL-8": 0.08}
    scenario = uncensored({"markers": {m: {"assay_cv": v} for m, v in cv.items()}})
    read, true = simulate(scenario, seed=6), simulate(uncensored({}), seed=6)
    for marker, value in cv.items():
        error = np.log(wide(read, marker)) - np.log(wide(true, marker))
        assert abs(error.stack().std() / assay_sd(value) - 1) < 0.03, marker
        assert abs(error.stack().mean()) < 0.005
    spec = scenario["markers"]["BDNF"]
    expected = spec["icc"] * spec["log_sd"] ** 2 / (spec["log_sd"] ** 2 + assay_sd(cv["BDNF"]) ** 2)
    assert abs(icc(wide(read, "BDNF")) - expected) < 0.02 and expected < spec["icc"] - 0.1
    assert np.allclose(np.log(wide(read, "CRP")), np.log(wide(true, "CRP")), atol=1e-3)  # 4 significant digits


def test_marker_correlations_between_and_within_people_are_as_stated():
    """Correlated stable levels (between people) and correlated visit-to-visit
    deviations (within a person), checked on person means and on deviations
    from them (BMI's share of the levels set to 0 so that the stated
    correlations are the whole story)."""
    pair = {"markers": ["IL-6", "CRP"], "between": 0.6, "within": 0.4}
    scenario = uncensored({"markers": {"IL-6": {"bmi_correlation": 0.0}, "CRP": {"bmi_correlation": 0.0}},
                           "marker_correlation": [pair]})
    twin = simulate(scenario, seed=8)
    logs = {m: np.log(wide(twin, m)).to_numpy() for m in ("IL-6", "CRP", "BDNF")}
    means = {m: v.mean(axis=1) for m, v in logs.items()}
    deviations = {m: (v - v.mean(axis=1, keepdims=True)).ravel() for m, v in logs.items()}
    assert abs(np.corrcoef(deviations["IL-6"], deviations["CRP"])[0, 1] - 0.4) < 0.03
    visits = logs["CRP"].shape[1]
    parts = [(math.sqrt(s["icc"]) * s["log_sd"], math.sqrt(1 - s["icc"]) * s["log_sd"])
             for s in (scenario["markers"]["IL-6"], scenario["markers"]["CRP"])]
    covariance = 0.6 * parts[0][0] * parts[1][0] + 0.4 * parts[0][1] * parts[1][1] / visits
    expected = covariance / math.prod(math.sqrt(b**2 + w**2 / visits) for b, w in parts)
    assert abs(np.corrcoef(means["IL-6"], means["CRP"])[0, 1] - expected) < 0.03
    assert abs(np.corrcoef(means["IL-6"], means["BDNF"])[0, 1]) < 0.05  # markers not named stay independent


def test_impossible_marker_correlations_are_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: paper-null\nmarker_correlation:\n"
                   "  - {markers: [IL-6, CRP], between: 0.9}\n  - {markers: [IL-6, IL-1RA], between: 0.9}\n"
                   "  - {markers: [CRP, IL-1RA], between: -0.9}\n")
    with pytest.raises(ScenarioError, match="positive definite"):
        load_scenario(bad)
    bad.write_text("name: bad\nextends: paper-null\nmarker_correlation:\n  - {markers: [IL-6, IL-99], within: 0.5}\n")
    with pytest.raises(ScenarioError, match="two different markers"):
        load_scenario(bad)
    bad.write_text("name: bad\nextends: paper-null\nmarkers:\n  IL-6: {assay_cv: 1.5}\n")
    with pytest.raises(ScenarioError, match="assay_cv"):
        load_scenario(bad)


def dropout_rows(scenario: dict, seed: int) -> pd.DataFrame:
    """For every participant present at a visit before the last: whether they
    dropped out before the next (no missed visits here, so absence is
    dropout), their rating there (observed) and the rating they would have
    had at the next visit (from the twin without dropout, same seed: the
    ratings do not depend on who attends), the first against the baseline
    mean, the second against the next visit's mean, as the twin has them."""
    twin = simulate(scenario, seed)
    complete = simulate({**scenario, "missingness": {**scenario["missingness"], "dropout_per_visit": 0.0}}, seed)
    observed, full = wide(twin, "MADRS"), wide(complete, "MADRS")
    visits = [v["visit"] for v in scenario["schedule"]]
    rows = []
    for before, after in zip(visits[:-1], visits[1:], strict=True):
        present = observed[before].notna()
        rows.append(pd.DataFrame({"dropped": observed.loc[present, after].isna().astype(float),
                                  "last": (observed.loc[present, before] - 32.8) / 10,
                                  "next": (full.loc[present, after] - full[after].mean()) / 10}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize(("mar", "mnar"), [(1.0, 0.0), (0.0, 1.0)])
def test_dropout_follows_the_observed_or_the_unobserved_madrs_as_stated(mar, mnar):
    """Missing at random: the chance of leaving rises with the last observed
    rating and, given it, not with the rating the participant would have had;
    missing not at random: the other way round. A logistic regression of
    dropout on both recovers the scenario's log-odds per 10 points."""
    import statsmodels.api as sm

    missing = {"dropout_per_visit": 0.1, "missed_visit": 0.0, "blood_not_obtained": 0.0,
               "dropout_madrs": mar, "dropout_unobserved": mnar}
    scenario = load_scenario("paper-null", overrides={"design": {"n_ketamine": 4000, "n_saline": 4000}, "missingness": missing})
    rows = dropout_rows(scenario, seed=12)
    fit = sm.Logit(rows["dropped"], sm.add_constant(rows[["last", "next"]])).fit(disp=0)
    assert fit.params["const"] == pytest.approx(math.log(0.1 / 0.9), abs=0.15)
    assert fit.params["last"] == pytest.approx(mar, abs=0.2) and fit.params["next"] == pytest.approx(mnar, abs=0.2)
    assert fit.bse["last"] < 0.1 and fit.bse["next"] < 0.1


def test_training_imbalance_moves_madrs_and_the_arms_contrast():
    """Every saline participant trained (ASAT), about half the ketamine arm
    did; a training effect on MADRS from the first post-infusion visit
    therefore enters the arms' contrast, and the truth says by how much."""
    training = {"24h": -2.0, "day3": -2.0, "day5": -2.0}
    scenario = load_scenario("paper-null", overrides={"design": {"n_ketamine": 6000, "n_saline": 3000}, **NO_MISSING,
                                                      "madrs": {"training_change": training}})
    twin = simulate(scenario, seed=13)
    change = wide(twin, "MADRS").pipe(lambda m: m.sub(m["baseline"], axis=0))
    p = twin.participants.set_index("participant_id").loc[change.index]
    ketamine = p["arm"] == "ketamine"
    truth = twin.truth.set_index(["estimand", "visit"])["value"]
    for visit, diff in {"24h": -7.0, "day3": -4.5, "day5": -2.5}.items():
        trained = change.loc[ketamine & (p["training"] == "asat"), visit].mean() - change.loc[ketamine & (p["training"] == "sham"), visit].mean()
        assert trained == pytest.approx(-2.0, abs=0.6)
        expected = diff + (scenario["design"]["ketamine_asat_share"] - 1.0) * -2.0
        assert truth[(estimands.MADRS_CHANGE_DIFFERENCE, visit)] == pytest.approx(expected)
        observed = change.loc[ketamine, visit].mean() - change.loc[~ketamine, visit].mean()
        assert observed == pytest.approx(expected, abs=0.5)


def test_realistic_effects_has_the_planted_effects_and_the_difficulties_of_real_data():
    """``realistic-effects``: planted-effects' modest effects, with assay
    error, correlated inflammatory markers, dropout on the MADRS course and
    the training imbalance all in force; its truth carries the imbalance."""
    scenario, planted = load_scenario("realistic-effects"), load_scenario("planted-effects")
    assert scenario["effects"] == planted["effects"]
    assert all(0.05 <= spec["assay_cv"] <= 0.2 for spec in scenario["markers"].values())
    assert {tuple(p["markers"]) for p in scenario["marker_correlation"]} == {("IL-6", "CRP"), ("IL-6", "IL-1RA"), ("CRP", "IL-1RA")}
    assert scenario["missingness"]["dropout_madrs"] > 0 and scenario["madrs"]["training_change"]
    truth = simulate(scenario, seed=2).truth.set_index(["estimand", "visit"])["value"]
    share = scenario["design"]["ketamine_asat_share"]
    shift = {v: (share - 1.0) * c for v, c in scenario["madrs"]["training_change"].items()}
    planted_truth = simulate(planted, seed=2).truth.set_index(["estimand", "visit"])["value"]
    for visit, value in shift.items():
        key = (estimands.MADRS_CHANGE_DIFFERENCE, visit)
        assert truth[key] == pytest.approx(planted_truth[key] + value)


def test_madrs_null_has_no_arm_difference_and_dropout_on_depression():
    """``madrs-null`` (the MADRS companion of the calibration suite): no arm
    difference in the truth at any visit, and none in a large twin's
    ratings; its dropout follows the observed MADRS course as in
    realistic-effects; no training and no NIF effect, so nothing else can
    make an arm difference."""
    scenario, null = load_scenario("madrs-null"), load_scenario("paper-null")
    assert scenario["effects"] == null["effects"] and not scenario["madrs"].get("training_change")
    assert scenario["missingness"]["dropout_madrs"] == load_scenario("realistic-effects")["missingness"]["dropout_madrs"]
    big = simulate(load_scenario("madrs-null", overrides={"design": {"n_ketamine": 6000, "n_saline": 6000}}), seed=5)
    truth = big.truth.set_index(["estimand", "visit"])["value"]
    ratings = wide(big, "MADRS")
    change = ratings.drop(columns="baseline").sub(ratings["baseline"], axis=0)
    ketamine = big.participants.set_index("participant_id").loc[change.index, "arm"].eq("ketamine").to_numpy()
    for visit in scenario["madrs"]["ketamine_minus_saline"]:
        assert truth[(estimands.MADRS_CHANGE_DIFFERENCE, visit)] == 0.0
        # SE about 0.14: the training imbalance of realistic-effects (0.49-0.73 points) would fail this
        assert change.loc[ketamine, visit].mean() - change.loc[~ketamine, visit].mean() == pytest.approx(0.0, abs=0.4)


def test_mnar_dropout_changes_only_what_decides_dropout(tmp_path):
    """``mnar-dropout``: realistic-effects with dropout on the rating the
    participant would have had instead of the last observed one; the
    effects, difficulties and truth are realistic-effects' own, and its
    twin passes the data contract. ``mnar-control``, its comparator, is the
    same twin with dropout completely at random: the same ratings, only who
    leaves differs; and dropout not at random, centred on each visit's mean
    rating, leaves about as many ratings missing as dropout at random (not
    fewer as ratings fall after the infusion)."""
    from ketamine_nif.contract import load_dataset

    scenario, realistic = load_scenario("mnar-dropout"), load_scenario("realistic-effects")
    assert scenario["missingness"]["dropout_unobserved"] == 1.0 and scenario["missingness"]["dropout_madrs"] == 0.0
    assert {k: v for k, v in scenario.items() if k not in ("missingness", "name", "description")} == {
        k: v for k, v in realistic.items() if k not in ("missingness", "name", "description")}
    twin = simulate(scenario, seed=3)
    assert twin.truth.equals(simulate(realistic, seed=3).truth)
    assert load_dataset(twin.write(tmp_path / "data")).participants.shape[0] == 133  # loading checks the contract
    control = load_scenario("mnar-control")
    assert control["missingness"]["dropout_unobserved"] == 0.0
    assert {k: v for k, v in control.items() if k not in ("name", "description", "missingness")} == {
        k: v for k, v in scenario.items() if k not in ("name", "description", "missingness")}
    ratings, at_random = wide(twin, "MADRS"), wide(simulate(control, seed=3), "MADRS").reindex_like(wide(twin, "MADRS"))
    both = ratings.notna() & at_random.notna()
    assert ratings[both].equals(at_random[both]) and not ratings.isna().equals(at_random.isna())
    big = {"design": {"n_ketamine": 3000, "n_saline": 1500}}
    shares = [wide(simulate(load_scenario(name, overrides=big), seed=4), "MADRS").drop(columns="baseline").isna().mean().mean()
              for name in ("mnar-dropout", "mnar-control")]
    assert shares[0] == pytest.approx(shares[1], rel=0.25), shares
