"""The subgroup model (chapter 05) at reduced size (2 markers, 3 splits, 2
chains): on the planted-subgroup twin it finds the planted difference (IL-1RA
coupling in BMI < 25, ketamine arm) and no other; on the paper-null twin it
finds no subgroup difference, while the frequentist per-subgroup tests of the
same data give their handful of p < 0.05. The day-1 look at the paper's own
estimand (MADRS change to 24h on the marker's log2 change, one row per
participant) finds the planted slope in BMI < 25 only, builds its data like a
direct computation from the raw measurements, and declines to fit a subgroup
that is too small. A subgroup effect planted on a marker with values under
the detection limit is found through multiple imputation of those values."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from conftest import read, write
from ketamine_nif import estimates, frequentist
from ketamine_nif.analysis import load as load_analysis
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import (
    COUPLING_WITHIN,
    NIF_CHANGE_RATIO,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
)
from ketamine_nif.imputation import impute_below_lod
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import SubgroupPriors, build_nif_trajectory_model, prepare
from ketamine_nif.models.subgroups import build_day1_model, build_subgroup_model
from ketamine_nif.paths import PARAMS
from ketamine_nif.subgroup_analysis import (
    MIN_DAY1_PARTICIPANTS,
    Day1Data,
    day1_comparison,
    day1_data,
    day1_estimates,
    day1_ols,
    finding_rows,
    largest_coupling_differences,
    mixed_posterior,
    subgroup_data,
    subgroup_design,
    subgroup_differences,
    subgroup_estimates,
)
from ketamine_nif.subgroups import load_splits
from ketamine_nif.twin import load_scenario, simulate

MARKERS = ["IL-1RA", "BDNF"]  # the planted marker and a null one
SPLITS = ["bmi", "sex", "age"]  # the planted split and two null ones
SETTINGS = SamplerSettings(draws=400, tune=400, chains=2, seed=7, target_accept=0.9)
ROPES = load_analysis().ropes_for([*COUPLING_WITHIN.values(), *SUBGROUP_COUPLING_DIFFERENCE.values(), NIF_CHANGE_RATIO, SUBGROUP_NIF_RATIO])


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


def bmi_split():
    return next(s for s in load_splits(PARAMS / "subgroups.yaml") if s.name == "bmi")


def test_day1_data_and_least_squares_match_a_direct_computation(tmp_path):
    """IL-6 has a detection limit: under it a value counts as lod x lod_fraction,
    as everywhere in the chapter; participants without a 24h pair are left out."""
    simulate("paper-null", seed=11).write(tmp_path)
    dataset = load_dataset(tmp_path)
    data = day1_data(dataset, bmi_split(), "IL-6", "24h", lod_fraction=0.25)
    m = dataset.measurements
    value = m["value"].where(~m["below_lod"], m["lod"] * 0.25)
    wide = m.assign(value=value).pivot_table(index="participant_id", columns=["measure", "visit"], values="value", aggfunc="first")
    p = dataset.participants.set_index("participant_id")
    ids = p.index[(p["arm"] == "ketamine") & p["bmi"].notna()]
    dy = wide[("MADRS", "24h")] - wide[("MADRS", "baseline")]
    dx = np.log2(wide[("IL-6", "24h")] / wide[("IL-6", "baseline")])
    direct = pd.DataFrame({"dy": dy, "dx": dx, "y0": wide[("MADRS", "baseline")]}).reindex(ids).dropna()
    assert m["below_lod"][m["measure"] == "IL-6"].any()  # the substitution is exercised
    assert 0 < len(direct) < len(ids)  # some are left out, most are kept
    assert sorted(data.table["participant_id"]) == sorted(direct.index)
    assert sum(data.left_out.values()) == len(ids) - len(direct)
    got = data.table.set_index("participant_id").loc[direct.index]
    np.testing.assert_allclose(got["marker_change"], direct["dx"], rtol=1e-9)
    np.testing.assert_allclose(got["madrs_change"], direct["dy"])
    low = direct[p.loc[direct.index, "bmi"] < 25]
    assert (got["subgroup"] == np.where(p.loc[direct.index, "bmi"] < 25, "BMI < 25", "BMI >= 25")).all()
    x = np.column_stack([np.ones(len(low)), low["dx"], low["y0"]])
    coef = np.linalg.lstsq(x, low["dy"].to_numpy(float), rcond=None)[0]
    ols = day1_ols(data, "BMI < 25")
    assert ols["estimate"] == pytest.approx(coef[1])
    assert ols["participants"] == len(low) and 0 < ols["p_value"] < 1


def test_day1_too_few_participants_is_flagged(tmp_path):
    simulate(load_scenario("paper-null", overrides={"design": {"n_ketamine": 12, "n_saline": 8}}), seed=2).write(tmp_path)
    data = day1_data(load_dataset(tmp_path), bmi_split(), "IL-1RA")
    assert min(data.count(label) for label in data.labels) < MIN_DAY1_PARTICIPANTS
    assert not data.enough
    assert len(data.table) + sum(data.left_out.values()) == 12  # every ketamine participant is kept or counted


def test_day1_planted_coupling_is_found_in_its_subgroup_only(tmp_path):
    """The planted-subgroup twin adds 10 MADRS points per doubling of IL-1RA
    change, ketamine arm, BMI < 25 only; the day-1 slope there is detected
    positive (pulled towards zero by the N(0, 3) prior) and the other
    subgroup's interval covers zero. A larger ketamine arm keeps this stable."""
    scenario = load_scenario("planted-subgroup", overrides={"design": {"n_ketamine": 160, "n_saline": 10}})
    simulate(scenario, seed=5).write(tmp_path)
    data = day1_data(load_dataset(tmp_path), bmi_split(), "IL-1RA")
    assert data.enough
    result = fit(build_day1_model(data), SamplerSettings(draws=500, tune=500, chains=2, seed=3), "day1")
    table = day1_estimates(result.idata, data, ROPES, result.diagnostics.converged).set_index("subgroup")
    assert list(table.columns) == [c for c in estimates.COLUMNS if c != "subgroup"]
    assert (table["visit"] == "24h").all() and result.diagnostics.max_r_hat < 1.05
    focus, other, diff = table.loc["BMI < 25"], table.loc["BMI >= 25"], table.loc["BMI < 25 vs BMI >= 25"]
    # the day-1 variants of the estimands (the summary keeps them apart from the pooled model's)
    assert (focus["estimand"], diff["estimand"]) == ("coupling_within_ketamine_day1", "coupling_subgroup_difference_ketamine_day1")
    assert focus["ci_low"] > 0 and focus["mean"] > 3.0, focus
    assert other["ci_low"] < 0 < other["ci_high"], other
    assert diff["mean"] > 0 and diff["p_positive"] > 0.9, diff
    assert day1_ols(data, "BMI < 25")["p_value"] < 0.05


