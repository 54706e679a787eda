"""The one fitting path (``inference.sample``) refuses a posterior with fewer
draws than asked for: PyMC returns what it has when sampling is interrupted
(a stray SIGINT, as a kernel's shutdown sends), and a truncated fit must not
pass for a whole one. A fit that fails the checks at a low target
acceptance is refitted once at a higher one, and says so."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from ketamine_nif import inference, reporting
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


def _draws(chains: int, draws: int, divergent: int, seed: int) -> xr.DataTree:
    rng = np.random.default_rng(seed)
    diverging = np.zeros((chains, draws), bool)
    diverging.flat[:divergent] = True
    return xr.DataTree.from_dict({
        "/posterior": xr.Dataset({"x": (("chain", "draw"), rng.normal(size=(chains, draws)))}),
        "/sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging),
                                     "energy": (("chain", "draw"), rng.normal(size=(chains, draws)))}),
    })


@pytest.mark.parametrize("retry, expected_calls", [(0.95, [0.8, 0.95]), (None, [0.8])])
def test_a_fit_with_divergences_is_refitted_once_at_the_retry_target(monkeypatch, retry, expected_calls):
    """Divergences at a target acceptance of 0.8 bring one refit at
    ``retry_target_accept``, with the same seed; the diagnostics keep the
    target of the draws kept and what the first fit failed, and the
    chapter's table and verdict say so. Without a retry target the divergent
    fit stands and fails the verdict."""
    calls = []

    def sample(**kwargs):
        calls.append((kwargs["target_accept"], kwargs["random_seed"]))
        return _draws(4, 1000, 3 if kwargs["target_accept"] < 0.95 else 0, len(calls))

    monkeypatch.setattr(inference.pm, "sample", sample)
    with pm.Model() as model:
        pm.Normal("x")
    settings = SamplerSettings(draws=1000, tune=10, chains=4, seed=7, target_accept=0.8, retry_target_accept=retry)
    result = inference.fit(model, settings, "m").diagnostics
    assert calls == [(target, 7) for target in expected_calls]
    assert result.target_accept == expected_calls[-1]
    if retry:
        assert result.divergences == 0 and result.converged
        assert result.refit == "first fit at target acceptance 0.80 failed the checks (3 divergent transitions); refitted at 0.95"
        assert reporting.diagnostics_table(result)["target acceptance"].item() == "0.95*"
        assert f"**m**: {result.refit} (marked * in the table)." in reporting.verdict(result)
    else:
        assert result.refit == "" and result.divergences == 3 and not result.converged
        assert reporting.diagnostics_table(result)["target acceptance"].item() == "0.80"


def test_a_chain_that_mixes_too_slowly_is_refitted_too(monkeypatch):
    """Not only divergences: draws whose chains disagree (R-hat over 1.01)
    at 0.8 are drawn again at 0.95."""
    calls = []

    def sample(**kwargs):
        calls.append(kwargs["target_accept"])
        idata = _draws(4, 1000, 0, len(calls))
        if kwargs["target_accept"] < 0.95:  # the second chain sits elsewhere
            idata["posterior"]["x"].values[1] += 1.0
        return idata

    monkeypatch.setattr(inference.pm, "sample", sample)
    with pm.Model() as model:
        pm.Normal("x")
    result = inference.fit(model, SamplerSettings(draws=1000, tune=10, chains=4, target_accept=0.8), "m").diagnostics
    assert calls == [0.8, 0.95] and result.converged and result.target_accept == 0.95
    assert result.refit.startswith("first fit at target acceptance 0.80 failed the checks (R-hat up to")


def test_a_fit_without_divergences_is_drawn_once(monkeypatch):
    calls = []
    monkeypatch.setattr(inference.pm, "sample", lambda **kwargs: calls.append(kwargs["target_accept"]) or _draws(4, 1000, 0, 1))
    with pm.Model() as model:
        pm.Normal("x")
    result = inference.fit(model, SamplerSettings(draws=1000, tune=10, chains=4, target_accept=0.8), "m").diagnostics
    assert calls == [0.8] and result.refit == "" and result.target_accept == 0.8
    assert "refitted" not in reporting.verdict(result)
    # the studies' target (0.95) is the retry target: their divergent fits are kept and counted, not refitted
    calls.clear()
    monkeypatch.setattr(inference.pm, "sample", lambda **kwargs: calls.append(kwargs["target_accept"]) or _draws(4, 1000, 2, 1))
    assert inference.fit(model, SamplerSettings(draws=1000, tune=10, chains=4), "m").diagnostics.divergences == 2
    assert calls == [0.95]
