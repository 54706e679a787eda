"""What the data can inform, checked before any estimate is reported.

A Bayesian model reports a posterior for every parameter it holds, whether the
data speak to it or not: with one arm in the data, an arm difference is its
prior, and with a marker never measured at baseline, a change from baseline is
imputed from the prior. Such numbers read like findings. :func:`assess` checks,
from the validated data alone, what each estimand needs (``Estimand.needs``,
``arms`` and ``per_visit`` in :data:`ketamine_nif.estimands.REGISTRY`), and the
chapters drop every estimand that fails, with a callout naming the reason
(:func:`ketamine_nif.reporting.uninformed_callout`).

The rule, per arm the estimand involves (and per post-infusion visit for the
estimands of one visit): at least ``min_per_arm`` participants
(``params/analysis.yaml``) with the data it uses, and for a marker at least
one of their values above the detection limit. It is a rule of thumb: an
estimand just under it is informed a little by its data, but mostly by its
prior. A marker measured at baseline in fewer participants than that is left
out of the fits altogether (:func:`anchored`): the models anchor each
marker's course at its baseline level. A marker with fewer baseline values
above the detection limit than that (over both arms) is left out of the
baseline-prediction (aim 3) model (``models.moderation_data``), which
standardises each marker by an SD that so few values do not set.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .analysis import load as load_analysis
from .contract import Dataset
from .estimands import (
    ALL_PARTICIPANTS,
    ALL_VISITS,
    REGISTRY,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
    lookup,
    split_key,
)

MIN_PER_ARM = load_analysis().min_per_arm
SPLIT_LEVEL = {*SUBGROUP_COUPLING_DIFFERENCE.values(), SUBGROUP_NIF_RATIO}  # estimands that compare a split's two subgroups
ALL_MARKERS = ""  # Gap.marker of an estimand of the outcome, not of a marker


@dataclass(frozen=True)
class Gap:
    """An estimand that the data cannot inform, and why (in words that call the
    marker "the marker", so that markers with one reason are listed together).
    ``marker``, ``visit`` and ``subgroup`` say where: one marker or
    :data:`ALL_MARKERS`, one visit or every one, one subgroup (or a split's
    "<first> vs <second>") or every participant."""

    estimand: str
    marker: str
    reason: str
    visit: str = ALL_VISITS
    subgroup: str = ALL_PARTICIPANTS

    def covers(self, estimand: str, marker: str, visit: str, subgroup: str) -> bool:
        return (self.estimand == lookup(estimand).name and self.marker in (marker, ALL_MARKERS)
                and self.visit in (visit, ALL_VISITS) and self.subgroup in (subgroup, ALL_PARTICIPANTS))


@dataclass
class Assessment:
    """The estimands of these data that would be informed by the prior alone (or nearly)."""

    gaps: list[Gap]

    def reasons(self, estimand: str, marker: str = ALL_MARKERS, visit: str = ALL_VISITS,
                subgroup: str = ALL_PARTICIPANTS) -> list[str]:
        return [g.reason for g in self.gaps if g.covers(estimand, marker, visit, subgroup)]

    def informed(self, estimand: str, marker: str = ALL_MARKERS, visit: str = ALL_VISITS,
                 subgroup: str = ALL_PARTICIPANTS) -> bool:
        return not self.reasons(estimand, marker, visit, subgroup)

    def keep(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows of an output-contract table that the data inform."""
        if table.empty:
            return table
        subgroups = table["subgroup"] if "subgroup" in table else [ALL_PARTICIPANTS] * len(table)
        keep = [self.informed(*key) for key in zip(table["estimand"], table["marker"], table["visit"], subgroups, strict=True)]
        return table[keep].reset_index(drop=True)

    def gaps_for(self, estimands) -> list[Gap]:
        """The gaps of ``estimands`` (names or variants)."""
        names = {lookup(e).name for e in estimands}
        return [g for g in self.gaps if g.estimand in names]


def markers_by(gaps, key) -> dict:
    """The distinct markers of ``gaps`` (in order; none for the outcome's gaps) under each ``key(gap)``."""
    grouped: dict = {}
    for g in gaps:
        found = grouped.setdefault(key(g), [])
        if g.marker and g.marker not in found:
            found.append(g.marker)
    return grouped


def in_words(gaps, bold: str = "") -> list[str]:
    """One line per estimand and reason: "coupling, saline arm for BDNF and IL-6: the saline arm has ..."
    (the registry's label, wrapped in ``bold``, the markers that share the reason, the reason)."""
    from .reporting import join_words

    return [f"{bold}{lookup(estimand).label}{bold}{f' for {join_words(markers)}' if markers else ''}: {reason}"
            for (estimand, reason), markers in markers_by(gaps, lambda g: (g.estimand, g.reason)).items()]