@pytest.mark.slow
def test_a_subgroup_effect_on_a_censored_marker_survives_multiple_imputation(tmp_path):
    """A coupling of 6 MADRS points per doubling of IL-6 (a third of its values
    under the detection limit) planted in BMI < 25, ketamine arm: values under
    the limit imputed five times from an aim 1 fit, the subgroup model fitted to
    each completed data set, the draws mixed. The planted difference is found,
    no other, its interval covers the truth, and the imputed values all lie
    under their limits. (The imputation model knows nothing of depression, so
    the difference comes out attenuated, about as much as with LOD/2 but with
    the wider interval that the unknown values warrant: on this twin 3.8 ± 1.4
    against 4.0 ± 1.1 with LOD/2 and 5.0 ± 1.0 with no detection limit.)"""
    planted = [{"marker": "IL-6", "covariate": "bmi", "below": 25, "labels": ["BMI < 25", "BMI >= 25"], "ketamine": 6.0, "saline": 0.0}]
    simulate(load_scenario("paper-null", overrides={"effects": {"subgroup_coupling": planted}}), seed=20250404).write(tmp_path)
    dataset = load_dataset(tmp_path)
    markers = ["IL-6", "BDNF"]
    aim1 = fit(build_nif_trajectory_model(prepare(dataset, markers=markers)), SamplerSettings(draws=300, tune=300, chains=2, seed=1), "aim1")
    completed = impute_below_lod(dataset, aim1.idata.posterior, imputations=5, seed=2)
    below = (dataset.measurements["below_lod"] & dataset.measurements["measure"].isin(markers)).to_numpy()
    assert below[(dataset.measurements["measure"] == "IL-6").to_numpy()].mean() > 0.2
    for copy in completed:
        filled = copy.measurements[below]
        assert not filled["below_lod"].any() and (filled["value"] <= filled["lod"]).all() and (filled["value"] > 0).all()
    assert not np.allclose(completed[0].measurements["value"][below], completed[1].measurements["value"][below])
    splits = [s for s in load_splits(PARAMS / "subgroups.yaml") if s.name in SPLITS]
    fits, data, design = [], None, None
    for k, copy in enumerate(completed):
        data = subgroup_data(copy, markers)
        design = subgroup_design(copy, splits, data.participants)
        fits.append(fit(build_subgroup_model(data, design), replace(SETTINGS, seed=SETTINGS.seed + k), f"imputation-{k}"))
    table = subgroup_estimates([f.idata for f in fits], data, design, ROPES, all(f.diagnostics.converged for f in fits))
    found = differences(table)[estimates.detected(differences(table))]
    key = (SUBGROUP_COUPLING_DIFFERENCE["ketamine"], "IL-6", "BMI < 25 vs BMI >= 25")
    assert list(zip(found["estimand"], found["marker"], found["subgroup"], strict=True)) == [key], found
    assert found.iloc[0]["ci_low"] <= 6.0 <= found.iloc[0]["ci_high"]
    assert (table["r_hat"] < 1.05).all()


