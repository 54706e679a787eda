"""The summary page's figure (``notebooks/index.py``): the evidence category of
each question for each marker. The categories come from :mod:`ketamine_nif.summary`."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from ..summary import (
    CATEGORIES,
    INCONCLUSIVE,
    RULED,
    SUPPORT,
    UNCLASSIFIED,
    UNRELIABLE,
    WITHHELD,
    Question,
    overall_category,
    short_name,
    withhold,
)
from . import BLACK, FIGURE_WIDTH, GREEN, GREY, LIGHT_GREY, SKY_BLUE, VERMILLION

# a colour of the palette and a distinct shape for each category (colour is never the only cue)
CATEGORY_STYLE = {
    SUPPORT: {"color": VERMILLION, "marker": "D"},
    RULED: {"color": GREEN, "marker": "o"},
    INCONCLUSIVE: {"color": SKY_BLUE, "marker": "s"},
    UNRELIABLE: {"color": BLACK, "marker": "x"},
    UNCLASSIFIED: {"color": GREY, "marker": "_"},
    WITHHELD: {"color": GREY, "marker": "v"},  # a verdict measured to be wrong too often (summary.withheld_reason)
}


def _markers(qs: list[Question]) -> list[str]:
    markers: list[str] = []
    for q in qs:
        markers += [m for m in dict.fromkeys(q.rows["marker"].astype(str)) if m not in markers]
    return markers


def evidence_by_marker(qs: list[Question], rates=None) -> plt.Figure:
    """Key estimands across markers: one row per question, one column per marker;
    each point is the strongest estimate for that marker, coloured and shaped by
    its evidence category, or as withheld where the summary table withholds
    that verdict of the question (``rates`` as in ``summary.summary_markdown``)."""
    markers = _markers(qs)
    labels = [f"{q.chapter.stem.split('-')[0]}: {short_name(q.estimand)}" for q in qs]
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH, 0.38 * max(len(qs), 1) + 1.4))
    if not qs:
        ax.text(0.5, 0.5, "no estimates yet: run the analysis chapters", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    drawn = set()
    for y, q in enumerate(qs):
        reasons = withhold(q, rates)[1]
        for marker, rows in q.rows.groupby(q.rows["marker"].astype(str), sort=False):
            category = overall_category(rows)
            category = WITHHELD if category in reasons else category
            drawn.add(category)
            style = CATEGORY_STYLE[category]
            line = style["marker"] in "x_"
            ax.scatter(markers.index(marker), y, s=70, color=style["color"], marker=style["marker"], zorder=3,
                       linewidths=1.8 if line else 0.6, edgecolors=style["color"] if line else "white")
    ax.set_xticks(range(len(markers)), markers, rotation=45, ha="right")
    ax.set_yticks(range(len(qs)), [label if len(label) <= 48 else label[:45] + "..." for label in labels], fontsize=9)
    ax.set_xlim(-0.6, len(markers) - 0.4)
    ax.set_ylim(len(qs) - 0.5, -0.5)
    ax.grid(True, color=LIGHT_GREY, zorder=0)
    used = [c for c in (*CATEGORIES, WITHHELD) if c in drawn] or list(CATEGORIES[:3])
    handles = [Line2D([], [], ls="", color=CATEGORY_STYLE[c]["color"], marker=CATEGORY_STYLE[c]["marker"], ms=7, label=c) for c in used]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.28 if len(markers) else -0.1), ncol=len(handles), fontsize=8)
    fig.tight_layout()
    return fig
