"""Chapter 03's sentences (coupling of NIF and depression trajectories): the
ratings in the model, the prior predictive check, the MADRS effect beside the
mixed model, and the answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import load as load_analysis
from ..estimands import COUPLING_WITHIN, MADRS_CHANGE_DIFFERENCE
from ..estimates import detected
from ..reporting import join_words, spread
from ..summary import UNRELIABLE
from . import no_answer, nothing_informed, prior_mass

PLAUSIBLE_COUPLING = (-6, 6)  # points per doubling: more than any marker could plausibly move MADRS
# the closed form's own error (its plug-in of the variance components: about 0.03 points over 30 twins), to which
# three Monte Carlo errors of the posterior means are added when comparing them with it
PULL_PLUG_IN = 0.05


def ratings(ratings: int, participants: int, excluded: int) -> str:
    """The MADRS ratings the depression model uses, and those it must leave out
    (no pre-infusion score to adjust for)."""
    return (
        f"The depression model uses {ratings} MADRS ratings after the infusion from {participants} participants"
        + (f"; {excluded} ratings of participants without a pre-infusion score cannot be baseline-adjusted and are "
           "left out." if excluded else "; every post-infusion rating has a pre-infusion score to adjust for.")
    )


def prior_check(simulated: np.ndarray, prior_coupling: np.ndarray) -> str:
    """Simulated MADRS scores on the scale's range, and the prior mass on
    plausible couplings."""
    return prior_mass(simulated, prior_coupling, PLAUSIBLE_COUPLING, "couplings {} points per doubling",
                      "larger than any coupling a marker could plausibly have, small enough to keep the model away from "
                      "absurd values.")


def _more_or_less(row) -> tuple[str, str]:
    """A MADRS difference (ketamine minus saline) as improvement by so many
    points more or less, and its 95% interval on the same scale (MADRS falls
    with improvement)."""
    more = row["mean"] <= 0
    low, high = (-row["ci_high"], -row["ci_low"]) if more else (row["ci_low"], row["ci_high"])
    return f"{abs(row['mean']):.1f} MADRS points {'more' if more else 'less'}", f"95% interval {low:.1f} to {high:.1f}"


def madrs(madrs: pd.DataFrame, mixed: pd.DataFrame, prior_sd: float | None = None) -> str:
    """Ketamine's MADRS effect at the first visit (as more improvement than
    saline, or less) and the last, and how the posterior SDs compare with the
    mixed model's standard errors (``mixed``: estimate and se per visit, in
    ``madrs``'s order); with the mixed model's estimates ``shrunk`` by the
    prior N(0, ``prior_sd``) (``frequentist.arm_difference_mixed_model``),
    how far the posterior means sit from the mixed model's and whether the
    prior's pull accounts for it (:func:`prior_pull`)."""
    if madrs.empty:
        return nothing_informed("the arm difference in MADRS")
    from ..contract import Study
    from ..reporting import study

    first, last = madrs.iloc[0], madrs.iloc[-1]
    pull = prior_pull(madrs, mixed, prior_sd) if prior_sd and "shrunk" in mixed else ""
    sd_ratio = madrs["sd"].to_numpy() / mixed["se"].to_numpy()
    (first_change, first_interval), (last_change, last_interval) = _more_or_less(first), _more_or_less(last)
    training = (" From day 1 on, this contrast also carries the training imbalance of the parent trial (every saline "
                "participant had active training)." if study() == Study() else "")  # this trial's data only
    return (
        f"At {first['visit']}, ketamine participants improved by {first_change} than saline participants "
        f"({first_interval}); by {last['visit']} they improved by {last_change} ({last_interval}).{training} "
        f"The posterior SDs are {spread(sd_ratio)} times the mixed model's standard errors."
        + (f" {pull}" if pull else "")
    )


