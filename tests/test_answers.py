"""Sentences with branches, on exact strings: where the book's and the
unpooled estimates disagree (chapters 02-04), the evidence chapter's answer
(06), and the multiplicity of the summary page's answers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ketamine_nif import evidence, summary
from ketamine_nif.estimands import COUPLING_WITHIN, MADRS_CHANGE_DIFFERENCE, NIF_CHANGE_RATIO
from ketamine_nif.estimates import COLUMNS
from ketamine_nif.reporting import pooling_sentence


def rows(estimand, specs):
    """Estimate rows: (marker, visit, mean, sd, p_positive, p_rope) each."""
    return pd.DataFrame([{"estimand": estimand, "marker": m, "visit": v, "subgroup": "all", "mean": mean, "sd": sd,
                          "ci_low": mean - 2 * sd, "ci_high": mean + 2 * sd, "p_positive": pp, "p_rope": pr,
                          "r_hat": 1.0, "ess_bulk": 1000.0, "converged": True} for m, v, mean, sd, pp, pr in specs], columns=COLUMNS)


def test_pooling_sentence_names_the_estimates_whose_category_changed():
    book = rows(NIF_CHANGE_RATIO, [("BDNF", "24h", 1.0, 0.04, 0.5, 0.90), ("IL-6", "24h", 1.3, 0.1, 0.99, 0.1)])
    shared = rows(NIF_CHANGE_RATIO, [("BDNF", "24h", 1.0, 0.02, 0.5, 0.99), ("IL-6", "24h", 1.3, 0.1, 0.99, 0.1)])
    assert pooling_sentence(book, shared) == (
        "Sharing one scale across markers would change the evidence category of 1 of 2 estimates: BDNF at 24h "
        "(inconclusive in the book, ruled out with a shared scale); its posterior SDs are 0.75 times the book's "
        "(median; from 0.50 to 1.00).")
    assert pooling_sentence(book, book) == (
        "Sharing one scale across markers would change no evidence category of the 2 estimates; its posterior SDs are "
        "1.00 times the book's.")  # one value: no range


def test_pooling_sentence_names_the_arm_of_a_coupling():
    book = pd.concat([rows(COUPLING_WITHIN["ketamine"], [("IL-1RA", "all", 2.5, 1.0, 0.99, 0.1)]),
                      rows(COUPLING_WITHIN["saline"], [("IL-1RA", "all", 0.0, 1.0, 0.5, 0.6)])], ignore_index=True)
    shared = book.assign(p_positive=[0.96, 0.5])
    assert "IL-1RA (ketamine) (supported in the book, inconclusive with a shared scale)" in pooling_sentence(book, shared)


def test_evidence_answer_counts_verdicts_and_priors():
    table = pd.concat([rows(NIF_CHANGE_RATIO, [("BDNF", "24h", 1.0, 0.03, 0.5, 0.97), ("IL-6", "24h", 1.1, 0.1, 0.8, 0.5)]),
                       rows(MADRS_CHANGE_DIFFERENCE, [("MADRS", "24h", -7.0, 1.3, 0.0, 0.0)])], ignore_index=True)
    factors = pd.DataFrame({"estimand": [NIF_CHANGE_RATIO, NIF_CHANGE_RATIO, MADRS_CHANGE_DIFFERENCE], "bf01": [5.0, 1.2, 0.001]})
    alternatives = pd.DataFrame({"estimand": [NIF_CHANGE_RATIO] * 2, "book": [0.03, 0.5], "sceptical": [0.01, 0.3],
                                 "neutral": [0.04, 0.6], "optimistic": [0.2, 0.7]})
    text = evidence.answer(table, factors, alternatives, converged=True)
    assert text == (
        "Of 2 NIF estimates, 1 is ruled out for practical purposes (P(inside the ROPE) ≥ 0.95), 0 are practically present "
        "and 1 undecided (ketamine/saline ratio of geometric-mean change from baseline: 1 of 2 ruled out). The Bayes "
        "factors for each marker's effect range from 1.2 to 5, 1 of 2 above 3 (at least moderate evidence for no effect). "
        "Under the sceptical prior 1 of these 2 would be ruled out, under the neutral 1, under the optimistic 0 (under "
        "the book's, 1): "
        "where the data are weak, the prior decides, and those verdicts are the prior's, not the trial's. Ketamine's "
        "effect on MADRS, by contrast, is practically present at 24h. Where an effect is undecided, the trial is silent "
        "rather than negative: the interval still reaches effects that would matter.")
    assert evidence.answer(table, factors, alternatives, converged=False).startswith("**Caution**")
    # priors that agree, or nearly: said as such, with no claim beyond these priors
    agreeing = alternatives.assign(optimistic=[0.03, 0.7])
    assert ("(under the book's, 1): these priors agree on the count; what a narrower or wider prior scale does is in "
            "@tbl-evidence-sensitivity.") in evidence.answer(table, factors, agreeing, converged=True)
    many = pd.concat([alternatives.assign(optimistic=[0.03, 0.7])] * 10, ignore_index=True).assign(
        optimistic=[0.2] + [0.03, 0.7] * 9 + [0.7])  # one of 20 fewer ruled out under the optimistic prior
    assert "(under the book's, 10): the count moves by 1 between these priors; " in evidence.answer(table, factors, many, converged=True)


def question(category_rows):
    chapter = summary.ChapterResults("02-x", "X", "02-x.ipynb", category_rows)
    return summary.questions([chapter])[0]


def test_multiplicity_of_supported_and_ruled_out_answers(monkeypatch):
    """A question of n estimates holds each to P(direction) 1 - 0.025/n
    (Bonferroni, the book's setting), so that with no effect anywhere it is
    answered supported in about 5% of trials or less; with ``multiplicity:
    none`` each estimate is judged at 0.975 and the page says how often
    that errs."""
    supported = question(rows(NIF_CHANGE_RATIO, [(m, "24h", 1.3, 0.1, 0.999 if m == "A" else 0.6, 0.2) for m in "ABCDEFGHIJ"]))
    assert summary.multiplicity(supported) == ("any of 10, each at P(direction) ≥ 0.9975: with no effect anywhere, "
                                               "P(answered supported) ≈ 5% or less")
    ruled = question(rows(NIF_CHANGE_RATIO, [(m, "24h", 1.0, 0.02, 0.5, 0.99) for m in "AB"]))
    assert summary.multiplicity(ruled) == "all 2: P(at least one wrong) up to about 10%"
    inconclusive = question(rows(NIF_CHANGE_RATIO, [("A", "24h", 1.0, 0.2, 0.5, 0.5)]))
    assert summary.multiplicity(inconclusive) == ""
    text = summary.multiplicity_text([supported, ruled])
    assert "classifies 12 reliable estimates" in text and "must reach P(direction) 1 - 0.025/n instead of 0.975 (Bonferroni" in text
    assert "a question of 21 independent null estimates would be answered supported in up to about 66% of trials" in text
    assert "(here 1 estimate supports its question)" in text
    assert "with its 2 questions and no effect anywhere, some question could be answered supported in up to about 10%" in text
    # a revisit (chapter 06 of 02-04) counts no estimate and no question again; the page says how many it left out
    again = summary.multiplicity_text([supported, ruled, replace(supported, revisited=True)])
    assert again == text.replace("12 reliable estimates.", "12 reliable estimates (each once: the 10 that a later chapter "
                                 "gives again are not counted twice).")
    monkeypatch.setattr(summary, "MULTIPLICITY", "none")
    assert summary.question_level(10) == 0.975
    alone = question(rows(NIF_CHANGE_RATIO, [(m, "24h", 1.3, 0.1, 0.99 if m == "A" else 0.6, 0.2) for m in "ABCDEFGHIJ"]))
    assert summary.overall_category(alone.rows) == "supported"
    assert summary.multiplicity(alone) == "any of 10, each at P(direction) ≥ 0.9750: with no effect anywhere, P(answered supported) ≈ 40% or less"
    assert "about 1 of the 12 would be called supported by chance (here 1 is)" in summary.multiplicity_text([alone, ruled])


def test_a_question_is_revisited_only_when_an_earlier_chapter_gave_every_one_of_its_estimates():
    whole = rows(NIF_CHANGE_RATIO, [("A", "24h", 1.3, 0.1, 0.6, 0.2), ("B", "24h", 1.0, 0.02, 0.5, 0.99)])
    by_subgroup = whole.assign(subgroup=["BMI < 25", "BMI >= 25"])
    chapters = [summary.ChapterResults(name, "X", f"{name}.ipynb", table)
                for name, table in (("02-x", whole), ("05-x", by_subgroup), ("06-x", whole), ("08-x", whole.iloc[:1]))]
    found = summary.questions(chapters)
    assert [(q.chapter.stem, q.revisited, q.own) for q in found] == [
        ("02-x", False, True), ("05-x", False, True), ("06-x", True, False), ("08-x", True, False)]
    assert found[1].text.endswith("(by subgroup)") and found[2].text.endswith("(revisited)")
    assert "classifies 4 reliable estimates (each once: the 3 that a later chapter gives again" in summary.multiplicity_text(found)


def test_a_range_whose_ends_read_the_same_is_one_number():
    from ketamine_nif.reporting import spread

    assert [spread([0.9, 1.1]), spread([1.001, 0.999]), spread([float("nan"), 0.5, 1.0]), spread([0.5, float("nan")]),
            spread([]), spread([0.25, 0.5], digits=1)] == ["0.90 to 1.10", "1.00", "0.50 to 1.00", "0.50", "", "0.2 to 0.5"]
    assert [spread([-0.1, 0.3], sign=True), spread([0.481, 0.479], sign=True), spread([0.94, 0.96], between="-", percent=True),
            spread([0.25, 0.251], between="% to ", percent=True), spread([0.2, 0.3], between="% to ", percent=True)] == [
        "-0.10 to +0.30", "+0.48", "94-96%", "25%", "20% to 30%"]


def test_a_variant_is_introduced_as_what_it_is():
    assert summary.describe(f"{NIF_CHANGE_RATIO}_student").endswith(" Sensitivity analysis: Student-t likelihood.")
    assert summary.describe("coupling_within_ketamine_day1") == (
        "After ketamine, does depression move with a NIF within a person? The paper's own analysis: its day-1 question "
        "for one marker and split, the change from baseline to the first visit after the infusion in one regression per "
        "subgroup, nothing pooled.")


def test_a_level_near_one_never_reads_as_one():
    assert [summary.level_text(x) for x in (0.975, 1 - 0.025 / 21, 1 - 0.025 / 588, 1 - 1e-9)] == [
        "0.9750", "0.9988", "0.99996", "0.999999999"]


def test_recovery_sentence_flags_coverage_and_false_detections():
    from ketamine_nif.recovery import recovery_sentence

    good = pd.DataFrame({"estimand": ["a", "b"], "coverage": [0.95, 0.97], "false_detections": [1, 0], "nulls": [40, 20],
                         "converged": [1.0, 1.0], "planted": [2, 0], "detected_planted": [0.5, float("nan")]})
    assert recovery_sentence(good) == (
        "Coverage of the 95% intervals lies between 90% and 99% for every estimand, and null effects are detected at "
        "most 2.5% of the time (the rule allows 5%). The planted effects, of the size a reader cares about, were "
        "detected in their direction in 50% of the twins for a.")
    bad = good.assign(coverage=[0.8, 1.0], false_detections=[4, 0], converged=[0.9, 1.0])
    assert recovery_sentence(bad) == (
        "**Coverage leaves the band from 90% to 99% for a (80%) and b (100%)**. **Null effects are detected more often "
        "than the rule allows** (5%) for a (10.0%). The planted effects, of the size a reader cares about, were "
        "detected in their direction in 50% of the twins for a. Some fits of a failed the convergence checks at these settings.")
    every_one_planted = good.iloc[:1].assign(false_detections=0, nulls=0, planted=3, detected_planted=1.0)
    assert recovery_sentence(every_one_planted) == (
        "Coverage of the 95% intervals lies between 90% and 99% for every estimand. The planted effects, of the size a "
        "reader cares about, were detected in their direction in 100% of the twins for a.")


def test_the_cost_of_dropout_not_at_random_is_measured_on_the_same_twins_at_random():
    from ketamine_nif.recovery import missing_not_at_random_sentence

    rng = np.random.default_rng(0)
    seeds = np.repeat(np.arange(1, 101), 2)
    noise = rng.normal(0.0, 1.0, len(seeds))  # shared by both scenarios: the same twins

    def study(scenario, shift, missing):
        visit = np.tile(["24h", "day5"], 100)
        return pd.DataFrame({"seed": seeds, "scenario": scenario, "estimand": MADRS_CHANGE_DIFFERENCE, "visit": visit,
                             "truth": -5.0, "mean": -5.0 + noise + np.where(visit == "24h", shift, 0.0) + rng.normal(0, 0.05, 200),
                             "covered": np.abs(noise) < 1.96, "madrs_missing_treatment": missing,
                             "madrs_missing_reference": missing})

    control = study("mnar-control", 0.0, 0.10)
    text = missing_not_at_random_sentence(pd.concat([study("mnar-dropout", 0.0, 0.12), control]))
    assert text.startswith("On 100 twins of `mnar-dropout` (odds of leaving × 2.7 per 10 points of the rating the "
                           "participant would have had; at day5 12% of the ratings missing, against 10% with dropout at "
                           "random), the estimate (MADRS change, ketamine - saline) is off by ")
    assert "On the same twins with dropout at random (`mnar-control`) it is off by " in text
    assert text.endswith("so dropout not at random of this strength moves the estimate by less than the study can "
                         "measure (twice the Monte Carlo error of the paired difference, at most 0.01 points).")
    moved = missing_not_at_random_sentence(pd.concat([study("mnar-dropout", 0.5, 0.12), control]))
    assert moved.endswith("so dropout not at random of this strength moves the estimate by +0.50 points at 24h "
                          "(more than twice its Monte Carlo error).")
    # twins of one scenario only, or another estimand: nothing to compare
    assert missing_not_at_random_sentence(control) == ""
    assert missing_not_at_random_sentence(control.assign(estimand="other")) == ""
