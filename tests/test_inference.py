"""The one fitting path (``inference.sample``) refuses a posterior with fewer
draws than asked for: PyMC returns what it has when sampling is interrupted
(a stray SIGINT, as a kernel's shutdown sends), and a truncated fit must not
pass for a whole one."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from ketamine_nif import inference
from ketamine_nif.inference import SamplerSettings


def _posterior(chains: int, draws: int) -> xr.DataTree:
    return xr.DataTree.from_dict({"/posterior": xr.Dataset({"x": (("chain", "draw"), np.zeros((chains, draws)))})})


@pytest.mark.parametrize("chains, draws", [(2, 60), (1, 100)])
def test_a_posterior_cut_short_is_refused(monkeypatch, chains, draws):
    monkeypatch.setattr(inference.pm, "sample", lambda **kwargs: _posterior(chains, draws))
    with pm.Model() as model:
        pm.Normal("x")
    with pytest.raises(RuntimeError, match=f"sampling stopped early: {chains} chains x {draws} draws of 2 x 100"):
        inference.sample(model, SamplerSettings(draws=100, tune=10, chains=2))
    monkeypatch.setattr(inference.pm, "sample", lambda **kwargs: _posterior(2, 100))
    assert inference.sample(model, SamplerSettings(draws=100, tune=10, chains=2))["posterior"].sizes["draw"] == 100