def test_chapter_tables_pick_and_format_the_rows():
    """The chapter's tables from output-contract rows: the most certain coupling
    differences first (NIF ratios left out), the paper's finding (None where
    a row is missing), and the day-1 table beside least squares."""
    def row(estimand, subgroup, mean, p, marker="IL-1RA", visit="all"):
        return {"estimand": estimand, "marker": marker, "visit": visit, "subgroup": subgroup, "mean": mean, "sd": 1.0,
                "ci_low": mean - 2, "ci_high": mean + 2, "p_positive": p, "p_rope": 0.5, "r_hat": 1.0,
                "ess_bulk": 500.0, "converged": True}
    split = "BMI < 25 vs BMI >= 25"
    table = pd.DataFrame([row(COUPLING_WITHIN["ketamine"], "BMI < 25", 1.0, 0.8),
                          row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], split, 3.0, 0.6),
                          row(SUBGROUP_COUPLING_DIFFERENCE["saline"], split, -2.0, 0.05),
                          row(SUBGROUP_NIF_RATIO, split, 1.5, 0.999)], columns=estimates.COLUMNS)
    largest = largest_coupling_differences(subgroup_differences(table), rows=1)
    assert largest.to_dict("records") == [{"marker": "IL-1RA", "arm": "saline", "split": split,
                                           "difference [95% interval]": "-2.0 [-4.0, +0.0]", "P(> 0)": 0.05, "P(ROPE)": 0.5}]
    separate = pd.DataFrame({"subgroup": ["BMI >= 25"], "estimate": [0.5]})
    rows = finding_rows(table, separate, "IL-1RA", "BMI < 25")
    assert rows["pooled"]["mean"] == 1.0 and rows["difference"]["mean"] == 3.0 and rows["separate"] is None
    assert finding_rows(table, separate, "CRP", "BMI < 25")["pooled"] is None
    data = Day1Data("IL-1RA", "24h", ("BMI < 25", "BMI >= 25"), pd.DataFrame({"subgroup": ["BMI < 25"] * 7 + ["BMI >= 25"] * 8}),
                    {"BMI < 25": 0, "BMI >= 25": 0})
    day1 = table.iloc[:2].assign(visit="24h")
    ols = {"BMI < 25": {"estimate": 2.25, "ci_low": 0.5, "ci_high": 4.0, "p_value": 0.0123}}
    assert day1_comparison(day1, data, ols).to_dict("records") == [
        {"subgroup": "BMI < 25", "participants": 7, "posterior mean [95% interval]": "+1.0 [-1.0, +3.0]", "P(> 0)": 0.8,
         "least squares [95% CI]": "+2.2 [+0.5, +4.0]", "p": "0.012"},
        {"subgroup": split, "participants": 15, "posterior mean [95% interval]": "+3.0 [+1.0, +5.0]", "P(> 0)": 0.6,
         "least squares [95% CI]": "", "p": ""}]


