"""Recovery at reduced size (2 chains, 4 markers): on the planted-effects twin
(modest effects, one to three standard errors each) the 95% intervals cover
the truth, the planted effects lean their way, and no null effect is
detected; on the paper-null twin no NIF effect is detected. How often a
planted effect is detected is the recovery study's business
(sweeps/recovery.yaml), not one twin's."""

from __future__ import annotations

import shutil
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


def coupling_results():
    """Four twins' coupling estimates (ROPE -1..1): per twin a null, an effect
    of 0.5 (inside the ROPE) and one of 3 (outside it), with the verdicts
    their P(direction) and P(ROPE) give by the report's rule."""
    import pandas as pd

    from ketamine_nif.estimands import COUPLING_WITHIN

    twins = []
    for seed, (null_call, big_call) in enumerate([("supported", "supported"), ("ruled", "ruled"),
                                                  ("none", "supported"), ("none", "wrong-way")], start=1):
        p_positive = {"supported": 0.99, "ruled": 0.6, "none": 0.7, "wrong-way": 0.01}
        p_rope = {"supported": 0.1, "ruled": 0.97, "none": 0.5, "wrong-way": 0.1}
        for truth, call in ((0.0, null_call), (0.5, "ruled"), (3.0, big_call)):
            twins.append({"estimand": COUPLING_WITHIN["ketamine"], "seed": seed, "truth": truth, "p_positive": p_positive[call],
                          "p_rope": p_rope[call], "converged": seed != 4 or truth != 3.0, "covered": truth != 3.0 or seed == 3,
                          "error": 0.1 * seed})
    return pd.DataFrame(twins)


def test_calibration_table_counts_each_verdicts_errors_with_twin_clustered_monte_carlo_errors():
    """Couplings (ROPE -1..1): per twin a null, an effect of 0.5 (inside the
    ROPE: neither null nor too large to be negligible) and an effect of 3
    (outside it), with verdicts from P(direction) and P(ROPE) by the report's
    rule; an unconverged fit counts as no verdict."""
    from ketamine_nif.recovery import calibration_table, verdicts_against_truth

    results = coupling_results()
    judged = verdicts_against_truth(results)
    assert list(judged["verdict"][:3]) == ["supported", "ruled out", "supported"]
    row = calibration_table(results).set_index("family").loc["coupling"]
    assert row["twins"] == 4 and row["estimates"] == 12
    assert row["false supported"] == 0.25 and row["false supported n"] == 4  # twin 1's null
    assert row["false ruled out"] == 0.25 and row["false ruled out n"] == 4  # twin 2's effect of 3
    assert row["power"] == pytest.approx(2 / 8) and row["power n"] == 8  # the 3s of twins 1 and 3; the 0.5s are ruled out
    assert row["unreliable"] == pytest.approx(1 / 12)  # twin 4's unconverged wrong-way call is no verdict
    assert row["coverage"] == pytest.approx(9 / 12)
    # Monte Carlo error with twins as clusters: rate 1/4, per-twin deviations 3/4, -1/4, -1/4, -1/4
    assert row["false supported MCSE"] == pytest.approx(np.sqrt(4 / 3 * (0.75**2 + 3 * 0.25**2)) / 4)
    assert row["bias"] == pytest.approx(0.25) and row["rmse"] == pytest.approx(np.sqrt(np.mean((0.1 * results["seed"]) ** 2)))


