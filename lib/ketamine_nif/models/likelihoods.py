"""A normal likelihood with a random intercept per group integrated out.

Rows of one group (a participant, or a participant x marker) share an
intercept u_g ~ N(0, s) on top of independent noise N(0, sigma); integrated
out, the group's residuals r are jointly normal with covariance
sigma^2 I + s^2 J. The joint density is written by the chain rule, one row at a
time: given the k earlier residuals of its group, with sum S, a row's residual
is normal with

    mean  s^2 S / (sigma^2 + k s^2),     variance  sigma^2 + s^2 sigma^2 / (sigma^2 + k s^2).

Each row's term is an ordinary normal density, so the likelihood is exact, the
person effects (hundreds of parameters, each correlated with the arm means)
are gone, and the pointwise log-likelihood sums, over a group's rows, to the
group's marginal log-likelihood, which is what leave-one-participant-out
cross-validation needs (a single row's term alone is a conditional density and
must not be left out by itself). Replicated data (prior and posterior
predictive) draw a new intercept per group.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt


def earlier_rows(groups: np.ndarray) -> np.ndarray:
    """(rows, K) indices of each row's earlier rows in the same group, padded
    with ``rows`` (an index that points past the end), K the largest group less one."""
    groups = np.asarray(groups)
    n = len(groups)
    seen: dict = {}
    lists = []
    for row, g in enumerate(groups):
        previous = seen.setdefault(g, [])
        lists.append(list(previous))
        previous.append(row)
    width = max((len(p) for p in lists), default=0)
    out = np.full((n, max(width, 1)), n, dtype=int)
    for row, previous in enumerate(lists):
        out[row, : len(previous)] = previous
    return out


def random_intercept_logp(resid, sigma, group_sd, earlier: np.ndarray):
    """Per-row chain-rule terms of the marginal log-likelihood (see the module
    docstring); ``sigma`` and ``group_sd`` scalars, or one value per row that
    is the same for every row of a group. The terms depend on the order of
    the rows: only their sums over a group mean anything on their own (never
    use them for pointwise leave-one-out or LOO-PIT)."""
    count = (earlier < len(earlier)).sum(axis=1).astype(float)
    total = pt.concatenate([resid, pt.zeros(1)])[earlier].sum(axis=1)
    var, tau2 = sigma**2, group_sd**2
    pooled = var + count * tau2
    mean = tau2 * total / pooled
    cond_var = var + tau2 * var / pooled
    return -0.5 * (pt.log(2 * np.pi * cond_var) + (resid - mean) ** 2 / cond_var)


def grouped_random_intercept_logp(resid, seen, sigma, group_sd):
    """The marginal log density of each group of a grid whose last axis holds
    a group's rows (the chain-rule terms of :func:`random_intercept_logp`
    summed over the group, in closed form): ``k`` seen residuals r (``seen``
    1, else 0) with covariance sigma^2 I + s^2 J have log density
    -(k log(2 pi sigma^2) + log(1 + k s^2 / sigma^2) + (sum r^2 - s^2 (sum r)^2 / (sigma^2 + k s^2)) / sigma^2) / 2,
    and a group with no seen row has density 1. ``sigma`` and ``group_sd``
    broadcast against the groups (the grid's shape without its last axis).
    One sum per group, no gathers: a gather's gradient is a scatter."""
    resid = seen * resid
    k, total, squares = seen.sum(axis=-1), resid.sum(axis=-1), (resid**2).sum(axis=-1)
    var, tau2 = sigma**2, group_sd**2
    return -0.5 * (k * pt.log(2 * np.pi * var) + pt.log1p(k * tau2 / var) + (squares - tau2 * total**2 / (var + k * tau2)) / var)


def random_intercept(name: str, mean, sigma, group_sd, groups: np.ndarray, observed: np.ndarray, **kwargs):
    """Observed rows whose residuals share a normal intercept per group
    (``groups``: one label per row), integrated out."""
    groups = np.asarray(groups)
    earlier = earlier_rows(groups)
    _, group_index = np.unique(groups, return_inverse=True)
    n_groups = int(group_index.max()) + 1 if len(groups) else 0

    def logp(value, mean, sigma, group_sd):
        return random_intercept_logp(value - mean, sigma, group_sd, earlier)

    def random(mean, sigma, group_sd, rng=None, size=None):
        shape = size if size is not None else np.broadcast_shapes(np.shape(mean), np.shape(sigma), np.shape(group_sd))
        # one intercept per group (and per leading draw, if ``size`` asks for several)
        intercept = rng.normal(size=(*shape[:-1], n_groups))[..., group_index] * group_sd
        return mean + intercept + sigma * rng.normal(size=shape)

    return pm.CustomDist(name, mean, sigma, group_sd, logp=logp, random=random, observed=observed, **kwargs)