def test_imputation_with_nothing_under_the_limit_returns_the_data_unchanged(data_copy):
    """A marker with no value under its detection limit (CRP here) has nothing
    to draw: every completed copy equals the data (this crashed before on the
    empty index arrays)."""
    import xarray as xr

    rows = read(data_copy, "measurements")
    crp = rows["measure"] == "CRP"
    rows.loc[crp & (rows["below_lod"] == "true"), ["value", "below_lod"]] = ["5.0", "false"]
    write(rows, data_copy, "measurements")
    dataset = load_dataset(data_copy)
    people, visits = list(dataset.participants["participant_id"]), dataset.visits[1:]
    posterior = xr.Dataset(
        {"level": (("chain", "draw", "participant", "marker"), np.zeros((1, 4, len(people), 1))),
         "delta": (("chain", "draw", "marker", "post_visit"), np.zeros((1, 4, 1, len(visits)))),
         "log_ratio": (("chain", "draw", "marker", "post_visit"), np.zeros((1, 4, 1, len(visits)))),
         "sigma": (("chain", "draw", "marker"), np.ones((1, 4, 1)))},
        coords={"participant": people, "marker": ["CRP"], "post_visit": visits, "chain": [0], "draw": range(4)})
    completed = impute_below_lod(dataset, posterior, imputations=2, seed=1, markers=["CRP"])
    assert len(completed) == 2
    for copy in completed:
        pd.testing.assert_frame_equal(copy.measurements, dataset.measurements)


