"""Subgroups as parameters: binary splits of the participants, read from a YAML
file (``params/subgroups.yaml``), applied to a validated dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .contract import ARMS, Dataset

RULES = ("threshold", "median", "category", "boolean")


class SubgroupError(ValueError):
    """A subgroup definition that cannot be applied; the message says which and why."""


@dataclass(frozen=True)
class Split:
    name: str
    covariate: str
    rule: str
    labels: tuple[str, str]
    value: float | None = None
    level: str | None = None
    arms: tuple[str, ...] = field(default=ARMS)

    def describe(self) -> str:
        if self.rule == "threshold":
            text = f"{self.covariate} < {self.value:g} vs >= {self.value:g}"
        elif self.rule == "median":
            text = f"{self.covariate} below vs at or above the sample median"
        elif self.rule == "category":
            text = f"{self.covariate} = {self.level} vs other"
        else:
            text = f"{self.covariate} true vs false"
        return text + ("" if set(self.arms) == set(ARMS) else f" ({', '.join(self.arms)} arm only)")


def load_splits(path: str | Path) -> list[Split]:
    path = Path(path)
    try:
        entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("splits", [])
    except (OSError, yaml.YAMLError) as exc:
        raise SubgroupError(f"{path}: cannot read subgroup definitions ({exc})") from None
    splits = []
    for i, e in enumerate(entries, start=1):
        if e.get("rule") not in RULES:
            raise SubgroupError(f"{path}, split {i} ({e.get('name')}): rule must be one of {', '.join(RULES)}")
        if len(e.get("labels", [])) != 2:
            raise SubgroupError(f"{path}, split {i} ({e.get('name')}): give two labels")
        if e["rule"] == "threshold" and "value" not in e:
            raise SubgroupError(f"{path}, split {i} ({e.get('name')}): a threshold rule needs a value")
        splits.append(Split(e["name"], e["covariate"], e["rule"], tuple(e["labels"]), e.get("value"), e.get("level"), tuple(e.get("arms", ARMS))))
    return splits


def usable(splits: list[Split], dataset: Dataset) -> tuple[list[Split], str]:
    """The splits whose covariate these data hold, and a sentence naming those
    left out ("" when none is): another trial need not record this one's covariates."""
    from .reporting import join_words

    held = set(dataset.participants.columns) | {f"baseline:{m}" for m in dataset.markers}
    kept = [s for s in splits if s.covariate in held or _baseline_measure(dataset, s.covariate) == dataset.study.outcome]
    absent = [s for s in splits if s not in kept]
    if not absent:
        return kept, ""
    names = join_words(f"{s.name} (`{s.covariate}`)" for s in absent)
    return kept, (f"The subgroup parameter file also defines {len(absent)} split{'s' * (len(absent) > 1)} by "
                  f"{'covariates' if len(absent) > 1 else 'a covariate'} these "
                  f"data do not hold: {names}. {'They are' if len(absent) > 1 else 'It is'} left out of every subgroup analysis.")


def baseline_values(dataset: Dataset, measure: str) -> pd.Series:
    """Each participant's baseline value of a measure (a censored value counts as its lod)."""
    m = dataset.measurements
    rows = m[(m["visit"] == dataset.study.baseline) & (m["measure"] == measure)]
    values = rows["value"].where(~rows["below_lod"], rows["lod"])
    return pd.Series(values.to_numpy(), index=rows["participant_id"].to_numpy())


def _baseline_measure(dataset: Dataset, covariate: str) -> str | None:
    """The measure of a ``baseline:<MEASURE>`` covariate (``baseline:outcome``: the study's outcome)."""
    if not covariate.startswith("baseline:"):
        return None
    measure = covariate.split(":", 1)[1]
    return dataset.study.outcome if measure == "outcome" else measure


def covariate_values(dataset: Dataset, covariate: str) -> pd.Series:
    participants = dataset.participants.set_index("participant_id")
    if covariate.startswith("baseline:"):
        return baseline_values(dataset, _baseline_measure(dataset, covariate)).reindex(participants.index)
    if covariate not in participants.columns:
        raise SubgroupError(f"covariate {covariate!r} is not a column of participants")
    return participants[covariate]


def assign(split: Split, dataset: Dataset) -> pd.Series:
    """Subgroup label per participant id; missing where the covariate is missing
    or the participant's arm is outside the split."""
    values = covariate_values(dataset, split.covariate)
    arm = dataset.participants.set_index("participant_id")["arm"]
    if split.rule in ("threshold", "median"):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        cut = split.value if split.rule == "threshold" else float(np.nanmedian(numbers[arm.isin(split.arms)]))
        first = numbers < cut
    elif split.rule == "category":
        first = values == split.level
    else:
        first = values.astype("boolean")
    labels = pd.Series(np.where(first.fillna(False).astype(bool), split.labels[0], split.labels[1]), index=values.index, dtype=object)
    return labels.where(values.notna() & arm.isin(split.arms))


def subgroup_counts(dataset: Dataset, splits: list[Split]) -> pd.DataFrame:
    """Participants per subgroup and arm (missing covariates counted apart)."""
    arm = dataset.participants.set_index("participant_id")["arm"]
    rows = []
    for split in splits:
        labels = assign(split, dataset)
        for label in split.labels:
            in_group = labels == label
            rows.append({"split": split.name, "subgroup": label, "definition": split.describe(),
                         **{a: int((in_group & (arm == a)).sum()) for a in ARMS}})
        missing = labels.isna() & arm.isin(split.arms)
        if missing.any():
            rows.append({"split": split.name, "subgroup": "(covariate missing)", "definition": "",
                         **{a: int((missing & (arm == a)).sum()) for a in ARMS}})
    return pd.DataFrame(rows)
