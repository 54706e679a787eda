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
markers). The model is linear and Gaussian, and samples in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from ..analysis import defaults
from ..contract import BASELINE_VISIT, DEPRESSION_MEASURE, Dataset
from ..estimands import (
    COUPLING_WITHIN,
    NIF_CHANGE_RATIO,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
    null_value,
    split_key,
)
from ..estimates import COLUMNS
from ..frequentist import LOD_FRACTION, aim1_data, aim2_data, person_visit_table
from ..subgroups import Split, assign
from .depression import ARMS, OutcomePriors
from .likelihoods import earlier_rows, random_intercept_logp
from .pooling import EffectPrior, effect, student_t
from .trajectory import TrajectoryPriors


@dataclass(frozen=True)
class SubgroupDesign:
    """Membership of each participant (rows, in model order) in each split (columns)."""

    splits: list[str]
    labels: list[tuple[str, str]]
    first: np.ndarray  # (N, K) bool: in the split's first subgroup
    member: np.ndarray  # (N, K) bool: the split applies and the covariate is known
    shares: np.ndarray  # (K,) share of the split's members in its first subgroup

    @property
    def codes(self) -> np.ndarray:
        """Centred membership c_ik: 1 - p_k (first), -p_k (second), 0 (not a member)."""
        return np.where(self.member, self.first.astype(float) - self.shares[None, :], 0.0)

    @property
    def subgroups(self) -> list[str]:
        return [label for pair in self.labels for label in pair]


def subgroup_design(dataset: Dataset, splits: list[Split], participants: list[str]) -> SubgroupDesign:
    """Membership arrays for ``splits`` (``participants`` in model order)."""
    first, member = [], []
    for split in splits:
        labels = assign(split, dataset).reindex(participants)
        member.append(labels.notna().to_numpy())
        first.append((labels == split.labels[0]).to_numpy())
    first_a, member_a = np.column_stack(first), np.column_stack(member)
    shares = np.array([first_a[member_a[:, k], k].mean() if member_a[:, k].any() else 0.5 for k in range(len(splits))])
    return SubgroupDesign([s.name for s in splits], [tuple(s.labels) for s in splits], first_a, member_a, shares)


@dataclass(frozen=True)
@defaults("subgroups")
class SubgroupPriors:
    """Values and meaning: ``params/analysis.yaml``, ``priors: subgroups``."""

    coupling_deviation_sd: float  # half-normal scale of subgroup differences in coupling
    arm_deviation_sd: float  # half-normal scale of subgroup differences in the NIF arm effect (log ratio)
    nu: float  # degrees of freedom of the Student-t deviations



@dataclass
class SubgroupData:
    """Long arrays for :func:`build_subgroup_model` (person indices in ``participants`` order)."""

    participants: list[str]
    treated: np.ndarray  # (N,) 1.0 ketamine, 0.0 saline
    markers: list[str]
    visits: list[str]  # baseline first
    # outcome rows (aim 2): every visit with MADRS and the marker
    y_marker: np.ndarray
    y_person: np.ndarray
    y_visit: np.ndarray
    y: np.ndarray
    within: np.ndarray  # log2 NIF minus the person's mean
    between: np.ndarray  # the person's mean log2 NIF, centred per marker
    # NIF change rows (aim 1): post visits with a baseline and a post value
    c_marker: np.ndarray
    c_person: np.ndarray
    c_visit: np.ndarray  # 0 = first post visit
    change: np.ndarray

    @property
    def post_visits(self) -> list[str]:
        return self.visits[1:]

    @property
    def arm_contrast(self) -> np.ndarray:
        return self.treated - self.treated.mean()

    @property
    def n_participants(self) -> int:
        return len(self.participants)