def _when(visit: str) -> str:
    """Words for the visits of a check: "at day3", or "after it" (the baseline) for every visit."""
    return "after it" if visit == ALL_VISITS else f"at {visit}"


def _counted(n: int, what: str) -> str:
    return f"{n} participant{'' if n == 1 else 's'} {what}"


def anchored(dataset: Dataset, markers: list[str] | None = None, min_per_arm: int = MIN_PER_ARM) -> list[str]:
    """The markers (of ``markers``, default all) measured at baseline (a value or one under the
    limit) in at least ``min_per_arm`` participants: the ones the models can fit."""
    counts = _baseline_counts(dataset)
    return [k for k in (dataset.markers if markers is None else markers) if counts.get(k, 0) >= min_per_arm]


def _baseline_counts(dataset: Dataset) -> pd.Series:
    """Participants with a sample (a value or one under the limit) at baseline, per measure."""
    m = dataset.measurements
    return m[(m["visit"] == dataset.study.baseline) & (m["value"].notna() | m["below_lod"])].groupby("measure")["participant_id"].nunique()


def assess(dataset: Dataset, markers: list[str] | None = None, estimands=None, outcome: str | None = None,
           participants=None, change_arms=None, min_per_arm: int = MIN_PER_ARM) -> Assessment:
    """Every gap of ``estimands`` (default: every registered estimand of this
    trial's data) for ``markers`` (default: every marker), among
    ``participants`` (ids; default: everybody). ``change_arms`` limits the arms
    checked for a marker's change (the subgroups of a split that applies to
    some arms only: the other arms' side comes from all their participants).
    Reasons are in this trial's words (``Study.say`` puts them in the data's)."""
    study = dataset.study
    baseline, outcome = study.baseline, outcome or study.outcome
    markers = dataset.markers if markers is None else list(markers)
    names = [e for e, spec in REGISTRY.items() if spec.needs] if estimands is None else [lookup(e).name for e in estimands]
    m, p = dataset.measurements, dataset.participants
    if participants is not None:
        m, p = m[m["participant_id"].isin(participants)], p[p["participant_id"].isin(participants)]
    arm_of = p.set_index("participant_id")["arm"]
    # the samples (a value or one under the limit), in plain columns with each one's arm: the loops below filter them often
    # (a row under the limit may carry a value at or under it, as many laboratories report it: below_lod says which)
    sampled = m.loc[m["value"].notna() | m["below_lod"], ["participant_id", "measure", "visit", "value", "below_lod"]].astype(
        {"participant_id": object, "measure": object, "visit": object, "below_lod": bool})
    sampled["arm"] = sampled["participant_id"].map(arm_of)
    post_visits = [v for v in dataset.visits if v != baseline]
    rated = sampled[sampled["measure"] == outcome]
    rated_base = set(rated.loc[rated["visit"] == baseline, "participant_id"])
    rated = rated[rated["participant_id"].isin(rated_base) & (rated["visit"] != baseline)]  # ratings that give a change
    fitted = set(anchored(dataset, markers, min_per_arm))  # a property of the whole data, also in a subgroup

    def shortfall(rows: pd.DataFrame, arms, what: str, where: str = "") -> str:
        """The reason (or "") when an arm has too few participants among ``rows``, or, for rows of a
        marker (``where`` they were taken), none of its values above the detection limit."""
        reasons = []
        row_arms, ids, unmeasured = rows["arm"].to_numpy(), rows["participant_id"].to_numpy(), rows["below_lod"].to_numpy()
        for arm in arms:
            in_arm = row_arms == arm
            if (n := len(set(ids[in_arm]))) < min_per_arm:
                reasons.append(f"the {arm} arm has {_counted(n, what)} (at least {min_per_arm} needed)")
            elif where and unmeasured[in_arm].all():
                reasons.append(f"in the {arm} arm every value of the marker {where} is under the detection limit")
        return "; ".join(reasons)

    rated_visits = set(zip(rated["participant_id"], rated["visit"], strict=True))

    def with_baseline(marker: str) -> pd.DataFrame:
        """The marker's samples of the participants with one at baseline."""
        rows = sampled[sampled["measure"] == marker]
        return rows[rows["participant_id"].isin(set(rows.loc[rows["visit"] == baseline, "participant_id"]))]

    by_marker = {marker: with_baseline(marker) for marker in markers if marker in fitted}
    # too few baseline values above the limit: the moderation model leaves the marker out (models.depression.unscaled_markers)
    unscaled = {}
    for marker, rows in by_marker.items():
        n = int((~rows.loc[rows["visit"] == baseline, "below_lod"]).sum())
        if participants is None and n < min_per_arm:  # a rule of the whole data
            unscaled[marker] = (f"{'none' if n == 0 else f'only {n}'} of the marker's values at {baseline} "
                                f"{'is' if n <= 1 else 'are'} above the detection limit (at least {min_per_arm} needed "
                                "to set its SD across participants, the unit of a moderation): it is left out of the "
                                "baseline-prediction model")
    gaps: list[Gap] = []
    for name in names:
        spec = REGISTRY[name]
        visits = post_visits if spec.per_visit else [ALL_VISITS]
        if spec.needs == "outcome change":
            for visit in visits:
                rows = rated if visit == ALL_VISITS else rated[rated["visit"] == visit]
                where = _when(visit)
                if reason := shortfall(rows, spec.arms, f"with {outcome} at {baseline} and {where}"):
                    gaps.append(Gap(name, ALL_MARKERS, reason, visit))
            continue
        for marker in markers:
            if marker not in fitted:
                n = int(_baseline_counts(dataset).get(marker, 0))
                gaps.append(Gap(name, marker, f"the marker is measured at {baseline} in {_counted(n, '')}(at least "
                                              f"{min_per_arm} needed), and the models anchor each marker's course at its "
                                              f"{baseline} level: it is left out of the fits"))
                continue
            with_base = by_marker[marker]
            for visit in visits:
                later = with_base[(with_base["visit"] != baseline) & ((with_base["visit"] == visit) | (visit == ALL_VISITS))]
                where = _when(visit)
                if spec.needs == "marker change":
                    arms = [a for a in spec.arms if change_arms is None or a in change_arms]
                    reason = shortfall(later, arms, f"with the marker at {baseline} and {where}", where)
                elif spec.needs == "baseline marker":
                    both = rated[rated["participant_id"].isin(set(with_base["participant_id"]))]
                    both = both if visit == ALL_VISITS else both[both["visit"] == visit]
                    reason = shortfall(both, spec.arms, f"with the marker at {baseline} and {outcome} at {baseline} and {where}")
                    # the baseline values of those participants: with every one under the limit, nothing sets the slope
                    levels = with_base[(with_base["visit"] == baseline) & with_base["participant_id"].isin(set(both["participant_id"]))]
                    reason = reason or unscaled.get(marker) or shortfall(levels, spec.arms, f"with the marker at {baseline}",
                                                                         f"at {baseline}")
                else:  # paired change: the marker and a rating at one later visit
                    pairs = later[[key in rated_visits for key in zip(later["participant_id"], later["visit"], strict=True)]]
                    reason = shortfall(pairs, spec.arms, f"with the marker at {baseline} and at a later visit with a {outcome} rating",
                                       f"at the visits after {baseline} with a rating")
                if reason:
                    gaps.append(Gap(name, marker, reason, visit))
    return Assessment(gaps)


