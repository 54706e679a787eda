"""The analysis's choices, read from one file: ``params/analysis.yaml``.

It holds the priors of every model family, the regions of practical
equivalence (ROPEs) of every estimand family, the levels of the decision rule,
the largest share of null effects (or of large ones) that a verdict may wrongly be given to on simulated trials, the "important" effects of the evidence chapter's alternative priors and the
published trial's finding. Nothing else types these numbers:

- the priors classes (``TrajectoryPriors``, ``OutcomePriors``, ...) take their
  defaults from the file through :func:`defaults`, so a model built without
  explicit priors uses them;
- a chapter calls :func:`load` with its ``analysis_config`` parameter and builds
  its priors with :meth:`Analysis.priors` and its ROPEs with
  :meth:`Analysis.rope`, so one file can replace them for a run; the decision
  levels are the book's alone (the summary page, ``estimates.DETECTION`` and
  the studies apply them everywhere), and another file must keep them;
- ``inference.fit`` stores the priors a model was built with in its posterior,
  and the evidence chapter reads them from there.

The runner counts the file's content into each chapter's cache key, so a change
reruns what it touches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .paths import PARAMS

CONFIG = PARAMS / "analysis.yaml"
SECTIONS = ("decision", "ropes", "important", "priors", "paper_finding")


class AnalysisConfigError(ValueError):
    """The analysis configuration is missing, unreadable or incomplete; the message names the file and the entry."""


@dataclass(frozen=True)
class Analysis:
    source: Path
    detection_level: float
    equivalence_level: float
    ropes: dict[str, tuple[float, float]]  # estimand family -> (low, high)
    important: dict[str, float]  # estimand family -> an important effect
    prior_blocks: dict[str, dict[str, float]]  # model family -> prior name -> value
    paper_finding: dict[str, str]  # marker, subgroup, visit
    min_per_arm: int  # participants with the data an estimand uses, in each arm it involves (identifiability)
    max_error_rate: float  # the largest share of null effects called supported (of large ones ruled out) before the summary withholds the verdict
    multiplicity: str = "bonferroni"  # how a question's estimates share its detection level: bonferroni or none

    def priors(self, cls, **overrides):
        """An instance of the priors class ``cls`` with this file's values (``overrides`` win)."""
        return cls(**{**_block(self, cls), **overrides})

    def rope(self, estimand: str) -> tuple[float, float]:
        """The ROPE of an estimand (or of a variant, ``<estimand>_<variant>``), by its family."""
        from .estimands import lookup

        family = lookup(estimand).family
        if family not in self.ropes:
            raise AnalysisConfigError(f"{self.source}: no ROPE for the estimand family {family!r} (of {estimand}) under 'ropes'")
        return self.ropes[family]

    def ropes_for(self, estimands) -> dict[str, tuple[float, float]]:
        """estimand -> ROPE for each of ``estimands``."""
        return {name: self.rope(name) for name in estimands}

    def important_effect(self, estimand: str) -> float:
        from .estimands import lookup

        return self.important[lookup(estimand).family]


def _block(config: Analysis, cls) -> dict[str, float]:
    family = getattr(cls, "PRIOR_FAMILY", None)
    if family is None or family not in config.prior_blocks:
        raise AnalysisConfigError(f"{config.source}: no 'priors: {family}' block for {cls.__name__}")
    values = dict(config.prior_blocks[family])
    names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set(cls.__annotations__)
    unknown, missing = sorted(set(values) - names), sorted(names - set(values))
    if unknown or missing:
        raise AnalysisConfigError(
            f"{config.source}: 'priors: {family}' must name exactly the fields of {cls.__name__}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "") + (f"; missing: {', '.join(missing)}" if missing else ""))
    return {k: float(v) for k, v in values.items()}


def load(path: str | Path | None = None) -> Analysis:
    """The analysis configuration in ``path`` (default ``params/analysis.yaml``);
    relative paths are taken from the project root."""
    path = Path(path) if path else CONFIG
    if not path.is_absolute() and not path.exists():
        path = PARAMS.parent / path
    if not path.is_file():
        raise AnalysisConfigError(f"analysis configuration {path} not found (the default is {CONFIG})")
    return _load(path.resolve(), path.stat().st_mtime_ns)


@cache
def _load(path: Path, _mtime: int) -> Analysis:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise AnalysisConfigError(f"{path}: not valid YAML ({exc})") from None
    missing = [s for s in SECTIONS if s not in raw]
    if missing:
        raise AnalysisConfigError(f"{path}: missing section(s) {', '.join(missing)}")
    ropes = {}
    for family, bounds in raw["ropes"].items():
        if not (isinstance(bounds, list) and len(bounds) == 2 and float(bounds[0]) < float(bounds[1])):
            raise AnalysisConfigError(f"{path}: ROPE {family} must be [low, high] with low < high, not {bounds!r}")
        ropes[family] = (float(bounds[0]), float(bounds[1]))
    decision = raw["decision"]
    for name in ("detection_level", "equivalence_level"):
        if not 0.5 < float(decision.get(name, 0)) < 1:
            raise AnalysisConfigError(f"{path}: decision: {name} must lie between 0.5 and 1")
    if not (isinstance(decision.get("min_per_arm"), int) and decision["min_per_arm"] >= 1):
        raise AnalysisConfigError(f"{path}: decision: min_per_arm must be a whole number of at least 1")
    if not 0 < float(decision.get("max_error_rate", 0)) < 0.5:
        raise AnalysisConfigError(f"{path}: decision: max_error_rate must lie between 0 and 0.5")
    if decision.get("multiplicity") not in MULTIPLICITY:
        raise AnalysisConfigError(f"{path}: decision: multiplicity must be one of {', '.join(MULTIPLICITY)}")
    config = Analysis(path, float(decision["detection_level"]), float(decision["equivalence_level"]), ropes,
                      {k: float(v) for k, v in raw["important"].items()},
                      {k: dict(v) for k, v in raw["priors"].items()}, dict(raw["paper_finding"]), decision["min_per_arm"],
                      float(decision["max_error_rate"]), decision["multiplicity"])
    if path != CONFIG.resolve() and CONFIG.is_file():
        book = load()
        levels = ("detection_level", "equivalence_level", "max_error_rate", "multiplicity")
        if any(getattr(config, name) != getattr(book, name) for name in levels):
            raise AnalysisConfigError(
                f"{path}: the decision levels are the book's ({CONFIG}: "
                + ", ".join(f"{name} {getattr(book, name)}" for name in levels)
                + "), applied by the summary page to every chapter; change them there, not in a chapter's own configuration")
    return config


MULTIPLICITY = ("bonferroni", "none")  # decision: multiplicity (ketamine_nif.summary.question_level)


def defaults(family: str):
    """Class decorator (put it under ``@dataclass``): the fields of a priors class
    take their defaults from the ``priors: <family>`` block of the default file."""

    def apply(cls):
        cls.PRIOR_FAMILY = family
        config = load()
        for name, value in _block(config, cls).items():
            setattr(cls, name, value)
        return cls

    return apply
