"""Chapter 02's sentences (NIF trajectories by arm): the prior and posterior
predictive checks, and the answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checks import interval_share, share_inside
from ..reporting import plural
from . import found_and_ruled_out, found_list, no_answer, nothing_informed

MODEST_RATIOS = (0.5, 2.0)  # the range of ratios the prior check reports its mass on


def prior_check(prior_ratio: np.ndarray, rope: tuple[float, float], simulated: np.ndarray, observed: np.ndarray) -> str:
    """How much prior mass the ratios put on modest effects and inside the
    ROPE, and the range of simulated against observed log concentrations
    (1st to 99th percentile)."""
    within = interval_share(prior_ratio, *MODEST_RATIOS)
    in_rope = interval_share(prior_ratio, *rope)
    simulated_range = np.quantile(np.asarray(simulated).ravel(), [0.01, 0.99])
    observed_range = np.quantile(np.asarray(observed).ravel(), [0.01, 0.99])
    return (
        f"The priors put {100 * within:.0f}% of their mass on ratios between {MODEST_RATIOS[0]:g} and "
        f"{MODEST_RATIOS[1]:g}, and {100 * in_rope:.0f}% inside the region of practical equivalence ({rope[0]:g} to "
        f"{rope[1]:g}): they are sceptical of huge effects but leave room for any effect the literature considers. "
        f"Simulated log concentrations span {simulated_range[0]:.1f} to {simulated_range[1]:.1f} (1st to 99th percentile) "
        f"against {observed_range[0]:.1f} to {observed_range[1]:.1f} observed: wider than the data, as weakly informative "
        "priors should be, without putting mass on impossible values."
    )


def predictive_check(check: pd.DataFrame) -> str:
    """The share of marker x arm x visit cells whose observed mean lies in the
    90% range of replicated means (``checks.nif_check``'s table)."""
    inside = share_inside(check)
    return (
        f"In {100 * inside:.0f}% of the {len(check)} marker × arm × visit cells the observed mean lies within the 90% "
        "range of replicated means (about 90% is expected when the model describes the data well)."
    )


def answer(table: pd.DataFrame, rope: tuple[float, float], equivalence_level: float, converged: bool) -> str:
    """The chapter's answer from its estimates (ratios): the effects whose 95%
    interval excludes 1, how many comparisons rule out a difference beyond the
    ROPE, and the widest interval. No answer when the fit failed its checks."""
    if table.empty:
        return nothing_informed()
    if not converged:
        return no_answer()
    found, ruled_out = found_and_ruled_out(table, equivalence_level)
    widest = table.assign(width=table["ci_high"] / table["ci_low"]).sort_values("width").iloc[-1]
    effects = found_list(found, lambda r: f"{r.marker} at {r.visit} (ratio {r.mean:.2f}, 95% interval {r.ci_low:.2f} "
                                          f"to {r.ci_high:.2f})")
    return (
        f"Across {plural(len(table), 'marker × visit comparison')}, the 95% interval excludes a ratio of 1 for {effects}. "
        f"For {len(ruled_out)} of the {len(table)} comparisons the data rule out a difference larger than the region of "
        f"practical equivalence (P ≥ {equivalence_level:g} inside {rope[0]:g} to {rope[1]:g}); for the others they are "
        f"too imprecise to rule it out: the widest interval, for {widest.marker} at {widest.visit}, runs from "
        f"{widest.ci_low:.2f} to {widest.ci_high:.2f}."
    )