def subgroup_data(dataset: Dataset, markers: list[str] | None = None, lod_fraction: float = LOD_FRACTION) -> SubgroupData:
    """The data of the frequentist replication (same substitution under the
    lod), as arrays for the subgroup model."""
    markers = list(markers) if markers is not None else dataset.markers
    table = person_visit_table(dataset, lod_fraction)
    people = list(dataset.participants["participant_id"])
    index = {p: i for i, p in enumerate(people)}
    visit_index = {v: t for t, v in enumerate(dataset.visits)}
    a2 = pd.concat([aim2_data(table, m).assign(m=j) for j, m in enumerate(markers)], ignore_index=True)
    a1 = pd.concat([aim1_data(table, m).assign(m=j) for j, m in enumerate(markers)], ignore_index=True)
    return SubgroupData(
        participants=people,
        treated=(dataset.participants["arm"].to_numpy() == "ketamine").astype(float),
        markers=markers, visits=list(dataset.visits),
        y_marker=a2["m"].to_numpy(), y_person=a2["participant_id"].map(index).to_numpy(),
        y_visit=a2["visit"].astype(str).map(visit_index).to_numpy(), y=a2["madrs"].to_numpy(float),
        within=a2["within"].to_numpy(float), between=a2["between"].to_numpy(float),
        c_marker=a1["m"].to_numpy(), c_person=a1["participant_id"].map(index).to_numpy(),
        c_visit=a1["visit"].astype(str).map(visit_index).to_numpy() - 1, change=a1["change"].to_numpy(float),
    )


def build_subgroup_model(
    data: SubgroupData,
    design: SubgroupDesign,
    priors: OutcomePriors = OutcomePriors(),
    nif_priors: TrajectoryPriors = TrajectoryPriors(),
    subgroup_priors: SubgroupPriors = SubgroupPriors(),
) -> pm.Model:
    """Couplings and NIF arm effects with subgroup deviations per marker (and
    arm) and split, shrunk by shared scales; one model for every marker and split."""
    n_i = len(data.participants)
    codes = design.codes
    people = np.array(data.participants)
    coords = {"marker": data.markers, "arm": ARMS, "split": design.splits, "visit": data.visits,
              "post_visit": data.post_visits, "participant": data.participants,
              "participant_ketamine": list(people[data.treated == 1.0]), "participant_saline": list(people[data.treated == 0.0])}
    y_center, y_scale = float(np.mean(data.y)), float(np.std(data.y))
    arm_of = np.where(data.treated == 1.0, 0, 1)
    with pm.Model(coords=coords) as model:
        # aim 2: MADRS on within-person NIF change, couplings with subgroup deviations
        means = pm.Normal("madrs_mean", y_center, y_scale, dims=("marker", "arm", "visit"))
        gamma = effect("coupling", EffectPrior(priors.coupling_scale), ("marker", "arm"))
        # one scale per marker and arm, shared by all its splits
        scale = pm.HalfNormal("coupling_deviation_scale", subgroup_priors.coupling_deviation_sd, dims=("marker", "arm"))
        raw = student_t("coupling_deviation", subgroup_priors.nu, ("marker", "arm", "split"))
        dev = pm.Deterministic("coupling_deviation", scale[:, :, None] * raw, dims=("marker", "arm", "split"))
        by_person = pt.stack([pt.dot(dev[:, a, :], codes.T) for a in range(len(ARMS))], axis=1)  # (M, arms, N)
        person_gamma = gamma[:, arm_of] + by_person[:, arm_of, np.arange(n_i)]  # (M, N)
        level = pm.Normal("level_slope", 0.0, priors.level_sd, dims="marker")
        person_sd = pm.HalfNormal("madrs_person_sd", y_scale, dims="marker")
        sigma = pm.HalfNormal("madrs_sigma", y_scale, dims="marker")
        m, i = data.y_marker, data.y_person
        mean = means[m, arm_of[i], data.y_visit] + person_gamma[m, i] * data.within + level[m] * data.between
        pm.Potential("y", random_intercept_logp(data.y - mean, sigma[m], person_sd[m], earlier_rows(m * n_i + i)).sum())
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
        m, i, t = data.c_marker, data.c_person, data.c_visit
        c_mean = delta[m, t] + data.arm_contrast[i] * (beta[m, t] + shift[m, i])
        pm.Potential("change", random_intercept_logp(data.change - c_mean, nif_sigma[m], nif_person_sd[m], earlier_rows(m * n_i + i)).sum())
    return model


