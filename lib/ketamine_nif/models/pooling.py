"""Partial pooling of an effect across markers, shared by every model."""

from __future__ import annotations

import pymc as pm


def pooled(name: str, n_members: int, mean_sd: float, spread_sd: float, dims: tuple[str, str], mean_dims: str):
    """effect[c, j] = mean[j] + spread * raw[c, j] (non-centred), pooled across
    the ``n_members`` entries of the first dim (markers). With one marker there
    is nothing to pool: effect = mean[j] ~ N(0, mean_sd), and the spread, which
    the data could not inform, is left out (it only slows the sampler)."""
    mean = pm.Normal(f"{name}_mean", 0.0, mean_sd, dims=mean_dims)
    if n_members == 1:
        return mean[None, :]
    spread = pm.HalfNormal(f"{name}_spread", spread_sd)
    raw = pm.Normal(f"{name}_raw", 0.0, 1.0, dims=dims)
    return mean + spread * raw
