"""Subgroups without the multiplicity trap: one model for every subgroup.

For every marker m, one participant-level model of both aims that have
subgroup questions, with subgroup deviations for every binary split k at once:

* coupling (aim 2): MADRS of participant i at visit t,
  ``y_imt = a_{m,arm(i),t} + g_{m,i} w_imt + l_m b_im + u_im + e_imt``, where
  ``w`` is the log2 NIF centred on the person's mean (the within-person part),
  ``b`` that mean, centred (the between-person part), ``u`` a person effect,
  and ``g_{m,i} = gamma_{m,arm(i)} + sum_k c_ik d_{m,arm(i),k}``;
* NIF change (aim 1): change in log NIF from baseline,
  ``c_imt = delta_mt + (k_i - kbar) (beta_mt + sum_k c_ik e_{m,k}) + v_im + eta_imt``;

``c_ik`` is i's centred membership of split k (``1 - p_k`` in the first
subgroup, ``-p_k`` in the second, 0 where the covariate is missing or the split
does not apply, e.g. training in the saline arm), so ``d`` and ``e`` are the
first minus the second subgroup's effect, and ``gamma``/``beta`` the effects at
the sample's average composition. The deviations are additive across splits (a
main-effects model of effect modification) and shrunk together:

    d_{m,a,k} = s_{m,a} * u_{m,a,k},   e_{m,k} = s'_m * v_{m,k},   u, v ~ Student-t(nu, 0, 1)
    s_{m,a} ~ HalfNormal(coupling_deviation_sd),   s'_m ~ HalfNormal(arm_deviation_sd)

One scale per marker (and arm) is shared by every split: the more a marker's
subgroup differences look like noise, the smaller its scale and the more each
is pulled to zero, which is the model's answer to multiplicity. The
Student-t's heavy tails (nu = 3 by default) let one large real difference
escape the shrinkage that a normal would impose on it. (One scale shared by
all markers too shrank a planted difference of 10 points per doubling to
about half among 294 differences, so the scales are per marker.) ``gamma`` (per arm) and
``beta`` (per visit) have the fixed Student-t priors of chapters 02-03.

To keep one model of 7 markers x 28 subgroups feasible on two cores, the NIF
values are complete data: values under the detection limit multiply imputed
from chapter 02's posterior (:mod:`ketamine_nif.imputation`; the fits to the
completed data sets are mixed), or at a fraction of the limit as in the
frequentist replication; missing samples are left out. Each marker's MADRS
ratings enter its own part of the model (a composite likelihood across
markers). The model is linear and Gaussian; its rows sit on marker x
participant x visit grids with masks (:func:`subgroup_grids`), so that each
marker's person intercepts are integrated out in one closed form per
participant, without gathers (log density and gradient 143 microseconds in
PyTensor's C backend, against 332 for the earlier row-by-row chain rule).

The data these models take, their estimate tables and the paper's least
squares live in :mod:`ketamine_nif.subgroup_analysis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..analysis import defaults
from ..estimands import COUPLING_WITHIN
from .depression import ARMS, OutcomePriors
from .likelihoods import grouped_random_intercept_logp
from .pooling import EffectPrior, effect, student_t
from .trajectory import TrajectoryPriors

if TYPE_CHECKING:  # the data: ketamine_nif.subgroup_analysis
    from ..subgroup_analysis import Day1Data, SubgroupData, SubgroupDesign


@dataclass(frozen=True)
@defaults("subgroups")
class SubgroupPriors:
    """Values and meaning: ``params/analysis.yaml``, ``priors: subgroups``."""

    coupling_deviation_sd: float  # half-normal scale of subgroup differences in coupling
    arm_deviation_sd: float  # half-normal scale of subgroup differences in the NIF arm effect (log ratio)
    nu: float  # degrees of freedom of the Student-t deviations



def _by_arm(values, treated, axis: int):
    """Each participant's entry of ``values`` along its arm ``axis`` (ketamine
    first, then saline), ``treated`` 1.0 for ketamine and 0.0 for saline
    broadcasting against the result."""
    ketamine, saline = (pt.take(values, a, axis=axis) for a in range(len(ARMS)))
    return treated * ketamine + (1.0 - treated) * saline


def _grid(marker, person, visit, values, shape):
    """Long rows as a marker x participant x visit grid (zero where no row is)."""
    out = np.zeros(shape)
    out[marker, person, visit] = values
    return out


def subgroup_grids(data: SubgroupData) -> dict[str, np.ndarray]:
    """The subgroup model's rows on marker x participant x visit grids (the
    outcome's over every visit, the NIF change's over the post visits), with
    0/1 masks of the cells that hold a row: the person intercepts are then
    integrated out in one sum per marker and participant."""
    shape = (len(data.markers), data.n_participants)
    y_at, c_at = (data.y_marker, data.y_person, data.y_visit), (data.c_marker, data.c_person, data.c_visit)
    for at, name in ((y_at, "outcome"), (c_at, "NIF change")):
        if len(set(zip(*at, strict=True))) != len(at[0]):
            raise ValueError(f"the subgroup data hold two {name} rows for one marker, participant and visit")
    y_shape, c_shape = (*shape, len(data.visits)), (*shape, len(data.post_visits))
    grids = {name: _grid(*y_at, getattr(data, name), y_shape) for name in ("y", "within", "between")}
    return {**grids, "y_seen": _grid(*y_at, 1.0, y_shape),
            "change": _grid(*c_at, data.change, c_shape), "change_seen": _grid(*c_at, 1.0, c_shape)}


def subgroup_fixed_shape_data(data: SubgroupData, design: SubgroupDesign, like: dict | None = None) -> dict[str, np.ndarray]:
    """Every array the subgroup model reads from ``data`` and ``design``: the
    grids of :func:`subgroup_grids` with their masks, each participant's arm
    (``treated``, and its centred ``arm_contrast``), the centred split
    memberships (``codes``), and the centre and scale of the MADRS means'
    prior (``y_prior``: the data's own, or else the ratings' mean and SD).
    The fixed-shape form holds them as data containers (``like``, a compiled
    model's, is not needed: no list here changes length between datasets of
    one design)."""
    grids = subgroup_grids(data)
    return {**{f"subgroup_{name}": value for name, value in grids.items()},
            "subgroup_treated": np.asarray(data.treated, dtype=float), "subgroup_arm_contrast": data.arm_contrast,
            "subgroup_codes": design.codes,
            "subgroup_y_prior": np.array(data.y_prior if data.y_prior is not None else (np.mean(data.y), np.std(data.y)), dtype=float)}


def build_subgroup_model(
    data: SubgroupData,
    design: SubgroupDesign,
    priors: OutcomePriors = OutcomePriors(),
    nif_priors: TrajectoryPriors = TrajectoryPriors(),
    subgroup_priors: SubgroupPriors = SubgroupPriors(),
    fixed_shape: bool = False,
) -> pm.Model:
    """Couplings and NIF arm effects with subgroup deviations per marker (and
    arm) and split, shrunk by shared scales; one model for every marker and
    split. ``fixed_shape``: the arrays of :func:`subgroup_fixed_shape_data`
    as data containers, so that a compiled model takes any dataset of the
    same design (the fit engine's form; the same log density)."""
    values = subgroup_fixed_shape_data(data, design)
    coords = {"marker": data.markers, "arm": ARMS, "split": design.splits, "visit": data.visits,
              "post_visit": data.post_visits, "participant": data.participants}
    with pm.Model(coords=coords) as model:
        box = {name: pm.Data(name, value) for name, value in values.items()} if fixed_shape else values
        codes, treated = box["subgroup_codes"], box["subgroup_treated"]
        y_center, y_scale = box["subgroup_y_prior"][0], box["subgroup_y_prior"][1]
        # aim 2: MADRS on within-person NIF change, couplings with subgroup deviations
        means = pm.Normal("madrs_mean", y_center, y_scale, dims=("marker", "arm", "visit"))
        gamma = effect("coupling", EffectPrior(priors.coupling_scale), ("marker", "arm"))
        # one scale per marker and arm, shared by all its splits
        scale = pm.HalfNormal("coupling_deviation_scale", subgroup_priors.coupling_deviation_sd, dims=("marker", "arm"))
        raw = student_t("coupling_deviation", subgroup_priors.nu, ("marker", "arm", "split"))
        dev = pm.Deterministic("coupling_deviation", scale[:, :, None] * raw, dims=("marker", "arm", "split"))
        # per participant: first term ketamine, second saline (broadcast, not gathered: a gather's gradient is a scatter)
        by_arm = pt.stack([pt.dot(dev[:, a, :], codes.T) for a in range(len(ARMS))], axis=1)  # (M, arms, N)
        person_gamma = _by_arm(gamma[:, :, None] + by_arm, treated, axis=1)  # (M, N)
        level = pm.Normal("level_slope", 0.0, priors.level_sd, dims="marker")
        person_sd = pm.HalfNormal("madrs_person_sd", y_scale, dims="marker")
        sigma = pm.HalfNormal("madrs_sigma", y_scale, dims="marker")
        y, within, between, y_seen = (box[f"subgroup_{name}"] for name in ("y", "within", "between", "y_seen"))
        mean = _by_arm(means[:, :, None, :], treated[:, None], axis=1) + person_gamma[:, :, None] * within + level[:, None, None] * between
        pm.Potential("y", grouped_random_intercept_logp(y - mean, y_seen, sigma[:, None], person_sd[:, None]).sum())
        for a, arm in enumerate(ARMS):
            pm.Deterministic(COUPLING_WITHIN[arm], gamma[:, a], dims="marker")
        pm.Deterministic(COUPLING_WITHIN["difference"], gamma[:, 0] - gamma[:, 1], dims="marker")
        # aim 1: change in log NIF, arm effects with subgroup deviations
        delta = pm.Normal("nif_delta", 0.0, nif_priors.time_sd, dims=("marker", "post_visit"))
        beta = effect("nif_arm", EffectPrior(nif_priors.arm_scale), ("marker", "post_visit"))
        arm_scale = pm.HalfNormal("arm_deviation_scale", subgroup_priors.arm_deviation_sd, dims="marker")
        arm_raw = student_t("arm_deviation", subgroup_priors.nu, ("marker", "split"))
        arm_dev = pm.Deterministic("arm_deviation", arm_scale[:, None] * arm_raw, dims=("marker", "split"))
        shift = pt.dot(arm_dev, codes.T)  # (M, N)
        # a person's mean change, unlike their level, may hardly vary: half-normal, not zero-avoiding
        nif_person_sd = pm.HalfNormal("nif_person_sd", nif_priors.person_sd, dims="marker")
        nif_sigma = pm.HalfNormal("nif_sigma", nif_priors.residual_sd, dims="marker")
        contrast = box["subgroup_arm_contrast"][None, :, None]
        c_mean = delta[:, None, :] + contrast * (beta[:, None, :] + shift[:, :, None])  # (M, N, post visits)
        change = grouped_random_intercept_logp(box["subgroup_change"] - c_mean, box["subgroup_change_seen"], nif_sigma[:, None],
                                               nif_person_sd[:, None])
        pm.Potential("change", change.sum())
    return model


@dataclass(frozen=True)
@defaults("day1")
class Day1Priors:
    """Values and meaning: ``params/analysis.yaml``, ``priors: day1``."""

    coupling_sd: float  # slope: MADRS points per doubling of the marker
    intercept_sd: float  # MADRS change with no change in the marker, at the average baseline
    baseline_slope_sd: float  # MADRS change per point of baseline MADRS
    sigma_sd: float  # half-normal scale of the residual SD



def build_day1_model(data: Day1Data, priors: Day1Priors = Day1Priors()) -> pm.Model:
    """Two regressions in one model, one per subgroup g of the split (no pooling):

        madrs_change_i ~ Normal(a_g + b_g * marker_change_i + t_g * (madrs_baseline_i - mean), s_g)

    ``day1_coupling`` is b (MADRS points per doubling, by subgroup),
    ``day1_coupling_difference`` the first minus the second subgroup's b."""
    t = data.table
    g = t["group"].to_numpy(int)
    centred = t["madrs_baseline"].to_numpy(float) - t["madrs_baseline"].mean()
    with pm.Model(coords={"subgroup": list(data.labels), "participant": list(t["participant_id"])}) as model:
        a = pm.Normal("day1_intercept", 0.0, priors.intercept_sd, dims="subgroup")
        b = pm.Normal("day1_coupling", 0.0, priors.coupling_sd, dims="subgroup")
        slope = pm.Normal("day1_baseline_slope", 0.0, priors.baseline_slope_sd, dims="subgroup")
        sigma = pm.HalfNormal("day1_sigma", priors.sigma_sd, dims="subgroup")
        mean = a[g] + b[g] * t["marker_change"].to_numpy(float) + slope[g] * centred
        pm.Normal("madrs_change", mean, sigma[g], observed=t["madrs_change"].to_numpy(float), dims="participant")
        pm.Deterministic("day1_coupling_difference", b[0] - b[1])
    return model
