"""The subgroup analysis of chapter 05 around its models
(:mod:`ketamine_nif.models.subgroups` builds them): the data they are fitted
to, their estimate tables in the output contract, the paper's own day-1
question fitted by least squares, and the tables the chapter shows.

* :func:`subgroup_data` and :func:`subgroup_design`: the data of the
  frequentist replication (the same substitution under the detection limit) as
  long arrays, and each participant's centred membership of every split;
* :func:`subgroup_estimates`: every subgroup's coupling and NIF change ratio,
  and every split's difference, from one fit or from fits to several imputed
  data sets (draws mixed, convergence judged within each fit);
* :func:`day1_data`, :func:`day1_estimates` and :func:`day1_ols`: the paper's
  day-1 estimand (MADRS change to 24 h on the marker's log2 change, one row per
  ketamine participant), Bayesian and the paper's way.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from . import checks, convergence
from .contract import Dataset
from .estimands import (
    COUPLING_WITHIN,
    NIF_CHANGE_RATIO,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
    is_ratio,
    split_key,
)
from .estimates import COLUMNS, describe_draws, indicator_ess
from .frequentist import LOD_FRACTION, OUTCOME, aim1_data, aim2_data, person_visit_table
from .models.depression import ARMS
from .subgroups import Split, assign

DAY1_VISIT = "24h"  # the paper's day 1
MIN_DAY1_PARTICIPANTS = 6  # fewest participants with a day-1 pair in each subgroup for the day-1 look
# the estimands of the subgroup and day-1 tables (their ROPEs: the analysis configuration)
ESTIMANDS = [*COUPLING_WITHIN.values(), *SUBGROUP_COUPLING_DIFFERENCE.values(), NIF_CHANGE_RATIO, SUBGROUP_NIF_RATIO]
SHOWN_DIFFERENCES = 8  # rows of the chapter's table of the most certain subgroup differences


# --- The subgroup model's data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubgroupDesign:
    """Membership of each participant (rows, in model order) in each split (columns)."""

    splits: list[str]
    labels: list[tuple[str, str]]
    first: np.ndarray  # (N, K) bool: in the split's first subgroup
    member: np.ndarray  # (N, K) bool: the split applies and the covariate is known
    shares: np.ndarray  # (K,) share of the split's members in its first subgroup

    def _key(self) -> tuple:
        return (tuple(self.splits), tuple(self.labels), self.first.shape, self.first.tobytes(), self.member.tobytes())

    def __eq__(self, other) -> bool:  # by value, arrays included (the fit engine keys its compiled models on it)
        return isinstance(other, SubgroupDesign) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

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


@dataclass
class SubgroupData:
    """Long arrays for :func:`~ketamine_nif.models.subgroups.build_subgroup_model`
    (person indices in ``participants`` order)."""

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
    # centre and scale of the prior of the MADRS means; None: the ratings' mean and SD (SBC fixes them in advance)
    y_prior: tuple[float, float] | None = None

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


def differences_tested(data: SubgroupData, splits: list[Split]) -> int:
    """Subgroup differences the model estimates: per marker and split, the
    coupling difference in each arm and the difference in the NIF arm effect."""
    return len(data.markers) * len(splits) * (len(ARMS) + 1)


def prior_deviations(model: pm.Model, draws: int, seed: int) -> np.ndarray:
    """Draws of the subgroup differences in coupling from the prior alone (every
    marker, arm and split, flattened)."""
    with warnings.catch_warnings():  # the likelihood is a Potential: prior draws of the deviations only, as intended
        warnings.simplefilter("ignore", UserWarning)
        logging.getLogger("pymc").setLevel(logging.ERROR)
        prior = checks.prior_predictive(model, draws, seed, ["coupling_deviation", "arm_deviation"])
    return np.asarray(prior.prior["coupling_deviation"]).ravel()


# --- Estimates in the output contract ---------------------------------------------------------------------------


def mixed_posterior(idatas: list) -> xr.Dataset:
    """The posterior draws of several fits of one model (one per imputed data
    set) mixed into one, their chains numbered one after the other. Each fit
    weighs the same: a fit with more draws per chain than the fewest (a
    refit, :func:`~ketamine_nif.inference.fit_with_retry`, has twice the
    draws) is thinned to that many, evenly spaced."""
    posteriors = [i.posterior.to_dataset() if hasattr(i.posterior, "to_dataset") else i.posterior for i in idatas]
    fewest = min(p.sizes["draw"] for p in posteriors)
    posteriors = [p.isel(draw=np.linspace(0, p.sizes["draw"] - 1, fewest).round().astype(int)).assign_coords(
        draw=np.arange(fewest)) for p in posteriors]
    mixed = xr.concat(posteriors, dim="chain", coords="minimal", compat="override")
    return mixed.assign_coords(chain=np.arange(mixed.sizes["chain"]))


def _summary_rows(keys: list[tuple], draws: list, ropes: dict, converged: bool, fits: int = 1) -> pd.DataFrame:
    """Output-contract rows from (chain, draw) draws, one per key (estimand,
    marker, visit, subgroup), with :func:`estimates.describe_draws`'s
    statistics. With ``fits`` > 1 the chains come from that many fits (one per
    imputed data set, in equal blocks): the draws are mixed, and R-hat (the
    largest) and bulk ESS (the smallest) are computed within each fit, where
    between-imputation differences are not a failure to converge (and where
    they do not add information: across imputations there are only ``fits``
    independent draws of the values under the limit)."""
    stacked = np.stack([np.asarray(d) for d in draws])  # (rows, chain, draw)
    r_hat, ess = np.zeros(len(keys)), np.full(len(keys), np.inf)
    blocks = np.array_split(np.arange(stacked.shape[1]), fits)
    for chains in blocks:  # ArviZ's estimators over every row at once (ketamine_nif.convergence)
        block_r_hat, block_ess = convergence.rhat_and_ess_bulk(stacked[:, chains])
        r_hat, ess = np.maximum(r_hat, block_r_hat), np.minimum(ess, block_ess)
    # the effective draws behind each probability, the mean of the fits' own (equal blocks of draws): its Monte Carlo
    # variance is sum_f p(1 - p) / ESS_f / F^2 at a common p, so the pooled ESS is F^2 / sum_f 1 / ESS_f
    inverse = {"ess_direction": np.zeros(len(keys)), "ess_rope": np.zeros(len(keys))}
    estimands = np.array([key[0] for key in keys])
    for estimand in dict.fromkeys(estimands):  # one call per estimand (its ROPE) and fit
        chosen = np.flatnonzero(estimands == estimand)
        for chains in blocks:
            for column, value in indicator_ess(stacked[chosen][:, chains], estimand, ropes[estimand], ess[chosen]).items():
                inverse[column][chosen] += 1.0 / value
    effective = {column: len(blocks) ** 2 / total for column, total in inverse.items()}
    values = stacked.reshape(len(keys), -1)
    rows = [{"estimand": estimand, "marker": marker, "visit": visit, "subgroup": subgroup,
             **describe_draws(values[j], estimand, ropes[estimand]),
             "r_hat": float(r_hat[j]), "ess_bulk": float(ess[j]), **{k: float(v[j]) for k, v in effective.items()},
             "converged": bool(converged)}
            for j, (estimand, marker, visit, subgroup) in enumerate(keys)]
    return pd.DataFrame(rows, columns=COLUMNS)


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


def subgroup_differences(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`subgroup_estimates` that compare a split's two
    subgroups (couplings in each arm, NIF change ratios)."""
    return table[table["estimand"].isin([*SUBGROUP_COUPLING_DIFFERENCE.values(), SUBGROUP_NIF_RATIO])]