def test_calibration_is_shown_with_monte_carlo_errors_and_judged_against_the_limit():
    import pandas as pd

    from ketamine_nif.recovery import calibration_display, calibration_sentence

    table = pd.DataFrame({
        "family": ["coupling", "madrs_difference"], "twins": [40, 40], "estimates": [280, 120], "unreliable": [0.0, 0.0],
        "coverage": [0.95, 0.9], "coverage MCSE": [0.01, 0.02], "bias": [0.01, 0.5], "bias MCSE": [0.02, 0.1],
        "false supported": [0.03, float("nan")], "false supported MCSE": [0.01, float("nan")], "false supported n": [200, 0],
        "false ruled out": [0.0, 0.0], "false ruled out MCSE": [0.0, 0.0], "false ruled out n": [40, 120],
        "power": [0.5, 0.7], "power MCSE": [0.05, 0.04], "power n": [80, 120], "rmse": [1.0, 1.4],
    })
    shown = calibration_display(table).set_index("family")
    assert shown.loc["coupling", "false supported"] == "3.0% ± 1.0 (of 200)"
    assert shown.loc["madrs_difference", "false supported"] == "-"
    assert shown.loc["coupling", "coverage"] == "95.0% ± 1.0" and shown.loc["madrs_difference", "bias"] == "0.5 ± 0.1"
    assert calibration_sentence(table, "paper-null") == (
        'On 40 twins of `paper-null`, the report\'s decision rule called null effects "supported" in at most 3.0% of '
        "their estimates in any family (not tested for madrs_difference: these twins have no such effect); and effects "
        'too large to be negligible "ruled out" in none of their 160 estimates. The limit for each is 5%; the Monte '
        "Carlo errors (±) treat each twin's estimates as one cluster.")
    table.loc[0, "false ruled out"] = 0.1
    assert '**effects too large to be negligible "ruled out" more often than 5%** in coupling (10.0%)' in calibration_sentence(table, "x")


def test_calibration_by_scenario_and_the_source_of_a_study(tmp_path, monkeypatch):
    import IPython.display
    import pandas as pd

    from ketamine_nif.recovery import calibration_by_scenario, show_calibration, study_source

    shown_markdown = []
    monkeypatch.setattr(IPython.display, "display", lambda markdown: shown_markdown.append(markdown.data))

    one = coupling_results()
    results = pd.concat([one.assign(scenario="paper-null"), one.assign(scenario="realistic-effects", p_rope=0.99)])
    shown, text = calibration_by_scenario(results)
    assert list(shown["scenario"]) == ["paper-null", "realistic-effects"] and list(shown.columns[:2]) == ["scenario", "family"]
    assert shown["false ruled out"].tolist() == ["25.0% ± 25.0 (of 4)", "75.0% ± 25.0 (of 4)"]  # twin 4: no verdict
    assert text.startswith("On 4 twins of `paper-null`") and "On 4 twins of `realistic-effects`" in text
    assert study_source(None, "studies/x", "sweeps/x.yaml", "an hour") == (
        "**The study's results are missing** (studies/x). Run `.venv/bin/ketamine-nif sweep sweeps/x.yaml` (an hour).")
    # a chapter's view: how to make it while missing; then the table (first: a labelled cell's caption is its first
    # Markdown output's), how it was made and its sentence
    assert show_calibration(str(tmp_path / "x"), "sweeps/x.yaml", "an hour") is None
    assert len(shown_markdown) == 1 and shown_markdown[0].startswith("**The study's results are missing**")
    (tmp_path / "x").mkdir()
    results.to_csv(tmp_path / "x" / "results.csv", index=False)
    assert show_calibration(str(tmp_path / "x"), "sweeps/x.yaml", "an hour").results.shape == results.shape
    table, made, sentence = shown_markdown[1:]
    assert table.startswith("| scenario |") and "realistic-effects" in table
    assert made.startswith("Made by `(not recorded)`") and sentence.startswith("On 4 twins")


def question_twins(estimand, truth, calls, scenario):
    """Twins of one question with two estimates each: per twin (seed from 1)
    the two estimates' (p_positive, p_rope), every estimate at ``truth``."""
    import pandas as pd

    return pd.DataFrame([{"estimand": estimand, "seed": seed, "truth": truth, "p_positive": pp, "p_rope": pr,
                          "converged": True, "covered": True, "error": 0.0, "scenario": scenario}
                         for seed, pair in enumerate(calls, start=1) for pp, pr in pair])