def _summary_rows(keys: list[tuple], draws: list, ropes: dict, converged: bool, fits: int = 1) -> pd.DataFrame:
    """Output-contract rows from (chain, draw) draws, one per key (estimand,
    marker, visit, subgroup). With ``fits`` > 1 the chains come from that many
    fits (one per imputed data set, in equal blocks): the draws are mixed, and
    R-hat (the largest) and bulk ESS (the smallest) are computed within each
    fit, where between-imputation differences are not a failure to converge
    (and where they do not add information: across imputations there are only
    ``fits`` independent draws of the values under the limit)."""
    stacked = np.stack([np.asarray(d) for d in draws])  # (rows, chain, draw)
    r_hat, ess = np.zeros(len(keys)), np.full(len(keys), np.inf)
    for chains in np.array_split(np.arange(stacked.shape[1]), fits):
        dataset = xr.Dataset({"x": xr.DataArray(stacked[:, chains].transpose(1, 2, 0), dims=("chain", "draw", "row"))})
        r_hat = np.maximum(r_hat, np.asarray(az.rhat(dataset)["x"]))
        ess = np.minimum(ess, np.asarray(az.ess(dataset, method="bulk")["x"]))
    values = stacked.reshape(len(keys), -1)
    rows = []
    for j, (estimand, marker, visit, subgroup) in enumerate(keys):
        v = values[j]
        null = null_value(estimand)
        rope = ropes[estimand]
        rows.append({
            "estimand": estimand, "marker": marker, "visit": visit, "subgroup": subgroup,
            "mean": v.mean(), "sd": v.std(ddof=1), "ci_low": np.quantile(v, 0.025), "ci_high": np.quantile(v, 0.975),
            "p_positive": (v > null).mean(), "p_rope": ((v >= rope[0]) & (v <= rope[1])).mean(),
            "r_hat": float(r_hat[j]), "ess_bulk": float(ess[j]), "converged": bool(converged),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def mixed_posterior(idatas: list) -> xr.Dataset:
    """The posterior draws of several fits of one model (one per imputed data
    set) mixed into one, their chains numbered one after the other."""
    posteriors = [i.posterior.to_dataset() if hasattr(i.posterior, "to_dataset") else i.posterior for i in idatas]
    mixed = xr.concat(posteriors, dim="chain", coords="minimal", compat="override")
    return mixed.assign_coords(chain=np.arange(mixed.sizes["chain"]))


def subgroup_estimates(idatas, data: SubgroupData, design: SubgroupDesign, ropes: dict, converged: bool) -> pd.DataFrame:
    """Output-contract rows: every arm's coupling and every visit's NIF change
    ratio in each subgroup (``subgroup`` = its label), and per split the first
    minus the second subgroup's coupling and the ratio of their NIF change
    ratios (``subgroup`` = "<first> vs <second>"). ``ropes`` maps an estimand
    to its region of practical equivalence. ``idatas``: one fit, or a list of
    fits to imputed data sets whose draws are mixed."""
    idatas = idatas if isinstance(idatas, list) else [idatas]
    post = mixed_posterior(idatas)
    gamma = {arm: post[COUPLING_WITHIN[arm]] for arm in ARMS}
    dev, arm_dev, beta = post["coupling_deviation"], post["arm_deviation"], post["nif_arm"]
    keys, draws = [], []

    def add(key, values):
        keys.append(key)
        draws.append(values.transpose("chain", "draw"))

    for k, (split, labels) in enumerate(zip(design.splits, design.labels, strict=True)):
        for position, label in enumerate(labels):
            weight = (1.0 - design.shares[k]) if position == 0 else -design.shares[k]
            for m in data.markers:
                per_arm = {arm: gamma[arm].sel(marker=m) + weight * dev.sel(marker=m, arm=arm, split=split) for arm in ARMS}
                per_arm["difference"] = per_arm["ketamine"] - per_arm["saline"]
                for arm, values in per_arm.items():
                    add((COUPLING_WITHIN[arm], m, "all", label), values)
                for visit in data.post_visits:
                    add((NIF_CHANGE_RATIO, m, visit, label),
                        np.exp(beta.sel(marker=m, post_visit=visit) + weight * arm_dev.sel(marker=m, split=split)))
        for m in data.markers:
            for arm in ARMS:
                add((SUBGROUP_COUPLING_DIFFERENCE[arm], m, "all", split_key(labels)), dev.sel(marker=m, arm=arm, split=split))
            add((SUBGROUP_NIF_RATIO, m, "all", split_key(labels)), np.exp(arm_dev.sel(marker=m, split=split)))
    return _summary_rows(keys, draws, ropes, converged, fits=len(idatas))


# --- The paper's exact estimand: day-1 coupling in one subgroup (chapter 05) ---------------------------------

DAY1_VISIT = "24h"  # the paper's day 1
MIN_DAY1_PARTICIPANTS = 6  # fewest participants with a day-1 pair in each subgroup for the day-1 look


@dataclass
class Day1Data:
    """One row per ketamine participant of a split with MADRS and the marker at
    baseline and at ``visit``: ``madrs_change`` (visit minus baseline, points),
    ``marker_change`` (log2 of visit over baseline: doublings), ``madrs_baseline``,
    ``subgroup`` (label) and ``group`` (0 = the split's first subgroup, 1 = its second)."""

    marker: str
    visit: str
    labels: tuple[str, str]
    table: pd.DataFrame
    left_out: dict[str, int]  # per subgroup label: ketamine participants without a complete pair at the visit

    def count(self, label: str) -> int:
        return int((self.table["subgroup"] == label).sum())

    @property
    def enough(self) -> bool:
        return all(self.count(label) >= MIN_DAY1_PARTICIPANTS for label in self.labels)


def day1_data(dataset: Dataset, split: Split, marker: str, visit: str = DAY1_VISIT,
              lod_fraction: float = LOD_FRACTION) -> Day1Data:
    """The paper's day-1 question as data: the ketamine participants of
    ``split`` (covariate known), values under the detection limit at
    ``lod_fraction`` of the limit (as in the rest of the chapter); participants
    lacking MADRS or the marker at baseline or at ``visit`` are left out and counted."""
    table = person_visit_table(dataset, lod_fraction)
    labels = assign(split, dataset)
    arm = dataset.participants.set_index("participant_id")["arm"]
    people = labels.index[labels.notna() & (arm.reindex(labels.index) == "ketamine")]
    if marker not in table or visit not in set(table["visit"].astype(str)):
        raise ValueError(f"no {marker!r} or no visit {visit!r} in the data")
    madrs, nif = (table.pivot(index="participant_id", columns="visit", values=column).reindex(people)
                  for column in (DEPRESSION_MEASURE, marker))
    frame = pd.DataFrame({
        "participant_id": people,
        "subgroup": labels[people].to_numpy(),
        "madrs_change": (madrs[visit] - madrs[BASELINE_VISIT]).to_numpy(float),
        "marker_change": ((nif[visit] - nif[BASELINE_VISIT]) / np.log(2)).to_numpy(float),  # natural logs to doublings
        "madrs_baseline": madrs[BASELINE_VISIT].to_numpy(float),
    })
    complete = frame[["madrs_change", "marker_change", "madrs_baseline"]].notna().all(axis=1)
    left_out = {label: int(((frame["subgroup"] == label) & ~complete).sum()) for label in split.labels}
    frame = frame[complete].reset_index(drop=True)
    frame.insert(2, "group", np.where(frame["subgroup"] == split.labels[0], 0, 1))
    return Day1Data(marker, visit, tuple(split.labels), frame, left_out)


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


def day1_estimates(idatas, data: Day1Data, ropes: dict, converged: bool) -> pd.DataFrame:
    """Output-contract rows at ``visit`` = the day-1 visit: the ketamine-arm
    coupling in each subgroup (``subgroup`` = its label) and their difference
    (``subgroup`` = "<first> vs <second>"). ``idatas``: one fit, or a list of
    fits to imputed data sets whose draws are mixed."""
    idatas = idatas if isinstance(idatas, list) else [idatas]
    post = mixed_posterior(idatas)
    keys = [(COUPLING_WITHIN["ketamine"], data.marker, data.visit, label) for label in data.labels]
    draws = [post["day1_coupling"].sel(subgroup=label).transpose("chain", "draw") for label in data.labels]
    keys.append((SUBGROUP_COUPLING_DIFFERENCE["ketamine"], data.marker, data.visit, split_key(data.labels)))
    draws.append(post["day1_coupling_difference"].transpose("chain", "draw"))
    return _summary_rows(keys, draws, ropes, converged, fits=len(idatas))


def day1_ols(data: Day1Data, label: str) -> dict:
    """The paper's way, in one subgroup alone: ordinary least squares of the
    MADRS change on the marker's log2 change and baseline MADRS (statsmodels);
    the marker's coefficient, its 95% confidence interval and p-value."""
    import statsmodels.formula.api as smf

    part = data.table[data.table["subgroup"] == label]
    result = smf.ols("madrs_change ~ marker_change + madrs_baseline", data=part).fit()
    low, high = result.conf_int().loc["marker_change"]
    return {"estimate": float(result.params["marker_change"]), "se": float(result.bse["marker_change"]),
            "ci_low": float(low), "ci_high": float(high), "p_value": float(result.pvalues["marker_change"]),
            "participants": int(result.nobs)}
