"""Rank-normalised split R-hat and bulk and tail effective sample sizes of
every scalar of a posterior at once.

The same estimators as ArviZ's (``arviz_stats``: Vehtari et al. 2021, Geyer's
initial monotone sequence), written over an array of all the posterior's
scalars instead of one scalar at a time: ArviZ loops in Python over the
scalars, which cost 0.33 s of a 0.6 s fit of the one-marker aim 1 model (133
person levels), more than the sampling. ``tests/test_convergence.py`` checks
that the values equal ArviZ's (``az.rhat``, ``az.ess`` bulk and tail) on
posteriors and on awkward arrays (constant, anti-correlated, short, NaN).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special
from scipy.fft import next_fast_len

BLOM = 3 / 8  # ranks back-transformed to normal scores as (rank - 3/8) / (n - 3/4 + 1)


def _quiet(function):
    """Degenerate scalars (constant, one chain) give NaN or inf silently, as in ArviZ."""
    @functools.wraps(function)
    def quiet(*args):
        with np.errstate(divide="ignore", invalid="ignore"):
            return function(*args)
    return quiet


def scalars(posterior) -> tuple[np.ndarray, list[str]]:
    """The draws of every scalar of a posterior Dataset as one (scalar, chain,
    draw) array, and the variable each scalar belongs to."""
    blocks, names = [], []
    for name, da in posterior.data_vars.items():
        values = np.asarray(da.transpose("chain", "draw", ...).values, dtype=float)
        values = values.reshape(*values.shape[:2], -1)
        blocks.append(np.moveaxis(values, -1, 0))
        names += [name] * values.shape[-1]
    return np.concatenate(blocks), names


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as chains of their own."""
    half = x.shape[-1] // 2
    return np.concatenate([x[..., :half], x[..., -half:]], axis=1)


