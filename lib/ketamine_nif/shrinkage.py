"""How the way markers share strength decides the verdicts: a fast
calibration of prior structures on the normal-means approximation of one
estimand family.

Each effect's estimate is taken as normal around its true value with the
standard error the data give it (``se``: one per effect; effects of one marker
share a ``group``). For a prior structure, the exact posterior of every effect
is computed on a grid (the shared scale, where there is one, integrated out on
a grid too), and the verdicts of the book's decision rule, each estimate judged alone, are read off:
"supported" when P(direction) >= 0.975, "ruled out" when P(inside the ROPE)
>= 0.95. Repeating this over simulated estimates gives, for each structure,
how often a null effect is called supported, how often a real effect just
outside the ROPE is called ruled out, and whether 95% intervals cover. It is
an approximation (normal likelihood per effect, independent estimates, the
standard errors taken from a fit), cheap enough to run inside a chapter; the
grid posterior is checked against closed forms in ``tests/test_shrinkage.py``,
and chapter 02 sets the book's full model beside the unpooled one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .analysis import load as load_analysis
from .estimates import DETECTION

SCALE_SHAPE = 2.0  # the Gamma shape of a per-marker scale (a structure the book tried and rejected)
EQUIVALENCE = load_analysis().equivalence_level


@dataclass(frozen=True)
class Structure:
    """A prior structure: given the scale s, each effect is N(0, s)
    (``local`` "normal"), Student-t(3, 0, s) (``"student"``) or horseshoe,
    N(0, s * lambda) with lambda ~ half-Cauchy(0, 1) (``"horseshoe"``); ``s``
    fixed at ``slab`` (``share`` "none"), or learned, one per marker
    (``"marker"``) or one for all markers (``"all"``), with a Gamma(2, mean
    slab) (``scale_prior`` "gamma") or half-normal(slab) prior."""

    label: str
    share: str  # "none", "marker" or "all"
    scale_prior: str = "gamma"  # "gamma" (zero-avoiding) or "halfnormal"
    local: str = "normal"  # "normal", "student" or "horseshoe"


BOOK = Structure("the book: a fixed Student-t(3) prior per effect", "none", local="student")
STRUCTURES = (
    BOOK,
    Structure("a scale per marker, Gamma(2) with the slab as mean", "marker"),
    Structure("one scale for all markers, normal effects", "all", "halfnormal"),
    Structure("one scale for all markers, Student-t effects", "all", "halfnormal", "student"),
    Structure("one scale for all markers, horseshoe", "all", "halfnormal", "horseshoe"),
)
LAMBDAS = np.geomspace(1e-3, 1e3, 241)  # the horseshoe's local scales, integrated out on this grid


def _prior_grid(structure: Structure, scales: np.ndarray, effects: np.ndarray) -> np.ndarray:
    """Prior density of an effect on ``effects`` given each scale (scales x effects)."""
    s = scales[:, None]
    if structure.local == "student":
        return stats.t.pdf(effects[None, :] / s, 3) / s
    if structure.local == "horseshoe":
        # integral over lambda of N(effect | 0, s lambda) 2 / (pi (1 + lambda^2)), on a log grid (d lambda = lambda d log lambda)
        weights = 2 / (np.pi * (1 + LAMBDAS**2)) * LAMBDAS * np.gradient(np.log(LAMBDAS))
        return np.einsum("l,slb->sb", weights, stats.norm.pdf(effects[None, None, :], 0.0, s[:, :, None] * LAMBDAS[None, :, None]))
    return stats.norm.pdf(effects[None, :], 0.0, s)


def prior_grid(structure: Structure, slab: float, effects: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The prior density of an effect on ``effects`` given each scale (scales x
    effects; one row, at the slab, for a fixed prior), each row normalised on
    the grid so that a scale narrower than the grid step keeps its mass."""
    grid = _prior_grid(structure, np.array([slab]) if structure.share == "none" else scales, effects)
    return grid / (grid.sum(axis=1, keepdims=True) * (effects[1] - effects[0]))


