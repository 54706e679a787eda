"""Figures of the external validation on Beat the Blues (chapter 09)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import BLUE, FIGURE_WIDTH, GREY, VERMILLION

BTHEB_ARM_COLOURS = {"BtheB": VERMILLION, "TAU": BLUE}


def bdi_course(wide: pd.DataFrame, long: pd.DataFrame) -> plt.Figure:
    """Mean BDI with its 95% interval per arm at baseline (month 0) and at each
    follow-up, at the true months (``long``'s ``time``)."""
    baseline = wide.assign(time=0, bdi=wide["bdi_pre"])[["treatment", "time", "bdi"]]
    shown = pd.concat([baseline, long[["treatment", "time", "bdi"]].astype({"treatment": str})])
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.7, 3.0))
    for (arm, colour), shift in zip(BTHEB_ARM_COLOURS.items(), (-0.08, 0.08), strict=True):
        s = shown[shown["treatment"] == arm].groupby("time")["bdi"].agg(["mean", "std", "size"])
        half = 1.96 * s["std"] / np.sqrt(s["size"])
        ax.errorbar(s.index + shift, s["mean"], yerr=half, marker="o", ms=4, capsize=2, color=colour, label=arm)
    ax.set_xticks(sorted(shown["time"].unique()))
    ax.set_xlabel("months since the start of treatment")
    ax.set_ylabel("BDI")
    ax.legend()
    fig.tight_layout()
    return fig


def coefficients(table: pd.DataFrame, terms: list[str]) -> plt.Figure:
    """Posterior mean and 95% interval of each of ``terms`` (dots) against the
    maximum-likelihood estimate with its 95% Wald interval (open diamonds);
    ``table`` is ``btheb.comparison``'s."""
    fixed = table.loc[terms]
    y = np.arange(len(fixed))
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.75, 3.0))
    ax.axvline(0, color=GREY, lw=0.8)
    ax.errorbar(fixed["mean"], y - 0.12, xerr=[fixed["mean"] - fixed["ci_low"], fixed["ci_high"] - fixed["mean"]],
                fmt="o", color=VERMILLION, capsize=2, label="posterior")
    ax.errorbar(fixed["ml_estimate"], y + 0.12, xerr=1.96 * fixed["ml_se"], fmt="D", mfc="white", color=BLUE,
                capsize=2, lw=0.8, label="maximum likelihood")
    ax.set_yticks(y, fixed.index)
    ax.invert_yaxis()
    ax.set_xlabel("BDI points per unit")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
