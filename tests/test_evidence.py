"""Evidence for absence (chapter 06): the Savage-Dickey Bayes factor matches
the analytic Bayes factor of a conjugate normal model within 5%, in the body
and in the far tail of the posterior; the prior density of a partially pooled
effect is right; ROPE probabilities and the reading of saved fits are right."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from ketamine_nif import evidence

TAU = 1.0  # prior SD of theta under the alternative: theta ~ N(0, TAU)
SIGMA, N = 2.0, 20  # y_i ~ N(theta, SIGMA), i = 1..N


def conjugate(ybar: float) -> tuple[float, float, float]:
    """Posterior mean and SD of theta, and the analytic BF01 from the marginal
    likelihoods of ybar: N(0, SIGMA^2/N) under the null, N(0, TAU^2 + SIGMA^2/N) under the alternative."""
    se2 = SIGMA**2 / N
    post_var = 1 / (1 / TAU**2 + 1 / se2)
    post_mean = post_var * ybar / se2
    bf01 = stats.norm.pdf(ybar, 0, math.sqrt(se2)) / stats.norm.pdf(ybar, 0, math.sqrt(TAU**2 + se2))
    return post_mean, math.sqrt(post_var), bf01


@pytest.mark.parametrize("ybar", [0.1, 0.6, 1.0, 1.6])  # BF01 from 2.4 (null) to 0.012 (effect; null in the tail)
def test_savage_dickey_matches_the_conjugate_normal_answer(ybar):
    mean, sd, analytic = conjugate(ybar)
    draws = np.random.default_rng(1).normal(mean, sd, 40_000)
    result = evidence.savage_dickey(draws, stats.norm.pdf(0.0, 0.0, TAU))
    assert result["bf01"] == pytest.approx(analytic, rel=0.05)
    in_tail = abs(mean) / sd > stats.norm.ppf(1 - evidence.TAIL)
    assert result["method"] == (evidence.NORMAL_APPROXIMATION if in_tail else evidence.KDE)


def test_bayes_factor_favours_the_null_only_when_the_data_do():
    assert conjugate(0.1)[2] > 2 and conjugate(1.6)[2] < 1 / 50
    assert evidence.evidence_words(4.5) == "moderate evidence for the null"
    assert evidence.evidence_words(1 / 200) == "extreme evidence for an effect"
    assert evidence.evidence_words(1.5) == "anecdotal evidence for the null"


def test_prior_density_of_a_pooled_effect():
    rng = np.random.default_rng(2)
    mean_sd, spread_sd = 3.0, 1.5
    draws = rng.normal(0, mean_sd, 2_000_000) + np.abs(rng.normal(0, spread_sd, 2_000_000)) * rng.normal(0, 1, 2_000_000)
    width = 0.1
    monte_carlo = np.mean(np.abs(draws) < width / 2) / width
    assert evidence.pooled_prior_density(0.0, mean_sd, spread_sd) == pytest.approx(monte_carlo, rel=0.02)
    difference = draws - (rng.normal(0, mean_sd, 2_000_000) + np.abs(rng.normal(0, spread_sd, 2_000_000)) * rng.normal(0, 1, 2_000_000))
    # the difference of two effects sharing one spread: variance 2 (mean_sd^2 + s^2) given s
    assert evidence.pooled_prior_density(0.0, mean_sd, spread_sd, factor=2.0) == pytest.approx(
        np.mean(np.abs(difference) < width / 2) / width, rel=0.05)
    assert evidence.pooled_prior_density(0.0, 0.3) == pytest.approx(stats.norm.pdf(0, 0, 0.3))


def test_rope_probability():
    draws = np.random.default_rng(3).normal(0.5, 1.0, 200_000)
    expected = stats.norm.cdf(2, 0.5, 1) - stats.norm.cdf(-2, 0.5, 1)
    assert evidence.rope_probability(draws, (-2, 2)) == pytest.approx(expected, abs=0.005)


def test_bayes_factors_read_saved_fits(tmp_path):
    """A saved coupling fit with a pooled mean drawn from the conjugate posterior
    gives the conjugate Bayes factor; its convergence verdict comes along."""
    mean, sd, analytic = conjugate(0.6)
    draws = np.random.default_rng(4).normal(mean, sd, (4, 10_000))
    posterior = xr.Dataset({"coupling_mean": (("chain", "draw", "arm"), np.stack([draws, draws[::-1]], axis=-1))},
                           coords={"arm": ["ketamine", "saline"]})
    folder = tmp_path / evidence.COUPLING.stem
    folder.mkdir()
    xr.DataTree.from_dict({"/posterior": posterior}).to_netcdf(folder / f"{evidence.COUPLING.fit}.nc", engine="h5netcdf")
    (folder / "diagnostics.json").write_text(json.dumps({evidence.COUPLING.fit: {"converged": True}}))
    specs = [h for h in evidence.headlines(0.3, 0.15, 5.0, TAU, 1.5, 3.0, 1.5) if h.names == ("coupling_mean",)]
    table = evidence.bayes_factors(tmp_path, specs)
    assert list(table["arm"]) == ["ketamine", "saline"]
    assert np.allclose(table["bf01"], analytic, rtol=0.05)
    assert table["converged"].all()
    assert evidence.bayes_factors(tmp_path / "nowhere", specs).empty