def deviation_scales(idatas: list) -> tuple[xr.DataArray, xr.DataArray]:
    """Posterior mean and 97.5% quantile of each marker's (and arm's) scale of
    subgroup differences in coupling, the fits' draws mixed."""
    scale = mixed_posterior(idatas)["coupling_deviation_scale"]  # (marker, arm)
    return scale.mean(("chain", "draw")), scale.quantile(0.975, ("chain", "draw"))


def largest_coupling_differences(differences: pd.DataFrame, rows: int = SHOWN_DIFFERENCES) -> pd.DataFrame:
    """The chapter's table of the ``rows`` subgroup differences in coupling
    with the highest posterior probability of a direction."""
    coupling = differences[differences["estimand"] != SUBGROUP_NIF_RATIO]
    certainty = np.maximum(coupling["p_positive"], 1 - coupling["p_positive"])
    top = coupling.assign(certainty=certainty).sort_values("certainty", ascending=False).head(rows)
    return (top.assign(arm=top["estimand"].str.replace("coupling_subgroup_difference_", ""),
                       estimate=[f"{r.mean:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}]" for r in top.itertuples()])
            [["marker", "arm", "subgroup", "estimate", "p_positive", "p_rope"]]
            .rename(columns={"subgroup": "split", "estimate": "difference [95% interval]", "p_positive": "P(> 0)",
                             "p_rope": "P(ROPE)"}))


