"""The normal-means calibration of prior structures (chapter 02): the grid
posterior equals the conjugate normal posterior for a fixed prior and a
grid-free computation for a learned scale; a scale shared across markers
calls a real effect on an imprecise marker "ruled out" far more often than
each marker's own scale does."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from ketamine_nif import shrinkage

EFFECTS = np.linspace(-2, 2, 4001)
SCALES = np.linspace(0.002, 1.0, 400)


def moments(posterior):
    mean = posterior @ EFFECTS
    return mean, np.sqrt(posterior @ EFFECTS**2 - mean**2)


def test_fixed_prior_gives_the_conjugate_posterior():
    estimates, se = np.array([0.3, -0.1]), np.array([0.1, 0.2])
    structure = shrinkage.Structure("fixed", "none")
    mean, sd = moments(shrinkage.posterior_grid(estimates, se, np.array([0, 1]), structure, 0.2, EFFECTS, SCALES))
    post_var = 1 / (1 / 0.2**2 + 1 / se**2)
    np.testing.assert_allclose(mean, post_var * estimates / se**2, atol=1e-4)
    np.testing.assert_allclose(sd, np.sqrt(post_var), atol=1e-4)


def test_a_markers_own_scale_is_integrated_out():
    """Two effects of one marker share a Gamma(2) scale: the grid posterior
    mean of the first equals E[theta_1 | data] by direct integration over the scale."""
    estimates, se, slab = np.array([0.25, 0.05]), np.array([0.1, 0.1]), 0.2
    structure = shrinkage.Structure("own", "marker")
    mean, _ = moments(shrinkage.posterior_grid(estimates, se, np.array([0, 0]), structure, slab, EFFECTS, SCALES))


    def weight(s):  # p(s) * prod_j N(est_j | 0, sqrt(s^2 + se_j^2))
        return stats.gamma.pdf(s, 2, scale=slab / 2) * np.prod(stats.norm.pdf(estimates, 0, np.sqrt(s**2 + se**2)))

    def first_mean(s):  # E[theta_1 | est_1, s] = est_1 s^2 / (s^2 + se^2)
        return estimates[0] * s**2 / (s**2 + se[0] ** 2)

    norm = integrate.quad(weight, 0, 5)[0]
    expected = integrate.quad(lambda s: weight(s) * first_mean(s), 0, 5)[0] / norm
    assert mean[0] == pytest.approx(expected, abs=2e-3)


def test_a_shared_scale_rules_out_a_real_effect_that_the_markers_own_data_cannot():
    se = np.repeat([0.05, 0.11, 0.06, 0.03, 0.07, 0.10, 0.14], 3)
    groups = np.repeat(np.arange(7), 3)
    table = shrinkage.verdict_calibration(se, groups, 0.2, np.log(1.1), planted=3, planted_size=np.log(1.2), replicates=40, seed=2)
    by = table.set_index("structure")
    book = by.loc[shrinkage.BOOK.label]
    shared = by[by.index.str.contains("all markers")]
    assert book["real_ruled_out"] <= 0.05 and (shared["real_ruled_out"] >= 0.25).all()
    assert (shared["real_coverage"] < book["real_coverage"]).all()
    assert book["null_supported"] <= 0.05 and book["edge_ruled_out"] <= 0.15
    sentence = shrinkage.calibration_sentence(table, "a true 1.2-fold rise")
    assert sentence.startswith("With a fixed Student-t(3) prior per effect (the book), a true 1.2-fold rise is called ruled out in ")
    assert "Even the best structure that shares a scale across markers" in sentence and "collapses" in sentence
