"""The sentences of chapters 02, 03, 04, 06, 07 and 09, on exact strings, every
branch: converged fits (which the test-size book never reaches) and unconverged
ones, effects found or not, ... The ROPEs and levels passed here are the
tests' own, not the book's (those live in params/analysis.yaml only); the
helpers the chapters use to build their tables and figures are checked too."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ketamine_nif import btheb, evidence, frequentist
from ketamine_nif.analysis import load as load_analysis
from ketamine_nif.answers import baseline, coupling, external, no_answer, trajectories
from ketamine_nif.answers import frequentist as frequentist_answers
from ketamine_nif.estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from ketamine_nif.estimates import COLUMNS
from ketamine_nif.reporting import plural

LEVEL = 0.9  # an equivalence level of the tests' own
NO_ANSWER = ("**No answer is given**: the fit did not pass the convergence checks (see above), so its numbers are "
             "not findings.")


def rows(estimand, specs):
    """Estimate rows: (marker, visit, mean, sd, p_positive, p_rope) each, 95% interval mean ± 2 sd."""
    return pd.DataFrame([{"estimand": estimand, "marker": m, "visit": v, "subgroup": "all", "mean": mean, "sd": sd,
                          "ci_low": mean - 2 * sd, "ci_high": mean + 2 * sd, "p_positive": pp, "p_rope": pr,
                          "r_hat": 1.0, "ess_bulk": 1000.0, "converged": True} for m, v, mean, sd, pp, pr in specs],
                        columns=COLUMNS)


def test_plural():
    assert plural(1, "fit") == "1 fit"
    assert plural(2, "fit") == "2 fits"
    assert plural(0, "analysis", "analyses") == "0 analyses"
    assert plural(1, "analysis", "analyses") == "1 analysis"


def test_no_answer_names_the_fit():
    assert no_answer() == NO_ANSWER
    assert no_answer("a fit").startswith("**No answer is given**: a fit did not pass")


# chapter 02 ------------------------------------------------------------------------------------------------


def test_trajectories_prior_check():
    ratios = np.array([0.3, 0.95, 1.0, 1.05, 1.5, 2.5, 0.8, 1.2, 1.0, 4.0])
    text = trajectories.prior_check(ratios, (0.8, 1.25), np.linspace(-5, 5, 101), np.linspace(0, 2, 101))
    assert text == (
        "The priors put 70% of their mass on ratios between 0.5 and 2, and 60% inside the region of practical "
        "equivalence (0.8 to 1.25): they are sceptical of huge effects but leave room for any effect the literature "
        "considers. Simulated log concentrations span -4.9 to 4.9 (1st to 99th percentile) against 0.0 to 2.0 observed: "
        "wider than the data, as weakly informative priors should be, without putting mass on impossible values.")


def test_trajectories_predictive_check():
    check = pd.DataFrame({"observed": [1.0, 2.0, 3.0, 9.0], "low": [0.0] * 4, "high": [5.0] * 4})
    assert trajectories.predictive_check(check) == (
        "In 75% of the 4 marker × arm × visit cells the observed mean lies within the 90% range of replicated means "
        "(about 90% is expected when the model describes the data well).")


NIF = rows(NIF_CHANGE_RATIO, [("BDNF", "24h", 1.0, 0.03, 0.5, 0.97), ("IL-6", "24h", 1.3, 0.1, 0.99, 0.05)])


def test_trajectories_answer_with_an_effect_found():
    assert trajectories.answer(NIF, (0.8, 1.25), LEVEL, converged=True) == (
        "Across 2 marker × visit comparisons, the 95% interval excludes a ratio of 1 for IL-6 at 24h (ratio 1.30, 95% "
        "interval 1.10 to 1.50). For 1 of the 2 comparisons the data rule out a difference larger than the region of "
        "practical equivalence (P ≥ 0.9 inside 0.8 to 1.25); for the others they are too imprecise to rule it out: the "
        "widest interval, for IL-6 at 24h, runs from 1.10 to 1.50.")


def test_trajectories_answer_without_an_effect():
    assert trajectories.answer(NIF.iloc[:1], (0.8, 1.25), LEVEL, converged=True) == (
        "Across 1 marker × visit comparison, the 95% interval excludes a ratio of 1 for no marker at any visit. For 1 "
        "of the 1 comparisons the data rule out a difference larger than the region of practical equivalence (P ≥ 0.9 "
        "inside 0.8 to 1.25); for the others they are too imprecise to rule it out: the widest interval, for BDNF at "
        "24h, runs from 0.94 to 1.06.")


def test_trajectories_answer_of_an_unconverged_fit():
    assert trajectories.answer(NIF, (0.8, 1.25), LEVEL, converged=False) == NO_ANSWER


# chapter 03 ------------------------------------------------------------------------------------------------


def test_coupling_ratings():
    assert coupling.ratings(120, 40, 0) == (
        "The depression model uses 120 MADRS ratings after the infusion from 40 participants; every post-infusion "
        "rating has a pre-infusion score to adjust for.")
    assert coupling.ratings(117, 39, 3) == (
        "The depression model uses 117 MADRS ratings after the infusion from 39 participants; 3 ratings of "
        "participants without a pre-infusion score cannot be baseline-adjusted and are left out.")


def test_coupling_prior_check():
    scores = np.array([-5.0, 10, 20, 30, 70])
    couplings = np.array([-10.0, -3, 0, 3, 5, 8, 1, 2, -1, 0])
    assert coupling.prior_check(scores, couplings) == (
        "The prior puts 80% of its mass on couplings between −6 and 6 points per doubling: larger than any coupling a "
        "marker could plausibly have, small enough to keep the model away from absurd values. 60% of the MADRS scores "
        "simulated from the priors fall on the scale's range (0 to 60). The check flags the rest: the priors of the "
        "outcome model's level, visit shifts, SDs and arm difference are each set on the scale of the observed ratings' "
        "spread, and the marker terms add spread of their own (in a draw from the priors, the observed NIF values meet a "
        "marker mean and SD drawn from theirs, so a centred or standardised level can lie far out), so together they "
        "allow scores the scale does not. The book keeps these priors weak, as priors of parameters that the data pin "
        "down; its scepticism sits in the effect's prior, on the right.")
    # nearly every simulated score on the scale: nothing to flag
    on_scale = np.r_[np.linspace(0, 60, 95), [-1, -2, 61, 62, 70]]
    assert coupling.prior_check(on_scale, couplings).endswith(
        "absurd values. 95% of the MADRS scores simulated from the priors fall on the scale's range (0 to 60).")


def test_coupling_madrs_beside_the_mixed_model():
    madrs = rows(MADRS_CHANGE_DIFFERENCE, [("MADRS", "24h", -8.0, 1.5, 0.0, 0.0), ("MADRS", "7d", -2.0, 2.0, 0.16, 0.5)])
    mixed = pd.DataFrame({"estimate": [-8.1, -2.1], "se": [1.5, 1.6]})
    assert coupling.madrs(madrs, mixed) == (
        "At 24h, ketamine participants improved by 8.0 MADRS points more than saline participants (95% interval 5.0 "
        "to 11.0); by 7d they improved by 2.0 MADRS points more (95% interval -2.0 to 6.0). From day 1 on, this contrast also carries the "
        "training imbalance of the parent trial (every saline participant had active training). The posterior SDs are "
        "1.00 to 1.25 times the mixed model's standard errors.")
    same = pd.DataFrame({"estimate": [-8.1, -2.1], "se": [1.5, 2.0]})  # both ends read the same: one number
    assert coupling.madrs(madrs, same).endswith("The posterior SDs are 1.00 times the mixed model's standard errors.")
    worse = rows(MADRS_CHANGE_DIFFERENCE, [("MADRS", "24h", 3.0, 1.5, 0.98, 0.3), ("MADRS", "7d", 1.0, 2.0, 0.7, 0.5)])
    assert coupling.madrs(worse, mixed).startswith(
        "At 24h, ketamine participants improved by 3.0 MADRS points less than saline participants (95% interval 0.0 "
        "to 6.0); by 7d they improved by 1.0 MADRS points less (95% interval -3.0 to 5.0).")
    shrunk = mixed.assign(shrunk=[-7.93, -1.96])  # the mixed model's estimates pulled toward 0 by the prior
    assert coupling.madrs(madrs, shrunk, 10.0).endswith(
        "The posterior SDs are 1.00 to 1.25 times the mixed model's standard errors. The posterior means sit 0.10 points "
        "from the mixed model's estimates, toward no difference, as the prior N(0, 10) on each visit's difference says they "
        "should: the mixed model's estimates shrunk by that prior in closed form lie within 0.07 points of them. The pull "
        "acts along the visits' common direction (one person's visits share their intercept), so it is about as large at "
        "a visit with a small difference as at one with a large difference.")
    assert coupling.madrs(madrs, shrunk) == coupling.madrs(madrs, mixed)  # no prior given: no comparison
    off = mixed.assign(shrunk=[-8.5, -2.0])
    assert coupling.madrs(madrs, off, 10.0).endswith(
        "The posterior means sit 0.10 points from the mixed model's estimates; shrunk by the prior N(0, 10) in closed "
        "form, the mixed model's estimates are still 0.50 points from them, more than Monte Carlo error and the closed "
        "form's approximation allow (0.24): the two models disagree about these data.")  # 0.05 + 3 x 2.0 / sqrt(1000)
    unconverged = mixed.assign(shrunk=np.nan)  # no closed form: no sentence
    assert coupling.madrs(madrs, unconverged, 10.0) == coupling.madrs(madrs, mixed)
    one_visit = coupling.madrs(madrs.iloc[:1], shrunk.iloc[:1], 10.0)
    assert one_visit.endswith("lie within 0.07 points of them.")  # no common direction with one visit
    mixed_course = rows(MADRS_CHANGE_DIFFERENCE, [("MADRS", "24h", -8.0, 1.5, 0.0, 0.0), ("MADRS", "7d", 1.0, 2.0, 0.7, 0.5)])
    assert coupling.madrs(mixed_course, mixed).startswith(
        "At 24h, ketamine participants improved by 8.0 MADRS points more than saline participants (95% interval 5.0 "
        "to 11.0); by 7d they improved by 1.0 MADRS points less (95% interval -3.0 to 5.0).")


COUPLINGS = pd.concat([
    rows(COUPLING_WITHIN["ketamine"], [("IL-1RA", "all", 2.5, 1.0, 0.99, 0.1), ("CRP", "all", 0.1, 0.2, 0.6, 0.99)]),
    rows(COUPLING_WITHIN["saline"], [("IL-1RA", "all", 0.0, 1.0, 0.5, 0.6), ("CRP", "all", 0.0, 0.2, 0.5, 0.99)]),
    rows(COUPLING_WITHIN["difference"], [("IL-1RA", "all", 2.5, 1.5, 0.95, 0.2), ("CRP", "all", 0.1, 0.25, 0.6, 0.95)]),
], ignore_index=True)


def test_coupling_answer_when_differences_cannot_be_excluded():
    assert coupling.answer(COUPLINGS, (-1.0, 1.0), LEVEL, converged=True) == (
        "Couplings whose 95% interval excludes zero: IL-1RA (ketamine: +2.5 points per doubling, +0.5 to +4.5). The "
        "data rule out an arm difference in coupling larger than 1 point per doubling (P ≥ 0.9 inside the region of "
        "practical equivalence) for 1 of 2 markers; the typical 95% interval of the difference reaches ±1.8 points per "
        "doubling, so differences of that size cannot be excluded with this trial's size.")


def test_coupling_answer_when_intervals_are_narrow():
    narrow = COUPLINGS[COUPLINGS["marker"] == "CRP"]
    assert coupling.answer(narrow, (-1.5, 1.5), LEVEL, converged=True) == (
        "Couplings whose 95% interval excludes zero: none. The data rule out an arm difference in coupling larger than "
        "1.5 points per doubling (P ≥ 0.9 inside the region of practical equivalence) for 1 of 1 markers; the typical "
        "95% interval of the difference reaches ±0.5 points per doubling, narrow enough to exclude differences beyond "
        "the region of practical equivalence.")


def test_coupling_answer_of_an_unconverged_fit():
    assert coupling.answer(COUPLINGS, (-1.0, 1.0), LEVEL, converged=False) == (
        "**No answer is given**: a fit did not pass the convergence checks (see above), so its numbers are not findings.")


# chapter 04 ------------------------------------------------------------------------------------------------


def test_baseline_prior_check():
    assert baseline.prior_check(np.array([-5.0, 10, 20, 30, 70]), np.array([-7.0, 0, 0, 7])).startswith(
        "The prior puts 50% of its mass on moderations between −6 and 6 points per SD: a marker that shifted the ketamine "
        "effect by more would be a far stronger predictor than any known one. 60% of the MADRS scores simulated from the "
        "priors fall on the scale's range (0 to 60). The check flags the rest:")


MODERATIONS = rows(BASELINE_MODERATION_DIFFERENCE, [("IL-6", "24h", -3.0, 1.0, 0.001, 0.1),
                                                    ("BDNF", "24h", 0.2, 0.5, 0.6, 0.95)])


def test_baseline_answer():
    assert baseline.answer(MODERATIONS, (-1.5, 1.5), LEVEL, converged=True) == (
        "A baseline level that predicts the ketamine effect (95% interval excluding zero): IL-6 at 24h (-3.0 points per "
        "SD, -5.0 to -1.0). For 1 of 2 marker × visit comparisons the data rule out a moderation larger than 1.5 points "
        "per SD (P ≥ 0.9 inside the region of practical equivalence).")
    assert baseline.answer(MODERATIONS.iloc[1:], (-1.5, 1.5), LEVEL, converged=True).startswith(
        "A baseline level that predicts the ketamine effect (95% interval excluding zero): no marker at any visit. For 1 "
        "of 1 marker")
    assert baseline.answer(MODERATIONS, (-1.5, 1.5), LEVEL, converged=False) == NO_ANSWER


# chapter 06 ------------------------------------------------------------------------------------------------


EVIDENCE = pd.concat([rows(NIF_CHANGE_RATIO, [("BDNF", "24h", 1.0, 0.03, 0.5, 0.97), ("IL-6", "24h", 1.1, 0.1, 0.8, 0.5)]),
                      rows(MADRS_CHANGE_DIFFERENCE, [("MADRS", "24h", -7.0, 1.3, 0.0, 0.02)])], ignore_index=True)


def test_evidence_without_saved_fits():
    factors = pd.DataFrame({"estimand": [NIF_CHANGE_RATIO], "bf01": [2.0]})
    expected = "No answer can be given without the posterior draws of chapters 02-04."
    assert evidence.answer(pd.DataFrame(), factors, pd.DataFrame(), converged=False) == expected
    assert evidence.answer(EVIDENCE, pd.DataFrame(), pd.DataFrame(), converged=True) == expected
    assert evidence.missing_inputs(["a.nc", "b.nc"]) == (
        "**Missing inputs**: a.nc and b.nc not found. This chapter reads the posterior draws that chapters 02-04 save; "
        "run them first (`make report` does). Estimands without their fit are left out below.")


def test_evidence_verdicts_per_estimand():
    assert list(evidence.verdicts(EVIDENCE, LEVEL)) == ["ruled out", "undecided", "present"]
    ropes = {NIF_CHANGE_RATIO: (0.8, 1.25), MADRS_CHANGE_DIFFERENCE: (-2.5, 2.5)}
    summary = evidence.verdict_summary(EVIDENCE, ropes, LEVEL)
    assert list(summary.columns) == ["estimand", "ROPE", "estimates", "ruled out", "present", "undecided",
                                     "min P(ROPE)", "max P(ROPE)"]
    assert summary[["ROPE", "estimates", "ruled out", "present", "undecided"]].values.tolist() == [
        ["0.8 to 1.25", 2, 1, 0, 1], ["-2.5 to 2.5", 1, 0, 1, 0]]


def test_evidence_outputs_and_important_effects(tmp_path):
    factors = pd.DataFrame({"estimand": [NIF_CHANGE_RATIO], "bf01": [2.0]})
    assert evidence.write_outputs(tmp_path, tmp_path / "sources", EVIDENCE, factors, []) is True
    record = json.loads((tmp_path / "diagnostics.json").read_text())["evidence"]
    assert record["estimands"] == 3 and record["bayes_factors"] == 1 and record["converged"] is True
    assert evidence.write_outputs(tmp_path, tmp_path, pd.DataFrame(), factors.iloc[:0], ["x.nc"]) is False
    assert list(pd.read_csv(tmp_path / "estimates.csv").columns) == COLUMNS
    config = load_analysis()
    important = evidence.important_effects(config)
    assert important[NIF_CHANGE_RATIO] == pytest.approx(np.log(config.important_effect(NIF_CHANGE_RATIO)))
    assert important[MADRS_CHANGE_DIFFERENCE] == config.important_effect(MADRS_CHANGE_DIFFERENCE)


# chapter 07 ------------------------------------------------------------------------------------------------


def make_tests(hits: int = 3) -> pd.DataFrame:
    """40 tests: 2 groups x 2 markers x aims 1 and 3 x 5 visits (8 model fits); the first ``hits`` with p = 0.01."""
    records = []
    for subgroup in ("all", "X"):
        for marker in ("A", "B"):
            for aim, estimand in ((1, NIF_CHANGE_RATIO), (3, BASELINE_MODERATION_DIFFERENCE)):
                for visit in ("v1", "v2", "v3", "v4", "v5"):
                    records.append({"aim": aim, "estimand": estimand, "marker": marker, "visit": visit,
                                    "subgroup": subgroup, "split": "", "term": f"{visit}:ketamine", "estimate": 0.1,
                                    "se": 0.05, "ci_low": 0.0, "ci_high": 0.2, "p_value": 0.5, "participants": 40,
                                    "observations": 120, "converged": True})
    frame = pd.DataFrame(records, columns=frequentist.TEST_COLUMNS)
    frame.loc[: hits - 1, "p_value"] = 0.01
    return frame


MULTIPLICITY = (
    "Of 40 tests, 3 have p < 0.05; if no effect existed anywhere, about 2 would (give or take 1 if the tests were "
    "independent). They are not: all of them reuse the same 40 participants. Each subgroup's tests reuse participants "
    "of the overall analysis, the two halves of a split together make up the whole sample, and within each group the 20 "
    "tests come from only 4 model fits (the visits of aims 1 and 3 share a fit; the coupling difference "
    "reuses both arms' data). None of the tests is independent of all the others, so the count of hits varies more "
    "from sample to sample than the binomial figure suggests, but its expectation under the global null stays 2. ")


@pytest.mark.parametrize("markers, splits, covered", [
    (9, 14, "9 markers, all participants and 28 subgroups from 14 splits"),
    (1, 1, "1 marker, all participants and 2 subgroups from 1 split"),
])
def test_frequentist_scope(markers, splits, covered):
    expected = f"Values under the detection limit count as 0.5 × the limit. The analysis covers {covered}."
    assert frequentist_answers.scope(0.5, markers, splits) == expected


def test_frequentist_multiplicity_every_fit_fitted():
    assert frequentist_answers.multiplicity(make_tests(), 0.05, 40, []) == MULTIPLICITY + "Every model could be fitted."


def test_frequentist_multiplicity_with_failed_and_warning_fits():
    tests = make_tests()
    fits = tests.groupby(["subgroup", "marker", "aim"]).ngroup()
    tests.loc[fits.isin([fits[5], fits[15]]), "converged"] = False  # two fits, of their visits' tests each
    warned = int((~tests["converged"]).sum())
    assert warned > 2
    assert frequentist_answers.multiplicity(tests, 0.05, 40, ["X / A / aim 1: LinAlgError", "X / B / aim 3: ValueError"]) == (
        MULTIPLICITY + "2 fits failed and are not counted (X / A / aim 1: LinAlgError and X / B / aim 3: ValueError). "
        f"2 fits warned about convergence ({warned} tests, flagged in estimates.csv and left out of the summary page).")
    tests["converged"] = True
    tests.loc[6, "converged"] = False
    assert frequentist_answers.multiplicity(tests, 0.05, 40, ["X / A / aim 1: LinAlgError"]) == (
        MULTIPLICITY + "1 fit failed and is not counted (X / A / aim 1: LinAlgError). "
        "1 fit warned about convergence (1 test, flagged in estimates.csv and left out of the summary page).")
    # groups of different sizes: the largest, not an average that matches none
    uneven = pd.concat([make_tests(), make_tests().assign(subgroup="small").head(3)], ignore_index=True)
    assert "and within one group as many as 20 tests come from only 4 model fits" in frequentist_answers.multiplicity(
        uneven, 0.05, 40, [])
    many = [f"fit {i}: ValueError" for i in range(5)]
    assert frequentist_answers.multiplicity(make_tests(), 0.05, 40, many).endswith(
        "5 fits failed and are not counted (fit 0: ValueError, fit 1: ValueError and fit 2: ValueError ...).")


def test_frequentist_finding_against_chance():
    tests = make_tests()
    tests.loc[0, ["estimand", "subgroup"]] = [COUPLING_WITHIN["ketamine"], "X"]
    paper = {"marker": "A", "subgroup": "X", "visit": "24h"}
    tail = ("Read one by one, each hit looks like a finding; read together, they are what a search of this size finds in "
            "data without effects. @sec-subgroups asks the same questions in one model that weighs every subgroup together.")
    assert frequentist_answers.finding(tests, 0.05, paper) == (
        "3 'significant' results among 40 tests is about what chance alone produces (expected 2). The paper's finding, A "
        "coupling in the ketamine arm with X, has p = 0.010 here. " + tail)
    assert frequentist_answers.finding(make_tests(6), 0.05, paper) == (
        "6 'significant' results among 40 tests is more than chance alone would produce (expected 2). " + tail)
    assert frequentist_answers.finding(make_tests(1), 0.05, paper) == (
        "1 'significant' result among 40 tests is about what chance alone produces (expected 2). " + tail)


def test_frequentist_agreement_with_the_bayesian_estimates():
    side = pd.DataFrame({"ci_low_f": [0.0] * 10, "ci_high_f": [1.0] * 10, "mean_b": [0.5] * 9 + [2.0]})
    assert frequentist_answers.agreement(side, ["02-x"]) == (
        "For 90% of the 10 shared estimands the Bayesian posterior mean lies inside the frequentist 95% confidence "
        "interval: the two approaches tell the same story where they ask the same question; they differ in how they "
        "treat values under the detection limit (a fraction of the limit here, a censored likelihood there), in the "
        "Bayesian priors, which pull each effect toward none, and, for the couplings, in what a within-person change is "
        "(a deviation from the person's mean here, a change since baseline there).")
    side.loc[:2, "mean_b"] = 2.0
    assert frequentist_answers.agreement(side, ["02-x"]) == (
        "For 60% of the 10 shared estimands the Bayesian posterior mean lies inside the frequentist 95% confidence "
        "interval: fewer than the 90% that two analyses of one question should share; they differ in how they "
        "treat values under the detection limit (a fraction of the limit here, a censored likelihood there), in the "
        "Bayesian priors, which pull each effect toward none, and, for the couplings, in what a within-person change is "
        "(a deviation from the person's mean here, a change since baseline there), and here those differences move "
        ""
        "the estimates.")
    assert frequentist_answers.agreement(None, ["02-x", "03-y"]) == (
        "The Bayesian chapters' estimates were not found next to this chapter's outputs (02-x, 03-y); run them first "
        "to see the two side by side.")


def test_frequentist_tables_and_outputs(tmp_path):
    tests = make_tests()
    assert frequentist.chance_hits(40, 0.05) == pytest.approx((2.0, np.sqrt(1.9)))
    assert frequentist.model_fits(tests) == 8
    shown = frequentist.tests_table(tests.iloc[[0, 5]])
    assert shown["estimate [95% CI]"].tolist() == ["1.11 [1.00, 1.22]", "0.10 [0.00, 0.20]"]
    assert shown["p"].tolist() == ["0.010", "0.500"]
    table = frequentist.write_outputs(tmp_path, tests, [], 1.23)
    assert json.loads((tmp_path / "diagnostics.json").read_text())["frequentist"]["tests"] == 40
    assert frequentist.beside_bayesian(table, tmp_path, ["02-x"]) is None
    (tmp_path / "02-x").mkdir()
    rows(NIF_CHANGE_RATIO, [("A", "v1", 1.05, 0.05, 0.8, 0.6)]).to_csv(tmp_path / "02-x" / "estimates.csv", index=False)
    side = frequentist.beside_bayesian(table, tmp_path, ["02-x"])
    assert frequentist.comparison_table(side).values.tolist() == [
        [NIF_CHANGE_RATIO.replace("_", " "), "A", "v1", "1.11 [1.00, 1.22]", "1.05 [0.95, 1.15]"]]
    assert frequentist.paper_test(tests, {"marker": "A", "subgroup": "X"}) is None


# chapter 09 ------------------------------------------------------------------------------------------------


def comparison_table(fixed_z: float = 0.1, person_median: float = 50.0) -> pd.DataFrame:
    terms = [*btheb.FIXED_EFFECTS, "var_person", "var_residual"]
    ml = pd.DataFrame({"estimate": [5.6, 0.64, -0.705, -2.3, -2.8, 0.2, 48.0, 25.5],
                       "se": [2.2, 0.08, 0.15, 1.7, 1.7, 1.6, np.nan, np.nan]}, index=terms)
    sd = pd.Series([2.0, 0.1, 0.2, 1.5, 1.5, 1.5, 10.0, 3.0], index=terms)
    mean = ml["estimate"] + fixed_z * sd
    median = mean.copy()
    median[["var_person", "var_residual"]] = [person_median, 25.0]
    posterior = pd.DataFrame({"mean": mean, "sd": sd, "median": median, "ci_low": ml["estimate"] - 3 * sd,
                              "ci_high": ml["estimate"] + 3 * sd})
    return btheb.comparison(posterior, ml)


TREATMENT = pd.Series({"mean": -2.3, "ci_low": -5.6, "ci_high": 1.0, "p_positive": 0.09})
SUBSTANCE = (
    "On the substance, Beat the Blues lowered BDI by 2.3 points on average (95% interval -1.0 to 5.6 lower; P(benefit) "
    "= 0.91). Reading the copy's labels as months would have given a time slope of -0.750 points per month instead of "
    "-0.705: small here, but a silent error of the kind this chapter exists to catch.")


def test_external_answer_when_the_fits_agree():
    assert external.answer(comparison_table(), TREATMENT, -0.75, converged=True) == (
        "Yes: every fixed-effect posterior mean lies within 0.10 posterior SDs of the maximum-likelihood estimate "
        "(acceptance: 0.3; met). The variance components are of the same size: the posterior median between-patient "
        "variance is 50.0 against 48.0 by ML, the residual variance 25.0 against 25.5 (acceptance: ratio 0.75 to 1.33 "
        "and the ML value inside the 95% interval; met). The posterior between-patient variance sits a little above the "
        "ML value, as expected: ML variance estimates are biased low in small samples, and a posterior mean or median "
        "averages over the uncertainty in the fixed effects that ML treats as known. " + SUBSTANCE)


def test_external_answer_when_they_do_not():
    assert external.answer(comparison_table(0.5, 30.0), TREATMENT, -0.75, converged=True) == (
        "Not fully: every fixed-effect posterior mean lies within 0.50 posterior SDs of the maximum-likelihood estimate "
        "(acceptance: 0.3; NOT met). The variance components differ by more than the acceptance allows: the posterior "
        "median between-patient variance is 30.0 against 48.0 by ML, the residual variance 25.0 against 25.5 (acceptance: ratio 0.75 to 1.33 "
        "and the ML value inside the 95% interval; NOT met). " + SUBSTANCE)
    # variances far apart, the posterior's above ML: no "a little above, as expected"
    assert external.answer(comparison_table(0.1, 100.0), TREATMENT, -0.75, converged=True) == (
        "Not fully: every fixed-effect posterior mean lies within 0.10 posterior SDs of the maximum-likelihood estimate "
        "(acceptance: 0.3; met). The variance components differ by more than the acceptance allows: the posterior "
        "median between-patient variance is 100.0 against 48.0 by ML, the residual variance 25.0 against 25.5 "
        "(acceptance: ratio 0.75 to 1.33 and the ML value inside the 95% interval; NOT met). " + SUBSTANCE)
    assert external.answer(comparison_table(), TREATMENT, -0.75, converged=False) == NO_ANSWER


def test_external_answer_when_the_treatment_raises_bdi():
    harm = pd.Series({"mean": 1.5, "ci_low": -1.0, "ci_high": 4.0, "p_positive": 0.88})
    assert external.answer(comparison_table(), harm, -0.75, converged=True).endswith(
        "On the substance, Beat the Blues raised BDI by 1.5 points on average (95% interval -1.0 to 4.0 higher; "
        "P(benefit) = 0.12). Reading the copy's labels as months would have given a time slope of -0.750 points per "
        "month instead of -0.705: small here, but a silent error of the kind this chapter exists to catch.")


def test_external_data_and_tables():
    wide = pd.DataFrame({"participant": ["1", "2", "3"], "treatment": ["BtheB", "TAU", "TAU"], "bdi_pre": [30, 25, 20],
                         "drug": ["No"] * 3, "length": ["<6m"] * 3, "bdi.2m": [20, 22, np.nan],
                         "bdi.4m": [15, np.nan, np.nan], "bdi.6m": [np.nan] * 3, "bdi.8m": [10, np.nan, np.nan]})
    long = btheb.to_long(wide)
    assert external.data(wide, long) == (
        "3 patients were randomised (1 to Beat the Blues, 2 to treatment as usual). 2 have at least one follow-up, "
        "giving 4 observations for the model; by month 8, 1 patient remains.")
    assert btheb.months_table(long)["patients observed"].tolist() == [2, 1, 0, 1]
    priors = load_analysis().priors(btheb.BthebPriors)
    assert btheb.prior_table(priors).loc[2, "prior"] == f"N(0, {priors.time_sd:g})"
    shown = btheb.comparison_table(comparison_table())
    assert shown.set_index("term").loc["time", "posterior vs ML"] == "+0.10 SD"
    assert shown.set_index("term").loc["var_person", "posterior vs ML"] == "× 1.04"


def test_figures_of_chapters_07_and_09():
    from ketamine_nif.plotting.external import bdi_course, coefficients
    from ketamine_nif.plotting.frequentist import p_values

    fig = p_values(np.linspace(0, 1, 40), 0.05)
    assert len(fig.axes[0].patches) == 20 + 1  # the bins and the shaded region
    wide = btheb.load_wide()
    assert len(bdi_course(wide, btheb.to_long(wide)).axes[0].lines) > 0
    assert [t.get_text() for t in coefficients(comparison_table(), btheb.FIXED_EFFECTS).axes[0].get_yticklabels()] == \
        btheb.FIXED_EFFECTS
