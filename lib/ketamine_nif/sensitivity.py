"""If those who left had done worse: a delta-adjusted tipping-point analysis of
the MADRS arm difference (chapter 03).

The depression model estimates each arm's mean change from baseline assuming
the ratings that are missing (dropout, missed visits) are missing at random
(MAR): a participant who left is assumed to have gone on like those who
stayed and had the same course so far. If instead those who left the
treatment arm would have rated ``delta`` points worse than that (missing not
at random), the arm's mean change at a visit moves by ``delta`` times the
share of its participants missing there. This is the pattern-mixture delta
adjustment (Ratitch, O'Kelly and Tosiello 2013, *Pharmaceutical Statistics*
12: 337-347) in its closed form: with the MAR estimate's posterior draws
``d``, the adjusted difference is ``d + delta_t * m_t - delta_r * m_r`` draw by
draw (``m``: the arms' missing shares at that visit, among participants with a
baseline rating), exact for the expected completed-data mean of a linear
model. The *tipping point* is the smallest ``delta`` at which the verdict
of the decision rule on that visit's difference, judged alone (P(direction)
at the detection level), changes; the summary page, which answers for all
visits at once, asks each for more (:func:`ketamine_nif.summary.question_level`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .estimands import MADRS_CHANGE_DIFFERENCE
from .estimates import describe_draws
from .models.prepare import ModelData
from .summary import classify

DELTAS = tuple(float(d) for d in range(0, 11))  # MADRS points added to the treatment arm's missing ratings


def missing_shares(data: ModelData) -> pd.DataFrame:
    """Per post-infusion visit, the share of each arm's participants (those
    with a baseline rating, whom the estimand averages over) without a rating
    at that visit: columns ``visit``, ``treatment``, ``reference``."""
    rated = ~np.isnan(data.y0)
    rows = []
    for t, visit in enumerate(data.post_visits, start=1):
        seen = np.zeros(data.n_participants, dtype=bool)
        seen[data.y_person[data.y_visit == t]] = True
        shares = {arm: float((~seen[rated & (data.treated == flag)]).mean()) for arm, flag in (("treatment", 1.0), ("reference", 0.0))}
        rows.append({"visit": visit, **shares})
    return pd.DataFrame(rows)


def delta_adjusted(draws: dict[str, np.ndarray], shares: pd.DataFrame, rope: tuple[float, float], converged: bool,
                   deltas=DELTAS, reference_delta: float = 0.0) -> pd.DataFrame:
    """The arm difference's summary under each ``delta`` (points added to the
    treatment arm's missing ratings; ``reference_delta`` to the reference
    arm's), per visit: ``draws`` maps each visit to the MAR estimate's
    posterior draws. One row per visit and delta, the output contract's
    columns (``describe_draws``) plus ``delta`` and the summary page's
    ``verdict`` (``converged``: the MAR fit passed the convergence verdict)."""
    rows = []
    for _, share in shares.iterrows():
        base = np.asarray(draws[share["visit"]], dtype=float).ravel()
        for delta in deltas:
            shifted = base + delta * share["treatment"] - reference_delta * share["reference"]
            rows.append({"visit": share["visit"], "delta": float(delta), "missing_treatment": share["treatment"],
                         **describe_draws(shifted, MADRS_CHANGE_DIFFERENCE, rope), "converged": converged})
    if not rows:  # no arm difference to adjust (e.g. one arm): an empty table with the columns
        return pd.DataFrame(columns=["visit", "delta", "missing_treatment", "mean", "ci_low", "ci_high", "converged", "verdict"])
    table = pd.DataFrame(rows)
    table["verdict"] = classify(table)
    return table


def tipping_points(table: pd.DataFrame) -> pd.DataFrame:
    """Per visit: the verdict without adjustment and the smallest delta of
    ``table`` (:func:`delta_adjusted`) at which it changes, with the verdict it
    changes to (NaN and '' when it holds over every delta tried)."""
    rows = []
    for visit, g in table.sort_values("delta").groupby("visit", sort=False):
        first = g.iloc[0]
        changed = g[g["verdict"] != first["verdict"]]
        rows.append({"visit": visit, "verdict": first["verdict"], "largest_delta": float(g["delta"].max()),
                     "tipping_delta": float(changed["delta"].iloc[0]) if len(changed) else np.nan,
                     "becomes": changed["verdict"].iloc[0] if len(changed) else ""})
    return pd.DataFrame(rows, columns=["visit", "verdict", "largest_delta", "tipping_delta", "becomes"])


def posterior_by_visit(idata, variable: str = MADRS_CHANGE_DIFFERENCE) -> dict[str, np.ndarray]:
    """The posterior draws of the arm difference, per post-infusion visit."""
    values = idata.posterior[variable]
    return {str(v): np.asarray(values.sel(post_visit=v)).ravel() for v in values["post_visit"].values}


def tipping_table(table: pd.DataFrame) -> pd.DataFrame:
    """The chapter's table of :func:`delta_adjusted`: per visit, the
    treatment arm's missing share, the estimate and verdict under MAR, the
    tipping point and what the verdict becomes, and the estimate at the
    largest delta tried."""
    tips = tipping_points(table).set_index("visit")
    last_delta = f"{max(DELTAS) if table.empty else table['delta'].max():.0f} points worse"
    rows = []
    for visit, g in table.sort_values("delta").groupby("visit", sort=False):
        first, last, tip = g.iloc[0], g.iloc[-1], tips.loc[visit]
        rows.append({
            "visit": visit,
            "treatment arm without a rating": f"{100 * first['missing_treatment']:.0f}%",
            "missing at random": f"{first['mean']:.1f} ({first['ci_low']:.1f} to {first['ci_high']:.1f}), {first['verdict']}",
            "tipping point (points)": "none" if np.isnan(tip["tipping_delta"]) else f"{tip['tipping_delta']:.0f}: {tip['becomes']}",
            last_delta: f"{last['mean']:.1f} ({last['ci_low']:.1f} to {last['ci_high']:.1f}), {last['verdict']}",
        })
    return pd.DataFrame(rows, columns=["visit", "treatment arm without a rating", "missing at random", "tipping point (points)", last_delta])
