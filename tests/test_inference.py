"""The one fitting path (``inference.sample``) refuses a posterior with fewer
draws than asked for: PyMC returns what it has when sampling is interrupted
(a stray SIGINT, as a kernel's shutdown sends), and a truncated fit must not
pass for a whole one. With ``retry``, a fit that fails the checks is
refitted once (shorter steps, more draws, a seed of its own), and says so."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from ketamine_nif import inference, provenance, reporting
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


def _sampler(calls: list, divergent_at, shifted_at=lambda kwargs: False):
    """A stand-in for ``pm.sample`` that records (target acceptance, draws,
    seed) of each call and returns white-noise draws of 4 chains, with 3
    divergent transitions where ``divergent_at(kwargs)``, and its second
    chain moved away (R-hat far over 1.01) where ``shifted_at(kwargs)``."""
    def sample(**kwargs):
        calls.append((kwargs["target_accept"], kwargs["draws"], kwargs["random_seed"]))
        idata = _draws(4, kwargs["draws"], 3 if divergent_at(kwargs) else 0, len(calls))
        if shifted_at(kwargs):
            idata["posterior"]["x"].values[1] += 1.0
        return idata

    return sample


@pytest.mark.parametrize("retry", [True, False])
def test_a_fit_with_divergences_is_refitted_once_with_smaller_steps_and_more_draws(tmp_path, monkeypatch, retry):
    """Divergences at a target acceptance of 0.8 bring, with the settings'
    ``retry`` (the chapters'), one refit at 0.95 with twice the draws and a
    seed of its own (derived from the fit's); the diagnostics are the refit's, with what the first fit
    failed, and the chapter's table, its verdict and the appendix say so.
    Without ``retry`` (the studies) the divergent fit stands and fails the verdict."""
    calls = []
    monkeypatch.setattr(inference.pm, "sample", _sampler(calls, lambda kwargs: kwargs["target_accept"] < 0.95))
    with pm.Model() as model:
        pm.Normal("x")
    settings = SamplerSettings(draws=1000, tune=10, chains=4, seed=7, target_accept=0.8, retry=retry)
    result = inference.fit(model, settings, "m", tmp_path / "chapter").diagnostics
    appendix = provenance.sampler_table(tmp_path, ["chapter"])  # from the saved diagnostics.json
    if retry:
        refit_seed = settings.for_fit("refit").seed
        assert calls == [(0.8, 1000, 7), (0.95, 2000, refit_seed)] and refit_seed != 7
        assert (result.target_accept, result.draws, result.seed, result.divergences, result.converged) == (
            0.95, 2000, refit_seed, 0, True)
        assert result.refit == ("first fit (1,000 draws per chain, target acceptance 0.80) failed the checks "
                                "(3 divergent transitions); refitted with 2,000 draws per chain at target acceptance 0.95 and a seed of its own "
                                "(the seconds are both fits')")
        assert reporting.diagnostics_table(result)["target acceptance"].item() == "0.95*"
        assert f"**m**: {result.refit} (marked * in the table)." in reporting.verdict(result)
        assert appendix["target acceptance"].item() == "0.95*"
    else:
        assert calls == [(0.8, 1000, 7)]
        assert result.refit == "" and result.divergences == 3 and not result.converged
        assert reporting.diagnostics_table(result)["target acceptance"].item() == "0.80"
        assert appendix["target acceptance"].item() == "0.80"


def test_a_fit_whose_chains_disagree_is_refitted_too_and_a_higher_target_is_kept(monkeypatch):
    """Not only divergences: chains that disagree (R-hat over 1.01) bring a
    refit too; a fit already at 0.99 keeps 0.99 and gets twice the draws.
    One refit only: one that fails again stands, failed."""
    calls = []
    monkeypatch.setattr(inference.pm, "sample", _sampler(calls, lambda kwargs: False, lambda kwargs: kwargs["draws"] == 1000))
    with pm.Model() as model:
        pm.Normal("x")
    result = inference.fit(model, SamplerSettings(draws=1000, tune=10, chains=4, target_accept=0.99, retry=True), "m").diagnostics
    assert [c[:2] for c in calls] == [(0.99, 1000), (0.99, 2000)] and result.converged
    assert "failed the checks (R-hat up to" in result.refit
    calls.clear()
    monkeypatch.setattr(inference.pm, "sample", _sampler(calls, lambda kwargs: False, lambda kwargs: True))
    result = inference.fit(model, SamplerSettings(draws=1000, tune=10, chains=4, target_accept=0.8, retry=True), "m").diagnostics
    assert [c[:2] for c in calls] == [(0.8, 1000), (0.95, 2000)] and not result.converged and result.refit


def test_a_fit_that_passes_is_drawn_once(monkeypatch):
    calls = []
    monkeypatch.setattr(inference.pm, "sample", _sampler(calls, lambda kwargs: False))
    with pm.Model() as model:
        pm.Normal("x")
    result = inference.fit(model, SamplerSettings(draws=1000, tune=10, chains=4, target_accept=0.8, retry=True), "m").diagnostics
    assert len(calls) == 1 and result.refit == "" and result.target_accept == 0.8 and result.converged
    assert "refitted" not in reporting.verdict(result)
