"""Figures of the frequentist replication (chapter 07)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import BLACK, FIGURE_WIDTH, GREY, VERMILLION

BINS = 20  # bins of width 0.05 on [0, 1]


def p_values(p: np.ndarray, alpha: float = 0.05) -> plt.Figure:
    """Histogram of the p-values of every test, with the share each bin would
    hold under the global null (dashed) and the region p < ``alpha`` shaded."""
    p = np.asarray(p, dtype=float)
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.7, 2.8))
    ax.hist(p, bins=np.linspace(0, 1, BINS + 1), color=GREY)
    ax.axvspan(0, alpha, color=VERMILLION, alpha=0.25)
    ax.axhline(len(p) / BINS, color=BLACK, ls="--", lw=1)
    ax.set_xlabel("p-value")
    ax.set_ylabel("tests")
    fig.tight_layout()
    return fig
