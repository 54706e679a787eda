"""Every figure of the report, in one layer: one style (sizes, resolution,
fonts) and one colour-blind-safe palette (Okabe & Ito), here; the figures
common to several chapters here, and those of one area in a submodule
(``plotting.criticism``, ``plotting.design``, ...). Nothing else in the
package imports matplotlib. Notebooks call :func:`setup` once."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from ..contract import ARMS, Dataset
from ..describe import descriptive_values, measurements_with_arm, trajectory_summary

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK = OKABE_ITO
GREY, LIGHT_GREY = "0.6", "0.85"  # data in the background, bands
ARM_COLOURS = {"ketamine": VERMILLION, "saline": BLUE}
FIGURE_WIDTH = 7.5  # inches; fits the PDF's text width


def named(figure: plt.Figure) -> plt.Figure:
    """``figure`` with its words (titles, axis labels, tick labels, legends) in the
    names of the data being reported on (``reporting.speak_for``); once per figure."""
    from matplotlib.text import Text

    from ..reporting import words

    if getattr(figure, "_named", False):
        return figure
    for text in figure.findobj(Text):
        if (said := words(text.get_text())) != text.get_text():
            text.set_text(said)
    for ax in figure.axes:  # tick labels given as text are redrawn from their formatter
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, ticker.FixedFormatter):
                formatter.seq = [words(label) for label in formatter.seq]
            elif isinstance(formatter, ticker.FuncFormatter):
                formatter.func = lambda x, pos, given=formatter.func: words(str(given(x, pos)))
    figure._named = True
    return figure


def save(figure: plt.Figure, path) -> None:
    """Write ``figure`` to ``path`` in the data's names (:func:`named`)."""
    named(figure).savefig(path)


def show() -> None:
    """Show the open figures (``plt.show``) in the data's names (:func:`named`)."""
    for number in plt.get_fignums():
        named(plt.figure(number))
    plt.show()


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
    m = measurements_with_arm(dataset)
    units = dataset.units
    for ax, measure in zip(axes.flat, measures, strict=False):
        rows_m = m[m["measure"] == measure]
        log_scale = measure != dataset.study.outcome
        if individual:
            shown = rows_m.assign(y=descriptive_values(rows_m))
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


VISIT_COLOURS = [ORANGE, GREEN, PURPLE, SKY_BLUE, BLACK]


