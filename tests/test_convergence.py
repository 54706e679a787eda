"""R-hat and effective sample sizes of all of a posterior's scalars at once
(:mod:`ketamine_nif.convergence`) equal ArviZ's, scalar by scalar, and
``inference.diagnose`` reports the same extremes and names as before."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr
from arviz_stats.validate import validate_ci_prob
from scipy import stats

from ketamine_nif import convergence
from ketamine_nif.inference import SamplerSettings, diagnose


def _ar1(rng, phis, chains: int, draws: int) -> np.ndarray:
    """(scalar, chain, draw) AR(1) series, one autocorrelation per scalar."""
    out = np.empty((len(phis), chains, draws))
    noise = rng.normal(size=out.shape)
    out[..., 0] = noise[..., 0]
    for t in range(1, draws):
        out[..., t] = np.asarray(phis)[:, None] * out[..., t - 1] + noise[..., t]
    return out


def _arviz(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ds = xr.Dataset({"v": (("chain", "draw", "scalar"), np.moveaxis(x, 0, -1))})
    return (az.rhat(ds)["v"].values, az.ess(ds, method="bulk")["v"].values, az.ess(ds, method="tail")["v"].values,
            az.ess(ds, method="mean")["v"].values)


def _awkward(rng) -> dict[str, np.ndarray]:
    ar = _ar1(rng, np.linspace(-0.9, 0.95, 40), 2, 500)
    odd = ar[:, :, :499].copy()
    odd[0] = 2.5  # constant
    odd[1, 0, 7] = np.nan
    odd[2] = np.round(odd[2])  # ties
    odd[3, 1] += 3.0  # a chain elsewhere
    alternating = np.tile([1.0, -1.0], (10, 2, 250)) + 0.01 * rng.normal(size=(10, 2, 500))
    two_valued = (rng.random(size=(20, 4, 14)) < np.linspace(0.02, 0.5, 20)[:, None, None]).astype(float)
    return {"ar(1), 2 x 500": ar, "odd draws, constant, NaN, ties, a stray chain": odd, "one chain": ar[:, :1],
            "short, 3 x 7": ar[:, :, :21].reshape(40, 6, 7)[:, :3], "alternating": alternating,
            "4 x 1000 white noise": rng.normal(size=(5, 4, 1000)), "two values, 4 x 14": two_valued,
            "4 draws": ar[:, :, :4], "5 draws": ar[:, :, :5], "1 draw": ar[:, :, :1]}


@pytest.mark.parametrize("case", list(_awkward(np.random.default_rng(0))))
def test_rhat_and_ess_equal_arviz_scalar_by_scalar(case):
    x = _awkward(np.random.default_rng(0))[case]
    expected = _arviz(x)
    ours = convergence.rhat(x), convergence.ess_bulk(x), convergence.ess_tail(x, validate_ci_prob(None)), convergence.ess_mean(x)
    for label, got, want in zip(("R-hat", "bulk ESS", "tail ESS", "mean ESS"), ours, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, equal_nan=True, err_msg=label)
    together = convergence.rhat_and_ess_bulk(x)  # the diagnostics' shared ranking: the same values
    for label, got, want in zip(("R-hat", "bulk ESS"), together, expected[:2], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, equal_nan=True, err_msg=f"{label}, computed together")


def test_average_ranks_equal_scipys_with_ties():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 300))
    x[0] = 1.0  # all tied
    x[1, :150] = 0.0  # a long run of ties
    x[2] = np.round(x[2])  # many small runs
    x[3] = x[3].astype(np.float32)  # draws saved in float32
    np.testing.assert_array_equal(convergence.average_ranks(x), stats.rankdata(x, method="average", axis=1))


def test_diagnose_reports_the_extremes_arviz_finds_and_their_variables():
    rng = np.random.default_rng(3)
    posterior = xr.Dataset({
        "mu": (("chain", "draw", "marker"), np.moveaxis(_ar1(rng, [0.2, 0.6], 4, 300), 0, -1)),
        "level": (("chain", "draw", "participant", "marker"),
                  np.moveaxis(_ar1(rng, np.linspace(0.0, 0.97, 12), 4, 300), 0, -1).reshape(4, 300, 6, 2)),
        "sigma": (("chain", "draw"), _ar1(rng, [0.5], 4, 300)[0] + np.array([0.0, 0.0, 0.0, 3.0])[:, None]),
    })
    idata = xr.DataTree.from_dict({"posterior": posterior,
                                   "sample_stats": xr.Dataset({"energy": (("chain", "draw"), rng.normal(size=(4, 300))),
                                                               "diverging": (("chain", "draw"), np.zeros((4, 300), bool))})})
    found = diagnose(idata, "test", SamplerSettings(), 1.0)
    r_hat = {name: float(az.rhat(posterior)[name].max()) for name in posterior.data_vars}
    bulk = {name: float(az.ess(posterior, method="bulk")[name].min()) for name in posterior.data_vars}
    tail = {name: float(az.ess(posterior, method="tail")[name].min()) for name in posterior.data_vars}
    assert found.max_r_hat == pytest.approx(max(r_hat.values()), rel=1e-12)
    assert found.worst["r_hat"] == max(r_hat, key=r_hat.get) == "sigma"  # the stray chain
    assert found.min_ess_bulk == pytest.approx(min(bulk.values()), rel=1e-12)
    assert found.min_ess_tail == pytest.approx(min(tail.values()), rel=1e-12)
    smaller = bulk if min(bulk.values()) <= min(tail.values()) else tail
    assert found.worst["ess"] == min(smaller, key=smaller.get)


def test_the_draws_behind_a_probability_are_its_indicators_ess_at_most_the_draws():
    """``estimates.indicator_ess``: the ESS of the indicator that P(direction)
    and P(ROPE) count (ArviZ's mean ESS of it), capped at the number of
    draws; an indicator constant over the draws takes the bulk ESS given."""
    from ketamine_nif.estimates import indicator_ess

    rng = np.random.default_rng(3)
    x = 1.0 + _ar1(rng, [0.0, 0.9, 0.0], 4, 1000)  # ratios: the null is 1
    x[2] = 5.0 + np.abs(x[2])  # every draw above the null, none inside the ROPE
    out = indicator_ess(x, "nif_change_ratio", (0.9, 1.1), bulk=np.array([3500.0, 300.0, 5000.0]))
    ds = xr.Dataset({"v": (("chain", "draw", "scalar"), np.moveaxis((x > 1.0).astype(float), 0, -1))})
    want = np.minimum(az.ess(ds, method="mean")["v"].values[:2], 4000)
    np.testing.assert_allclose(out["ess_direction"][:2], want, rtol=1e-10)
    assert out["ess_direction"][1] < 1000 < out["ess_direction"][0] <= 4000  # autocorrelated draws count for fewer
    assert out["ess_direction"][2] == 4000 and out["ess_rope"][2] == 4000  # constant: the bulk ESS (5,000), at most 4,000 draws
    assert indicator_ess(x[2:], "nif_change_ratio", (0.9, 1.1), bulk=np.array([2500.0]))["ess_direction"][0] == 2500
