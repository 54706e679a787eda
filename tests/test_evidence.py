"""Evidence for absence (chapter 06): the Savage-Dickey Bayes factor matches
the analytic Bayes factor of a conjugate normal model within 5%, in the body
and in the far tail of the posterior; the prior density of an effect shrunk
by its marker's own scale is right; ROPE probabilities, the reading of saved
fits with their recorded priors, and the reweighting to other priors are right."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from ketamine_nif import evidence
from ketamine_nif.estimands import MADRS_CHANGE_DIFFERENCE
from ketamine_nif.inference import PRIORS_ATTRIBUTE
from ketamine_nif.models.pooling import EffectPrior

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


def test_prior_density_of_an_effect_and_of_a_difference():
    rng = np.random.default_rng(2)
    prior = EffectPrior(0.2)
    n, width = 2_000_000, 0.004
    one, other = 0.2 * rng.standard_t(3, n), 0.2 * rng.standard_t(3, n)
    for value in (0.0, 0.15):
        assert prior.density(value) == pytest.approx(stats.t.pdf(value / 0.2, 3) / 0.2)
        assert prior.density(value, difference=True) == pytest.approx(np.mean(np.abs(one - other - value) < width / 2) / width, rel=0.03)
    assert EffectPrior(0.3, nu=np.inf).density(0.1) == pytest.approx(stats.norm.pdf(0.1, 0, 0.3))
    assert EffectPrior(0.3, nu=np.inf).density(0.1, difference=True) == pytest.approx(stats.norm.pdf(0.1, 0, 0.3 * np.sqrt(2)))
    # one scale shared by the family: the half-normal mixture, checked by simulation
    shared = EffectPrior(0.2, pooling="shared")
    draws = shared.draw(rng, n)
    assert shared.density(0.1) == pytest.approx(np.mean(np.abs(draws - 0.1) < width / 2) / width, rel=0.03)


def test_rope_probability():
    draws = np.random.default_rng(3).normal(0.5, 1.0, 200_000)
    expected = stats.norm.cdf(2, 0.5, 1) - stats.norm.cdf(-2, 0.5, 1)
    assert evidence.rope_probability(draws, (-2, 2)) == pytest.approx(expected, abs=0.005)


def save_fit(outputs, source, posterior: xr.Dataset, priors: dict, converged: bool = True) -> None:
    """A saved fit as inference.fit leaves it: the posterior with its recorded priors, and diagnostics.json."""
    folder = outputs / source.stem
    folder.mkdir(parents=True, exist_ok=True)
    posterior.attrs[PRIORS_ATTRIBUTE] = json.dumps(priors)
    xr.DataTree.from_dict({"/posterior": posterior}).to_netcdf(folder / f"{source.fit}.nc", engine="h5netcdf")
    (folder / "diagnostics.json").write_text(json.dumps({source.fit: {"converged": converged}}))


def conjugate_fit(tmp_path, ybars=(0.6, 1.6), seed=4):
    """The MADRS difference as a conjugate normal posterior per visit, saved with its N(0, TAU) prior."""
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.normal(*conjugate(y)[:2], (4, 10_000)) for y in ybars], axis=-1)
    posterior = xr.Dataset({MADRS_CHANGE_DIFFERENCE: (("chain", "draw", "post_visit"), draws)},
                           coords={"post_visit": [f"v{i}" for i in range(len(ybars))]})
    save_fit(tmp_path, evidence.DEPRESSION, posterior, {MADRS_CHANGE_DIFFERENCE: {"scale": TAU, "nu": math.inf, "pooling": "none"}})
    return ybars


def test_bayes_factors_read_saved_fits_and_their_priors(tmp_path):
    ybars = conjugate_fit(tmp_path)
    table = evidence.bayes_factors(tmp_path)
    assert list(table["visit"]) == ["v0", "v1"]
    assert np.allclose(table["bf01"], [conjugate(y)[2] for y in ybars], rtol=0.05)
    assert table["converged"].all() and (table["prior"] == f"{TAU:g} × N(0, 1)").all()
    assert evidence.bayes_factors(tmp_path / "nowhere").empty


def test_estimates_the_data_cannot_inform_are_left_out_of_every_table(tmp_path):
    """With the MADRS difference at v1 uninformed (no saline ratings there),
    the Bayes factors, ROPE sensitivity and alternative priors cover v0 only."""
    from ketamine_nif.identifiability import Assessment, Gap

    conjugate_fit(tmp_path)
    informed = Assessment([Gap(MADRS_CHANGE_DIFFERENCE, "", "the saline arm has 0 participants", "v1")])
    rope, important = {MADRS_CHANGE_DIFFERENCE: (-0.2, 0.2)}, {MADRS_CHANGE_DIFFERENCE: 0.5}
    assert list(evidence.bayes_factors(tmp_path, informed)["visit"]) == ["v0"]
    assert set(evidence.sensitivity(tmp_path, rope, informed=informed)["estimates"]) == {1}
    assert set(evidence.sensitivity(tmp_path, rope)["estimates"]) == {2}
    assert list(evidence.alternative_priors(tmp_path, rope, important, informed=informed)["visit"]) == ["v0"]
    everything = Assessment([Gap(MADRS_CHANGE_DIFFERENCE, "", "no saline arm")])
    assert evidence.bayes_factors(tmp_path, everything).empty and evidence.sensitivity(tmp_path, rope, informed=everything).empty


def conjugate_with(prior_sd: float, ybar: float) -> tuple[float, float, float]:
    se2 = SIGMA**2 / N
    post_var = 1 / (1 / prior_sd**2 + 1 / se2)
    bf01 = stats.norm.pdf(ybar, 0, math.sqrt(se2)) / stats.norm.pdf(ybar, 0, math.sqrt(prior_sd**2 + se2))
    return post_var * ybar / se2, math.sqrt(post_var), bf01


def test_reweighting_gives_the_answers_of_other_priors(tmp_path):
    """A wider or narrower slab, and the sceptical prior, by reweighting the
    saved draws: the same Bayes factors and ROPE probabilities as the
    conjugate posterior under that prior."""
    ybar = 0.6
    conjugate_fit(tmp_path, ybars=(ybar,))
    rope = (-0.2, 0.2)
    table = evidence.sensitivity(tmp_path, {MADRS_CHANGE_DIFFERENCE: rope}, prior_factors=(0.5, 2.0), rope_factors=(1.0, 2.0))
    for factor in (0.5, 2.0):
        mean, sd, bf01 = conjugate_with(factor * TAU, ybar)
        for rope_factor in (1.0, 2.0):
            row = table[(table["prior_factor"] == factor) & (table["rope_factor"] == rope_factor)].iloc[0]
            inside = stats.norm.cdf(rope_factor * 0.2, mean, sd) - stats.norm.cdf(-rope_factor * 0.2, mean, sd)
            assert row["ruled_out"] == int(inside >= 0.95)
            assert row["bf01_above_3"] == int(bf01 > 3) and row["bf01_below_third"] == int(bf01 < 1 / 3)
            assert row["min_effective_draws"] > evidence.MIN_WEIGHTED_DRAWS
    alternatives = evidence.alternative_priors(tmp_path, {MADRS_CHANGE_DIFFERENCE: rope}, {MADRS_CHANGE_DIFFERENCE: 0.5})
    sceptical = evidence.reanalysis_priors(0.5)[0]
    assert sceptical.name == "sceptical" and sceptical.mean == 0
    mean, sd, _ = conjugate_with(sceptical.sd, ybar)
    beyond = 1 - (stats.norm.cdf(0.2, mean, sd) - stats.norm.cdf(-0.2, mean, sd))
    assert alternatives["sceptical"].iloc[0] == pytest.approx(beyond, abs=0.01)


def test_reweighting_a_student_t_prior(tmp_path):
    """Draws from the book's Student-t prior itself (no data), reweighted to
    twice the slab: the share inside the ROPE is that of the wider prior, and
    the Bayes factor is 1 (posterior = prior)."""
    rng = np.random.default_rng(5)
    prior = EffectPrior(0.2)
    effects = 0.2 * rng.standard_t(3, (4, 20_000, 2, 3))
    posterior = xr.Dataset({"log_ratio": (("chain", "draw", "marker", "post_visit"), effects)},
                           coords={"marker": ["a", "b"], "post_visit": ["24h", "day3", "day5"]})
    save_fit(tmp_path, evidence.TRAJECTORIES, posterior, {"log_ratio": prior.to_dict()})
    key = evidence.KEY_ESTIMANDS[0]
    first = effects[..., 0, 0].ravel()
    w = evidence._scale_weights(key, posterior, prior, 2.0, {"marker": "a"}, first)
    expected = 2 * stats.t.cdf(math.log(1.05) / 0.4, 3) - 1
    assert evidence.rope_probability(first, (math.log(0.95), math.log(1.05)), w) == pytest.approx(expected, abs=0.01)
    table = evidence.sensitivity(tmp_path, {evidence.NIF_CHANGE_RATIO: (0.95, 1.05)}, prior_factors=(1.0, 2.0), rope_factors=(1.0,))
    assert list(table["estimates"]) == [6, 6]
    # no data: every Bayes factor is about 1, none above 3 or below 1/3
    assert (table["bf01_above_3"] == 0).all() and (table["bf01_below_third"] == 0).all()