def split_other(key: str, subgroup: str) -> tuple[str, bool] | None:
    """The split key ``key`` ("<first> vs <second>", :func:`estimands.split_key`)
    seen from ``subgroup``: the other subgroup's label and whether ``subgroup``
    is the second (so the key's difference runs other minus ``subgroup``);
    None where ``subgroup`` is neither side."""
    if key.startswith(f"{subgroup} vs "):
        return key.removeprefix(f"{subgroup} vs "), False
    if key.endswith(f" vs {subgroup}"):
        return key.removesuffix(f" vs {subgroup}"), True
    return None


def oriented_difference(row: pd.Series, subgroup: str) -> pd.Series:
    """A split's difference row (first minus second subgroup, or first over
    second for a ratio) turned to read ``subgroup`` minus (over) the other one,
    its ``subgroup`` key "<subgroup> vs <other>". Where ``subgroup`` is the
    split's second label the difference is negated (a ratio inverted, its SD by
    the delta method), the interval bounds swap, and P(> null) becomes its
    complement; P(ROPE) is kept (exact for a symmetric ROPE of a difference).
    Raises ValueError where ``subgroup`` is on neither side of the split."""
    sides = split_other(row["subgroup"], subgroup)
    if sides is None:
        raise ValueError(f"{subgroup!r} is not a side of the split {row['subgroup']!r}")
    other, second = sides
    turned = row.copy()
    turned["subgroup"] = split_key((subgroup, other))
    if not second:
        return turned
    if is_ratio(row["estimand"]):
        turned["mean"], turned["sd"] = 1 / row["mean"], row["sd"] / row["mean"] ** 2
        turned["ci_low"], turned["ci_high"] = 1 / row["ci_high"], 1 / row["ci_low"]
    else:
        turned["mean"], turned["ci_low"], turned["ci_high"] = -row["mean"], -row["ci_high"], -row["ci_low"]
    turned["p_positive"] = 1 - row["p_positive"]
    return turned


def finding_rows(table: pd.DataFrame, separate: pd.DataFrame, marker: str, subgroup: str) -> dict:
    """The paper's finding in the chapter's tables: the pooled ketamine-arm
    coupling of ``marker`` in ``subgroup`` (``pooled``), its split's difference
    as ``subgroup`` minus the other subgroup (``difference``,
    :func:`oriented_difference`; ``subgroup`` may be either label of its split)
    and the separate frequentist fit (``separate``); a key is None where this
    run lacks the row."""
    pooled = table[(table["estimand"] == COUPLING_WITHIN["ketamine"]) & (table["marker"] == marker)
                   & (table["subgroup"] == subgroup)]
    splits = table[(table["estimand"] == SUBGROUP_COUPLING_DIFFERENCE["ketamine"]) & (table["marker"] == marker)]
    difference = splits[[split_other(key, subgroup) is not None for key in splits["subgroup"]]]
    alone = separate[separate["subgroup"] == subgroup]
    rows = {name: (None if rows.empty else rows.iloc[0])
            for name, rows in (("pooled", pooled), ("difference", difference), ("separate", alone))}
    if rows["difference"] is not None:
        rows["difference"] = oriented_difference(rows["difference"], subgroup)
    return rows