def test_verdict_error_rates_come_from_the_calibration_suite_or_else_the_recovery_study(tmp_path):
    """Per question (estimand), how often the page's answer was wrong: its
    estimates judged together at the question's level (two estimates:
    P(direction) 1 - 0.025/2 = 0.9875, so 0.98 alone does not answer it)."""
    import pandas as pd

    from ketamine_nif.estimands import COUPLING_WITHIN
    from ketamine_nif.recovery import (
        answer_calibration,
        question_calibration,
        verdict_error_rates,
    )

    ketamine, saline, madrs = COUPLING_WITHIN["ketamine"], COUPLING_WITHIN["saline"], MADRS_CHANGE_DIFFERENCE
    quiet, found, small = (0.6, 0.5), (0.999, 0.1), (0.6, 0.99)
    null = [(found, quiet), (quiet, quiet), (quiet, quiet), ((0.98, 0.1), quiet)]  # answered supported in twin 1 only
    large = [(small, small), (found, quiet), (found, small), (quiet, quiet)]  # answered ruled out in twin 1 only
    suite, recovery_dir, madrs_dir = tmp_path / "calibration", tmp_path / "recovery", tmp_path / "calibration-madrs"
    assert verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir)) == (None, "")
    recovery_dir.mkdir()
    planted = pd.concat([question_twins(ketamine, 0.0, null, "planted-effects"), question_twins(saline, 3.0, large, "planted-effects")])
    planted.to_csv(recovery_dir / "results.csv", index=False)
    table = question_calibration(planted).set_index("estimand")
    assert table.loc[saline, "power"] == 0.5 and table.loc[saline, "power n"] == 4 and pd.isna(table.loc[saline, "false supported"])
    shown, text = answer_calibration(planted)
    shown = shown[shown["rule"] == "the book's (bonferroni)"]
    assert list(shown.columns[:5]) == ["scenario", "rule", "question (estimand)", "twins", "estimates per twin"]
    assert shown.set_index("question (estimand)").loc[ketamine, "false supported"] == "25.0% ± 21.7 (of 4), at most 75.1%"
    assert text.startswith("On 4 twins of `planted-effects`, the page's decision rule answered **questions with no effect "
                           f'"supported" more often than 5%** in {ketamine} (25.0%)')
    rates, source = verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir))
    # "supported" per question; "ruled out" per estimate of the family (3 of the 8 estimates outside the ROPE)
    assert rates.loc[ketamine, "false supported"] == 0.25 and rates.loc[saline, "false ruled out"] == 0.375
    assert rates.loc[ketamine, "false ruled out"] == 0.375 and pd.isna(rates.loc[saline, "false supported"])
    assert rates.loc[ketamine, "false supported MCSE"] == pytest.approx((0.25 * 0.75 / 4) ** 0.5)
    assert rates.loc[ketamine, "false supported estimates"] == 2  # measured on questions of two estimates
    assert source.startswith("the recovery study (4 twins of `planted-effects`")
    suite.mkdir()
    quiet_null = question_twins(ketamine, 0.0, [(quiet, quiet)] * 4, "paper-null")  # nothing supported
    ruled = question_twins(saline, 3.0, [(small, small)] * 4, "realistic-effects")  # everything ruled out
    pd.concat([quiet_null, ruled[ruled["seed"] < 4]]).to_csv(suite / "results.csv", index=False)
    assert verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir))[1].startswith("the recovery study")  # behind it
    # the suite's realistic twins plant a MADRS difference outside the ROPE: its false "ruled out" is measured there
    madrs_ruled = question_twins(madrs, 6.0, [(small, small)] * 4, "realistic-effects")
    pd.concat([quiet_null, ruled, madrs_ruled]).to_csv(suite / "results.csv", index=False)
    rates, source = verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir))
    assert rates.loc[ketamine, "false supported"] == 0.0 and rates.loc[saline, "false ruled out"] == 1.0
    assert source.startswith("the calibration suite (4 twins of `paper-null` and 4 of `realistic-effects`")
    assert pd.isna(rates.loc[madrs, "false supported"]) and rates.loc[madrs, "false ruled out"] == 1.0
    # the MADRS companion (madrs-null) fills false "supported" where the suite's twins have no null question, and only there
    madrs_dir.mkdir()
    companion = pd.concat([question_twins(madrs, 0.0, null, "madrs-null"),
                           question_twins(ketamine, 0.0, [(found, found)] * 4, "madrs-null")])
    companion[companion["seed"] < 4].to_csv(madrs_dir / "results.csv", index=False)
    too_few = verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir))[0]
    assert pd.isna(too_few.loc[madrs, "false supported"])  # fewer twins than the suite's
    companion.to_csv(madrs_dir / "results.csv", index=False)
    rates, source = verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir))
    assert rates.loc[madrs, "false supported"] == 0.25 and rates.loc[madrs, "false ruled out"] == 1.0
    assert rates.loc[madrs, "false supported estimates"] == 2  # the companion's questions' size comes with its rate
    assert rates.loc[ketamine, "false supported"] == 0.0  # measured by the suite, not replaced
    assert source.endswith(f'; false "supported" of `{madrs}` from 4 twins of `madrs-null`, where it is null (? runs)')
    # before the suite has caught up, the recovery study's rates, with the companion's beside them
    shutil.rmtree(suite)
    rates, source = verdict_error_rates(str(suite), str(recovery_dir), str(madrs_dir))
    assert source.startswith("the recovery study") and rates.loc[madrs, "false supported"] == 0.25


