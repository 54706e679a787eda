"""Figures of model criticism (chapter 08): predictive distribution checks,
the refits under other priors, the errors of the treatments of values under
the detection limit, and simulation-based calibration. The numbers they draw
come from :mod:`ketamine_nif.criticism`."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import (
    BLACK,
    BLUE,
    FIGURE_WIDTH,
    GREY,
    LIGHT_GREY,
    OKABE_ITO,
    ORANGE,
    SKY_BLUE,
    VERMILLION,
    _log_ticks,
)

PRIOR_COLOURS = [BLACK, ORANGE, SKY_BLUE]  # the book's priors, then the refits


def _hide_unused(axes, used: int) -> None:
    for ax in list(axes.flat)[used:]:
        ax.set_visible(False)


def placeholder(text: str) -> plt.Figure:
    """A small figure that says why the real one is missing."""
    fig = plt.figure(figsize=(FIGURE_WIDTH * 0.5, 1.0))
    plt.axis("off")
    plt.text(0.5, 0.5, text, ha="center", va="center")
    return fig


def ecdf_checks(panels: dict[tuple[str, str], pd.DataFrame], xlabel: str, columns: int = 3) -> plt.Figure:
    """Observed ECDF (line) within the 90% range of replicated ECDFs (band),
    one panel per (variant, marker) of ``criticism.distribution_checks``."""
    rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH, 2.3 * rows + 0.3), squeeze=False)
    for ax, ((variant, marker), check) in zip(axes.flat, panels.items(), strict=False):
        ax.fill_between(check["x"], check["low"], check["high"], color=LIGHT_GREY, step="post", label="replicated (90%)")
        ax.step(check["x"], check["observed"], where="post", color=VERMILLION, lw=1.4, label="observed")
        ax.set_title(f"{marker} ({variant})", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
    _hide_unused(axes, len(panels))
    axes.flat[0].set_ylabel("cumulative share")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def prior_refits(ratio_tables: dict[str, pd.DataFrame], xlabel: str = "ketamine/saline ratio") -> plt.Figure:
    """Posterior means and 95% intervals of the ratios per marker and visit
    (rows), one colour per set of priors (the first: the book's), on a log axis."""
    first = next(iter(ratio_tables.values()))
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.8, 0.4 * len(first) + 1.0))
    middle = (len(ratio_tables) - 1) / 2
    for k, (name, table) in enumerate(ratio_tables.items()):
        y = np.arange(len(table)) + (k - middle) * 0.22
        colour = (PRIOR_COLOURS + OKABE_ITO)[k]
        ax.errorbar(table["mean"], y, xerr=[table["mean"] - table["ci_low"], table["ci_high"] - table["mean"]], fmt="o",
                    ms=3, color=colour, capsize=1.5, label=name)
    ax.axvline(1, color=GREY, lw=0.8)
    _log_ticks(ax)
    ax.set_yticks(np.arange(len(first)), [f"{r.marker} {r.visit}" for r in first.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def lod_errors(errors: pd.DataFrame | None) -> plt.Figure:
    """Error of each estimated log ratio (estimate − truth) per marker, one
    colour per treatment of values under the detection limit (``method``)."""
    if errors is None:
        return placeholder("No errors to show: neither a saved study nor a truth.csv")
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.75, 2.8))
    methods = list(dict.fromkeys(errors["method"]))
    markers = list(dict.fromkeys(errors["marker"]))
    for k, marker in enumerate(markers):
        for j, method in enumerate(methods):
            e = errors[(errors["marker"] == marker) & (errors["method"] == method)]["log_error"]
            x = k + (j - (len(methods) - 1) / 2) * 0.25 + np.linspace(-0.05, 0.05, len(e))
            ax.scatter(x, e, s=12, color=OKABE_ITO[j], label=method if k == 0 else None)
    ax.set_xticks(range(len(markers)), markers)
    ax.axhline(0, color=GREY, lw=0.8)
    ax.set_ylabel("log ratio: estimate − truth")
    ax.legend(fontsize=8)
    return fig


SHORT_TITLE = 24  # characters of a panel title that fit a quarter of the figure's width


def panel_title(name: str, width: int = SHORT_TITLE) -> str:
    """A parameter's name as a panel title no line of which is longer than
    ``width`` where it can be helped: a long name goes on lines of its own
    before its indices, and a name longer than ``width`` is broken after an
    underscore (``baseline_moderation_`` / ``difference`` / ``[marker1,24h]``)."""
    if len(name) <= width:
        return name
    base, bracket, indices = name.partition("[")
    lines = [""]
    for word in re.findall(r"[^_]+_?|_", base):
        if lines[-1] and len(lines[-1]) + len(word) > width:
            lines.append("")
        lines[-1] += word
    return "\n".join(lines + ([bracket + indices] if bracket else []))


def sbc(curves: pd.DataFrame | None, columns: int = 4) -> plt.Figure:
    """Simulation-based calibration (``criticism.sbc_ecdf``): per parameter,
    the ECDF of the PIT values minus the uniform CDF, with its simultaneous
    band (grey) and the model's band, which holds for all parameters together
    (dashed); a placeholder when the results are missing (None)."""
    if curves is None:
        return placeholder("SBC results missing")
    names = list(dict.fromkeys(curves["parameter"]))
    rows = int(np.ceil(len(names) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH, 1.9 * rows + 0.3), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names, strict=False):
        part = curves[curves["parameter"] == name]
        ax.fill_between(part["z"], part["low"], part["high"], color=LIGHT_GREY, step="post")
        for edge in ("model_low", "model_high"):
            ax.step(part["z"], part[edge], where="post", color=GREY, lw=0.6, ls="--")
        ax.axhline(0, color=GREY, lw=0.6)
        ax.step(part["z"], part["difference"], where="post", color=BLUE, lw=1.2)
        ax.set_title(panel_title(name), fontsize=8)
        ax.tick_params(labelsize=7)
    _hide_unused(axes, len(names))
    axes.flat[0].set_ylabel("ECDF − uniform", fontsize=8)
    fig.tight_layout()
    return fig