def assess_subgroups(dataset: Dataset, splits, markers: list[str] | None = None, estimands=None,
                     min_per_arm: int = MIN_PER_ARM) -> Assessment:
    """:func:`assess` inside each subgroup of ``splits`` (:class:`ketamine_nif.subgroups.Split`):
    gaps of the estimands of one subgroup keyed by its label, and of a split's
    comparisons (subgroup differences and ratios) keyed "<first> vs <second>",
    where either subgroup falls short (that subgroup named in the reason). A
    split of some arms only (training: ketamine) codes nobody of the other arms,
    so their couplings in its subgroups are their prior, while a change of
    the marker needs only the split's arms."""
    from .subgroups import assign

    names = [e for e, spec in REGISTRY.items() if spec.needs] if estimands is None else [lookup(e).name for e in estimands]
    gaps: list[Gap] = []
    for split in splits:
        labels = assign(split, dataset)
        for label in split.labels:
            found = assess(dataset, markers, names, participants=set(labels.index[labels == label]), change_arms=split.arms,
                           min_per_arm=min_per_arm)
            gaps += [Gap(g.estimand, g.marker, f"in the subgroup {label}, {g.reason}", g.visit, split_key(split.labels))
                     if g.estimand in SPLIT_LEVEL else Gap(g.estimand, g.marker, f"in the subgroup {label}, {g.reason}", g.visit, label)
                     for g in found.gaps]
    return Assessment(gaps)