def _scale_prior(structure: Structure, slab: float, scales: np.ndarray) -> np.ndarray:
    if structure.scale_prior == "gamma":
        return stats.gamma.pdf(scales, SCALE_SHAPE, scale=slab / SCALE_SHAPE)
    return stats.halfnorm.pdf(scales, 0.0, slab)


def posterior_grid(estimates: np.ndarray, se: np.ndarray, groups: np.ndarray, structure: Structure, slab: float,
                   effects: np.ndarray, scales: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
    """Posterior of every effect on the grid ``effects`` (effects x grid),
    normalised; ``prior``: the structure's prior grid (:func:`prior_grid`), if
    already computed."""
    likelihood = stats.norm.pdf(estimates[:, None], effects[None, :], se[:, None])
    prior = prior_grid(structure, slab, effects, scales) if prior is None else prior
    if structure.share == "none":
        posterior = likelihood * prior[0]
        return posterior / posterior.sum(axis=1, keepdims=True)
    marginal = likelihood @ prior.T  # (effects, S), up to the grid step
    log_scale_prior = np.log(_scale_prior(structure, slab, scales))
    sharing = np.zeros(len(estimates), dtype=int) if structure.share == "all" else groups
    out = np.empty_like(likelihood)
    for g in np.unique(sharing):
        members = sharing == g
        log_w = log_scale_prior + np.log(marginal[members]).sum(axis=0)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        out[members] = likelihood[members] * ((w[None, :] / marginal[members]) @ prior)
    return out / out.sum(axis=1, keepdims=True)


def verdicts(posterior: np.ndarray, effects: np.ndarray, rope_half_width: float) -> dict:
    """Per effect: supported, ruled out, and the 95% interval."""
    cdf = np.cumsum(posterior, axis=1)
    zero = int(np.argmin(np.abs(effects)))  # the cell at zero counts half on each side
    p_positive = posterior[:, zero + 1:].sum(axis=1) + 0.5 * posterior[:, zero]
    p_rope = posterior[:, np.abs(effects) <= rope_half_width].sum(axis=1)
    return {"supported": (p_positive >= DETECTION) | (p_positive <= 1 - DETECTION),
            "ruled_out": p_rope >= EQUIVALENCE,
            "low": effects[np.argmax(cdf >= 0.025, axis=1)], "high": effects[np.argmax(cdf >= 0.975, axis=1)]}


def verdict_calibration(se: np.ndarray, groups: np.ndarray, slab: float, rope_half_width: float, planted: int,
                        planted_size: float, structures=STRUCTURES, replicates: int = 200, seed: int = 1) -> pd.DataFrame:
    """For each structure, over ``replicates`` simulated sets of estimates:
    with every effect null, the share of effects called supported (false) and
    ruled out, and 95% interval coverage; with effect ``planted`` (an index)
    set to ``planted_size`` and the others null, how often it is called ruled
    out (false when the size is outside the ROPE), supported, and covered; and
    with the most precise effect just outside the ROPE (the others null), how
    often it is called ruled out (``edge_ruled_out``: the worst case of a
    false "ruled out", about 5% for a calibrated posterior)."""
    se, groups = np.asarray(se, dtype=float), np.asarray(groups)
    reach = 8 * max(float(se.max()), slab, abs(planted_size))
    effects = np.linspace(-reach, reach, 801)
    scales = np.linspace(slab / 100, 5 * slab, 120)
    rng = np.random.default_rng(seed)
    rows = []
    for structure in structures:
        prior = prior_grid(structure, slab, effects, scales)
        edge_index = int(np.argmin(se))
        nulls, real, edge = ({"supported": [], "ruled_out": [], "covered": []} for _ in range(3))
        scenarios = ((np.zeros(len(se)), nulls, slice(None)),
                     (np.eye(len(se))[planted] * planted_size, real, [planted]),
                     (np.eye(len(se))[edge_index] * rope_half_width * 1.001, edge, [edge_index]))
        for _ in range(replicates):
            for truth, store, pick in scenarios:
                v = verdicts(posterior_grid(truth + rng.normal(0, se), se, groups, structure, slab, effects, scales, prior),
                             effects, rope_half_width)
                covered = (v["low"] <= truth) & (truth <= v["high"])
                store["supported"].append(v["supported"][pick].mean())
                store["ruled_out"].append(v["ruled_out"][pick].mean())
                store["covered"].append(covered[pick].mean())
        rows.append({"structure": structure.label,
                     "null_supported": np.mean(nulls["supported"]), "null_ruled_out": np.mean(nulls["ruled_out"]),
                     "null_coverage": np.mean(nulls["covered"]),
                     "real_ruled_out": np.mean(real["ruled_out"]), "real_supported": np.mean(real["supported"]),
                     "real_coverage": np.mean(real["covered"]), "edge_ruled_out": np.mean(edge["ruled_out"])})
    return pd.DataFrame(rows)


def fit_calibration(log_ratio, table: pd.DataFrame, slab: float, rope: tuple[float, float], replicates: int, seed: int,
                    planted_marker: str = "IL-6", planted_ratio: float = 1.2) -> tuple[pd.DataFrame | None, str]:
    """:func:`verdict_calibration` on the precision of chapter 02's fit: the
    posterior SDs of ``log_ratio`` (dims marker, post_visit) of the rows of
    ``table`` (the reported ratios), grouped by marker, with one real rise of
    ``planted_ratio`` at the first reported visit of ``planted_marker`` (or of
    the first reported marker). Returns the table and the planted effect in
    words, or (None, "") when no ratio is reported."""
    if table.empty:
        return None, ""
    sd = log_ratio.std(("chain", "draw"))
    se = np.array([float(sd.sel(marker=m, post_visit=v)) for m, v in zip(table["marker"], table["visit"], strict=True)])
    markers = list(dict.fromkeys(table["marker"]))
    marker = planted_marker if planted_marker in markers else markers[0]
    planted = int(np.flatnonzero(table["marker"].to_numpy() == marker)[0])
    calibration = verdict_calibration(se, np.array([markers.index(m) for m in table["marker"]]), slab,
                                      max(-np.log(rope[0]), np.log(rope[1])), planted=planted,
                                      planted_size=np.log(planted_ratio), replicates=replicates, seed=seed)
    return calibration, f"a true {planted_ratio:g}-fold rise of {marker} at {table['visit'].iloc[planted]}"


def calibration_sentence(table: pd.DataFrame, planted: str) -> str:
    """What :func:`verdict_calibration`'s table says, for the book's structure
    against the best of the structures that share a scale across markers;
    ``planted`` describes the real effect ("a true 1.2-fold rise of IL-6 at 24h")."""
    book = table[table["structure"] == BOOK.label].iloc[0]
    shared = table[table["structure"].str.contains("all markers")]

    def pct(x):
        return f"{100 * x:.0f}%"

    text = (f"With {BOOK.label.removeprefix('the book: ')} (the book), {planted} is called ruled out in "
            f"{pct(book['real_ruled_out'])} of simulated trials, supported in {pct(book['real_supported'])}, and its 95% "
            f"interval covers it in {pct(book['real_coverage'])}; a null effect is called supported in "
            f"{pct(book['null_supported'])}, and the most precise effect, just outside the region of practical "
            f"equivalence, is wrongly called ruled out in {pct(book['edge_ruled_out'])}.")
    if not shared.empty:
        best = shared.sort_values("real_ruled_out").iloc[0]
        text += (f" Even the best structure that shares a scale across markers ({best['structure']}) calls the real "
                 f"effect ruled out in {pct(best['real_ruled_out'])} (coverage {pct(best['real_coverage'])}): the scale "
                 "learned from the null markers collapses and takes the real effect with it, so \"ruled out\" would come "
                 "from the other markers, not from this one's data.")
    return text
