"""Chapter 05's sentences on exact strings, every branch: imputed or
substituted values under the detection limit, differences found or not, the
paper's finding standing out or not, the day-1 question not asked, too small,
supported, contradicted or undecided, and fits that failed their checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketamine_nif.answers import subgroups as answers
from ketamine_nif.estimands import COUPLING_WITHIN, SUBGROUP_COUPLING_DIFFERENCE, SUBGROUP_NIF_RATIO
from ketamine_nif.estimates import COLUMNS
from ketamine_nif.subgroup_analysis import (
    Day1Data,
    day1_estimand,
    finding_rows,
    oriented_difference,
)

FOCUS, OTHER = "BMI < 25", "BMI >= 25"
SPLIT = f"{FOCUS} vs {OTHER}"
ROPE = (-1.0, 1.0)


def row(estimand, subgroup, mean, low, high, p_positive, p_rope=0.1, marker="IL-1RA", visit="all") -> dict:
    return {"estimand": estimand, "marker": marker, "visit": visit, "subgroup": subgroup, "mean": mean, "sd": 1.0,
            "ci_low": low, "ci_high": high, "p_positive": p_positive, "p_rope": p_rope, "r_hat": 1.0,
            "ess_bulk": 1000.0, "converged": True}


def frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def test_detection_limit_imputed_or_substituted():
    assert answers.detection_limit(5, True, "out/nif.nc", 0.5) == (
        "Values under the detection limit: 5 completed data sets drawn from `out/nif.nc`.")
    assert answers.detection_limit(1, True, "out/nif.nc", 0.5) == (
        "Values under the detection limit: 1 completed data set drawn from `out/nif.nc`.")
    assert answers.detection_limit(0, False, "out/nif.nc", 0.5) == (
        "Values under the detection limit count as 0.5 of the limit (no imputation: `imputations` is 0).")
    assert answers.detection_limit(5, False, "out/nif.nc", 0.25) == (
        "Values under the detection limit count as 0.25 of the limit (no imputation: `out/nif.nc` is missing; run "
        "chapter 02 first).")


def test_model_size():
    assert answers.model_size(7, 14, 900, 1200, 294) == (
        "The model covers 7 markers and 14 splits (28 subgroups): 900 MADRS ratings paired with a marker value and "
        "1200 post-infusion changes in a marker. It estimates 294 subgroup differences (7 markers × 14 splits × "
        "coupling in each arm and ketamine effect on the marker).")
    assert answers.model_size(1, 1, 1, 1, 1) == (
        "The model covers 1 marker and 1 split (2 subgroups): 1 MADRS rating paired with a marker value and 1 "
        "post-infusion change in a marker. It estimates 1 subgroup difference (1 marker × 1 split × coupling in each "
        "arm and ketamine effect on the marker).")


def test_prior_check_counts_mass_inside_the_rope_and_beyond_a_large_difference():
    draws = np.array([0.0, 0.5, -0.9, 1.0, 2.0, -3.0, 4.0, 6.0, -7.0, 20.0])
    assert answers.prior_check(draws, ROPE) == (
        "Before seeing the data, 40% of the prior mass of a subgroup difference lies inside ±1 point per doubling, and "
        "30.0% beyond ±5 points: the prior expects subgroups to be alike, but leaves room for a large difference.")
    assert "inside ±0.5 points per doubling" in answers.prior_check(draws, (-0.5, 0.5))


def test_differences_found_none_one_several_and_unconverged():
    none = frame()
    assert answers.differences_found(294, none, 0.21, 0.48, 1.3, ROPE, converged=True) == (
        "Of the 294 subgroup differences, none has a 95% posterior interval that excludes the null (no difference). "
        "The scales of the coupling differences (one per marker and arm) have posterior means of 0.21 to 0.48 points per "
        "doubling, and none has its 97.5% quantile above 1.30: the posterior means lie inside the region of practical "
        "equivalence (±1), but the widest interval's upper end (1.30) reaches beyond it: the data cannot rule out "
        "subgroup differences that would matter.")
    one = frame(row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], SPLIT, 4.0, 1.0, 7.0, 0.99))
    assert answers.differences_found(294, one, 0.2, 2.5, 6.0, ROPE, converged=True) == (
        "Of the 294 subgroup differences, 1 has a 95% posterior interval that excludes the null (no difference): IL-1RA, "
        "BMI < 25 vs BMI >= 25 (coupling, ketamine arm). The scales of the coupling differences (one per marker and "
        "arm) have posterior means of 0.20 to 2.50 points per doubling, and none has its 97.5% quantile above 6.00: "
        "the data see real variation between subgroups for some marker.")
    two = frame(row(SUBGROUP_COUPLING_DIFFERENCE["saline"], "female vs male", -3.0, -5.0, -1.0, 0.01, marker="CRP"),
                row(SUBGROUP_NIF_RATIO, SPLIT, 1.3, 1.1, 1.5, 0.999))
    assert answers.differences_found(294, two, 0.2, 0.4, 1.0, ROPE, converged=False) == (
        "Of the 294 subgroup differences, 2 have a 95% posterior interval that excludes the null (no difference): CRP, female vs "
        "male (coupling, saline arm) and IL-1RA, BMI < 25 vs BMI >= 25 (ketamine effect on the marker). The scales of "
        "the coupling differences (one per marker and arm) have posterior means of 0.20 to 0.40 points per "
        "doubling, and none has its 97.5% quantile above 1.00: the data see little variation between subgroups "
        "beyond noise. These come from fits that did not pass the convergence checks, so they are not findings.")


POOLED = pd.Series(row(COUPLING_WITHIN["ketamine"], FOCUS, 1.2, -0.8, 3.1, 0.88))
SEPARATE = pd.Series({"estimate": 4.1, "ci_low": 0.3, "ci_high": 7.9, "p_value": 0.034})
POOLED_TEXT = ("**IL-1RA in participants with BMI < 25, ketamine arm.** In the pooled model, a doubling of IL-1RA within "
               "a person goes with +1.2 MADRS points (95% interval -0.8 to +3.1; P(> 0) = 0.88); it differs from "
               "participants with ")
NOT_STANDING_OUT = ("In plain words: once every subgroup is weighed together, this subgroup does not stand out from the "
                    "others; the coupling there is not distinguishable from the coupling elsewhere. ")
FINDING_END = ("The coupling here is the slope across all visits (day 1 included), as in the original analysis's "
               "model; the paper's own day-1 question follows in @sec-subgroups-day1.")


def test_paper_finding_does_not_stand_out_with_and_without_a_separate_fit():
    difference = pd.Series(row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], SPLIT, 0.9, -1.5, 3.4, 0.77))
    assert answers.paper_finding("IL-1RA", FOCUS, POOLED, difference, SEPARATE, converged=True) == (
        "**IL-1RA in participants with BMI < 25, ketamine arm.** Fitted alone, the subgroup gives +4.1 points per "
        "doubling (95% CI +0.3 to +7.9, p = 0.034). In the pooled model, a doubling of IL-1RA within a person goes "
        "with +1.2 MADRS points (95% interval -0.8 to +3.1; P(> 0) = 0.88); it differs from participants with "
        "BMI >= 25 by +0.9 points (95% interval -1.5 to +3.4; P(> 0) = 0.77). " + NOT_STANDING_OUT + FINDING_END)
    assert answers.paper_finding("IL-1RA", FOCUS, POOLED, difference, None, converged=True).startswith(
        "**IL-1RA in participants with BMI < 25, ketamine arm.** In the pooled model, a doubling")


def test_paper_finding_stands_out_unconverged_or_missing():
    difference = pd.Series(row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], SPLIT, 6.0, 2.0, 9.9, 0.998))
    assert answers.paper_finding("IL-1RA", FOCUS, POOLED, difference, None, converged=True) == (
        POOLED_TEXT + "BMI >= 25 by +6.0 points (95% interval +2.0 to +9.9; P(> 0) = 1.00). In plain words: once every "
        "subgroup is weighed together, this subgroup does stand out. " + FINDING_END)
    assert answers.paper_finding("IL-1RA", FOCUS, POOLED, difference, None, converged=False) == (
        POOLED_TEXT + "BMI >= 25 by +6.0 points (95% interval +2.0 to +9.9; P(> 0) = 1.00). The fits did not pass the "
        "convergence checks (@sec-subgroups-fit), so these numbers are not findings. " + FINDING_END)
    assert answers.paper_finding("IL-1RA", FOCUS, None, None, None, converged=True) == (
        "The subgroup 'BMI < 25' or the marker 'IL-1RA' is not part of this run.")


def test_paper_finding_for_the_second_label_of_its_split_reads_it_minus_the_other():
    pooled = pd.Series(row(COUPLING_WITHIN["ketamine"], OTHER, 1.2, -0.8, 3.1, 0.88))
    difference = pd.Series(row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], SPLIT, 0.9, -1.5, 3.4, 0.77))
    assert answers.paper_finding("IL-1RA", OTHER, pooled, difference, None, converged=True) == (
        "**IL-1RA in participants with BMI >= 25, ketamine arm.** In the pooled model, a doubling of IL-1RA within a "
        "person goes with +1.2 MADRS points (95% interval -0.8 to +3.1; P(> 0) = 0.88); it differs from participants "
        "with BMI < 25 by -0.9 points (95% interval -3.4 to +1.5; P(> 0) = 0.23). " + NOT_STANDING_OUT + FINDING_END)


def test_finding_rows_match_either_side_of_the_split_and_orient_the_difference():
    table = frame(row(COUPLING_WITHIN["ketamine"], FOCUS, 1.2, -0.8, 3.1, 0.88),
                  row(COUPLING_WITHIN["ketamine"], OTHER, 0.3, -1.0, 1.6, 0.6),
                  row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], SPLIT, 0.9, -1.5, 3.4, 0.77),
                  row(SUBGROUP_COUPLING_DIFFERENCE["ketamine"], "female vs male", 2.0, 0.1, 3.9, 0.98))
    separate = pd.DataFrame({"subgroup": [FOCUS, OTHER], "estimate": [4.1, 0.2]})
    first = finding_rows(table, separate, "IL-1RA", FOCUS)
    assert (first["difference"]["subgroup"], first["difference"]["mean"]) == (SPLIT, 0.9)
    second = finding_rows(table, separate, "IL-1RA", OTHER)
    assert second["pooled"]["mean"] == 0.3 and second["separate"]["estimate"] == 0.2
    turned = second["difference"]
    assert turned["subgroup"] == f"{OTHER} vs {FOCUS}"
    assert (turned["mean"], turned["ci_low"], turned["ci_high"]) == (-0.9, -3.4, 1.5)
    assert np.isclose(turned["p_positive"], 0.23)
    assert finding_rows(table, separate, "IL-1RA", "male")["difference"]["mean"] == -2.0
    assert finding_rows(table, separate, "IL-1RA", "BMI")["difference"] is None


def test_oriented_difference_inverts_a_ratio_for_the_second_label():
    ratio = pd.Series(row(SUBGROUP_NIF_RATIO, SPLIT, 1.25, 1.0, 2.0, 0.96))
    turned = oriented_difference(ratio, OTHER)
    assert (turned["mean"], turned["ci_low"], turned["ci_high"]) == (0.8, 0.5, 1.0)
    assert np.isclose(turned["p_positive"], 0.04) and np.isclose(turned["sd"], 0.64)
    assert oriented_difference(ratio, FOCUS).equals(ratio)


def day1_data(focus: int, other: int, left_focus: int = 0, left_other: int = 0) -> Day1Data:
    table = pd.DataFrame({"participant_id": [f"P{i}" for i in range(focus + other)],
                          "subgroup": [FOCUS] * focus + [OTHER] * other})
    return Day1Data("IL-1RA", "24h", (FOCUS, OTHER), table, {FOCUS: left_focus, OTHER: left_other})


def test_day1_participants_every_branch():
    assert answers.day1_participants(None, "IL-1RA", FOCUS, "24h") == (
        "The subgroup 'BMI < 25', the marker 'IL-1RA' or the visit '24h' is not in this run's data, so the day-1 "
        "question is not asked.")
    assert answers.day1_participants(day1_data(14, 20, 2, 1), "IL-1RA", FOCUS, "24h") == (
        "In the ketamine arm, 14 participants with BMI < 25 and 20 with BMI >= 25 have MADRS and IL-1RA at baseline "
        "and at 24h; 3 more (2 with BMI < 25, 1 with BMI >= 25) lack one of these values and are left out.")
    assert answers.day1_participants(day1_data(4, 20), "IL-1RA", FOCUS, "24h") == (
        "In the ketamine arm, 4 participants with BMI < 25 and 20 with BMI >= 25 have MADRS and IL-1RA at baseline "
        "and at 24h; none is left out for a missing value. That is fewer than 6 in a subgroup, too few to estimate a "
        "slope there: the day-1 question is not fitted on these data.")


def day1_table(focus_p: float, difference_p: float, focus_mean: float = 2.0, p_rope: float = 0.3,
               focus: str = FOCUS, other: str = OTHER) -> pd.DataFrame:
    within, difference = (day1_estimand(e) for e in (COUPLING_WITHIN["ketamine"], SUBGROUP_COUPLING_DIFFERENCE["ketamine"]))
    return frame(row(within, focus, focus_mean, -1.0, 5.0, focus_p, p_rope, visit="24h"),
                 row(within, other, 0.5, -2.0, 3.0, 0.6, visit="24h"),
                 row(difference, SPLIT, 1.5, -2.5, 5.5, difference_p, visit="24h"))


OLS = {"estimate": 3.2, "ci_low": 0.4, "ci_high": 6.0, "p_value": 0.027}


def finding(table, problems=(), least_squares=OLS, level=0.95) -> str:
    return answers.day1_finding(table, day1_data(14, 20), FOCUS, least_squares, list(problems), level, 28)


DAY1_START = (
    "**Day 1, IL-1RA, BMI < 25, ketamine arm.** Each doubling of IL-1RA from baseline to 24h went with a MADRS "
    "change of +2.0 points (95% interval -1.0 to +5.0); the probability that a rise went with less improvement, as "
    "the paper found, is {p}. The slope differs from that in participants with BMI >= 25 by +1.5 points (95% "
    "interval -2.5 to +5.5; P(> 0) = {d}). Fitted the paper's way, by least squares in this subgroup alone, the slope "
    "is +3.2 (95% CI +0.4 to +6.0, p = 0.027); the posterior lies nearer zero because the prior expects a doubling to "
    "move MADRS by a few points at most. ")
LOOKS = ("This is one of many looks at these data (the paper's finding was one of 28 subgroups, several markers and "
         "three questions; the pooled model above weighs it among all of them)")
CHANCE = ", so one result this strong is expected somewhere by chance and is not, by itself, evidence of a subgroup-specific effect."


def test_day1_finding_supported_in_the_subgroup_only_or_also_against_the_other():
    assert finding(day1_table(0.99, 0.8)) == (
        DAY1_START.format(p="0.990", d="0.80") + "The data agree with the paper's claim in this subgroup, but not that "
        "it is special to it: the coupling there is not distinguishable from that in participants with BMI >= 25. "
        + LOOKS + CHANCE)
    assert finding(day1_table(0.99, 0.98)) == (
        DAY1_START.format(p="0.990", d="0.98") + "The data agree with the paper's claim in this subgroup, and the "
        "coupling there differs from the other subgroup's. " + LOOKS + CHANCE)


def test_day1_finding_with_the_difference_detected_negative():
    assert finding(day1_table(0.99, 0.01)) == (
        DAY1_START.format(p="0.990", d="0.01") + "The data agree with the paper's claim in this subgroup, but not that "
        "it is special to it: the coupling there is weaker than in participants with BMI >= 25. " + LOOKS + CHANCE)


def test_day1_finding_for_the_second_label_of_its_split_reads_it_minus_the_other():
    text = answers.day1_finding(day1_table(0.99, 0.01, focus=OTHER, other=FOCUS), day1_data(14, 20), OTHER, OLS, [],
                                0.95, 28)
    assert text == (
        "**Day 1, IL-1RA, BMI >= 25, ketamine arm.** Each doubling of IL-1RA from baseline to 24h went with a MADRS "
        "change of +2.0 points (95% interval -1.0 to +5.0); the probability that a rise went with less improvement, "
        "as the paper found, is 0.990. The slope differs from that in participants with BMI < 25 by -1.5 points (95% "
        "interval -5.5 to +2.5; P(> 0) = 0.99). Fitted the paper's way, by least squares in this subgroup alone, the "
        "slope is +3.2 (95% CI +0.4 to +6.0, p = 0.027); the posterior lies nearer zero because the prior expects a "
        "doubling to move MADRS by a few points at most. The data agree with the paper's claim in this subgroup, and "
        "the coupling there differs from the other subgroup's. " + LOOKS + CHANCE)


def test_day1_finding_contradicted_undecided_or_unconverged():
    assert finding(day1_table(0.01, 0.3)) == (
        DAY1_START.format(p="0.010", d="0.30") + "The data point the other way from the paper's claim: a rise went "
        "with more improvement. " + LOOKS + CHANCE)
    assert finding(day1_table(0.7, 0.6)) == (
        DAY1_START.format(p="0.700", d="0.60") + "The data do not support the paper's claim: the 95% interval "
        "includes no coupling, and an effect of practical size cannot be ruled out either. " + LOOKS + ".")
    assert finding(day1_table(0.7, 0.6, p_rope=0.97)).endswith(
        "The data do not support the paper's claim: the 95% interval includes no coupling, and a coupling of "
        "practical size is ruled out. " + LOOKS + ".")
    assert finding(day1_table(0.99, 0.8), problems=["R-hat up to 1.200 (> 1.01) in day1_coupling", "3 divergent transitions"]) == (
        DAY1_START.format(p="0.990", d="0.80") + "The fit did not pass the convergence checks (R-hat up to 1.200 "
        "(> 1.01) in day1_coupling and 3 divergent transitions), so these numbers are not findings. " + LOOKS + CHANCE)


def test_day1_finding_when_least_squares_lie_nearer_zero():
    text = finding(day1_table(0.7, 0.6, focus_mean=4.0), least_squares={**OLS, "estimate": 1.1})
    assert "the slope is +1.1 (95% CI +0.4 to +6.0, p = 0.027). The data do not support" in text


def test_answer_counts_what_stands_out_or_gives_none_unconverged():
    assert answers.answer(294, 0, converged=True) == (
        "Across 294 subgroup differences (couplings in each arm and ketamine effects on each marker), none stands out "
        "from the rest. Testing each subgroup separately at p < 0.05 would produce about 15 such 'findings' by chance "
        "alone (see @sec-frequentist); the pooled model asks instead whether a difference is larger than the variation "
        "between all subgroups, and answers in probabilities rather than in counts of significant tests.")
    assert answers.answer(294, 1, converged=True).startswith(
        "Across 294 subgroup differences (couplings in each arm and ketamine effects on each marker), 1 stands out "
        "from the rest. Testing")
    assert answers.answer(42, 2, converged=True).startswith(
        "Across 42 subgroup differences (couplings in each arm and ketamine effects on each marker), 2 stand out from "
        "the rest. Testing each subgroup separately at p < 0.05 would produce about 2 such")
    assert answers.answer(294, 1, converged=False) == (
        "**No answer is given**: a fit did not pass the convergence checks (see above), so its numbers are not findings.")
