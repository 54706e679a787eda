"""Chapter 08's sentences (``answers.criticism``) on exact strings: every
branch, including those for converged fits (the test-size book never has
them) and the caveat for fits that failed their checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from ketamine_nif.answers import criticism as answers
from ketamine_nif.criticism import BOOK, LOD_HALF, LOD_SQRT2, PERSON_SLOPES, STUDENT, VARIANTS
from ketamine_nif.inference import Diagnostics

CAVEAT_ONE = ("**Not a finding**: the fit nif-student did not pass the convergence checks (see above), so what follows "
              "describes unreliable posteriors. ")


def diagnostics(model: str, converged: bool = True) -> Diagnostics:
    return Diagnostics(model=model, sampler="pymc", draws=1000, tune=1000, chains=4, seed=1, seconds=1.0,
                       max_r_hat=1.0 if converged else 1.2, min_ess_bulk=1000.0, min_ess_tail=1000.0, divergences=0,
                       min_bfmi=1.0)


PASSED = [diagnostics("nif-normal"), diagnostics("depression")]
FAILED = [diagnostics("nif-normal"), diagnostics("nif-student", converged=False)]


def test_not_a_finding_names_the_fits_that_failed():
    assert answers.not_a_finding(PASSED) == ""
    assert answers.not_a_finding(FAILED) == CAVEAT_ONE
    both = [diagnostics("nif-normal", False), diagnostics("nif-student", False)]
    assert answers.not_a_finding(both).startswith("**Not a finding**: the fits nif-normal and nif-student did not pass")


def test_slope_prior():
    assert answers.slope_prior([0.0, 1.0, 3.0, 5.0], 0.1) == (
        "The visits fall 1.0, 3.0 and 5.0 days after the infusion. The prior scale of $\\omega_m$ is 0.1 per day: one SD "
        "of slopes then moves a person's level by a factor of up to about 1.6 by day 5, more than short-term biological "
        "variation should.")


def outside(censored: tuple[float, float], half: tuple[float, float]) -> pd.Series:
    return pd.Series({("censored", "A"): censored[0], ("censored", "B"): censored[1],
                      ("LOD/2", "A"): half[0], ("LOD/2", "B"): half[1]})


SHARES = "Share of evaluation points where the observed distribution leaves the 90% band of replicated ones, averaged over markers: "


def test_distribution_check_censored_better():
    assert answers.distribution_check(outside((0.1, 0.2), (0.4, 0.3)), PASSED) == (
        SHARES + "15% with the censored treatment and 35% with the LOD/2 treatment (worst panel: A (LOD/2), 40%). "
        "The censored treatment reproduces the reported distribution better: a model fitted to values substituted at "
        "half the limit learns a distribution that reaches too far down, so its replicates pile too many values up at "
        "the limit.")


def test_distribution_check_substitution_better_and_unconverged():
    assert answers.distribution_check(outside((0.4, 0.3), (0.1, 0.2)), FAILED) == (
        CAVEAT_ONE + SHARES + "35% with the censored treatment and 15% with the LOD/2 treatment (worst panel: A "
        "(censored), 40%). The LOD/2 treatment reproduces the reported distribution better.")


def test_distribution_check_about_equal():
    assert answers.distribution_check(outside((0.1, 0.2), (0.2, 0.1)), PASSED) == (
        SHARES + "15% with the censored treatment and 15% with the LOD/2 treatment (worst panel: B (censored), 20%). "
        "The two reproduce the reported distribution about equally well.")


def check(observed: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"observed": observed, "low": 0.0, "high": 1.0})


MEAN_CHECK_END = (
    "(about 90% is expected when a model describes the data). The coupling and moderation models of aims 2 and 3 carry "
    "the same outcome model and the aim 1 trajectories; their own predictive checks are in their chapters.")


def test_mean_checks():
    text = ("The observed mean lies within the 90% range of replicated means in 75% of the 4 marker × arm × visit cells "
            "of the aim 1 model and in 100% of the 2 arm × visit cells of the outcome model " + MEAN_CHECK_END)
    assert answers.mean_checks(check([0.5, 0.2, 1.5, 1.0]), check([0.0, 0.3]), PASSED) == text
    assert answers.mean_checks(check([0.5, 0.2, 1.5, 1.0]), check([0.0, 0.3]), FAILED) == CAVEAT_ONE + text


def loo_inputs(order, diff, dse, share_k, elpd, elpd_i):
    table = pd.DataFrame({"elpd_diff": diff, "dse": dse, "share_k_over_0.7": share_k}, index=[v.label for v in order])
    values = {v.label: SimpleNamespace(elpd=elpd.get(v, -100.0), elpd_i=np.asarray(elpd_i.get(v, [-50.0, -50.0])))
              for v in VARIANTS}
    return table, values


def test_loo_comparison_book_best_nothing_clear():
    table, elpd = loo_inputs(VARIANTS, [0, -1, -2, -3, -1], [0, 1, 1, 1, 1], [0, 0, 0, 0, 0],
                             {STUDENT: -101.0, PERSON_SLOPES: -101.0}, {PERSON_SLOPES: [-50.5, -50.5]})
    assert answers.loo_comparison(table, elpd, PASSED) == (
        "The best-predicting variant (the highest expected log predictive density) is **normal, censored**; the stacking "
        "weights reward what a variant adds to the others, so of two nearly tied variants one can get little weight. No variant is clearly worse (every difference is under 4 "
        "or within two SEs). No participant has Pareto k > 0.7 (reliable estimates). Student-t noise changes the elpd "
        "by -1.0 against normal noise: the book's normal model is adequate for these markers. Person-level slopes change "
        "it by -1.0 (SE of the difference 0.0): participants do not need courses of their own to predict new "
        "participants; the book's simpler model, whose arm effects are the report's estimands, loses nothing.")


def test_loo_comparison_student_best_some_clearly_worse_slopes_needed():
    table, elpd = loo_inputs([STUDENT, PERSON_SLOPES, BOOK, LOD_SQRT2, LOD_HALF], [0, -1, -6, -7, -12], [0, 1, 1, 4, 2],
                             [0, 0.1, 0, 0, 0.02], {STUDENT: -94.0, PERSON_SLOPES: -95.0},
                             {PERSON_SLOPES: [-47.0, -48.0]})
    assert answers.loo_comparison(table, elpd, PASSED) == (
        "The best-predicting variant (the highest expected log predictive density) is **Student-t, censored**; the stacking "
        "weights reward what a variant adds to the others, so of two nearly tied variants one can get little weight. Clearly worse (difference > 4 and more than twice its "
        "SE): normal, censored and normal, LOD/2. At most 10% of participants have Pareto k > 0.7 (read the comparison "
        "with care). Student-t noise changes the elpd by +6.0 against normal noise: the data ask for heavier tails than "
        "the book's model has. Person-level slopes change it by +5.0 (SE of the difference 0.7): participants' own "
        "courses after the infusion differ more than the book's model allows, and its intervals may be too narrow.")


def test_loo_comparison_few_high_k_and_unconverged():
    table, elpd = loo_inputs(VARIANTS, [0, -1, -2, -3, -1], [0, 1, 1, 1, 1], [0.04, 0, 0, 0, 0],
                             {STUDENT: -101.0, PERSON_SLOPES: -101.0}, {PERSON_SLOPES: [-50.5, -50.5]})
    text = answers.loo_comparison(table, elpd, FAILED)
    assert text.startswith(CAVEAT_ONE + "The best-predicting variant (the highest expected log predictive density) is "
                           "**normal, censored**; the stacking weights reward what a variant adds to the others, so of "
                           "two nearly tied variants one can get little weight. ")
    assert "At most 4% of participants have Pareto k > 0.7 (reliable estimates). " in text


RATIOS = {"book": pd.DataFrame({"mean": [1.0, 2.0]}), "wider": pd.DataFrame({"mean": [1.1, 2.0]}),
          "narrower": pd.DataFrame({"mean": [1.0, 1.9]})}
PRIOR_END = (
    "What matters for the conclusions is the ratios, and there the refits answer directly: with the arm-effect priors 2 "
    "times wider or narrower, the posterior mean ratios move by at most a factor of 1.10 (@fig-criticism-prior-refits).")


def test_prior_sensitivity():
    flagged = pd.DataFrame({"prior": [0.01, 0.2], "diagnosis": ["✓", "potential prior-data conflict"]},
                           index=["tau", "sigma"])
    assert answers.prior_sensitivity(flagged, RATIOS, 2.0, PASSED) == (
        "Power-scaling flags sigma (potential prior-data conflict). A flag on a prior other than the arm effects' means "
        "that prior, not only the data, shapes those parameters. " + PRIOR_END)
    arm = pd.DataFrame({"prior": [0.06, 0.01], "diagnosis": ["potential prior-data conflict", "✓"]},
                       index=["log_ratio[IL-6, 24h]", "sigma"])
    assert answers.prior_sensitivity(arm, RATIOS, 2.0, PASSED) == (
        "Power-scaling flags log_ratio[IL-6, 24h] (potential prior-data conflict). The arm effects' sceptical prior is "
        "meant to matter where a marker's data say little, so such a flag is expected. " + PRIOR_END)
    calm = flagged.assign(diagnosis="✓")
    assert answers.prior_sensitivity(calm, RATIOS, 2.0, PASSED) == "Power-scaling flags no parameter. " + PRIOR_END
    assert answers.prior_sensitivity(calm.drop(columns="diagnosis"), RATIOS, 2.0, FAILED) == (
        CAVEAT_ONE + "Power-scaling flags no parameter. " + PRIOR_END)


def lod_errors(truth: list[float], errors: dict[str, list[float]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"seed": [1, 2, 3, 4], "marker": "A", "visit": "24h", "method": method,
                                    "truth": truth, "log_error": values}) for method, values in errors.items()],
                     ignore_index=True)


LOD_END = (
    " At this trial's size the differences are small next to the estimation error itself (RMSE {rmse} on the log scale "
    "with the censored likelihood), so the choice does not decide the report's conclusions. The book keeps the censored "
    "likelihood: it needs no invented values, it is the likelihood of what was actually observed (the yardstick on which "
    "all variants were scored in @sec-criticism-loo), and it does not assume how far under the limit the true values "
    "lie, which a fixed substitute does (LOD/√2 happens to suit these twins' log-normal markers, where a quarter to two "
    "fifths of values fall under the limit; it would not suit every assay).")


def test_lod_comparison_less_accurate_as_accurate_and_planted():
    errors = lod_errors([1.0, 1.0, 2.0, 2.0], {"censored": [0.0, 0.1, -0.1, 0.0], "lod/2": [0.2, 0.3, 0.1, 0.2],
                                               "lod/sqrt2": [0.0, 0.1, -0.1, 0.1]})
    assert answers.lod_comparison(errors) == (
        "Judged against the truth, lod/2 is less accurate (absolute error +0.150, SE 0.050) and lod/sqrt2 is as accurate "
        "as the censored likelihood (difference in absolute error +0.025, SE 0.025). Where an effect is planted (and the "
        "share under the limit therefore differs between the arms), the substitutions move the estimate by +0.200 (SE "
        "0.000) with lod/2 and +0.050 (SE 0.050) with lod/sqrt2 on the log scale relative to the censored likelihood."
        + LOD_END.format(rmse="0.071"))


def test_lod_comparison_more_accurate_without_planted_effects():
    errors = lod_errors([1.0] * 4, {"censored": [0.1, 0.1, -0.1, 0.1], "lod/2": [0.0, 0.0, 0.0, 0.0]})
    assert answers.lod_comparison(errors) == (
        "Judged against the truth, lod/2 is more accurate (absolute error -0.100, SE 0.000)." + LOD_END.format(rmse="0.100"))


def test_lod_comparison_after_fits_that_failed_their_checks():
    errors = lod_errors([1.0] * 4, {"censored": [0.1, 0.1, -0.1, 0.1], "lod/2": [0.0, 0.0, 0.0, 0.0]})
    text = "Judged against the truth, lod/2 is more accurate (absolute error -0.100, SE 0.000)." + LOD_END.format(rmse="0.100")
    caveat = (" behind these errors did not pass the convergence checks (see the tables above), so what follows "
              "describes unreliable posteriors. ")
    assert answers.lod_comparison(errors.assign(converged=True)) == text
    some = errors.assign(converged=(errors["seed"] != 2) | (errors["method"] != "lod/2"))
    assert answers.lod_comparison(some) == "**Not a finding**: 1 of the 8 fits" + caveat + text
    assert answers.lod_comparison(errors.assign(converged=False)) == "**Not a finding**: all 8 fits" + caveat + text
    one = errors[(errors["seed"] == 1) & (errors["method"] == "censored")].drop(columns="seed").assign(converged=False)
    assert answers._unconverged_fits(one) == "**Not a finding**: the fit" + caveat


def test_sbc_source():
    assert answers.sbc_source(None, "studies/sbc") == (
        "**The SBC results are missing** (studies/sbc). Run `.venv/bin/ketamine-nif sweep sweeps/sbc.yaml` (about 5 s "
        "per replicate and core, compilations included, as measured at the trial's size).")
    study = SimpleNamespace(results=pd.DataFrame({"seed": [1, 1, 2]}), spec={"fixed": {"participants": 30}},
                            command="ketamine-nif sweep sweeps/sbc.yaml", progress="2 of 2 replicates")
    assert answers.sbc_source(study, "studies/sbc") == (
        "2 replicates of 30 participants, made by `ketamine-nif sweep sweeps/sbc.yaml` (2 of 2 replicates).")
    study.spec = {}
    assert answers.sbc_source(study, "studies/sbc").startswith("2 replicates of an unrecorded number of participants")
    study.results["participants"] = 133  # the subgroup SBC's design is a twin's: its rows record its size
    assert answers.sbc_source(study, "studies/sbc").startswith("2 replicates of 133 participants")
    assert answers.sbc_source(None, "studies/sbc-coupling", "sweeps/sbc-coupling.yaml", "a while") == (
        "**The SBC results are missing** (studies/sbc-coupling). Run `.venv/bin/ketamine-nif sweep "
        "sweeps/sbc-coupling.yaml` (a while).")


def test_sbc_says_which_draws_a_study_that_fits_only_the_books_data_fitted():
    """A study whose sweep sets min_above (sbc-moderation-censored) names how
    many of its draws it fitted and how many values above the limit they had;
    the others say nothing."""
    results = pd.DataFrame({"seed": np.repeat([3, 5, 8, 9], 2), "parameter": ["nif0_mu[marker1]", "nif0_mu[marker2]"] * 4,
                            "rank": 1, "draws": 200, "divergences": 0,
                            # 2 markers of 100 values: 97, 90, 80 and 50 of the second under its limit
                            "censored_share": np.repeat([0.485, 0.45, 0.4, 0.25], 2)})
    study = SimpleNamespace(results=results, spec={"fixed": {"participants": 100, "min_above": 3}},
                            summary={"runs": 10, "finished_runs": 10})
    assert answers.sbc_selected(study, "nif0_mu") == (
        "Of the 10 data sets drawn, the 4 whose censored marker had at least 3 values above its limit were fitted (a rule "
        "on the data alone, which keeps their ranks uniform under calibration); they had 3 to 50 values above it, a "
        "quarter of them 8 or fewer.")
    assert answers.sbc_selected(SimpleNamespace(results=results, spec={"fixed": {}}, summary={}), "nif0_mu") == ""
    assert answers.sbc_selected(None) == ""


def test_sbc_calibration():
    results = pd.DataFrame({"seed": [1, 1, 1, 2, 2, 2], "parameter": ["mu[m1]", "mu[m2]", "tau[m1]"] * 2,
                            "divergences": [0, 0, 0, 3, 3, 3], "censored_share": [0.1] * 3 + [0.15] * 3})
    summary = pd.DataFrame({"parameter": ["mu[m1]", "mu[m2]", "tau[m1]"], "outside_band": [False] * 3,
                            "outside_model_band": [False] * 3})
    start = "On average 25% of the last marker's values fell under its fixed limit (20% to 30% across replicates). "
    end = (" 50% of the replicate fits had divergent transitions (reduced settings; the book's fits are gated on having "
           "none). With one 95% band per parameter, about 0.2 of these 3 parameters would leave their band by chance "
           "under perfect calibration")
    model_band = ("the model's band (dashed), which all of them stay inside together with probability about 95% "
                  "under perfect calibration")
    assert answers.sbc_calibration(results, summary) == start + (
        "No parameter's rank ECDF leaves its 95% simultaneous band: no systematic miscalibration is visible at this "
        "number of replicates.") + end + f"; 0 did. None leaves {model_band}."
    summary.loc[2, "outside_band"] = True
    assert answers.sbc_calibration(results, summary) == start + (
        "The rank ECDF leaves its band for tau[m1]: read that parameter's intervals with care.") + end + (
        f"; 1 did. None leaves {model_band}. So the parameters outside their own bands are not, taken alone, proof of "
        "miscalibration; but the model's band is wider, so it misses smaller miscalibration than each parameter's band "
        "would catch.")
    summary.loc[1:, "outside_model_band"] = True
    assert answers.sbc_calibration(results, summary).endswith(
        f"; 1 did. mu[m2] and tau[m1] leave {model_band}: the posterior is miscalibrated there beyond what chance "
        "readily explains.")
    summary.loc[1, "outside_model_band"] = False
    assert answers.sbc_calibration(results, summary).endswith(
        f"; 1 did. tau[m1] leaves {model_band}: the posterior is miscalibrated there beyond what chance readily explains.")
    # a few divergent fits in many do not read as none
    few = pd.concat([results.assign(seed=results["seed"] + 2 * k, divergences=0) for k in range(300)], ignore_index=True)
    few.loc[few["seed"] == 1, "divergences"] = 2  # 1 of 300
    assert " under 1% of the replicate fits had divergent transitions" in answers.sbc_calibration(few, summary)
    assert " 0% of the replicate fits" in answers.sbc_calibration(few.assign(divergences=0), summary)
    # a model without a censored marker (the subgroup model's complete data): no sentence on the limit
    assert answers.sbc_calibration(results.drop(columns="censored_share"), summary).startswith("The rank ECDF leaves")
    # the coupling model's mean levels are nif_mu: they count its markers
    coupling = results.assign(parameter=["nif_mu[m1]", "nif_mu[m2]", "mu[m1]"] * 2)
    assert answers.sbc_calibration(coupling, summary, level="nif_mu").startswith(start)
    assert answers.sbc_calibration(coupling, summary).startswith("On average 12% of the last marker's values")


def test_sbc_says_how_replicates_with_a_wholly_censored_marker_fared():
    """A replicate whose censored marker lies wholly under its limit is
    named apart: its fits' divergences, and what the other replicates show
    without it (a split by the data alone)."""
    from ketamine_nif.criticism import (
        last_marker_under_limit,
        scarcely_above_limit,
        wholly_censored,
    )

    rng = np.random.default_rng(5)
    seeds = np.repeat(np.arange(1, 201), 3)
    results = pd.DataFrame({"seed": seeds, "parameter": ["mu[m1]", "mu[m2]", "tau[m2]"] * 200,
                            "rank": rng.integers(0, 101, len(seeds)), "draws": 100, "divergences": 0,
                            "censored_share": np.repeat(rng.uniform(0, 0.4, 200), 3)})
    results.loc[results["seed"] <= 20, "censored_share"] = 0.5  # 2 markers: the second wholly under its limit
    results.loc[(results["seed"] <= 20) & (results["parameter"] == "tau[m2]"), "rank"] = 0  # and its SD badly fitted
    results.loc[results["seed"] <= 5, "divergences"] = 2
    assert last_marker_under_limit(results).loc[1] == 1.0 and last_marker_under_limit(results.drop(columns="censored_share")).empty
    with pytest.raises(ValueError, match=r"no parameter nif0_mu\[...\]"):
        last_marker_under_limit(results, "nif0_mu")  # a wrong level fails, rather than counting no marker
    assert sorted(results.loc[wholly_censored(results), "seed"].unique()) == list(range(1, 21))
    assert answers.sbc_wholly_censored(results, seed=0) == (
        " 20 of the 200 replicates had every value of the censored marker under its limit; 5 of their 20 fits diverged. "
        "Without them (a split by the data alone, which keeps the ranks uniform on each side), no parameter leaves the "
        "model's band: tau[m2] leaves it only with them. In 20 of them the true tau[m2] lay beyond every posterior "
        "draw (a calibrated posterior would put about 0.4 there), 15 of these 20 fits without a divergence: a sampler "
        "can miss part of such a posterior without a warning. The book reports no estimate of such a marker "
        "(`ketamine_nif.identifiability`), but fits it beside the others, where a divergent fit makes every estimate of "
        "that fit unreliable.")
    # a truth beyond every draw counts at either end (rank = draws), and only for the parameters leaving the band
    above = results.assign(rank=np.where((results["seed"] <= 20) & (results["parameter"] == "tau[m2]"), 100, results["rank"]))
    assert "In 20 of them the true tau[m2] lay beyond every posterior draw" in answers.sbc_wholly_censored(above, seed=0)
    one_off = results.assign(rank=np.where((results["seed"] <= 3) & (results["parameter"] == "mu[m1]"), 0, results["rank"]))
    said = answers.sbc_wholly_censored(one_off, seed=0)
    assert "the true tau[m2] lay beyond" in said and "mu[m1]" not in said  # inside its band: no count of its misses
    loud = results.assign(divergences=np.where(results["seed"] <= 20, 3, 0))  # every miss came with divergences
    assert "under its limit; all 20 fits diverged. Without them" in answers.sbc_wholly_censored(loud, seed=0)
    assert answers._how_many_diverged(loud[loud["seed"] <= 2]) == "both fits diverged"
    assert answers._how_many_diverged(loud[loud["seed"].isin([1, 30])], "those") == "1 of those 2 fits diverged"
    assert ("In 20 of them the true tau[m2] lay beyond every posterior draw (a calibrated posterior would put about 0.4 "
            "there), each of these 20 fits with divergences.") in answers.sbc_wholly_censored(loud, seed=0)
    one = pd.DataFrame({"parameter": ["tau", "tau"], "rank": [0, 50], "draws": 100, "divergences": [0, 4]})
    assert answers._missed_silently(one, ["tau"]) == (
        " In 1 of them the true tau lay beyond every posterior draw (a calibrated posterior would put about 0.0 there), "
        "that fit without a divergence: a sampler can miss part of such a posterior without a warning.")
    assert answers._missed_silently(one.assign(divergences=2), ["tau"]).endswith("there), that fit with divergences.")
    # a model that leaves out a marker with too few values above its limit (aim 3): the sentences before were
    # of the others, these say why (100 participants, one value each: 0.5 share of 2 markers = all 100 under)
    results.loc[results["seed"].isin([21, 22]), "censored_share"] = 0.49  # 2 values above: fewer than 3
    results.loc[results["seed"].isin([21, 22]) & (results["parameter"] == "tau[m2]"), "rank"] = 100
    scarce = scarcely_above_limit(results, 100, 3)
    assert sorted(results.loc[scarce, "seed"].unique()) == list(range(1, 23))
    assert not scarcely_above_limit(results, 100, 2)[results["seed"] == 21].any()  # 2 above: enough at a minimum of 2
    assert answers.sbc_left_out(results, scarce, seed=0, minimum=3) == (
        " 22 of the 200 replicates had fewer than 3 values of the censored marker above its limit: data on which the book "
        "leaves that marker out of this model (`ketamine_nif.models.moderation_data`), so the table and the sentences "
        "above are of the other 178 (a split by the data alone, which keeps their ranks uniform under calibration). 5 of "
        "those 22 fits diverged, and with them tau[m2] leaves the model's band. In 22 of them the true tau[m2] lay beyond "
        "every posterior draw (a calibrated posterior would put about 0.4 there), 17 of these 22 fits without a "
        "divergence: a sampler can miss part of such a posterior without a warning. That is why the book does not fit "
        "such a marker here.")
    single = results[(results["seed"] > 22) | (results["seed"] == 1)]
    assert answers.sbc_left_out(single, scarcely_above_limit(single, 100, 3), seed=0, minimum=3).endswith(
        "of the other 178 (a split by the data alone, which keeps their ranks uniform under calibration). Its fit "
        "diverged, and no parameter leaves the model's band with it. The rule is about what such data can say: so few "
        "values above the limit leave the SD that is a moderation's unit to its prior, and a fit that diverges fails the "
        "book's convergence checks.")
    quiet = single.assign(divergences=0)
    assert answers.sbc_left_out(quiet, scarcely_above_limit(quiet, 100, 3), seed=0, minimum=3).endswith(
        "Its fit did not diverge, and no parameter leaves the model's band with it. The rule is about what such data can "
        "say: so few values above the limit leave the SD that is a moderation's unit to its prior.")
    assert answers.sbc_left_out(results, scarcely_above_limit(results, 100, 0), seed=0, minimum=0) == ""
    study = SimpleNamespace(results=results, spec={"fixed": {"participants": 100}})
    assert answers.sbc_used(study, left_out=3).equals(results[~scarce]) and answers.sbc_used(study).equals(results)
    assert answers.sbc_used(None, left_out=3) is None
    results.loc[results["seed"].isin([21, 22]), "censored_share"] = np.repeat(rng.uniform(0, 0.4, 2), 3)
    results.loc[results["seed"].isin([21, 22]) & (results["parameter"] == "tau[m2]"), "rank"] = rng.integers(0, 101, 2)
    # calibrated with and without them: said so, with no claim about where miscalibration sits
    calibrated = results.assign(rank=np.where(results["parameter"] == "tau[m2]", rng.integers(0, 101, len(results)), results["rank"]))
    assert answers.sbc_wholly_censored(calibrated, seed=0).endswith(
        "keeps the ranks uniform on each side), no parameter leaves the model's band either.")
    results.loc[(results["seed"] > 20) & (results["parameter"] == "mu[m1]"), "rank"] = 100  # miscalibrated elsewhere too
    assert answers.sbc_wholly_censored(results, seed=0).endswith("the ranks uniform on each side), mu[m1] still leaves the model's band.")
    assert answers.sbc_wholly_censored(results[results["seed"] > 20], seed=0) == ""
    assert answers.sbc_wholly_censored(results.drop(columns="censored_share"), seed=0) == ""


def posterior(tau: list[float], sigma: list[float]) -> xr.Dataset:
    dims = ("chain", "draw", "marker")
    return xr.Dataset({"tau": (dims, [[tau]]), "sigma": (dims, [[sigma]])}, coords={"marker": ["IL-6", "IL-10"]})


def test_between_person_spread():
    start = ("In this chapter's fit of the book's model the between-person SD is 2.0 times the occasion-to-occasion SD "
             "for IL-6 and ")
    far = start + "1.5 times the occasion-to-occasion SD for IL-10 (posterior means): far from the corner of near-zero between-person SDs."
    assert answers.between_person_spread(posterior([1.0, 0.75], [0.5, 0.5]), PASSED) == far
    assert answers.between_person_spread(posterior([1.0, 0.75], [0.5, 0.5]), FAILED) == CAVEAT_ONE + far
    assert answers.between_person_spread(posterior([1.0, 0.05], [0.5, 0.5]), PASSED) == start + (
        "0.1 times the occasion-to-occasion SD for IL-10 (posterior means): near the corner of near-zero between-person "
        "SDs for IL-10, where the sampler can miss the funnel of the person levels; read those markers' intervals with "
        "care.")


def test_estimand_names():
    assert answers.estimand_names(VARIANTS) == (
        "`estimates.csv` holds the ketamine/saline ratios of each variant for these markers: `nif_change_ratio` (the "
        "book's model), `nif_change_ratio_student` (Student-t likelihood), `nif_change_ratio_lod_half` (values below "
        "the detection limit set to half of it), `nif_change_ratio_lod_sqrt2` (values below the detection limit set to "
        "it divided by the square root of 2) and `nif_change_ratio_person_slopes` (each participant's own linear course "
        "over the days after the infusion).")