def prior_pull(madrs: pd.DataFrame, mixed: pd.DataFrame, prior_sd: float) -> str:
    """How far the posterior means of the arm difference (``madrs``, with
    ``sd`` and ``ess_bulk``) sit from the mixed model's estimates, and
    whether the prior N(0, ``prior_sd``) on each visit's difference accounts
    for it: the mixed model's estimates shrunk by it in closed form
    (``mixed["shrunk"]``) within three Monte Carlo errors plus
    :data:`PULL_PLUG_IN`; '' when there is no closed form (the mixed model
    did not converge)."""
    means, estimate, shrunk = madrs["mean"].to_numpy(), mixed["estimate"].to_numpy(), mixed["shrunk"].to_numpy()
    if np.isnan(shrunk).any():
        return ""
    offset = np.abs(means - estimate)
    gap = float(np.max(np.abs(means - shrunk)))
    tolerance = PULL_PLUG_IN + 3 * float(np.max(madrs["sd"] / np.sqrt(madrs["ess_bulk"])))
    moved = f"The posterior means sit {spread(offset)} points from the mixed model's estimates"
    if gap > tolerance:
        return (f"{moved}; shrunk by the prior N(0, {prior_sd:g}) in closed form, the mixed model's estimates are still "
                f"{gap:.2f} points from them, more than Monte Carlo error and the closed form's approximation allow "
                f"({tolerance:.2f}): the two models disagree about these data.")
    toward_zero = bool(np.all(np.abs(means) <= np.abs(estimate)))
    similar = len(offset) > 1 and offset.min() >= 0.5 * offset.max()
    return (f"{moved}, {'toward no difference, ' if toward_zero else ''}as the prior N(0, {prior_sd:g}) on each visit's "
            f"difference says they should: the mixed model's estimates shrunk by that prior in closed form lie within "
            f"{gap:.2f} points of them."
            + (" The pull acts along the visits' common direction (one person's visits share their intercept), so it is "
               "about as large at a visit with a small difference as at one with a large difference." if similar else ""))



def madrs_tipping(tips: pd.DataFrame) -> str:
    """What the delta adjustment does to the verdict on the arm difference at
    each visit (``sensitivity.tipping_points``): where it changes, and at how
    many points; where it holds over every delta tried. No sensitivity
    analysis when the depression fit failed its convergence checks."""
    if tips.empty:
        return ""
    if (tips["verdict"] == UNRELIABLE).any():
        return no_answer("the depression fit") + " There is no verdict to test for its sensitivity to dropout."
    parts = [f"at {t['visit']} \"{t['verdict']}\" holds up to {t['largest_delta']:.0f} points" if pd.isna(t["tipping_delta"])
             else f"at {t['visit']} \"{t['verdict']}\" turns \"{t['becomes']}\" at {t['tipping_delta']:.0f} points"
             for _, t in tips.iterrows()]
    fragile = tips["tipping_delta"].dropna()
    minimal_important = load_analysis().rope(MADRS_CHANGE_DIFFERENCE)[1]  # the ROPE's edge
    important = f"the minimal important difference of {minimal_important:g} points"
    meaning = (f"Every verdict survives a shift of {tips['largest_delta'].min():.0f} points, far beyond {important}: "
               "this answer does not hinge on how those who left would have fared." if fragile.empty else
               f"A shift of {fragile.min():.0f} points already changes a verdict: "
               + (f"no more than {important}, so that verdict rests on the untestable "
                  "assumption that those who left would have gone on like those who stayed."
                  if fragile.min() <= minimal_important else "read that verdict with this assumption in mind."))
    return ("If the ketamine participants without a rating would have rated that many points worse than the model "
            "assumes (missing not at random), " + join_words(parts) + f". {meaning}")


def answer(coupling: pd.DataFrame, rope: tuple[float, float], equivalence_level: float, converged: bool) -> str:
    """The chapter's answer from the couplings (both arms and their
    difference): those whose 95% interval excludes zero, how many arm
    differences are ruled out, and whether the typical interval of a difference
    is narrow enough to rule one out. No answer when a fit failed its checks."""
    if coupling.empty:
        return nothing_informed()
    if not converged:
        return no_answer("a fit")
    difference = coupling[coupling["estimand"] == COUPLING_WITHIN["difference"]]
    found = coupling[detected(coupling)]
    ruled_out = difference[difference["p_rope"] >= equivalence_level]
    effects = "none" if found.empty else join_words(
        f"{r.marker} ({r.estimand.replace('coupling_within_', '')}: {r.mean:+.1f} points per doubling, "
        f"{r.ci_low:+.1f} to {r.ci_high:+.1f})" for r in found.itertuples())
    half_width = float(((difference["ci_high"] - difference["ci_low"]) / 2).median())
    return (
        f"Couplings whose 95% interval excludes zero: {effects}. The data rule out an arm difference in coupling "
        f"larger than {rope[1]:g} point{'' if rope[1] == 1 else 's'} per doubling (P ≥ {equivalence_level:g} inside the region of practical "
        f"equivalence) for {len(ruled_out)} of {len(difference)} markers; the typical 95% interval of the difference "
        f"reaches ±{half_width:.1f} points per doubling, "
        + ("so differences of that size cannot be excluded with this trial's size." if half_width > rope[1]
           else "narrow enough to exclude differences beyond the region of practical equivalence.")
    )
