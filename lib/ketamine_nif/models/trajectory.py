"""Aim 1: NIF trajectories by arm, all markers in one hierarchical model.

For participant i, marker m and visit t (t = 0 before the infusion), on the
natural-log scale of the concentration:

    log y_imt = l_im + [t > 0] (delta_mt + (k_i - kbar) * beta_mt) + e_imt
    l_im ~ N(mu_m, tau_m)   (centred: each person has several values; tau_m zero-avoiding, Gamma(2))

Variant with person-level slopes (model criticism): + g_im * d_t, with d_t the
days since the infusion at visit t (0 at baseline) and g_im ~ N(0, omega_m)
(non-centred: three post-infusion values inform a slope weakly).
    beta_mt ~ Student-t(3, 0, arm_scale), each with its own fixed prior:
              nothing shared across markers or visits (models.pooling;
              ``pooling="shared"``: one scale learned from every marker, for comparison)
    e_imt ~ Normal(0, sigma_m)  or  Student-t(nu, 0, sigma_m)

Baseline is constrained to be common to both arms (randomisation), so
exp(beta_mt) is the ketamine/saline ratio of geometric-mean change from
baseline; with the arm indicator k centred on its mean kbar, delta_mt is the
change averaged over the arms. Values below the detection limit contribute P(log y <= log lod)
(left-censoring).

``fixed_shape=True`` builds the same model for the fit engine
(:mod:`ketamine_nif.engine`): every participant x marker x visit of the design
is a row, what changes between datasets of one design (values, which are
under the lod, which were sampled, the arm contrast, the centre of the
intercept priors) sits in data containers, and the likelihood of a row is
masked in or out. Its log density equals the observed-rows form's
(``tests/test_engine.py``); it has no pointwise log-likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..analysis import defaults
from .pooling import EffectPrior, effect
from .prepare import ModelData

LIKELIHOODS = ("normal", "student")
# how values under the detection limit enter: the censored likelihood (the
# model's), or the common substitutions LOD/2 and LOD/sqrt(2) taken as observed
# values (for the model-criticism chapter's comparison); log-scale offsets from the lod
BELOW_LOD = {"censored": None, "lod/2": np.log(2.0), "lod/sqrt2": 0.5 * np.log(2.0)}


@dataclass(frozen=True)
@defaults("trajectory")
class TrajectoryPriors:
    """Prior scales, on the natural-log scale of a concentration unless stated;
    the values and what they mean: ``params/analysis.yaml``, ``priors: trajectory``."""

    intercept_sd: float  # marker mean around its median log value
    time_sd: float  # change common to both arms at a visit
    arm_scale: float  # slab (Student-t(3) scale) of a ketamine/saline log ratio
    person_sd: float  # prior mean of the stable between-person SD (Gamma(2), see between_person_sd)
    residual_sd: float  # half-normal scale of the occasion-to-occasion SD
    person_slope_sd: float  # half-normal scale of the between-person SD of slopes (variant only)



PERSON_SD_SHAPE = 2.0  # Gamma shape of the between-person SD's prior (mean priors.person_sd)


def between_person_sd(name: str, priors: TrajectoryPriors, dims: str) -> pm.Distribution:
    """The between-person SD of a marker's stable level: Gamma(2, 2 / person_sd),
    with mean ``person_sd`` (95% between 0.12 and 2.8 times it). The density
    vanishes at zero (a zero-avoiding prior, Chung et al. 2013): people's blood levels
    of a marker never agree to within a few percent, and a prior that allows it
    sends the sampler into the funnel of the centred person levels, where it
    overstates small SDs (seen in simulation-based calibration with a
    half-normal prior)."""
    return pm.Gamma(name, alpha=PERSON_SD_SHAPE, beta=PERSON_SD_SHAPE / priors.person_sd, dims=dims)


def check_likelihood(likelihood: str) -> None:
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}; got {likelihood!r}")


def censored_log_values(name, mu, sigma, data_log, censored, likelihood, nu=None):
    """Log values: observed ones enter as densities (``name``), those under the
    lod as P(log y <= log lod) (``name_censored``). Two variables, so that no
    likelihood term has an infinite bound (JAX samplers take NaN gradients from one)."""
    def dist(mu_, sigma_):
        return pm.Normal.dist(mu_, sigma_) if likelihood == "normal" else pm.StudentT.dist(nu=nu, mu=mu_, sigma=sigma_)

    seen, below = ~censored, censored
    if likelihood == "normal":
        pm.Normal(name, mu[seen], sigma[seen], observed=data_log[seen])
    else:
        pm.StudentT(name, nu=nu, mu=mu[seen], sigma=sigma[seen], observed=data_log[seen])
    if below.any():
        pm.Censored(f"{name}_censored", dist(mu[below], sigma[below]), lower=data_log[below], upper=None, observed=data_log[below])


def grid_normal_logp(mean, sigma, values, seen, axis: int):
    """The summed normal log densities of the cells of a grid where ``seen``
    is 1, the SD ``sigma`` varying along ``axis`` only (a marker's): one log
    per SD, not per cell."""
    others = tuple(a for a in range(mean.ndim) if a != axis)
    z = (values - mean) / pt.expand_dims(sigma, others)
    return -pt.sum(seen * (0.5 * z**2 + pt.expand_dims(pt.log(sigma), others))) - 0.5 * np.log(2 * np.pi) * pt.sum(seen)


def grid_log_values(name, eta, sigma, values, seen, below_rows, below_seen, likelihood, nu=None):
    """The likelihood of :func:`censored_log_values` on the fixed grid of the
    engine's form: ``eta`` is the participant x marker x visit grid of means,
    ``sigma`` the markers' residual SDs, ``values`` and ``seen`` (1: a value
    above the lod) the grid flattened participant-major; densities of the
    seen cells, and P(log y <= log lod) of the cells listed in ``below_rows``
    where ``below_seen`` is 1 (the list is padded to a fixed length). One
    potential, whose shape does not depend on the data. The grid is built by
    broadcasting, not by gathering rows (a gather's gradient is a scatter),
    and the normal densities are summed with one log per marker: with the
    finer rooms of :func:`room_for`, the one-marker IL-6 model's log density
    and gradient went from 26 to 17 microseconds of CPU in numba
    (``benchmarks/fit_engine.py`` prints it)."""
    grid = tuple(eta.shape)
    seen, values = seen.reshape(grid), values.reshape(grid)
    if likelihood == "normal":
        density = grid_normal_logp(eta, sigma, values, seen, axis=1)
    else:
        density = pt.sum(seen * pm.logp(pm.StudentT.dist(nu=nu, mu=eta, sigma=sigma[None, :, None]), values))
    mu, sd, value = eta.ravel()[below_rows], sigma[(below_rows // grid[2]) % grid[1]], values.ravel()[below_rows]
    tail = (normal_log_cdf((value - mu) / sd) if likelihood == "normal"
            else pm.logcdf(pm.StudentT.dist(nu=nu, mu=mu, sigma=sd), value))
    pm.Potential(name, density + pt.sum(below_seen * tail))


LOG_CDF_SERIES = -30.0  # below it, log Phi comes from the asymptotic series (erfc nears underflow)


def normal_log_cdf(z):
    """log Phi(z), with one erfc and two logs per element: PyMC's own
    (``normal_lcdf``, through erfcx) took 85 of the 88 microseconds of a
    gradient of the one-marker IL-6 model in JAX. Relative error under 1e-12
    where z < 0, absolute under 1e-15 where z >= 0 (log Phi(z) near 0:
    ``tests/test_engine.py`` checks both against ``scipy.special.log_ndtr``
    from -60 to 40, and the gradient). Below -30, where erfc nears underflow,
    the asymptotic series log Phi(z) = -z^2/2 - log(-z) - log(2 pi)/2 - 1/z^2
    + 5/(2 z^4) - 37/(3 z^6) + O(z^-8). Each branch sees arguments of its own
    range only, so that no gradient is infinity times 0."""
    q = 0.5 * pt.erfc(pt.switch(z < 0, -pt.maximum(z, LOG_CDF_SERIES), z) / np.sqrt(2.0))  # Phi(-|z|) where used
    t = pt.minimum(z, LOG_CDF_SERIES)
    u = 1.0 / t**2
    series = -0.5 * t**2 - pt.log(-t) - 0.5 * np.log(2 * np.pi) + u * (-1.0 + u * (2.5 - u * 37.0 / 3.0))
    return pt.switch(z < LOG_CDF_SERIES, series, pt.log(pt.switch(z < 0, q, 1.0 - q)))


def room_for(count: int) -> int:
    """Room in a padded list of the fixed-shape form (values under the lod,
    missed samples): the first of 8, 12, 16, 24, 32, 48, ... (powers of two
    and one and a half times them) at or above ``count`` + 3 sqrt(``count``)
    + 4. Between replicates of a design such counts scatter about as a
    Poisson count does, so most replicates fit the room of the first one and
    share its compiled model; and a padded entry costs as much as a real one
    (the censored terms are most of an aim 1 gradient), so the room wastes at
    most a third of it, not a half as powers of two alone would."""
    need = max(8.0, count + 3 * math.sqrt(count) + 4)
    power = 1 << math.ceil(math.log2(need))
    return 3 * power // 4 if 3 * power // 4 >= need else power


class NoRoom(ValueError):
    """More entries than a compiled model's padded list has room for."""


def padded_rows(rows: np.ndarray, like: dict | None, name: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """A list of rows of the fixed grid padded to a fixed length (that of
    ``like[name]``, a compiled model's container, or :func:`room_for`),
    with a 0/1 mask of the entries that are real; more rows than the compiled
    model has room for are refused, not cut."""
    capacity = len(like[name]) if like is not None else room_for(len(rows))
    if len(rows) > capacity:
        raise NoRoom(f"{len(rows)} {what}; this compiled model has room for {capacity}")
    out, seen = np.zeros(capacity, dtype=np.int64), np.zeros(capacity)
    out[: len(rows)], seen[: len(rows)] = rows, 1.0
    return out, seen


def fixed_shape_data(data: ModelData, below_lod: str = "censored", like: dict | None = None) -> dict[str, np.ndarray]:
    """The data containers of the fixed-shape model: NIF rows on the full
    participant x marker x visit grid (participant-major, then marker), with a
    0/1 mask of values seen above the lod, the list of rows under the lod
    padded to a fixed length (that of ``like``, the containers of a compiled
    model, or :func:`room_for`) with its own mask, the centres of the
    intercept priors, the arm contrast and (where the data have them) the
    visits' days."""
    values, censored = substituted(data, below_lod)
    n, markers, visits = data.n_participants, len(data.markers), len(data.visits)
    row = (data.nif_person * markers + data.nif_marker) * visits + data.nif_visit
    if len(np.unique(row)) != len(row):
        raise ValueError("a participant has two values of one marker at one visit; the fixed-shape model needs one")
    value, seen = np.zeros(n * markers * visits), np.zeros(n * markers * visits)
    value[row], seen[row] = values, ~censored
    below_rows, below_seen = padded_rows(row[censored], like, "nif_below_rows", "values under the lod")
    out = {"nif_value": value, "nif_seen": seen, "nif_below_rows": below_rows, "nif_below_seen": below_seen,
           "nif_centre": data.nif_center(), "arm_contrast": data.arm_contrast}
    if data.visit_days is not None:  # used by the person-slopes variant only
        out["visit_days"] = np.asarray(data.visit_days, float)
    return out


def substituted(data: ModelData, below_lod: str = "censored") -> tuple[np.ndarray, np.ndarray]:
    """Log values and censoring flags as the likelihood sees them: unchanged
    for ``censored``; for a substitution, values under the lod replaced by
    log(lod/2) or log(lod/sqrt 2) and treated as observed."""
    if below_lod not in BELOW_LOD:
        raise ValueError(f"below_lod must be one of {', '.join(BELOW_LOD)}; got {below_lod!r}")
    if BELOW_LOD[below_lod] is None:
        return data.nif_log, data.nif_censored
    values = np.where(data.nif_censored, data.nif_log - BELOW_LOD[below_lod], data.nif_log)
    return values, np.zeros_like(data.nif_censored)


def build_nif_trajectory_model(data: ModelData, likelihood: str = "normal", priors: TrajectoryPriors = TrajectoryPriors(),
                               below_lod: str = "censored", person_slopes: bool = False, pooling: str = "none",
                               fixed_shape: bool = False) -> pm.Model:
    """The aim 1 model for every marker in ``data``; ``below_lod`` picks how
    values under the detection limit enter (:data:`BELOW_LOD`);
    ``person_slopes`` adds each person's own linear course in time since the
    infusion (a variant for model criticism); ``pooling`` whether the arm
    effects share a scale across markers (:mod:`~ketamine_nif.models.pooling`);
    ``fixed_shape`` the form whose data can be swapped (module docstring)."""
    check_likelihood(likelihood)
    coords = {
        "marker": data.markers,
        "post_visit": data.post_visits,
        "participant": data.participants,
    }
    if not fixed_shape:
        m, i, t = data.nif_marker, data.nif_person, data.nif_visit
        log_values, censored = substituted(data, below_lod)
        post, t_post = t > 0, np.maximum(t - 1, 0)
    with pm.Model(coords=coords) as model:
        if fixed_shape:
            box = {name: pm.Data(name, value) for name, value in fixed_shape_data(data, below_lod).items()
                   if name != "visit_days" or person_slopes}  # a container that no term uses is refused by nutpie
            centre, contrast, days = box["nif_centre"], box["arm_contrast"], box.get("visit_days")
        else:
            centre, contrast, days = data.nif_center(), data.arm_contrast, data.visit_days
        mu = pm.Normal("mu", mu=centre, sigma=priors.intercept_sd, dims="marker")
        delta = pm.Normal("delta", 0.0, priors.time_sd, dims=("marker", "post_visit"))
        beta = effect("log_ratio", EffectPrior(priors.arm_scale, pooling=pooling), ("marker", "post_visit"))
        pm.Deterministic("nif_change_ratio", pm.math.exp(beta), dims=("marker", "post_visit"))
        tau = between_person_sd("tau", priors, "marker")
        level = pm.Normal("level", mu, tau, dims=("participant", "marker"))  # person's stable level
        sigma = pm.HalfNormal("sigma", priors.residual_sd, dims="marker")
        nu = pm.Gamma("nu", alpha=2.0, beta=0.1) if likelihood == "student" else None
        if person_slopes:
            if data.visit_days is None:
                raise ValueError("person_slopes needs the visits' days since the infusion (ModelData.visit_days)")
            omega = pm.HalfNormal("slope_sd", priors.person_slope_sd, dims="marker")
            slope_raw = pm.Normal("slope_raw", 0.0, 1.0, dims=("participant", "marker"))
        if fixed_shape:  # the participant x marker x visit grid, by broadcasting
            baseline = pt.zeros((len(data.markers), 1))
            shift, arm = pt.concatenate([baseline, delta], axis=1), pt.concatenate([baseline, beta], axis=1)
            eta = level[:, :, None] + shift[None] + contrast[:, None, None] * arm[None]
            if person_slopes:
                eta = eta + (omega * slope_raw)[:, :, None] * days[None, None, :]
            grid_log_values("log_nif", eta, sigma, box["nif_value"], box["nif_seen"], box["nif_below_rows"],
                            box["nif_below_seen"], likelihood, nu)
        else:
            eta = level[i, m] + post * (delta[m, t_post] + contrast[i] * beta[m, t_post])
            if person_slopes:
                eta = eta + omega[m] * slope_raw[i, m] * days[t]
            censored_log_values("log_nif", eta, sigma[m], log_values, censored, likelihood, nu)
    return model