# --- The paper's exact estimand: day-1 coupling in one subgroup ------------------------------------------------


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
    baseline = dataset.study.baseline
    labels = assign(split, dataset)
    arm = dataset.participants.set_index("participant_id")["arm"]
    people = labels.index[labels.notna() & (arm.reindex(labels.index) == "ketamine")]
    if marker not in table or visit not in set(table["visit"].astype(str)):
        raise ValueError(f"no {marker!r} or no visit {visit!r} in the data")
    madrs, nif = (table.pivot(index="participant_id", columns="visit", values=column).reindex(people)
                  for column in (OUTCOME, marker))
    frame = pd.DataFrame({
        "participant_id": people,
        "subgroup": labels[people].to_numpy(),
        "madrs_change": (madrs[visit] - madrs[baseline]).to_numpy(float),
        "marker_change": ((nif[visit] - nif[baseline]) / np.log(2)).to_numpy(float),  # natural logs to doublings
        "madrs_baseline": madrs[baseline].to_numpy(float),
    })
    complete = frame[["madrs_change", "marker_change", "madrs_baseline"]].notna().all(axis=1)
    left_out = {label: int(((frame["subgroup"] == label) & ~complete).sum()) for label in split.labels}
    frame = frame[complete].reset_index(drop=True)
    frame.insert(2, "group", np.where(frame["subgroup"] == split.labels[0], 0, 1))
    return Day1Data(marker, visit, tuple(split.labels), frame, left_out)


def day1_question(dataset: Dataset, splits: list[Split], marker: str, subgroup: str, visit: str,
                  lod_fraction: float = LOD_FRACTION) -> Day1Data | None:
    """:func:`day1_data` for the split that holds ``subgroup``; None where the
    split, the marker or the visit is not in this run's data."""
    split = next((s for s in splits if subgroup in s.labels), None)
    if split is None or marker not in dataset.markers or visit not in dataset.visits:
        return None
    return day1_data(dataset, split, marker, visit, lod_fraction)


DAY1 = "day1"  # the day-1 regression's estimates are this variant of the pooled model's (estimands.VARIANTS)


def day1_estimand(estimand: str) -> str:
    """The name of ``estimand`` as the day-1 regression estimates it
    (``coupling_within_ketamine_day1``): a variant of its own, so that the
    summary does not count it among the pooled subgroup model's estimates."""
    return f"{estimand}_{DAY1}"


def day1_estimates(idatas, data: Day1Data, ropes: dict, converged: bool) -> pd.DataFrame:
    """Output-contract rows at ``visit`` = the day-1 visit, under the day-1
    variants of the estimands (:func:`day1_estimand`): the ketamine-arm
    coupling in each subgroup (``subgroup`` = its label) and their difference
    (``subgroup`` = "<first> vs <second>"). ``idatas``: one fit, or a list of
    fits to imputed data sets whose draws are mixed. ``ropes``: by the
    estimands' own names."""
    idatas = idatas if isinstance(idatas, list) else [idatas]
    post = mixed_posterior(idatas)
    within, difference = (day1_estimand(e) for e in (COUPLING_WITHIN["ketamine"], SUBGROUP_COUPLING_DIFFERENCE["ketamine"]))
    keys = [(within, data.marker, data.visit, label) for label in data.labels]
    draws = [post["day1_coupling"].sel(subgroup=label).transpose("chain", "draw") for label in data.labels]
    keys.append((difference, data.marker, data.visit, split_key(data.labels)))
    draws.append(post["day1_coupling_difference"].transpose("chain", "draw"))
    ropes = {within: ropes[COUPLING_WITHIN["ketamine"]], difference: ropes[SUBGROUP_COUPLING_DIFFERENCE["ketamine"]]}
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


def day1_comparison(day1_table: pd.DataFrame, data: Day1Data, ols: dict) -> pd.DataFrame:
    """The chapter's day-1 table: per subgroup (and their difference) the
    participants, the posterior and, in each subgroup alone, least squares."""
    rows = list(day1_table.itertuples())

    def least_squares(r, text):
        return text(ols[r.subgroup]) if r.subgroup in ols else ""

    return day1_table.assign(
        participants=[data.count(r.subgroup) if r.subgroup in ols else len(data.table) for r in rows],
        posterior=[f"{r.mean:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}]" for r in rows],
        least_squares=[least_squares(r, lambda o: f"{o['estimate']:+.1f} [{o['ci_low']:+.1f}, {o['ci_high']:+.1f}]")
                       for r in rows],
        p_value=[least_squares(r, lambda o: f"{o['p_value']:.3f}") for r in rows],
    )[["subgroup", "participants", "posterior", "p_positive", "least_squares", "p_value"]].rename(
        columns={"posterior": "posterior mean [95% interval]", "p_positive": "P(> 0)",
                 "least_squares": "least squares [95% CI]", "p_value": "p"})