def test_answer_calibration_compares_the_books_rule_with_each_estimate_alone():
    """The page's answers under the book's rule (Bonferroni over a
    question's estimates) beside each estimate judged alone at 0.975: the
    adjustment removes false "supported" answers and costs power."""
    import pandas as pd

    from ketamine_nif.estimands import COUPLING_WITHIN
    from ketamine_nif.recovery import answer_calibration

    ketamine = COUPLING_WITHIN["ketamine"]
    alone_only = (0.98, 0.1)  # supported alone, short of 1 - 0.025/2
    null = question_twins(ketamine, 0.0, [(alone_only, (0.6, 0.5))] * 2 + [((0.6, 0.5), (0.6, 0.5))] * 2, "paper-null")
    planted = question_twins(ketamine, 3.0, [(alone_only, (0.6, 0.5))] * 2 + [((0.999, 0.1), (0.6, 0.5))] * 2,
                             "realistic-effects")
    shown, text = answer_calibration(pd.concat([null, planted]))
    assert shown["rule"].unique().tolist() == ["the book's (bonferroni)", "each estimate alone"]
    rows = shown.set_index(["scenario", "rule"])
    assert rows.loc[("paper-null", "the book's (bonferroni)"), "false supported"] == "0.0% ± 0.0 (of 4), at most 52.7%"
    assert rows.loc[("paper-null", "each estimate alone"), "false supported"] == "50.0% ± 25.0 (of 4), at most 90.2%"
    assert rows.loc[("realistic-effects", "each estimate alone"), "power"] == "100.0% ± 0.0 (of 4)"
    assert text.endswith('answered a question with no effect "supported" in up to 50% of trials (under the book\'s rule at '
                         "most 0%); the adjustment costs up to 50 percentage points of the power to find a planted effect.")


def test_question_calibration_judges_each_twins_answer_at_its_questions_level():
    """At the level's boundary (two estimates: 1 - 0.025/2 = 0.9875), with
    a twin mixing a null and a planted estimate (false "supported" is
    measured only where all are null; a supported null beside a planted
    effect is counted as a null named), a twin whose fits failed (no
    answer), and two scenarios sharing seeds (told apart)."""
    import pandas as pd

    from ketamine_nif.estimands import COUPLING_WITHIN
    from ketamine_nif.recovery import question_calibration, upper_bound

    ketamine, quiet = COUPLING_WITHIN["ketamine"], (0.6, 0.5)
    null = question_twins(ketamine, 0.0, [((0.9876, 0.1), quiet), ((0.9874, 0.1), quiet), (quiet, quiet)], "a")
    mixed = question_twins(ketamine, 0.0, [((0.999, 0.1), (0.999, 0.1)), (quiet, (0.999, 0.1))], "b")
    mixed.loc[mixed.index[1::2], "truth"] = 3.0  # each twin: its first estimate null, its second planted
    failed = question_twins(ketamine, 0.0, [(quiet, quiet)], "a").assign(seed=9, converged=False)
    table = question_calibration(pd.concat([null, mixed, failed])).iloc[0]
    assert (table["twins"], table["unanswered"], table["false supported n"]) == (6, 1, 3)
    assert table["false supported"] == pytest.approx(1 / 3)  # 0.9876 answers it, 0.9874 does not
    assert (table["power"], table["power n"], table["null named"]) == (1.0, 2, 0.5)  # twin 1 names its null estimate too
    assert upper_bound(0, 100) == pytest.approx(1 - 0.05 ** (1 / 100)) and upper_bound(3, 3) == 1.0
