"""Figures of design sensitivity (chapter 10): detection probability against
true effect size. The numbers they draw come from :mod:`ketamine_nif.design`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..design import TARGET_POWER, question_size
from ..estimands import COUPLING_WITHIN, NIF_CHANGE_RATIO
from ..summary import question_level
from . import BLUE, FIGURE_WIDTH, GREY, ORANGE

TITLES = {NIF_CHANGE_RATIO: "ketamine effect on the level", COUPLING_WITHIN["ketamine"]: "within-person coupling, ketamine arm"}
LABELS = {
    NIF_CHANGE_RATIO: "true ketamine/saline ratio of change",
    COUPLING_WITHIN["ketamine"]: "true coupling (MADRS points per doubling)",
}


def _share(ax, x, curve: pd.DataFrame, column: str, **style) -> None:
    """One verdict's probability against true size, with its 95% Wilson interval."""
    below = np.clip(curve[column] - curve[f"{column}_low"], 0, None)  # Wilson bounds at 0 or 1 can cross by rounding
    above = np.clip(curve[f"{column}_high"] - curve[column], 0, None)
    ax.errorbar(x, curve[column], yerr=[below, above], marker="o", ms=4, capsize=2, lw=1.4, **style)


def detection_curves(curves: dict[str, pd.DataFrame], smallest: dict[str, dict], target: float = TARGET_POWER) -> plt.Figure:
    """The probability of "supported" (in the true direction) and of "ruled
    out" against true size, one panel per estimand: points with 95% Wilson
    intervals (Monte Carlo error), the target power and the smallest effect
    reaching it."""
    fig, axes = plt.subplots(1, len(curves), figsize=(FIGURE_WIDTH, 3.4), squeeze=False)
    for ax, (estimand, curve) in zip(axes.flat, curves.items(), strict=True):
        x = curve["truth"].to_numpy(float)
        _share(ax, x, curve, "power", color=BLUE, label="supported")
        if "ruled_out" in curve:
            _share(ax, x, curve, "ruled_out", color=GREY, ls="--", label="ruled out")
        ax.axhline(target, color=GREY, lw=0.8, ls="--")
        # the planted estimate's false-alarm rate in one direction at its question's level, for reference
        ax.axhline(1 - question_level(question_size(estimand)), color=GREY, lw=0.6, ls=":")
        best = smallest.get(estimand, {})
        if np.isfinite(best.get("effect", np.nan)):
            ax.axvspan(best["low"], best["high"], color=ORANGE, alpha=0.2, lw=0)
            ax.axvline(best["effect"], color=ORANGE, lw=1.2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(LABELS.get(estimand, estimand))
        ax.set_ylabel("probability of the verdict")
        ax.set_title(f"{curve['marker'].iloc[0]}: {TITLES.get(estimand, estimand)}")
        ax.legend(loc="center right", fontsize="small", frameon=False)
    fig.tight_layout()
    return fig
