"""Chapter 05's sentences (subgroups without the multiplicity trap): the data
in the model, the prior check, the subgroup differences found, the paper's
finding in the pooled model, the paper's own day-1 question, and the answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checks import interval_share
from ..estimands import SUBGROUP_COUPLING_DIFFERENCE, SUBGROUP_NIF_RATIO
from ..estimates import DETECTION, detected
from ..reporting import join_words, spread
from ..subgroup_analysis import (
    MIN_DAY1_PARTICIPANTS,
    Day1Data,
    day1_estimand,
    oriented_difference,
    split_other,
)
from . import no_answer

LARGE_DIFFERENCE = 5.0  # MADRS points per doubling: a subgroup difference in coupling nobody would call small
NOT_FINDINGS = "These come from fits that did not pass the convergence checks, so they are not findings."
WHAT_DIFFERS = {**{name: f"coupling, {arm} arm" for arm, name in SUBGROUP_COUPLING_DIFFERENCE.items()},
                SUBGROUP_NIF_RATIO: "ketamine effect on the marker"}


def _interval(row: pd.Series) -> str:
    return f"95% interval {row['ci_low']:+.1f} to {row['ci_high']:+.1f}"


def _points(value: float) -> str:
    return "point" if value == 1 else "points"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun if number == 1 else noun + 's'}"


def detection_limit(imputations: int, imputed: bool, posterior_file: str, lod_fraction: float) -> str:
    """How values under the detection limit enter: ``imputations`` completed
    data sets drawn from chapter 02's posterior (``imputed``), or a fraction of
    the limit (no imputation asked for, or the posterior file missing)."""
    if imputations and imputed:
        sets = "1 completed data set" if imputations == 1 else f"{imputations} completed data sets"
        return f"Values under the detection limit: {sets} drawn from `{posterior_file}`."
    why = "`imputations` is 0" if not imputations else f"`{posterior_file}` is missing; run chapter 02 first"
    return f"Values under the detection limit count as {lod_fraction:g} of the limit (no imputation: {why})."


def model_size(markers: int, splits: int, ratings: int, changes: int, differences: int) -> str:
    """What the subgroup model covers and how many differences it estimates."""
    return (
        f"The model covers {_count(markers, 'marker')} and {_count(splits, 'split')} ({_count(2 * splits, 'subgroup')}): "
        f"{_count(ratings, 'MADRS rating')} paired with a marker value and {_count(changes, 'post-infusion change')} in "
        f"a marker. It estimates {_count(differences, 'subgroup difference')} ({_count(markers, 'marker')} × "
        f"{_count(splits, 'split')} × coupling in each arm and ketamine effect on the marker)."
    )


def prior_check(prior_differences: np.ndarray, rope: tuple[float, float]) -> str:
    """The prior mass of a subgroup difference in coupling inside the region of
    practical equivalence, and beyond a large difference."""
    large = 1 - interval_share(prior_differences, -LARGE_DIFFERENCE, LARGE_DIFFERENCE)
    return (
        f"Before seeing the data, {100 * interval_share(prior_differences, *rope):.0f}% of the prior mass of a subgroup "
        f"difference lies inside ±{rope[1]:g} {_points(rope[1])} per doubling, and {100 * large:.1f}% beyond "
        f"±{LARGE_DIFFERENCE:g} points: the prior expects subgroups to be alike, but leaves room for a large difference."
    )


def differences_found(total: int, found: pd.DataFrame, scale_low: float, scale_high: float, scale_widest: float,
                      rope: tuple[float, float], converged: bool) -> str:
    """The subgroup differences ``found`` (rows of the output contract), whose
    95% interval excludes the null (no difference), and what the posterior scales of
    the coupling differences (their means from ``scale_low`` to ``scale_high``,
    the largest 97.5% quantile ``scale_widest``) say about variation between
    subgroups: little only where every 97.5% quantile lies inside the ROPE."""
    named = join_words(f"{r.marker}, {r.subgroup} ({WHAT_DIFFERS.get(r.estimand, r.estimand)})" for r in found.itertuples())
    count = "none has" if found.empty else ("1 has" if len(found) == 1 else f"{len(found)} have")
    return (
        f"Of the {total} subgroup differences, {count} a 95% posterior interval that excludes the null (no difference)"
        + (f": {named}. " if len(found) else ". ")
        + f"The scales of the coupling differences (one per marker and arm) have posterior means of "
        f"{spread([scale_low, scale_high])} points per doubling, and none has its 97.5% quantile above {scale_widest:.2f}: "
        + ("the data see little variation between subgroups beyond noise." if scale_widest <= rope[1] else
           f"the posterior means lie inside the region of practical equivalence (±{rope[1]:g}), but the widest "
           f"interval's upper end ({scale_widest:.2f}) reaches beyond it: the data cannot rule out subgroup differences "
           "that would matter."
           if scale_high < rope[1] else "the data see real variation between subgroups for some marker.")
        + ("" if converged else " " + NOT_FINDINGS)
    )


def paper_finding(marker: str, subgroup: str, pooled: pd.Series | None, difference: pd.Series | None,
                  separate: pd.Series | None, converged: bool) -> str:
    """The paper's finding in the pooled model: the ketamine-arm coupling of
    ``marker`` in ``subgroup`` (``pooled``), its difference from the split's
    other subgroup (``difference``, said as ``subgroup`` minus the other
    whichever side of the split ``subgroup`` is), and the frequentist fit of
    the subgroup alone (``separate``, None where it failed); rows of
    :func:`~ketamine_nif.subgroup_analysis.finding_rows`."""
    if pooled is None or difference is None:
        return f"The subgroup {subgroup!r} or the marker {marker!r} is not part of this run."
    difference = oriented_difference(difference, subgroup)
    other, _ = split_other(difference["subgroup"], subgroup)
    alone = ("" if separate is None else
             f"Fitted alone, the subgroup gives {separate['estimate']:+.1f} points per doubling (95% CI "
             f"{separate['ci_low']:+.1f} to {separate['ci_high']:+.1f}, p = {separate['p_value']:.3f}). ")
    if not converged:
        meaning = "The fits did not pass the convergence checks (@sec-subgroups-fit), so these numbers are not findings."
    elif detected(difference):
        meaning = "In plain words: once every subgroup is weighed together, this subgroup does stand out."
    else:
        meaning = ("In plain words: once every subgroup is weighed together, this subgroup does not stand out from the "
                   "others; the coupling there is not distinguishable from the coupling elsewhere.")
    return (
        f"**{marker} in participants with {subgroup}, ketamine arm.** {alone}In the pooled model, a doubling of {marker} "
        f"within a person goes with {pooled['mean']:+.1f} MADRS points ({_interval(pooled)}; P(> 0) = "
        f"{pooled['p_positive']:.2f}); it differs from participants with {other} by {difference['mean']:+.1f} points "
        f"({_interval(difference)}; P(> 0) = {difference['p_positive']:.2f}). {meaning} The coupling here is the slope "
        "across all visits (day 1 included), as in the original analysis's model; the paper's own day-1 question "
        "follows in @sec-subgroups-day1."
    )


def day1_participants(day1: Day1Data | None, marker: str, subgroup: str, visit: str) -> str:
    """Who answers the day-1 question: the ketamine participants of each
    subgroup with both values at baseline and at ``visit``, those left out, and
    whether there are enough to fit it (``day1`` None: not asked)."""
    if day1 is None:
        return (f"The subgroup {subgroup!r}, the marker {marker!r} or the visit {visit!r} is not in this run's data, "
                "so the day-1 question is not asked.")
    other = next(label for label in day1.labels if label != subgroup)
    left = sum(day1.left_out.values())
    return (
        f"In the ketamine arm, {day1.count(subgroup)} participants with {subgroup} and {day1.count(other)} with "
        f"{other} have MADRS and {marker} at baseline and at {visit}; "
        + (f"{left} more ({day1.left_out[subgroup]} with {subgroup}, {day1.left_out[other]} with {other}) lack "
           "one of these values and are left out." if left else "none is left out for a missing value.")
        + ("" if day1.enough else
           f" That is fewer than {MIN_DAY1_PARTICIPANTS} in a subgroup, too few to estimate a slope there: the day-1 "
           "question is not fitted on these data.")
    )


def _day1_meaning(focus: pd.Series, difference: pd.Series, other: str, problems: list[str], equivalence_level: float) -> str:
    if problems:
        return f"The fit did not pass the convergence checks ({join_words(problems)}), so these numbers are not findings."
    if focus["p_positive"] >= DETECTION:
        if difference["p_positive"] >= DETECTION:
            return "The data agree with the paper's claim in this subgroup, and the coupling there differs from the other subgroup's."
        return "The data agree with the paper's claim in this subgroup, but not that it is special to it: " + (
            f"the coupling there is weaker than in participants with {other}." if detected(difference) else
            f"the coupling there is not distinguishable from that in participants with {other}.")
    if focus["p_positive"] <= 1 - DETECTION:
        return "The data point the other way from the paper's claim: a rise went with more improvement."
    return "The data do not support the paper's claim: the 95% interval includes no coupling" + (
        ", and an effect of practical size cannot be ruled out either." if focus["p_rope"] < equivalence_level else
        ", and a coupling of practical size is ruled out.")


def day1_finding(day1_table: pd.DataFrame, day1: Day1Data, subgroup: str, least_squares: dict, problems: list[str],
                 equivalence_level: float, subgroups: int) -> str:
    """The paper's own question answered: the day-1 coupling in ``subgroup``
    (rows of :func:`~ketamine_nif.subgroup_analysis.day1_estimates`), its
    difference from the other subgroup, the paper's least squares
    (``least_squares``: :func:`~ketamine_nif.subgroup_analysis.day1_ols` of the
    subgroup) and what it means; ``problems`` are the fits' failed convergence
    checks (empty when every fit passed), ``subgroups`` the number of subgroups
    the paper looked at. The difference is said as ``subgroup`` minus the
    other, whichever side of the split ``subgroup`` is."""
    focus = day1_table[day1_table["subgroup"] == subgroup].iloc[0]
    difference = oriented_difference(
        day1_table[day1_table["estimand"] == day1_estimand(SUBGROUP_COUPLING_DIFFERENCE["ketamine"])].iloc[0], subgroup)
    other = next(label for label in day1.labels if label != subgroup)
    o, p = least_squares, focus["p_positive"]
    return (
        f"**Day 1, {day1.marker}, {subgroup}, ketamine arm.** Each doubling of {day1.marker} from baseline to "
        f"{day1.visit} went with a MADRS change of {focus['mean']:+.1f} points ({_interval(focus)}); the probability "
        f"that a rise went with less improvement, as the paper found, is {p:.3f}. The slope differs from that in "
        f"participants with {other} by {difference['mean']:+.1f} points ({_interval(difference)}; P(> 0) = "
        f"{difference['p_positive']:.2f}). Fitted the paper's way, by least squares in this subgroup alone, the slope "
        f"is {o['estimate']:+.1f} (95% CI {o['ci_low']:+.1f} to {o['ci_high']:+.1f}, p = {o['p_value']:.3f})"
        + ("; the posterior lies nearer zero because the prior expects a doubling to move MADRS by a few points at "
           "most. " if abs(focus["mean"]) < abs(o["estimate"]) else ". ")
        + _day1_meaning(focus, difference, other, problems, equivalence_level)
        + f" This is one of many looks at these data (the paper's finding was one of {subgroups} subgroups, several "
        "markers and three questions; the pooled model above weighs it among all of them)"
        + (", so one result this strong is expected somewhere by chance and is not, by itself, evidence of a "
           "subgroup-specific effect." if max(p, 1 - p) >= DETECTION else ".")
    )


def answer(total: int, found: int, converged: bool) -> str:
    """The chapter's answer: how many of ``total`` subgroup differences stand
    out (``found``), against the count of chance findings per-subgroup tests
    would give."""
    if not converged:
        return no_answer("a fit")
    return (
        f"Across {total} subgroup differences (couplings in each arm and ketamine effects on each marker), "
        + (f"{found} stand{'s' if found == 1 else ''} out from the rest" if found else "none stands out from the rest")
        + f". Testing each subgroup separately at p < 0.05 would produce about {0.05 * total:.0f} such 'findings' by "
        "chance alone (see @sec-frequentist); the pooled model asks instead whether a difference is larger than the "
        "variation between all subgroups, and answers in probabilities rather than in counts of significant tests."
    )
