"""Depression trajectories (aims 2 and 3), and the arm effect on depression.

Outcome model, for participant i at post-infusion visit t (baseline-adjusted,
as in a randomised trial), one copy per marker c:

    y_it = l_ic + d_ct + theta_c (y_i0 - mean y_0) + (k_i - kbar) b_ct + f_c(i, t) + e_it
    l_ic = alpha_c + s_c r_ic, r ~ N(0, 1) summing to zero within each arm;
    d_c1 = 0;  e_it ~ Normal(0, sigma_c) or Student-t

* base model: one copy, f = 0; b_t is the ketamine minus saline difference in
  mean outcome change from baseline (``madrs_change_difference``).
* coupling (aim 2): f = gamma_{c,arm(i)} (x_ict - x_ic0)/ln 2 + lambda_c (x_ic0 - mu_c)/ln 2,
  where x is the latent log NIF: observed values are data, values under the
  lod are latent and bounded above by it (their unnormalised density, so they
  carry the censored likelihood), missing samples are latent; x
  follows the aim 1 trajectory model. gamma is MADRS points per doubling of the
  NIF within a person; it is partially pooled across markers per arm.
* moderation (aim 3): f = (lambda_ct + (k_i - kbar) kappa_ct) z_ic, z the standardised
  latent baseline log NIF; kappa (points per SD) is pooled across markers.

Each marker has its own copy of the outcome model's nuisance parameters, so the
markers' sub-models share only the pooled priors of their effects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .pooling import pooled
from .prepare import ModelData
from .trajectory import TrajectoryPriors, between_person_sd, check_likelihood

ARMS = ["ketamine", "saline"]


@dataclass(frozen=True)
class OutcomePriors:
    """Prior scales, in outcome points (MADRS) unless stated."""

    baseline_slope_mean: float = 0.5  # slope on baseline outcome: between 0 (no memory) and 1 (full)
    baseline_slope_sd: float = 0.5
    arm_sd: float = 5.0  # ketamine minus saline change: ±10 points at 2 SD covers published effects
    effect_mean_sd: float = 3.0  # pooled coupling (per doubling) or moderation (per SD)
    effect_spread_sd: float = 1.5  # half-normal scale of marker-to-marker spread
    level_sd: float = 3.0  # between-person level (per doubling) or main effect of baseline NIF (per SD)


def _outcome(data: ModelData, copy_dim: str, n_copies: int, effect, priors: OutcomePriors, likelihood: str):
    """The outcome likelihood with ``effect`` (copies x rows) added; returns the arm effect b."""
    center, scale = data.outcome_scale()
    y0c = data.y0 - np.nanmean(data.y0)
    tp = data.y_visit - 1
    contrast = data.arm_contrast[data.y_person]
    alpha = pm.Normal("alpha", center, scale, dims=copy_dim)  # first post visit, average over arms and baselines
    shift = pm.Normal("visit_shift", 0.0, scale / 2, dims=(copy_dim, "later_visit"))  # later visits vs the first
    visit_shift = pt.concatenate([pt.zeros((n_copies, 1)), shift], axis=1)
    theta = pm.Normal("theta", priors.baseline_slope_mean, priors.baseline_slope_sd, dims=copy_dim)
    b = pm.Normal("b", 0.0, priors.arm_sd, dims=(copy_dim, "post_visit"))
    # person effects sum to zero within each arm, so that they cannot trade off
    # against the arm x visit means (which mixes far better); non-centred
    person_sd = pm.HalfNormal("person_sd", scale, dims=copy_dim)
    person = _per_arm_zero_sum("person_raw", data, copy_dim, n_copies) * person_sd[:, None]
    sigma = pm.HalfNormal("sigma_y", scale, dims=copy_dim)
    rows = data.y_person
    mean = alpha[:, None] + visit_shift[:, tp] + theta[:, None] * y0c[rows] + b[:, tp] * contrast + person[:, rows] + effect
    observed = np.tile(data.y, (n_copies, 1))
    if likelihood == "normal":
        pm.Normal("y", mean, sigma[:, None], observed=observed, dims=(copy_dim, "y_obs"))
    else:
        nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
        pm.StudentT("y", nu=nu, mu=mean, sigma=sigma[:, None], observed=observed, dims=(copy_dim, "y_obs"))
    return b


def _per_arm_zero_sum(name: str, data: ModelData, copy_dim: str, n_copies: int):
    """Standard-normal person effects (copies x participants) that sum to zero
    within each arm."""
    effects = pt.zeros((n_copies, data.n_participants))
    for arm_name, flag in (("ketamine", 1.0), ("saline", 0.0)):
        members = np.flatnonzero(data.treated == flag)
        if len(members) > 1:
            raw = pm.ZeroSumNormal(f"{name}_{arm_name}", sigma=1.0, dims=(copy_dim, f"participant_{arm_name}"))
            effects = pt.set_subtensor(effects[:, members], raw)
    return effects


def _coords(data: ModelData, **extra) -> dict:
    people = np.array(data.participants)
    return {"post_visit": data.post_visits, "later_visit": data.post_visits[1:], "participant": data.participants,
            "participant_ketamine": list(people[data.treated == 1.0]), "participant_saline": list(people[data.treated == 0.0]),
            "y_obs": np.arange(len(data.y)), **extra}


def build_outcome_model(data: ModelData, likelihood: str = "normal", priors: OutcomePriors = OutcomePriors()) -> pm.Model:
    """The depression trajectory alone: the arm effect on outcome change."""
    check_likelihood(likelihood)
    with pm.Model(coords=_coords(data, outcome=[data.outcome])) as model:
        b = _outcome(data, "outcome", 1, 0.0, priors, likelihood)
        pm.Deterministic("madrs_change_difference", b, dims=("outcome", "post_visit"))
    return model


def _cells(data: ModelData, visits_needed: str):
    """Index arrays (marker, person, visit) of the latent-NIF cells the outcome
    model needs, split into observed, censored and missing."""
    n_m = len(data.markers)
    people = np.unique(data.y_person)
    if visits_needed == "baseline":
        needed = {(m, i, 0) for m in range(n_m) for i in people}
    else:
        needed = {(m, i, 0) for m in range(n_m) for i in people}
        needed |= {(m, i, t) for m in range(n_m) for i, t in zip(data.y_person, data.y_visit, strict=True)}
    obs = {}
    for m, i, t, value, cens in zip(data.nif_marker, data.nif_person, data.nif_visit, data.nif_log, data.nif_censored, strict=True):
        if visits_needed == "baseline" and t != 0:
            continue
        obs[(int(m), int(i), int(t))] = (float(value), bool(cens))
    observed = [(k, v) for k, (v, c) in obs.items() if not c]
    censored = [(k, v) for k, (v, c) in obs.items() if c]
    missing = sorted(needed - set(obs))

    def split(items):
        keys = [k for k, _ in items]
        return (np.array(keys, dtype=int).reshape(-1, 3), np.array([v for _, v in items], dtype=float))

    return split(observed), split(censored), np.array(missing, dtype=int).reshape(-1, 3)


def _below_limit(name: str, mean, sigma, upper: np.ndarray):
    """Latent values under their detection limits, x = lod - gap with gap > 0,
    carrying the normal density of x unnormalised, so that integrating a value
    out gives the censored likelihood P(x <= lod). (``pm.Truncated`` would
    renormalise and lose that information.) The gap's Exponential(1) density is
    cancelled by the potential; it only supplies the log transform (and prior
    predictive draws)."""
    gap = pm.Exponential(f"{name}_gap", 1.0, shape=len(upper))
    x = pt.as_tensor(upper) - gap
    pm.Potential(f"{name}_density", pm.logp(pm.Normal.dist(mean, sigma), x) + gap)
    return x


def _fill(shape, parts):
    grid = pt.zeros(shape)
    for idx, values in parts:
        if len(idx):
            grid = pt.set_subtensor(grid[tuple(idx.T)], values)
    return grid


def _latent_trajectories(data: ModelData, priors: TrajectoryPriors):
    """Latent log NIF on the (marker, participant, visit) grid, following the
    aim 1 trajectory model; returns (grid, mu)."""
    (obs_idx, obs_val), (cens_idx, cens_val), miss_idx = _cells(data, "all")
    n_m, n_i, n_v = len(data.markers), data.n_participants, len(data.visits)
    mu = pm.Normal("nif_mu", data.nif_center(), priors.intercept_sd, dims="marker")
    delta = pm.Normal("nif_delta", 0.0, priors.time_sd, dims=("marker", "post_visit"))
    beta = pm.Normal("nif_arm", 0.0, priors.arm_mean_sd, dims=("marker", "post_visit"))
    tau = between_person_sd("nif_tau", priors, "marker")
    level = pm.Normal("nif_level", mu[:, None], tau[:, None], dims=("marker", "participant"))  # centred, as in aim 1
    sigma = pm.HalfNormal("nif_sigma", priors.residual_sd, dims="marker")
    change = pt.concatenate([pt.zeros((n_m, n_i, 1)), delta[:, None, :] + data.arm_contrast[None, :, None] * beta[:, None, :]], axis=2)
    mean = level[:, :, None] + change

    def at(idx):
        return mean[idx[:, 0], idx[:, 1], idx[:, 2]], sigma[idx[:, 0]]

    m_obs, s_obs = at(obs_idx)
    pm.Normal("log_nif", m_obs, s_obs, observed=obs_val)
    parts = [(obs_idx, obs_val)]
    if len(cens_idx):
        m_c, s_c = at(cens_idx)
        parts.append((cens_idx, _below_limit("nif_censored", m_c, s_c, cens_val)))
    if len(miss_idx):
        m_x, s_x = at(miss_idx)
        parts.append((miss_idx, pm.Normal("nif_missing", m_x, s_x, shape=len(miss_idx))))
    return _fill((n_m, n_i, n_v), parts), mu


def build_coupling_model(
    data: ModelData,
    likelihood: str = "normal",
    priors: OutcomePriors = OutcomePriors(),
    nif_priors: TrajectoryPriors = TrajectoryPriors(),
) -> pm.Model:
    """Aim 2: outcome trajectory with each NIF's within-person change (per
    doubling, by arm) and between-person level as predictors."""
    check_likelihood(likelihood)
    with pm.Model(coords=_coords(data, marker=data.markers, arm=ARMS)) as model:
        grid, mu = _latent_trajectories(data, nif_priors)
        person, visit = data.y_person, data.y_visit
        within = (grid[:, person, visit] - grid[:, person, 0]) / math.log(2)
        level = (grid[:, person, 0] - mu[:, None]) / math.log(2)
        gamma = pooled("coupling", len(data.markers), priors.effect_mean_sd, priors.effect_spread_sd, ("marker", "arm"), "arm")
        arm_index = np.where(data.treated[person] == 1.0, 0, 1)
        lam = pm.Normal("level_slope", 0.0, priors.level_sd, dims="marker")
        effect = gamma[:, arm_index] * within + lam[:, None] * level
        _outcome(data, "marker", len(data.markers), effect, priors, likelihood)
        pm.Deterministic("coupling_within_ketamine", gamma[:, 0], dims="marker")
        pm.Deterministic("coupling_within_saline", gamma[:, 1], dims="marker")
        pm.Deterministic("coupling_within_difference", gamma[:, 0] - gamma[:, 1], dims="marker")
    return model


def build_moderation_model(
    data: ModelData,
    likelihood: str = "normal",
    priors: OutcomePriors = OutcomePriors(),
    nif_priors: TrajectoryPriors = TrajectoryPriors(),
) -> pm.Model:
    """Aim 3: outcome trajectory by arm x visit x standardised baseline NIF."""
    check_likelihood(likelihood)
    (obs_idx, obs_val), (cens_idx, cens_val), miss_idx = _cells(data, "baseline")
    n_m, n_i = len(data.markers), data.n_participants
    with pm.Model(coords=_coords(data, marker=data.markers)) as model:
        mu0 = pm.Normal("nif0_mu", data.nif_center(), nif_priors.intercept_sd, dims="marker")
        sd0 = pm.HalfNormal("nif0_sd", nif_priors.person_sd + nif_priors.residual_sd, dims="marker")
        pm.Normal("log_nif0", mu0[obs_idx[:, 0]], sd0[obs_idx[:, 0]], observed=obs_val)
        parts = [(obs_idx[:, :2], obs_val)]
        if len(cens_idx):
            parts.append((cens_idx[:, :2], _below_limit("nif0_censored", mu0[cens_idx[:, 0]], sd0[cens_idx[:, 0]], cens_val)))
        if len(miss_idx):
            parts.append((miss_idx[:, :2], pm.Normal("nif0_missing", mu0[miss_idx[:, 0]], sd0[miss_idx[:, 0]], shape=len(miss_idx))))
        x0 = _fill((n_m, n_i), parts)
        z = (x0 - mu0[:, None]) / sd0[:, None]
        person, tp = data.y_person, data.y_visit - 1
        kappa = pooled("moderation", n_m, priors.effect_mean_sd, priors.effect_spread_sd, ("marker", "post_visit"), "post_visit")
        lam = pm.Normal("baseline_slope_nif", 0.0, priors.level_sd, dims=("marker", "post_visit"))
        effect = (lam[:, tp] + data.arm_contrast[person] * kappa[:, tp]) * z[:, person]
        _outcome(data, "marker", n_m, effect, priors, likelihood)
        pm.Deterministic("baseline_moderation_difference", kappa, dims=("marker", "post_visit"))
    return model
