"""Chapter 04's sentences (baseline NIF levels as predictors): the prior
predictive check and the answer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import found_and_ruled_out, found_list, no_answer, nothing_informed, prior_mass

PLAUSIBLE_MODERATION = (-6, 6)  # points per SD: more than any known predictor of a ketamine response


def prior_check(simulated: np.ndarray, prior_moderation: np.ndarray) -> str:
    """Simulated MADRS scores on the scale's range, and the prior mass on
    plausible moderations."""
    return prior_mass(simulated, prior_moderation, PLAUSIBLE_MODERATION, "moderations {} points per SD",
                      "a marker that shifted the ketamine effect by more would be a far stronger predictor than any known one.")


def answer(table: pd.DataFrame, rope: tuple[float, float], equivalence_level: float, converged: bool) -> str:
    """The chapter's answer from the moderations: those whose 95% interval
    excludes zero, and how many comparisons rule out a moderation beyond the
    ROPE. No answer when the fit failed its checks."""
    if table.empty:
        return nothing_informed()
    if not converged:
        return no_answer()
    found, ruled_out = found_and_ruled_out(table, equivalence_level)
    effects = found_list(found, lambda r: f"{r.marker} at {r.visit} ({r.mean:+.1f} points per SD, {r.ci_low:+.1f} to "
                                          f"{r.ci_high:+.1f})")
    return (
        f"A baseline level that predicts the ketamine effect (95% interval excluding zero): {effects}. For "
        f"{len(ruled_out)} of {len(table)} marker × visit comparisons the data rule out a moderation larger than "
        f"{rope[1]:g} points per SD (P ≥ {equivalence_level:g} inside the region of practical equivalence)."
    )
