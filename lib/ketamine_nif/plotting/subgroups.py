"""Chapter 05's figures (subgroups); the shrinkage figure beside separate
per-subgroup fits is the common :func:`ketamine_nif.plotting.shrinkage`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import FIGURE_WIDTH, GREY, SKY_BLUE

SHOWN_RANGE = 10.0  # MADRS points per doubling: prior draws beyond ± this are drawn at its edge


def prior_differences(draws: np.ndarray, rope: tuple[float, float],
                      xlabel: str = "subgroup difference in coupling (MADRS points per doubling)") -> plt.Figure:
    """Histogram of prior draws of a subgroup difference (clipped to ±SHOWN_RANGE,
    its heavy tails piled at the edges), with the region of practical
    equivalence shaded."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.6, 2.6))
    ax.hist(np.clip(np.asarray(draws).ravel(), -SHOWN_RANGE, SHOWN_RANGE), bins=80, density=True, color=GREY)
    ax.axvspan(*rope, color=SKY_BLUE, alpha=0.35, label="practical equivalence")
    ax.set_xlabel(xlabel)
    ax.set_yticks([])
    ax.legend(fontsize=8)
    return fig