def average_ranks(flat: np.ndarray) -> np.ndarray:
    """Ranks (1-based, ties given their average) along each row of a 2-D
    array: ``scipy.stats.rankdata(flat, method="average", axis=1)``, with
    NumPy's default sort instead of a stable one (a third to a half faster on
    draws; the order among ties does not change their average)."""
    n = flat.shape[1]
    order = np.argsort(flat, axis=1)
    ordered = np.take_along_axis(flat, order, axis=1)
    first = np.ones(flat.shape, dtype=bool)  # where a run of equal values starts
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    starts = np.flatnonzero(first)  # positions in the flattened array, rows one after another
    counts = np.diff(np.append(starts, first.size))
    average = starts % n + (counts - 1) / 2.0 + 1.0
    ranks = np.empty(flat.shape)
    np.put_along_axis(ranks, order, average[np.cumsum(first.ravel()) - 1].reshape(flat.shape), axis=1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks over each scalar's draws (all chains)."""
    flat = x.reshape(len(x), -1)
    return special.ndtri((average_ranks(flat) - BLOM) / (flat.shape[1] - 2 * BLOM + 1)).reshape(x.shape)  # = stats.norm.ppf


def _rhat(y: np.ndarray) -> np.ndarray:
    n = y.shape[-1]
    between = n * np.var(y.mean(axis=-1), axis=1, ddof=1)
    within = np.var(y, axis=-1, ddof=1).mean(axis=1)
    return np.sqrt((between / within + n - 1) / n)


@_quiet
def _rhat_rank(x: np.ndarray, z_split: np.ndarray | None = None) -> np.ndarray:
    split = _split(x)
    folded = np.abs(split - np.median(split.reshape(len(x), -1), axis=1)[:, None, None])
    bulk = _rhat(_z_scale(split) if z_split is None else z_split)
    tail = _rhat(_z_scale(folded))
    return np.where(tail > bulk, tail, bulk)  # ArviZ's max(bulk, tail): the bulk R-hat where the folded one is NaN


def rhat(x: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat per scalar of ``x`` (scalar, chain, draw)."""
    return _where_valid(x, _rhat_rank, min_chains=2)


def rhat_and_ess_bulk(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rhat` and :func:`ess_bulk` of ``x`` together, the normal scores
    of the split chains' ranks (the costly part: a sort per scalar) computed once."""
    r_hat, bulk = np.full(len(x), np.nan), np.full(len(x), np.nan)
    ranked = _valid(x, 1)
    if ranked.any():
        z_split = _z_scale(_split(x[ranked]))
        bulk[ranked] = _ess(z_split)
        if x.shape[1] >= 2:  # R-hat compares chains
            r_hat[ranked] = _rhat_rank(x[ranked], z_split)
    return r_hat, bulk


def _valid(x: np.ndarray, min_chains: int) -> np.ndarray:
    ok = ~np.isnan(x).any(axis=(1, 2))
    return ok & (x.shape[1] >= min_chains) & (x.shape[2] >= 4)


@_quiet
def _ess(y: np.ndarray) -> np.ndarray:
    """Effective sample size of each scalar of ``y`` (scalar, chain, draw)."""
    k, m, n = y.shape
    centred = y - y.mean(axis=-1, keepdims=True)
    size = next_fast_len(2 * n)
    spectrum = np.fft.rfft(centred, n=size, axis=-1)
    acov = np.fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=-1)[..., :n] / n
    mean_var = acov[:, :, 0].mean(axis=1) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + (np.var(y.mean(axis=-1), axis=1, ddof=1) if m > 1 else 0.0)
    rho = 1.0 - (mean_var[:, None] - acov.mean(axis=1)) / var_plus[:, None]  # (scalar, lag)
    rho[:, 0] = 1.0
    pairs = (n - 1) // 2  # pairs (rho[2j], rho[2j+1]) that Geyer's loop reaches: j = 0, and 1 <= j with 2j - 1 < n - 3
    pair_sum = rho[:, 0 : 2 * pairs : 2] + rho[:, 1 : 2 * pairs : 2]
    out = np.empty(k)
    for s in range(k):  # per scalar, over a few pairs only: the sums are known
        q = pair_sum[s]
        ends = np.flatnonzero(q[1:] <= 0) + 1
        if pairs < 2 or q[0] <= 0:  # Geyer's loop never runs
            kept, last = np.zeros(0), 1.0
        elif len(ends):  # the first pair whose sum is not positive ends the sequence
            j = ends[0]
            kept = q[:j]
            last = rho[s, 2 * j] if rho[s, 2 * j] > 0 or q[j] == 0 else 0.0
        else:  # the loop ran out of lags
            j = pairs - 1
            kept, last = q[:j], rho[s, 2 * j]
        tau = -1.0 + 2.0 * np.minimum.accumulate(kept).sum() + last
        out[s] = m * n / max(tau, 1.0 / np.log10(m * n))
    constant = (y.max(axis=(1, 2)) - y.min(axis=(1, 2))) < np.finfo(float).resolution
    out = np.where(constant, m * n, out)
    return np.where(np.isnan(rho).any(axis=1) & ~constant, np.nan, out)


def _where_valid(x: np.ndarray, statistic, min_chains: int = 1) -> np.ndarray:
    """``statistic(x[valid])`` for the scalars with at least 4 draws,
    ``min_chains`` chains and no NaN; NaN for the others (as in ArviZ)."""
    out, valid = np.full(len(x), np.nan), _valid(x, min_chains)
    if valid.any():
        out[valid] = statistic(x[valid])
    return out


def ess_bulk(x: np.ndarray) -> np.ndarray:
    """Bulk effective sample size per scalar of ``x`` (scalar, chain, draw)."""
    return _where_valid(x, lambda v: _ess(_z_scale(_split(v))))


def ess_mean(x: np.ndarray) -> np.ndarray:
    """Effective sample size of the mean per scalar of ``x`` (scalar, chain,
    draw), on split chains without rank normalisation (ArviZ's ``method="mean"``):
    for an indicator, the ESS of the probability it counts."""
    return _where_valid(x, lambda v: _ess(_split(v)))


def ess_tail(x: np.ndarray, prob: float) -> np.ndarray:
    """Tail effective sample size per scalar: the smaller of the effective
    sample sizes of the indicators of the quantiles ``prob`` and ``1 - prob``
    (``inference.diagnose`` passes ArviZ 1's default, its ``ci_prob`` 0.89:
    the 11% and 89% quantiles)."""
    def smaller(v):
        flat = v.reshape(len(v), -1)
        return np.minimum(*(_ess(_split((v <= np.quantile(flat, p, axis=1)[:, None, None]).astype(float)))
                            for p in sorted((prob, 1 - prob))))
    return _where_valid(x, smaller)
