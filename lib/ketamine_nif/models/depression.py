"""Depression trajectories (aims 2 and 3), and the arm effect on depression.

One outcome model, for participant i at post-infusion visit t
(baseline-adjusted, as in a randomised trial); every MADRS rating enters the
likelihood once:

    y_it = alpha + d_t + theta (y_i0 - mean y_0) + (k_i - kbar) b_t + f(i, t) + u_i + e_it
    u_i ~ N(0, s)   (independent person effects: the arm means carry between-person variance)
    d_1 = 0;  e_it ~ Normal(0, sigma) or Student-t

With the normal likelihood the person effects are integrated out exactly
(:func:`~ketamine_nif.models.likelihoods.random_intercept`); with Student-t
noise they are parameters (non-centred).

* base model: f = 0; b_t is the ketamine minus saline difference in mean
  outcome change from baseline (``madrs_change_difference``).
* coupling (aim 2): every marker m at once,
  f = sum_m [gamma_{m,arm(i)} (x_imt - x_im0)/ln 2 + lambda_m (l_im - mu_m)/ln 2],
  where x is the latent log NIF (observed values are data, values under the
  lod are latent and bounded above by it, carrying the censored likelihood,
  missing samples are latent) and l_im the person's latent stable level, both
  from the aim 1 trajectory model of every marker fitted jointly. gamma is
  MADRS points per doubling of the NIF within a person, adjusted for the other
  markers; the between-person term uses the stable level, so that the noise of
  the single baseline sample does not enter it (that noise stays in the
  within-person change from baseline, which is how a coupling is defined here).
* moderation (aim 3): every marker at once,
  f = sum_m (lambda_mt + (k_i - kbar) kappa_mt) z_im, z the standardised latent
  baseline log NIF; kappa is MADRS points per SD.

The couplings and moderations have the effect priors of
:mod:`~ketamine_nif.models.pooling`: a fixed Student-t prior per effect
(``pooling="shared"``: one scale learned from every marker, for comparison).

``fixed_shape=True`` builds each of the three models for the fit engine
(:mod:`ketamine_nif.engine`), as the aim 1 model's fixed-shape form does: the
MADRS ratings (participant x post-infusion visit) are a full grid in data
containers with a 0/1 mask, and so is the latent NIF grid (aim 2: marker x
participant x visit; aim 3: marker x participant at baseline); the cells under
the lod and the missed samples the outcome needs are padded lists of grid
cells, each entry with its latent value and a mask (a padded entry's value is
a standard normal or a uniform quantile that nothing else touches); the outcome's
priors centred on the data are containers too. Their log densities are the
book forms' plus the padding's own terms (``tests/test_engine.py``); they have
no pointwise log-likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor.math import ndtri_exp

from ..analysis import defaults
from ..analysis import load as load_analysis
from ..estimands import BASELINE_MODERATION_DIFFERENCE, COUPLING_WITHIN, MADRS_CHANGE_DIFFERENCE
from .likelihoods import grouped_random_intercept_logp, random_intercept
from .pooling import EffectPrior, effect
from .prepare import ModelData, ModelDataError
from .trajectory import (
    TrajectoryPriors,
    between_person_sd,
    check_likelihood,
    grid_normal_logp,
    normal_log_cdf,
    padded_rows,
)

ARMS = ["ketamine", "saline"]


@dataclass(frozen=True)
@defaults("outcome")
class OutcomePriors:
    """Prior scales, in outcome points (MADRS) unless stated; the values and
    what they mean: ``params/analysis.yaml``, ``priors: outcome``."""

    baseline_slope_mean: float  # slope on baseline outcome
    baseline_slope_sd: float
    arm_sd: float  # ketamine minus saline change
    coupling_scale: float  # slab (Student-t(3) scale) of a coupling, points per doubling (models.pooling)
    moderation_scale: float  # slab of a moderation, points per SD of baseline level
    level_sd: float  # between-person level (per doubling) or main effect of baseline NIF (per SD)



def _outcome(data: ModelData, effect_term, priors: OutcomePriors, likelihood: str, box: dict | None = None):
    """The outcome likelihood with ``effect_term`` added; returns the arm
    effect b (``madrs_change_difference``: in the coupling and moderation
    models it is adjusted for their terms, a nuisance). ``effect_term``: one
    value per observed rating (``data.y``), or in the fixed-shape form
    (``box``, its data containers) an array (participant, post-visit) or a scalar."""
    if box is None:
        center, scale = data.outcome_scale()
        y0c, contrast = data.y0 - np.nanmean(data.y0), data.arm_contrast
    else:
        center, scale, y0c, contrast = box["outcome_centre"], box["outcome_scale"], box["y0_centred"], box["arm_contrast"]
    alpha = pm.Normal("alpha", center, scale)  # first post visit, average over arms and baselines
    shift = pm.Normal("visit_shift", 0.0, scale / 2, dims="later_visit")  # later visits vs the first
    visit_shift = pt.concatenate([pt.zeros(1), shift])
    theta = pm.Normal("theta", priors.baseline_slope_mean, priors.baseline_slope_sd)
    b = effect(MADRS_CHANGE_DIFFERENCE, EffectPrior(priors.arm_sd, nu=np.inf), ("post_visit",))
    person_sd = pm.HalfNormal("person_sd", scale)
    sigma = pm.HalfNormal("sigma_y", scale)
    if box is not None:
        mean = alpha + visit_shift[None, :] + theta * y0c[:, None] + contrast[:, None] * b[None, :] + effect_term
        _fixed_shape_outcome(data, box, mean, sigma, person_sd, likelihood)
        return b
    rows, tp = data.y_person, data.y_visit - 1
    mean = alpha + visit_shift[tp] + theta * y0c[rows] + b[tp] * contrast[rows] + effect_term
    if likelihood == "normal":
        random_intercept("y", mean, sigma, person_sd, rows, observed=data.y, dims="y_obs")
    else:
        person = person_sd * pm.Normal("person_raw", 0.0, 1.0, dims="participant")
        nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
        pm.StudentT("y", nu=nu, mu=mean + person[rows], sigma=sigma, observed=data.y, dims="y_obs")
    return b


def _fixed_shape_outcome(data: ModelData, box: dict, mean, sigma, person_sd, likelihood: str) -> None:
    """The fixed-shape form's outcome likelihood on the participant x
    post-visit grid (``mean`` of that shape; ratings and their 0/1 mask in
    ``box``). With normal noise the person intercepts are integrated out in
    closed form per participant
    (:func:`~ketamine_nif.models.likelihoods.grouped_random_intercept_logp`:
    the product of the book form's chain-rule terms in one sum per
    participant, without gathers)."""
    shape = (data.n_participants, len(data.post_visits))
    y, seen = box["y_value"].reshape(shape), box["y_seen"].reshape(shape)
    if likelihood == "normal":
        pm.Potential("y", grouped_random_intercept_logp(y - mean, seen, sigma, person_sd).sum())
    else:
        person = person_sd * pm.Normal("person_raw", 0.0, 1.0, dims="participant")
        nu = pm.Gamma("nu", alpha=2.0, beta=0.1)
        density = pm.logp(pm.StudentT.dist(nu=nu, mu=mean + person[:, None], sigma=sigma), y)
        pm.Potential("y", (seen * density).sum())


def _coords(data: ModelData, fixed_shape: bool = False, **extra) -> dict:
    rows = {} if fixed_shape else {"y_obs": np.arange(len(data.y))}
    return {"post_visit": data.post_visits, "later_visit": data.post_visits[1:], "participant": data.participants,
            **rows, **extra}


def build_outcome_model(data: ModelData, likelihood: str = "normal", priors: OutcomePriors = OutcomePriors(),
                        fixed_shape: bool = False) -> pm.Model:
    """The depression trajectory alone: the arm effect on outcome change;
    ``fixed_shape`` the form whose data can be swapped (module docstring)."""
    check_likelihood(likelihood)
    with pm.Model(coords=_coords(data, fixed_shape)) as model:
        box = _containers(outcome_fixed_shape_data(data)) if fixed_shape else None
        _outcome(data, 0.0, priors, likelihood, box)
    return model


def _cells(data: ModelData, visits_needed: str):
    """Index arrays (marker, person, visit) of the latent-NIF cells the outcome
    model needs, split into observed, censored and missing."""
    n_m = len(data.markers)
    people = np.unique(data.y_person)
    needed = {(m, i, 0) for m in range(n_m) for i in people}
    if visits_needed != "baseline":
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


def _below_limit(name: str, mean, sigma, upper, size: int, seen=None):
    """Latent values under their detection limits, each as its quantile q in
    the part of its normal under the limit: x = mean + sigma * Phi^-1(q Phi(b)),
    b = (upper - mean) / sigma, q ~ Uniform(0, 1), so that x given the rest
    is that normal truncated at the limit, and the potential log Phi(b)
    gives the censored likelihood P(x <= lod). (``pm.Truncated`` would
    renormalise and lose that information.) Its standardised value depends
    on q and b only, not on sigma apart: a value written as the limit minus
    a gap instead made a funnel of gap and SD where a marker is mostly under
    its limit, and the sampler missed the SD's truth there without a warning
    (chapter 08's SBC of the aim 3 model). ``seen`` (0/1, the fixed-shape
    form's padded list): entries at 0 keep their Uniform(0, 1) and nothing else
    (their ``mean``, ``sigma`` and ``upper`` should be harmless values, such
    as 0, 1 and 0: an x of minus infinity times 0 would be NaN)."""
    quantile = pm.Uniform(f"{name}_quantile", 0.0, 1.0, shape=size)
    log_below = normal_log_cdf((pt.as_tensor(upper) - mean) / sigma)
    pm.Potential(f"{name}_density", log_below if seen is None else seen * log_below)
    return mean + sigma * ndtri_exp(pt.log(quantile) + log_below)


def _fill(shape, parts):
    grid = pt.zeros(shape)
    for idx, values in parts:
        if len(idx):
            grid = pt.set_subtensor(grid[tuple(idx.T)], values)
    return grid


def _latent_trajectories(data: ModelData, priors: TrajectoryPriors, box: dict | None = None):
    """Latent log NIF on the (marker, participant, visit) grid, following the
    aim 1 trajectory model; returns (grid, stable levels (marker, participant), mu).
    ``box``: the fixed-shape form's data containers (:func:`coupling_fixed_shape_data`)."""
    n_m, n_i, n_v = len(data.markers), data.n_participants, len(data.visits)
    centre, contrast = (data.nif_center(), data.arm_contrast) if box is None else (box["nif_centre"], box["arm_contrast"])
    mu = pm.Normal("nif_mu", centre, priors.intercept_sd, dims="marker")
    delta = pm.Normal("nif_delta", 0.0, priors.time_sd, dims=("marker", "post_visit"))
    beta = effect("nif_arm", EffectPrior(priors.arm_scale), ("marker", "post_visit"))
    tau = between_person_sd("nif_tau", priors, "marker")
    level = pm.Normal("nif_level", mu[:, None], tau[:, None], dims=("marker", "participant"))  # centred, as in aim 1
    sigma = pm.HalfNormal("nif_sigma", priors.residual_sd, dims="marker")
    change = pt.concatenate([pt.zeros((n_m, n_i, 1)), delta[:, None, :] + contrast[None, :, None] * beta[:, None, :]], axis=2)
    mean = level[:, :, None] + change
    if box is not None:
        return _latent_grid(mean, sigma, box, (n_m, n_i, n_v)), level, mu
    (obs_idx, obs_val), (cens_idx, cens_val), miss_idx = _cells(data, "all")

    def at(idx):
        return mean[idx[:, 0], idx[:, 1], idx[:, 2]], sigma[idx[:, 0]]

    m_obs, s_obs = at(obs_idx)
    pm.Normal("log_nif", m_obs, s_obs, observed=obs_val)
    parts = [(obs_idx, obs_val)]
    if len(cens_idx):
        m_c, s_c = at(cens_idx)
        parts.append((cens_idx, _below_limit("nif_censored", m_c, s_c, cens_val, len(cens_val))))
    if len(miss_idx):
        m_x, s_x = at(miss_idx)
        parts.append((miss_idx, pm.Normal("nif_missing", m_x, s_x, shape=len(miss_idx))))
    return _fill((n_m, n_i, n_v), parts), level, mu


def _latent_grid(mean, sigma, box: dict, shape: tuple[int, int, int], name: str = "nif"):
    """The fixed-shape form of the latent grid: observed cells are data (their
    densities masked in), the padded lists of cells under the lod and of
    missed samples carry latent values as in the book form (a padded entry:
    a uniform quantile or a standard normal that nothing else touches). ``mean`` is
    broadcast to ``shape`` (marker, participant, visit), ``sigma`` is per
    marker; ``name`` prefixes the variables as in the book form."""
    mean = pt.broadcast_to(mean, shape)
    value, seen = box["nif_value"], box["nif_seen"]
    pm.Potential(f"log_{name}", grid_normal_logp(mean, sigma, value.reshape(shape), seen.reshape(shape), axis=0))
    flat_mean = mean.ravel()

    def sigma_of(rows):  # the marker of a cell is its row's first index
        return sigma[rows // (shape[1] * shape[2])]

    below, below_seen = box["nif_below_rows"], box["nif_below_seen"]
    real = below_seen > 0  # a padded entry gets the limit 0 of a standard normal, so its value stays finite
    x_below = _below_limit(f"{name}_censored", pt.switch(real, flat_mean[below], 0.0), pt.switch(real, sigma_of(below), 1.0),
                           pt.switch(real, value[below], 0.0), box["capacity"]["nif_below_rows"], below_seen)
    missing, missing_seen = box["nif_missing_rows"], box["nif_missing_seen"]
    x_missing = pm.Normal(f"{name}_missing", pt.switch(missing_seen > 0, flat_mean[missing], 0.0),
                          pt.switch(missing_seen > 0, sigma_of(missing), 1.0), shape=box["capacity"]["nif_missing_rows"])
    grid = seen * value
    grid = pt.inc_subtensor(grid[below], below_seen * x_below)
    grid = pt.inc_subtensor(grid[missing], missing_seen * x_missing)
    return grid.reshape(shape)


def _grid_data(data: ModelData, visits_needed: str, like: dict | None) -> dict[str, np.ndarray]:
    """The latent NIF grid's containers (:func:`coupling_fixed_shape_data`;
    ``visits_needed`` as in :func:`_cells`: ``"baseline"``, a grid of one visit)."""
    (obs_idx, obs_val), (cens_idx, cens_val), miss_idx = _cells(data, visits_needed)
    n_m, n_i = len(data.markers), data.n_participants
    n_v = 1 if visits_needed == "baseline" else len(data.visits)

    def cell(idx):
        return (idx[:, 0] * n_i + idx[:, 1]) * n_v + idx[:, 2]

    value, seen = np.zeros(n_m * n_i * n_v), np.zeros(n_m * n_i * n_v)
    value[cell(obs_idx)], seen[cell(obs_idx)] = obs_val, 1.0
    value[cell(cens_idx)] = cens_val
    below_rows, below_seen = padded_rows(cell(cens_idx), like, "nif_below_rows", "values under the lod")
    missing_rows, missing_seen = padded_rows(cell(miss_idx), like, "nif_missing_rows", "missed samples")
    return {"nif_value": value, "nif_seen": seen, "nif_below_rows": below_rows, "nif_below_seen": below_seen,
            "nif_missing_rows": missing_rows, "nif_missing_seen": missing_seen, "nif_centre": data.nif_center()}


def outcome_fixed_shape_data(data: ModelData, like: dict | None = None) -> dict[str, np.ndarray]:
    """The data containers of the outcome model's fixed-shape form: the MADRS
    ratings on the participant x post-visit grid with their mask, the
    centred baseline MADRS, the arm contrast, and the centre and scale of the
    outcome priors. (``like`` is unused: nothing is padded.)"""
    n_i, n_t = data.n_participants, len(data.post_visits)
    row = data.y_person * n_t + data.y_visit - 1
    if len(np.unique(row)) != len(row):
        raise ValueError("a participant has two outcome values at one visit; the fixed-shape model needs one")
    y, y_seen = np.zeros(n_i * n_t), np.zeros(n_i * n_t)
    y[row], y_seen[row] = data.y, 1.0
    centre, scale = data.outcome_scale()
    return {"y_value": y, "y_seen": y_seen, "y0_centred": np.nan_to_num(data.y0 - np.nanmean(data.y0)),
            "arm_contrast": data.arm_contrast, "outcome_centre": np.array(centre), "outcome_scale": np.array(scale)}


def coupling_fixed_shape_data(data: ModelData, like: dict | None = None) -> dict[str, np.ndarray]:
    """The data containers of the aim 2 model's fixed-shape form: the latent
    NIF grid (marker-major, then participant, then visit) with values seen
    above the lod and their mask (cells under the lod hold the log lod), the
    padded lists of cells under the lod and of missed samples that the outcome
    needs (as the book form's latent cells, same order; room as in ``like``,
    a compiled model's containers), the centres of the intercept priors, the
    arm of each participant, and the outcome's containers
    (:func:`outcome_fixed_shape_data`)."""
    return {**_grid_data(data, "all", like), **outcome_fixed_shape_data(data),
            "arm_index": np.where(data.treated == 1.0, 0, 1).astype(np.int64)}


def moderation_fixed_shape_data(data: ModelData, like: dict | None = None) -> dict[str, np.ndarray]:
    """The data containers of the aim 3 model's fixed-shape form: the baseline
    NIF grid (marker x participant) as :func:`coupling_fixed_shape_data` has
    the whole latent grid, and the outcome's containers."""
    return {**_grid_data(data, "baseline", like), **outcome_fixed_shape_data(data)}


def _containers(values: dict[str, np.ndarray]) -> dict:
    """The fixed-shape form's data containers, with the room of each padded list (``capacity``)."""
    box = {name: pm.Data(name, value) for name, value in values.items()}
    box["capacity"] = {name: len(values[name]) for name in ("nif_below_rows", "nif_missing_rows") if name in values}
    return box


def build_coupling_model(
    data: ModelData,
    likelihood: str = "normal",
    priors: OutcomePriors = OutcomePriors(),
    nif_priors: TrajectoryPriors = TrajectoryPriors(),
    pooling: str = "none",
    fixed_shape: bool = False,
) -> pm.Model:
    """Aim 2: outcome trajectory with every NIF's within-person change (per
    doubling, by arm) and between-person stable level as predictors, in one
    outcome likelihood; ``fixed_shape`` the form whose data can be swapped
    (module docstring)."""
    check_likelihood(likelihood)
    with pm.Model(coords=_coords(data, fixed_shape, marker=data.markers, arm=ARMS)) as model:
        box = _containers(coupling_fixed_shape_data(data)) if fixed_shape else None
        grid, level, mu = _latent_trajectories(data, nif_priors, box)
        gamma = effect("coupling", EffectPrior(priors.coupling_scale, pooling=pooling), ("marker", "arm"))
        lam = pm.Normal("level_slope", 0.0, priors.level_sd, dims="marker")
        if box is None:  # one term per observed rating
            person, tp = data.y_person, data.y_visit - 1
            within = (grid[:, person, tp + 1] - grid[:, person, 0]) / math.log(2)  # (marker, rows)
            between = (level[:, person] - mu[:, None]) / math.log(2)
            term = (gamma[:, np.where(data.treated[person] == 1.0, 0, 1)] * within + lam[:, None] * between).sum(axis=0)
        else:  # (participant, post-visit)
            within = (grid[:, :, 1:] - grid[:, :, :1]) / math.log(2)  # (marker, participant, post-visit)
            between = (level - mu[:, None]) / math.log(2)
            term = (gamma[:, box["arm_index"]][:, :, None] * within + (lam[:, None] * between)[:, :, None]).sum(axis=0)
        _outcome(data, term, priors, likelihood, box)
        for a, arm in enumerate(ARMS):
            pm.Deterministic(COUPLING_WITHIN[arm], gamma[:, a], dims="marker")
        pm.Deterministic(COUPLING_WITHIN["difference"], gamma[:, 0] - gamma[:, 1], dims="marker")
    return model


def build_moderation_model(
    data: ModelData,
    likelihood: str = "normal",
    priors: OutcomePriors = OutcomePriors(),
    nif_priors: TrajectoryPriors = TrajectoryPriors(),
    pooling: str = "none",
    fixed_shape: bool = False,
) -> pm.Model:
    """Aim 3: outcome trajectory by arm x visit x standardised baseline NIF,
    every marker in one outcome likelihood; ``fixed_shape`` the form whose
    data can be swapped (module docstring)."""
    check_likelihood(likelihood)
    n_m, n_i = len(data.markers), data.n_participants
    with pm.Model(coords=_coords(data, fixed_shape, marker=data.markers)) as model:
        box = _containers(moderation_fixed_shape_data(data)) if fixed_shape else None
        centre = data.nif_center() if box is None else box["nif_centre"]
        mu0 = pm.Normal("nif0_mu", centre, nif_priors.intercept_sd, dims="marker")
        sd0 = pm.HalfNormal("nif0_sd", nif_priors.person_sd + nif_priors.residual_sd, dims="marker")
        if box is None:
            x0 = _baseline_levels(data, mu0, sd0)
        else:
            x0 = _latent_grid(mu0[:, None, None], sd0, box, (n_m, n_i, 1), "nif0")[:, :, 0]
        z = (x0 - mu0[:, None]) / sd0[:, None]
        kappa = effect(BASELINE_MODERATION_DIFFERENCE, EffectPrior(priors.moderation_scale, pooling=pooling), ("marker", "post_visit"))
        lam = pm.Normal("baseline_slope_nif", 0.0, priors.level_sd, dims=("marker", "post_visit"))
        if box is None:  # one term per observed rating
            person, tp = data.y_person, data.y_visit - 1
            term = ((lam[:, tp] + data.arm_contrast[person] * kappa[:, tp]) * z[:, person]).sum(axis=0)
        else:  # (participant, post-visit)
            slope = lam[:, None, :] + box["arm_contrast"][None, :, None] * kappa[:, None, :]
            term = (slope * z[:, :, None]).sum(axis=0)
        _outcome(data, term, priors, likelihood, box)
    return model


MIN_ABOVE_LIMIT = load_analysis().min_per_arm  # baseline values above the limit that set a marker's SD in aim 3


def unscaled_markers(data: ModelData, minimum: int = MIN_ABOVE_LIMIT) -> list[str]:
    """The markers with fewer than ``minimum`` baseline values above the
    detection limit (the rule of thumb of ``min_per_arm`` in
    ``params/analysis.yaml``, over both arms): too little sets their SD across
    participants, the unit of aim 3's moderation, which then rests on its
    prior; and on such data nearly every fit of the model diverges (chapter
    08's SBC of the aim 3 model). The book leaves these markers out of that
    model (:func:`moderation_data`)."""
    above = np.bincount(data.nif_marker[(data.nif_visit == 0) & ~data.nif_censored], minlength=len(data.markers))
    return [m for j, m in enumerate(data.markers) if above[j] < minimum]


def moderation_data(data: ModelData, minimum: int = MIN_ABOVE_LIMIT) -> ModelData:
    """The data the book fits with the aim 3 model: ``data`` without
    :func:`unscaled_markers` (an error when no marker is left)."""
    left_out = unscaled_markers(data, minimum)
    if not left_out:
        return data
    kept = [m for m in data.markers if m not in left_out]
    if not kept:
        raise ModelDataError(f"fewer than {minimum} baseline values of {', '.join(left_out)} are above the detection limit: "
                             "too few to set a marker's SD across participants, the unit of the moderation model, so it "
                             "has no marker to fit")
    return data.only(kept)


def _baseline_levels(data: ModelData, mu0, sd0):
    """The book form's (marker, participant) grid of baseline log NIF levels:
    observed values as data, values under the lod and missed samples latent."""
    (obs_idx, obs_val), (cens_idx, cens_val), miss_idx = _cells(data, "baseline")
    pm.Normal("log_nif0", mu0[obs_idx[:, 0]], sd0[obs_idx[:, 0]], observed=obs_val)
    parts = [(obs_idx[:, :2], obs_val)]
    if len(cens_idx):
        parts.append((cens_idx[:, :2], _below_limit("nif0_censored", mu0[cens_idx[:, 0]], sd0[cens_idx[:, 0]], cens_val,
                                                    len(cens_val))))
    if len(miss_idx):
        parts.append((miss_idx[:, :2], pm.Normal("nif0_missing", mu0[miss_idx[:, 0]], sd0[miss_idx[:, 0]], shape=len(miss_idx))))
    return _fill((len(data.markers), data.n_participants), parts)