def forest(estimates: pd.DataFrame, null: float, rope: tuple[float, float] | None, xlabel: str, log: bool = False) -> plt.Figure:
    """Posterior means and 95% intervals per marker (rows) and visit (colours),
    with the null line and the region of practical equivalence shaded. Estimates
    from fits that failed the diagnostics are drawn hollow."""
    markers = list(dict.fromkeys(estimates["marker"]))
    visits = list(dict.fromkeys(estimates["visit"]))
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.8, 0.45 * len(markers) * max(1, len(visits)) ** 0.5 + 1.2))
    if rope is not None:
        ax.axvspan(*rope, color="0.85", zorder=0, label="practical equivalence")
    ax.axvline(null, color="0.3", lw=0.8)
    step = 0.7 / max(len(visits), 1)
    for k, visit in enumerate(visits):
        rows = estimates[estimates["visit"] == visit].set_index("marker").reindex(markers)
        y = np.arange(len(markers)) - 0.35 + step * (k + 0.5)
        colour = VISIT_COLOURS[k % len(VISIT_COLOURS)]
        ok = rows["converged"].fillna(False).astype(bool).to_numpy()
        ax.errorbar(rows["mean"], y, xerr=[rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]], fmt="none",
                    ecolor=colour, lw=1.4, capsize=2)
        ax.scatter(rows["mean"][ok], y[ok], color=colour, s=22, zorder=3, label=visit if len(visits) > 1 else None)
        ax.scatter(rows["mean"][~ok], y[~ok], facecolor="white", edgecolor=colour, s=22, zorder=3)
    ax.set_yticks(np.arange(len(markers)), markers)
    ax.invert_yaxis()
    if log:
        _log_ticks(ax)
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def predictive_check(check: pd.DataFrame, ylabel: str) -> plt.Figure:
    """Observed summary (dots) within the 90% interval of replicated summaries
    (bars), per series (panels), arm (colour) and visit."""
    series = list(dict.fromkeys(check["marker"]))
    columns = min(len(series), 4)
    rows = int(np.ceil(len(series) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH, 2.2 * rows + 0.3), squeeze=False)
    for ax, name in zip(axes.flat, series, strict=False):
        part = check[check["marker"] == name]
        visits = list(dict.fromkeys(part["visit"]))
        for arm, shift in (("ketamine", -0.12), ("saline", 0.12)):
            p = part[part["arm"] == arm].set_index("visit").reindex(visits)
            x = np.arange(len(visits)) + shift
            ax.vlines(x, p["low"], p["high"], color=ARM_COLOURS[arm], lw=3, alpha=0.45)
            ax.plot(x, p["observed"], "o", color=ARM_COLOURS[arm], ms=4, label=arm)
        ax.set_xticks(np.arange(len(visits)), visits, fontsize=8)
        ax.set_title(name)
    for ax in list(axes.flat)[len(series):]:
        ax.set_visible(False)
    axes.flat[0].set_ylabel(ylabel)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def prior_check(prior_values: np.ndarray, observed: np.ndarray, value_label: str, estimand_draws: np.ndarray,
                estimand_label: str, rope: tuple[float, float] | None, log_estimand: bool = False) -> plt.Figure:
    """Left: prior predictive distribution of the data against the observed data.
    Right: the prior of the key estimand, with the region of practical equivalence."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(FIGURE_WIDTH, 2.8))
    prior_values = np.asarray(prior_values).ravel()
    low, high = np.quantile(prior_values, [0.005, 0.995])
    bins = np.linspace(min(low, observed.min()), max(high, observed.max()), 60)
    left.hist(prior_values, bins=bins, density=True, color="0.6", alpha=0.7, label="prior predictive")
    left.hist(observed, bins=bins, density=True, histtype="step", color=VERMILLION, lw=1.5, label="observed")
    left.set_xlabel(value_label)
    left.set_yticks([])
    left.legend(fontsize=8)
    draws = np.asarray(estimand_draws).ravel()
    shown = np.log(draws) if log_estimand else draws
    right.hist(shown, bins=50, density=True, color="0.6", alpha=0.7)
    if rope is not None:
        band = np.log(rope) if log_estimand else rope
        right.axvspan(*band, color=SKY_BLUE, alpha=0.35, label="practical equivalence")
        right.legend(fontsize=8)
    if log_estimand:
        ticks = [0.25, 0.5, 1, 2, 4]
        right.set_xticks(np.log(ticks), [f"{t:g}" for t in ticks])
        right.set_xlim(np.log(0.2), np.log(5))
    right.set_xlabel(estimand_label)
    right.set_yticks([])
    fig.tight_layout()
    return fig


def shrinkage(no_pooling: pd.DataFrame, pooled: pd.DataFrame, null: float, rope: tuple[float, float] | None,
              xlabel: str, labels: tuple[str, str] = ("no pooling (frequentist, 95% CI)", "partial pooling (posterior, 95% interval)"),
              log: bool = False) -> plt.Figure:
    """Per row (``subgroup`` column: a subgroup, or "marker, visit"): the
    no-pooling estimate with its 95% interval (grey) above the pooled one
    (colour); ``labels`` name the two. Both frames have columns subgroup, mean,
    ci_low, ci_high; rows are drawn in ``pooled`` order."""
    groups = list(dict.fromkeys(pooled["subgroup"]))
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.85, 0.26 * len(groups) + 1.2))
    if rope is not None:
        ax.axvspan(*rope, color="0.9", zorder=0, label="practical equivalence")
    ax.axvline(null, color="0.3", lw=0.8)
    y = np.arange(len(groups))
    for frame, shift, colour, label in ((no_pooling, -0.17, "0.55", labels[0]), (pooled, 0.17, VERMILLION, labels[1])):
        rows = frame.set_index("subgroup").reindex(groups)
        ax.errorbar(rows["mean"], y + shift, xerr=[rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]],
                    fmt="o", ms=3.5, color=colour, ecolor=colour, lw=1.2, capsize=1.5, label=label)
    ax.set_yticks(y, groups, fontsize=8)
    ax.invert_yaxis()
    if log:
        _log_ticks(ax)
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    fig.tight_layout()
    return fig


def _log_ticks(ax) -> None:
    """A log x axis with ticks at readable ratios."""
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    nice = np.array([0.25, 0.33, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0])
    ax.set_xticks(nice[(nice >= low) & (nice <= high)])
    ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def pooling_comparison(book: pd.DataFrame, shared: pd.DataFrame, null: float, rope: tuple[float, float] | None,
                       xlabel: str, by: str = "visit", log: bool = False) -> plt.Figure:
    """The book's estimates (a fixed prior per effect) beside those with one
    scale shared across markers, one row per marker and ``by`` (visit, or arm)."""
    def rows(frame):
        return frame.assign(subgroup=frame["marker"] + ", " + frame[by].astype(str))

    return shrinkage(rows(shared), rows(book), null, rope, xlabel,
                     ("one scale shared by all markers (95% interval)", "the book: each effect its own prior (95% interval)"), log)


def rope_probabilities(table: pd.DataFrame, level: float = 0.95) -> plt.Figure:
    """P(inside the ROPE) per marker (rows) and estimand (panels), with the
    ``level`` line; estimates from unconverged fits hollow."""
    from ..estimands import (
        BASELINE_MODERATION_DIFFERENCE,
        COUPLING_WITHIN,
        MADRS_CHANGE_DIFFERENCE,
        NIF_CHANGE_RATIO,
    )

    titles = {NIF_CHANGE_RATIO: "NIF change\nratio", MADRS_CHANGE_DIFFERENCE: "MADRS\ndifference",
              COUPLING_WITHIN["ketamine"]: "coupling,\nketamine", COUPLING_WITHIN["saline"]: "coupling,\nsaline",
              COUPLING_WITHIN["difference"]: "coupling,\ndifference", BASELINE_MODERATION_DIFFERENCE: "baseline\nmoderation"}
    families = list(dict.fromkeys(table["estimand"]))
    rows = list(dict.fromkeys(table["marker"]))
    fig, axes = plt.subplots(1, len(families), figsize=(FIGURE_WIDTH, 0.3 * len(rows) + 1.6), sharey=True, squeeze=False)
    for ax, family in zip(axes.flat, families, strict=True):
        part = table[table["estimand"] == family]
        y = part["marker"].map({m: i for i, m in enumerate(rows)})
        ok = part["converged"].astype(bool)
        ax.scatter(part["p_rope"][ok], y[ok], s=14, color=OKABE_ITO[4])
        ax.scatter(part["p_rope"][~ok], y[~ok], s=14, facecolor="white", edgecolor=OKABE_ITO[4])
        ax.axvline(level, color="0.3", ls="--", lw=0.8)
        ax.set_xlim(-0.03, 1.03)
        ax.set_title(titles.get(family, family), fontsize=8)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    axes.flat[0].set_yticks(range(len(rows)), rows)
    axes.flat[0].invert_yaxis()
    fig.supxlabel("P(inside the region of practical equivalence)", fontsize=9)
    fig.tight_layout()
    return fig