def test_subgroup_log_likelihood_is_the_multivariate_normal_of_each_marker_and_participant(tmp_path):
    """The model integrates each marker's person intercepts out in one closed
    form per participant; here each participant's rows of a marker are
    checked against their joint normal density (covariance s^2 J + sigma^2 I),
    written from the long rows, at a point away from the initial one."""
    from scipy import stats

    simulate("paper-null", seed=3).write(tmp_path)
    dataset = load_dataset(tmp_path)
    splits = [s for s in load_splits(PARAMS / "subgroups.yaml") if s.name in SPLITS]
    data = subgroup_data(dataset, MARKERS)
    keep = np.arange(len(data.y)) % 7 > 0  # some more missed ratings: their rows leave the data
    data = replace(data, **{name: getattr(data, name)[keep] for name in ("y_marker", "y_person", "y_visit", "y", "within", "between")})
    design = subgroup_design(dataset, splits, data.participants)
    model = build_subgroup_model(data, design)
    rng = np.random.default_rng(4)
    point = {k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in model.initial_point().items()}
    names = ["madrs_mean", "coupling", "coupling_deviation", "level_slope", "madrs_person_sd", "madrs_sigma",
             "nif_delta", "nif_arm", "arm_deviation", "nif_person_sd", "nif_sigma"]
    evaluate = model.compile_fn([model[n] for n in names] + list(model.potentials), inputs=model.value_vars,
                                on_unused_input="ignore")
    *values, y_potential, change_potential = evaluate(point)
    p = dict(zip(names, values, strict=True))
    arm = np.where(data.treated == 1.0, 0, 1)
    codes = design.codes

    def joint(rows, resid, sd, sigma):
        return sum(stats.multivariate_normal(np.zeros(len(r)), sd[m] ** 2 + sigma[m] ** 2 * np.eye(len(r))).logpdf(resid[r])
                   for (m, _), r in rows.items())

    m, i, t = data.y_marker, data.y_person, data.y_visit
    gamma = p["coupling"][m, arm[i]] + np.einsum("rk,rk->r", p["coupling_deviation"][m, arm[i]], codes[i])
    resid = data.y - (p["madrs_mean"][m, arm[i], t] + gamma * data.within + p["level_slope"][m] * data.between)
    rows = pd.Series(np.arange(len(m))).groupby([m, i]).apply(list).to_dict()
    assert y_potential == pytest.approx(joint(rows, resid, p["madrs_person_sd"], p["madrs_sigma"]), rel=1e-9)
    m, i, t = data.c_marker, data.c_person, data.c_visit
    shift = np.einsum("rk,rk->r", p["arm_deviation"][m], codes[i])
    resid = data.change - (p["nif_delta"][m, t] + data.arm_contrast[i] * (p["nif_arm"][m, t] + shift))
    rows = pd.Series(np.arange(len(m))).groupby([m, i]).apply(list).to_dict()
    assert change_potential == pytest.approx(joint(rows, resid, p["nif_person_sd"], p["nif_sigma"]), rel=1e-9)


def test_the_subgroup_deviations_prior_is_a_scale_times_a_student_t():
    """The raw deviations are standard Student-t with the configured degrees
    of freedom (their scale applied outside them): prior draws of a
    deviation divided by its scale pass a Kolmogorov-Smirnov test against
    t(nu), and not against the normal."""
    import pymc as pm
    from scipy import stats

    from ketamine_nif.models.pooling import student_t

    nu = load_analysis(PARAMS / "analysis.yaml").priors(SubgroupPriors).nu
    with pm.Model(coords={"k": range(20_000)}):
        scale = pm.HalfNormal("scale", 2.0)
        deviation = scale * student_t("deviation", nu, ("k",))
        drawn_scale, drawn = pm.draw([scale, deviation], random_seed=3)
    ratio = drawn / drawn_scale
    assert stats.kstest(ratio, stats.t(nu).cdf).pvalue > 0.01
    assert stats.kstest(ratio, stats.norm.cdf).pvalue < 1e-6


def test_mixed_imputation_fits_weigh_the_same_when_one_was_refitted_with_more_draws():
    """A fit drawn again with twice the draws (``inference.fit_with_retry``)
    enters the mixture thinned to the others' draws per chain, evenly
    spaced, so that each imputed data set weighs the same; no draw is padded."""
    def fit_of(value, draws):
        posterior = xr.Dataset({"x": (("chain", "draw"), np.full((2, draws), value) + np.arange(draws))})
        return SimpleNamespace(posterior=posterior)

    mixed = mixed_posterior([fit_of(0.0, 100), fit_of(1000.0, 200), fit_of(5000.0, 100)])
    assert dict(mixed.sizes) == {"chain": 6, "draw": 100} and not mixed["x"].isnull().any()
    refit = mixed["x"].sel(chain=[2, 3]).values
    assert np.array_equal(refit[0], 1000.0 + np.linspace(0, 199, 100).round())  # every other draw, first and last kept
    assert np.array_equal(mixed["x"].sel(chain=0).values, np.arange(100.0))
