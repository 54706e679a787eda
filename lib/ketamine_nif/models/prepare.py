"""From a validated dataset (the contract's two tables) to the arrays the models
use. Outcome, markers and arms are named by arguments, so the same code serves
any longitudinal dataset that follows the contract.

Nothing is dropped silently: :class:`ModelData` counts what it leaves out (post
visits of participants without a baseline outcome) in ``excluded``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..contract import ARMS, Dataset, Study


class ModelDataError(ValueError):
    """The data cannot feed this model (e.g. a marker that is not measured)."""


@dataclass
class ModelData:
    participants: list[str]
    treated: np.ndarray  # (N,) 1.0 for the study's treatment arm, 0.0 for its reference arm
    visits: list[str]  # baseline first, then post-infusion visits in schedule order
    markers: list[str]
    outcome: str
    # NIF observations, long: one row per participant x marker x visit with a sample
    nif_person: np.ndarray
    nif_marker: np.ndarray
    nif_visit: np.ndarray  # 0 = baseline
    nif_log: np.ndarray  # natural log of the value, or of the lod where censored
    nif_censored: np.ndarray  # bool: below the detection limit (value <= exp(nif_log))
    nif_log_lod: np.ndarray  # natural log of the row's lod (-inf where the assay has none)
    # outcome observations after baseline, for participants with a baseline outcome
    y_person: np.ndarray
    y_visit: np.ndarray  # 1..T (index into visits)
    y: np.ndarray
    y0: np.ndarray  # (N,) baseline outcome (nan where missing)
    excluded: dict[str, int] = field(default_factory=dict)
    # (T,) days since the infusion at each visit (median over participants; baseline 0), for person-level slopes
    visit_days: np.ndarray | None = None
    study: Study = field(default_factory=Study)  # the data's names (outcome, arms, baseline visit)

    @property
    def post_visits(self) -> list[str]:
        return self.visits[1:]

    @property
    def arm_contrast(self) -> np.ndarray:
        """Treatment indicator centred on its mean (treatment 1 - share,
        reference -share): arm effects keep their meaning, and the common change becomes
        the average over arms, which decorrelates the two in the posterior."""
        return self.treated - self.treated.mean()

    @property
    def n_participants(self) -> int:
        return len(self.participants)

    def nif_center(self) -> np.ndarray:
        """Per-marker median of observed log values (censored at their lod): the
        centre of the intercept priors."""
        empty = [m for j, m in enumerate(self.markers) if not np.any(self.nif_marker == j)]
        if empty:
            raise ModelDataError(f"no values of {', '.join(empty)} in these data: a model of a marker needs some")
        return np.array([np.median(self.nif_log[self.nif_marker == j]) for j in range(len(self.markers))])

    def changed(self, **fields) -> ModelData:
        """``dataclasses.replace``: these data with ``fields`` changed (a subclass may carry more over)."""
        return replace(self, **fields)

    def only(self, markers: list[str]) -> ModelData:
        """These data with the NIF samples of ``markers`` alone, in that order
        (what ``prepare(dataset, markers=markers)`` gives)."""
        unknown = sorted(set(markers) - set(self.markers))
        if unknown:
            raise ModelDataError(f"marker(s) {', '.join(unknown)} not in these data; they hold {', '.join(self.markers)}")
        position = np.full(len(self.markers), -1)
        position[[self.markers.index(m) for m in markers]] = np.arange(len(markers))
        keep = position[self.nif_marker] >= 0
        return self.changed(markers=list(markers), nif_marker=position[self.nif_marker[keep]], nif_person=self.nif_person[keep],
                            nif_visit=self.nif_visit[keep], nif_log=self.nif_log[keep], nif_censored=self.nif_censored[keep],
                            nif_log_lod=self.nif_log_lod[keep])

    def outcome_scale(self) -> tuple[float, float]:
        """Mean of post-baseline outcomes and SD of all outcomes: centre and scale
        of the outcome model's weakly informative priors."""
        all_y = np.concatenate([self.y, self.y0[~np.isnan(self.y0)]])
        return float(self.y.mean()), float(all_y.std())


def prepare(dataset: Dataset, markers: list[str] | None = None, outcome: str | None = None) -> ModelData:
    """Arrays for the models. ``markers`` defaults to every NIF in the data, ``outcome`` to the study's."""
    study = dataset.study
    outcome = outcome or study.outcome
    markers = list(markers) if markers is not None else dataset.markers
    unknown = sorted(set(markers) - set(dataset.markers))
    if unknown:
        raise ModelDataError(f"marker(s) {', '.join(unknown)} not in the data; available: {', '.join(dataset.markers)}")
    visits = dataset.visits
    if visits[0] != study.baseline:
        raise ModelDataError(f"the first visit must be the study's baseline, {study.baseline!r}; the data's visits are {visits}")
    p = dataset.participants
    people = list(p["participant_id"])
    person_index = {pid: i for i, pid in enumerate(people)}
    visit_index = {v: t for t, v in enumerate(visits)}
    marker_index = {m: j for j, m in enumerate(markers)}
    m = dataset.measurements

    nif = m[m["measure"].isin(markers) & (m["value"].notna() | m["below_lod"])]
    censored = nif["below_lod"].to_numpy()
    level = np.where(censored, nif["lod"].to_numpy(), nif["value"].to_numpy())

    y_rows = m[(m["measure"] == outcome) & m["value"].notna()]
    if y_rows.empty:
        raise ModelDataError(f"no observed values of the outcome {outcome!r}")
    base = y_rows[y_rows["visit"] == study.baseline].set_index("participant_id")["value"]
    y0 = np.array([base.get(pid, np.nan) for pid in people], dtype=float)
    post = y_rows[y_rows["visit"] != study.baseline]
    has_base = post["participant_id"].map(lambda pid: not np.isnan(y0[person_index[pid]]))
    excluded = {"post-baseline outcomes without a baseline outcome": int((~has_base).sum())}
    post = post[has_base]

    return ModelData(
        participants=people,
        treated=(p["arm"].to_numpy() == ARMS[0]).astype(float),  # arms are roles (Study): ARMS[0] the treatment
        visits=visits,
        markers=markers,
        outcome=outcome,
        nif_person=nif["participant_id"].map(person_index).to_numpy(),
        nif_marker=nif["measure"].map(marker_index).to_numpy(),
        nif_visit=nif["visit"].map(visit_index).to_numpy(),
        nif_log=np.log(level.astype(float)),
        nif_censored=censored.astype(bool),
        nif_log_lod=np.log(nif["lod"].fillna(0.0).to_numpy(dtype=float), where=nif["lod"].notna().to_numpy(), out=np.full(len(nif), -np.inf)),
        y_person=post["participant_id"].map(person_index).to_numpy(),
        y_visit=post["visit"].map(visit_index).to_numpy(),
        y=post["value"].to_numpy(dtype=float),
        y0=y0,
        excluded=excluded,
        visit_days=_visit_days(m, visits),
        study=study,
    )


def _visit_days(measurements, visits: list[str]) -> np.ndarray:
    """Median days since the infusion of each visit; the baseline (before the infusion) counts as day 0."""
    hours = measurements.groupby("visit")["hours"].median()
    return np.array([max(float(hours[v]), 0.0) / 24.0 for v in visits])
