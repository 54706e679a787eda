"""One figure style for the whole report: sizes, resolution, fonts and a
colour-blind-safe palette (Okabe & Ito). Notebooks call :func:`setup` once."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from .contract import ARMS, DEPRESSION_MEASURE, Dataset
from .describe import trajectory_summary

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
ARM_COLOURS = {"ketamine": "#D55E00", "saline": "#0072B2"}
FIGURE_WIDTH = 7.5  # inches; fits the PDF's text width


def setup() -> None:
    plt.rcParams.update({
        "figure.figsize": (FIGURE_WIDTH, 4.0),
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "savefig.bbox": "tight",
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": plt.cycler(color=OKABE_ITO),
        "legend.frameon": False,
    })


def trajectories(dataset: Dataset, measures: list[str], columns: int = 2, individual: bool = True) -> plt.Figure:
    """One panel per measure: each participant's course as a faint line (no ids),
    and per arm the mean (geometric for NIFs) with its 95% interval."""
    rows = int(np.ceil(len(measures) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH, 2.6 * rows), squeeze=False)
    m = dataset.measurements.merge(dataset.participants[["participant_id", "arm"]], on="participant_id")
    units = dataset.units
    for ax, measure in zip(axes.flat, measures, strict=False):
        rows_m = m[m["measure"] == measure]
        log_scale = measure != DEPRESSION_MEASURE
        if individual:
            shown = rows_m.assign(y=rows_m["value"].where(~rows_m["below_lod"], rows_m["lod"] / np.sqrt(2)))
            for (arm, _), g in shown.dropna(subset=["y"]).groupby(["arm", "participant_id"]):
                ax.plot(g["hours"] / 24, g["y"], color=ARM_COLOURS[arm], alpha=0.12, lw=0.6)
        summary = trajectory_summary(dataset, measure)
        offset = {"ketamine": -0.06, "saline": 0.06}
        for arm in ARMS:
            s = summary[summary["arm"] == arm]
            x = s["hours"] / 24 + offset[arm]
            ax.errorbar(x, s["centre"], yerr=[s["centre"] - s["low"], s["high"] - s["centre"]], color=ARM_COLOURS[arm],
                        marker="o", ms=4, lw=1.6, capsize=2, label=arm)
        if log_scale:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        unit = f" ({units[measure]})" if units.get(measure) else ""
        ax.set_title(f"{measure}{unit}")
        ax.set_xlabel("days since infusion")
    for ax in list(axes.flat)[len(measures):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="best")
    fig.tight_layout()
    return fig


def observed_change(change: pd.DataFrame) -> plt.Figure:
    """Mean MADRS change from baseline per arm and visit."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.6, 3.0))
    for arm in ARMS:
        ax.plot(change["visit"], change[arm], marker="o", color=ARM_COLOURS[arm], label=arm)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylabel("mean MADRS change")
    ax.legend()
    fig.tight_layout()
    return fig
