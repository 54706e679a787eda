"""The data contract: two tidy tables, and the rules every analysis relies on.

``load_dataset(data_dir)`` reads ``participants`` and ``measurements`` (CSV or
Parquet), checks every rule below, and either returns typed tables or raises
:class:`ContractError`, whose message names the file, the rows (as line numbers
of the CSV, header = line 1) and the rule broken. Nothing is dropped: rows that
carry no value (a sample not obtained) are kept and counted.

The rules are listed once, in :data:`RULES`; ``data/README.md`` documents them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# This trial's names: the defaults of a study description (``Study``) and the synthetic twin's labels.
DEPRESSION_MEASURE = "MADRS"
MADRS_RANGE = (0.0, 60.0)
ARMS = ("ketamine", "saline")  # (treatment, reference)
BASELINE_VISIT = "baseline"
HOURS_RANGE = (-8760.0, 17532.0)  # one year before to two years after the treatment starts
VISIT_TIME_SPREAD_HOURS = 12.0  # measures of one visit are taken within this window
METADATA_FILE = "dataset.json"

PARTICIPANT_COLUMNS = ("participant_id", "arm")
MEASUREMENT_COLUMNS = ("participant_id", "visit", "hours", "measure", "value", "lod", "below_lod")

# Optional participant covariates the analyses know: name -> (kind, allowed values or range)
COVARIATES: dict[str, tuple[str, object]] = {
    "age": ("number", (18.0, 100.0)),
    "sex": ("category", ("female", "male")),
    "bmi": ("number", (10.0, 80.0)),
    "training": ("category", ("asat", "sham")),
    "failed_trials": ("integer", (0.0, 50.0)),
    "antidepressant": ("boolean", None),
    "psychotropic": ("boolean", None),
    "anxiety": ("boolean", None),
    "smoker": ("boolean", None),
    "benzodiazepine": ("boolean", None),
    "early_onset": ("boolean", None),
    "chronic_episode": ("boolean", None),
}

RULES: dict[str, str] = {
    "file-present": "each table exists as <name>.csv or <name>.parquet",
    "file-readable": "CSV files are UTF-8 text separated by commas",
    "file-not-empty": "each table has a header and at least one row",
    "required-columns": "the core columns of the table are present",
    "participant-id-present": "participant_id is not empty",
    "participant-id-unique": "each participant appears once in participants",
    "study-valid": "the study block of dataset.json names the outcome, its range, two arms and the baseline visit",
    "arm-known": "arm is one of the study's two arms (this trial: 'ketamine' or 'saline')",
    "covariate-type": "known covariates hold values of their type and range (empty = missing)",
    "measurement-participant-known": "every measurement belongs to a participant in participants",
    "visit-present": "visit and measure are not empty",
    "hours-number": "hours is a number within one year before to two years after the start of treatment",
    "baseline-present": "the study's baseline visit appears in the measurements",
    "baseline-before-infusion": "the study's baseline visit is at or before the infusion (hours <= 0), other visits after it",
    "visit-time-consistent": "the measures of one participant's visit lie within 12 hours of each other",
    "visit-order": "each participant's visits follow the order of the schedule (by median hours)",
    "measurement-unique": "one row per participant x visit x measure",
    "value-number": "value is a number, or empty when no sample was obtained",
    "outcome-range": "the outcome's values lie on its scale's range (this trial: MADRS, 0 to 60)",
    "concentration-positive": "assay concentrations are > 0 (a value at or under the limit is flagged below_lod)",
    "lod-positive": "lod, when given, is a number > 0",
    "below-lod-boolean": "below_lod is true/false (or 1/0, yes/no; empty = false)",
    "below-lod-needs-lod": "a row flagged below_lod gives its lod",
    "below-lod-value": "a row flagged below_lod has an empty value or a value at or under its lod",
    "value-under-lod-flagged": "a value under its lod is flagged below_lod",
    "depression-measure-present": "the measurements include the study's outcome (this trial: MADRS)",
    "measure-known": "when the study lists its markers, every measure is the outcome or one of them",
}


_RESERVED_CHARACTERS = set('"`|{}\n')  # they would break a caption, a table or a notebook's {{name}}
_THIS_TRIALS_WORDS = re.compile(r"(?<![\w-])(MADRS|ketamine|Ketamine|saline|Saline)(?![\w-])")


@dataclass(frozen=True)
class Study:
    """What the data call things: the outcome scale and its range, the two arms
    (treatment first, then the reference), and the pre-treatment visit. Read
    from the ``study`` block of ``dataset.json``; the defaults are this trial's.

    Inside the analyses the arms are two roles, named as this trial names them
    (``ketamine`` = treatment, ``saline`` = reference): :func:`load_dataset`
    puts the roles in ``participants.arm``, and estimand names such as
    ``coupling_within_ketamine`` are stable identifiers. The package's
    sentences, tables and figure labels are written in this trial's words, and
    :meth:`say` puts them in the data's (``reporting.speak_for``)."""

    outcome: str = DEPRESSION_MEASURE
    outcome_range: tuple[float, float] = MADRS_RANGE
    treatment: str = ARMS[0]
    reference: str = ARMS[1]
    baseline: str = BASELINE_VISIT
    outcome_title: str = "Montgomery-Åsberg Depression Rating Scale"
    units: tuple[tuple[str, str], ...] = ()  # (marker, unit) as listed in the block's ``markers``; () = not listed

    @property
    def arms(self) -> tuple[str, str]:
        """The data's arm labels, treatment first."""
        return (self.treatment, self.reference)

    def label(self, role: str) -> str:
        """The data's label of an arm role (``ketamine``/``saline``); other words unchanged."""
        return dict(zip(ARMS, self.arms, strict=True)).get(role, role)

    def role(self, label: str) -> str:
        """The role (``ketamine``/``saline``) of one of the data's arm labels."""
        return dict(zip(self.arms, ARMS, strict=True))[label]

    def say(self, text: str) -> str:
        """``text`` written in this trial's words (MADRS, ketamine, saline) in the data's: whole words only,
        so identifiers (``coupling_within_ketamine``, ``ketamine-nif``, ``ketamine_nif``) stay as they are."""
        if self == Study():
            return text
        words = {DEPRESSION_MEASURE: self.outcome, **dict(zip(ARMS, self.arms, strict=True)),
                 **{a.capitalize(): b[:1].upper() + b[1:] for a, b in zip(ARMS, self.arms, strict=True)}}
        return _THIS_TRIALS_WORDS.sub(lambda match: words[match.group(0)], text)

    def names(self) -> dict[str, str]:
        """The words notebooks' prose takes from the study (``{{outcome}}`` and so on; ``runner.fill_names``)."""
        words = {"outcome": self.outcome, "treatment": self.treatment, "reference": self.reference,
                 "baseline": self.baseline, "outcome_title": self.outcome_title}
        return {**words, **{k.capitalize(): v[:1].upper() + v[1:] for k, v in words.items() if k in ("treatment", "reference")}}

    @classmethod
    def from_metadata(cls, metadata: dict, label: str = METADATA_FILE) -> Study:
        """The ``study`` block of ``dataset.json`` (absent: this trial), or ContractError naming what is wrong::

            "study": {"outcome": {"name": "HAMD", "range": [0, 52], "title": "Hamilton Depression Rating Scale"},
                      "arms": {"treatment": "drug", "reference": "placebo"}, "baseline": "week0"}
        """
        block = metadata.get("study")
        if block is None:
            return cls()
        problems = []

        def bad(detail):
            problems.append(Problem(label, "study-valid", detail=detail))

        if not isinstance(block, dict):
            bad(f"'study' must be an object; found {block!r}")
            raise ContractError(problems)
        unknown = sorted(set(block) - {"outcome", "arms", "baseline", "markers"})
        if unknown:
            bad(f"unknown key(s) {', '.join(unknown)}; the study block knows outcome, arms, baseline and markers")
        markers = block.get("markers", {})
        if not isinstance(markers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in markers.items()):
            bad(f"markers must map each marker's name to its unit (text); found {markers!r}")
            markers = {}
        outcome = block.get("outcome", {})
        arms = block.get("arms", {})
        values = {}
        if not isinstance(outcome, dict) or not isinstance(arms, dict):
            bad("'outcome' and 'arms' must be objects")
            raise ContractError(problems)
        for key, given, known in (("outcome", outcome, {"name", "range", "title"}), ("arms", arms, {"treatment", "reference"})):
            if unknown := sorted(set(given) - known):
                bad(f"unknown key(s) {', '.join(unknown)} in '{key}'; it knows {', '.join(sorted(known))}")
        name = outcome.get("name", cls.outcome)
        for key, given in (("outcome", name), ("treatment", arms.get("treatment", cls.treatment)),
                           ("reference", arms.get("reference", cls.reference)), ("baseline", block.get("baseline", cls.baseline)),
                           ("outcome_title", outcome.get("title", cls.outcome_title if "name" not in outcome else name))):
            if not isinstance(given, str) or not given.strip():
                bad(f"{key} must be a non-empty text; found {given!r}")
            elif set(given) & _RESERVED_CHARACTERS:
                bad(f"{key} {given!r} holds a character the report cannot show as written "
                    f"({' '.join(sorted(set(given) & _RESERVED_CHARACTERS))})")
            values[key] = str(given).strip()
        span = outcome.get("range", list(cls.outcome_range) if "name" not in outcome else None)
        if (not isinstance(span, list | tuple) or len(span) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in span)
                or not span[0] < span[1]):
            bad(f"outcome range must be [lowest, highest] with lowest < highest; found {span!r}")
            span = (0.0, 1.0)
        if values.get("treatment") == values.get("reference"):
            bad(f"the two arms need different labels; both are {values['treatment']!r}")
        if problems:
            raise ContractError(problems)
        return cls(outcome_range=(float(span[0]), float(span[1])), units=tuple(markers.items()), **values)


@dataclass
class Problem:
    """One broken rule in one file, with the offending rows (CSV line numbers)."""

    file: str
    rule: str
    lines: list[int] = field(default_factory=list)
    detail: str = ""

    def __str__(self) -> str:
        where = ""
        if self.lines:
            shown = ", ".join(str(n) for n in self.lines[:8])
            more = f" and {len(self.lines) - 8} more" if len(self.lines) > 8 else ""
            where = f", line{'s' if len(self.lines) > 1 else ''} {shown}{more}"
        text = f"{self.file}{where}: rule '{self.rule}' ({RULES[self.rule]})"
        return text + (f": {self.detail}" if self.detail else "")


class ContractError(Exception):
    """The data do not follow the contract; the message lists every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [f"Data validation failed ({len(problems)} problem{'s' * (len(problems) != 1)}):"]
        lines += [f"  - {p}" for p in problems]
        lines.append("The data contract is described in data/README.md.")
        super().__init__("\n".join(lines))


@dataclass
class Dataset:
    """Validated, typed tables and what is known about where they came from."""

    participants: pd.DataFrame
    measurements: pd.DataFrame
    data_dir: Path
    files: dict[str, Path]
    metadata: dict
    study: Study = field(default_factory=Study)

    @property
    def synthetic(self) -> bool:
        return bool(self.metadata.get("synthetic", False))

    @property
    def markers(self) -> list[str]:
        """Assay measures (everything but the depression scale), in first-seen order."""
        measures = self.measurements["measure"].drop_duplicates()
        return [m for m in measures if m != self.study.outcome]

    @property
    def units(self) -> dict[str, str]:
        """Unit of each measure: the study's ``markers`` list, else the optional ``unit`` column ('' where not given)."""
        units = {}
        if "unit" in self.measurements.columns:
            units = {k: str(v) for k, v in self.measurements.groupby("measure", sort=False)["unit"].first().items()}
        return {**units, **dict(self.study.units)}

    @property
    def visits(self) -> list[str]:
        """Visit labels in schedule order (by median hours since infusion)."""
        return visit_order(self.measurements)

    def data_hash(self) -> str:
        """Of the tables, and of ``dataset.json`` when there is one (it names the study's outcome, arms and baseline)."""
        metadata = self.data_dir / METADATA_FILE
        return hash_files([*self.files.values(), *([metadata] if metadata.exists() else [])])


def hash_files(paths) -> str:
    """SHA-256 over the bytes of the given files, in name order (first 16 hex digits)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def table_path(data_dir: Path, name: str) -> Path | None:
    for suffix in (".csv", ".parquet"):
        path = data_dir / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def _line_numbers(index) -> list[int]:
    # data row i (0-based) is line i + 2 of a CSV with one header line
    return [int(i) + 2 for i in index]


def read_table(data_dir: Path, name: str, required: tuple[str, ...]) -> tuple[pd.DataFrame, Path]:
    """Read one table as text columns, or raise ContractError naming what is wrong."""
    path = table_path(data_dir, name)
    if path is None:
        raise ContractError([Problem(f"{data_dir}/{name}.csv", "file-present", detail="file not found")])
    label = str(path)
    if path.stat().st_size == 0:
        raise ContractError([Problem(label, "file-not-empty", detail="the file is empty")])
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path).astype("string").fillna("")
        except Exception as exc:  # noqa: BLE001 - any reader failure is a contract problem
            raise ContractError([Problem(label, "file-readable", detail=f"not a Parquet file ({exc})")]) from None
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            hint = " (it looks like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
            raise ContractError(
                [Problem(label, "file-readable", detail=f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at position {exc.start}{hint}; save it as UTF-8")]
            ) from None
        header = text.splitlines()[0] if text.strip() else ""
        if "," not in header:
            for sep, sep_name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
                if sep in header:
                    raise ContractError(
                        [Problem(label, "file-readable", [1], f"the header is separated by {sep_name}; the contract asks for commas")]
                    )
        try:
            from io import StringIO

            frame = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise ContractError([Problem(label, "file-not-empty", detail="the file has no header")]) from None
        except pd.errors.ParserError as exc:
            raise ContractError([Problem(label, "file-readable", detail=f"malformed CSV: {exc}")]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ContractError(
            [Problem(label, "required-columns", [1], f"missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")]
        )
    if frame.empty:
        raise ContractError([Problem(label, "file-not-empty", detail="the header has no rows under it")])
    return frame.apply(lambda col: col.str.strip()), path


_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n", ""}


def _to_boolean(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse booleans; returns (values, bad mask)."""
    lowered = text.str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    return lowered.isin(_TRUE), bad


def _to_number(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse numbers; empty -> NaN. Returns (values, bad mask)."""
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & (values.isna() | ~np.isfinite(values.fillna(0.0)))
    return values.astype(float), bad


def _check(problems: list[Problem], label: str, rule: str, mask: pd.Series, detail: str = "") -> None:
    if mask.any():
        problems.append(Problem(label, rule, _line_numbers(mask[mask].index), detail))


def validate_participants(frame: pd.DataFrame, label: str, study: Study | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    study = study or Study()
    problems: list[Problem] = []
    out = frame.copy()
    _check(problems, label, "participant-id-present", frame["participant_id"] == "")
    dup = frame["participant_id"].duplicated(keep=False) & (frame["participant_id"] != "")
    _check(problems, label, "participant-id-unique", dup, "ids " + ", ".join(sorted(set(frame.loc[dup, "participant_id"]))[:5]))
    bad_arm = ~frame["arm"].isin(study.arms)
    _check(problems, label, "arm-known", bad_arm, f"the study's arms are {study.treatment!r} (treatment) and {study.reference!r} "
           "(reference); found " + ", ".join(repr(a) for a in sorted(set(frame.loc[bad_arm, "arm"]))[:5]))
    for name, (kind, spec) in COVARIATES.items():
        if name not in frame.columns:
            continue
        text = frame[name]
        if kind == "boolean":
            values, bad = _to_boolean(text)
            out[name] = values.astype("boolean").mask(text == "")
        elif kind == "category":
            bad = (text != "") & ~text.isin(spec)
            out[name] = text.where(text != "")
        else:
            values, bad = _to_number(text)
            low, high = spec
            bad |= values.notna() & ((values < low) | (values > high))
            if kind == "integer":
                bad |= values.notna() & (values != values.round())
            out[name] = values
        allowed = "true/false" if kind == "boolean" else (" or ".join(spec) if kind == "category" else f"{kind} in [{spec[0]:g}, {spec[1]:g}]")
        _check(problems, label, "covariate-type", bad, f"column {name} must be {allowed}; found {', '.join(repr(v) for v in sorted(set(text[bad]))[:3])}")
    return out, problems


def visit_order(measurements: pd.DataFrame) -> list[str]:
    """Visit labels ordered by their median hours since infusion."""
    medians = measurements.groupby("visit", sort=False)["hours"].median()
    return list(medians.sort_values(kind="stable").index)


def _named(frame: pd.DataFrame, mask: pd.Series, *fields: str, limit: int = 3) -> str:
    """The first rows of ``mask`` as "P001 MADRS at visit 'day3' (hours 72): value '75'", naming the
    participant, measure, visit and hours of each, then ``fields`` as written in the file."""
    rows = frame[mask]
    items = []
    for _, row in rows.head(limit).iterrows():
        shown = ", ".join(f"{f} {row[f]!r}" for f in fields)
        items.append(f"{row['participant_id']} {row['measure']} at visit {row['visit']!r} (hours {row['hours']})"
                     + (f": {shown}" if shown else ""))
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(items) + more


def _pairs_mask(timed: pd.DataFrame, pairs: set) -> pd.Series:
    """Rows of ``timed`` whose (participant, visit) is one of ``pairs``."""
    return pd.Series([(p, v) in pairs for p, v in zip(timed["participant_id"], timed["visit"], strict=True)], index=timed.index)


def validate_measurements(frame: pd.DataFrame, label: str, participant_ids: set[str],
                          study: Study | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    study = study or Study()
    problems: list[Problem] = []
    out = frame.copy()
    unknown = ~frame["participant_id"].isin(participant_ids)
    _check(problems, label, "measurement-participant-known", unknown, "ids " + ", ".join(sorted(set(frame.loc[unknown, "participant_id"]))[:5]))
    _check(problems, label, "visit-present", (frame["visit"] == "") | (frame["measure"] == ""))

    hours, bad_hours = _to_number(frame["hours"])
    bad_hours |= hours.isna() | (hours < HOURS_RANGE[0]) | (hours > HOURS_RANGE[1])
    _check(problems, label, "hours-number", bad_hours, f"found {_named(frame, bad_hours)}")
    is_baseline = frame["visit"] == study.baseline
    if not is_baseline.any():
        found = ", ".join(repr(v) for v in frame["visit"].drop_duplicates().head(8))
        problems.append(Problem(label, "baseline-present", detail=f"no rows at visit {study.baseline!r} (the study's baseline); "
                                                                  f"the visits are {found}"))
    wrong_side = ~bad_hours & ((is_baseline & (hours > 0)) | (~is_baseline & (hours <= 0)))
    _check(problems, label, "baseline-before-infusion", wrong_side,
           f"visit {study.baseline!r} (the study's baseline) must be at hours <= 0 and every other visit at hours > 0; "
           f"found {_named(frame, wrong_side)}")

    value, bad_value = _to_number(frame["value"])
    _check(problems, label, "value-number", bad_value, f"found {_named(frame, bad_value, 'value')}")
    lod, bad_lod = _to_number(frame["lod"])
    bad_lod |= lod.notna() & (lod <= 0)
    _check(problems, label, "lod-positive", bad_lod, f"found {_named(frame, bad_lod, 'lod')}")
    below, bad_below = _to_boolean(frame["below_lod"])
    _check(problems, label, "below-lod-boolean", bad_below, f"found {_named(frame, bad_below, 'below_lod')}")

    is_scale = frame["measure"] == study.outcome
    low, high = study.outcome_range
    out_of_range = is_scale & value.notna() & ((value < low) | (value > high))
    _check(problems, label, "outcome-range", out_of_range,
           f"{study.outcome} lies between {low:g} and {high:g}; found {_named(frame, out_of_range, 'value')}")
    not_positive = ~is_scale & value.notna() & (value <= 0) & ~below
    _check(problems, label, "concentration-positive", not_positive,
           f"every measure but the outcome ({study.outcome}) is taken for an assay; found {_named(frame, not_positive, 'value')}")
    for rule, mask in (("below-lod-needs-lod", below & lod.isna()),
                       ("below-lod-value", below & value.notna() & lod.notna() & (value > lod)),
                       ("value-under-lod-flagged", ~below & value.notna() & lod.notna() & (value < lod))):
        _check(problems, label, rule, mask, f"found {_named(frame, mask, 'value', 'lod', 'below_lod')}")

    keys = ["participant_id", "visit", "measure"]
    dup = frame.duplicated(keys, keep=False)
    _check(problems, label, "measurement-unique", dup, f"found {_named(frame, dup)}")
    if study.units:
        listed = [name for name, _ in study.units]
        unlisted = ~is_scale & ~frame["measure"].isin(listed)
        _check(problems, label, "measure-known", unlisted,
               f"the study lists the markers {', '.join(listed)}; found the measure(s) "
               f"{', '.join(repr(m) for m in frame.loc[unlisted, 'measure'].drop_duplicates())}, first {_named(frame, unlisted, limit=1)}")
    if not is_scale.any():
        found = ", ".join(repr(m) for m in frame["measure"].drop_duplicates().head(8))
        problems.append(Problem(label, "depression-measure-present",
                                detail=f"no rows with measure {study.outcome!r} (the study's outcome); the measures are {found}"))

    out["hours"], out["value"], out["lod"], out["below_lod"] = hours, value, lod, below
    timed = out[~bad_hours]
    if not timed.empty:
        span = timed.groupby(["participant_id", "visit"], sort=False)["hours"].agg(["min", "max"])
        wide = span[span["max"] - span["min"] > VISIT_TIME_SPREAD_HOURS]
        if not wide.empty:
            _check(problems, label, "visit-time-consistent", _pairs_mask(timed, set(wide.index)),
                   f"a visit's measures span more than {VISIT_TIME_SPREAD_HOURS:g} hours: " + "; ".join(
                       f"{pid} visit {visit!r} from hours {lo:g} to {hi:g}" for (pid, visit), (lo, hi) in list(wide.iterrows())[:3]))
        order = {v: i for i, v in enumerate(visit_order(timed))}
        per_visit = timed.groupby(["participant_id", "visit"], sort=False)["hours"].median().reset_index()
        per_visit["rank"] = per_visit["visit"].map(order)
        per_visit = per_visit.sort_values(["participant_id", "hours"], kind="stable")
        before = per_visit.groupby("participant_id")[["visit", "hours"]].shift()
        out_of_order = per_visit.groupby("participant_id")["rank"].transform(lambda r: r.diff().fillna(1) <= 0)
        if out_of_order.any():
            bad = per_visit[out_of_order].join(before.add_suffix("_before"))
            _check(problems, label, "visit-order", _pairs_mask(timed, set(zip(bad["participant_id"], bad["visit"], strict=True))),
                   "; ".join(f"{r.participant_id} visit {r.visit!r} at hours {r.hours:g} comes after visit {r.visit_before!r} "
                             f"at hours {r.hours_before:g}, which the schedule puts later" for r in bad.head(3).itertuples()))
    return out, problems


def read_metadata(data_dir: Path) -> dict:
    """``dataset.json`` (optional): provenance, whether the data are synthetic, and the study's names (``Study``)."""
    path = data_dir / METADATA_FILE
    if not path.exists():
        return {"synthetic": False}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ContractError([Problem(str(path), "file-readable", detail=f"not valid JSON ({exc})")]) from None
    if not isinstance(metadata, dict):
        raise ContractError([Problem(str(path), "file-readable", detail=f"must hold a JSON object; found {type(metadata).__name__}")])
    return metadata


def load_dataset(data_dir: str | Path) -> Dataset:
    """Read and validate a data directory; raise ContractError listing every problem."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ContractError([Problem(str(data_dir), "file-present", detail="no such data directory")])
    metadata = read_metadata(data_dir)
    study = Study.from_metadata(metadata, str(data_dir / METADATA_FILE))
    participants_raw, participants_path = read_table(data_dir, "participants", PARTICIPANT_COLUMNS)
    measurements_raw, measurements_path = read_table(data_dir, "measurements", MEASUREMENT_COLUMNS)
    participants, problems = validate_participants(participants_raw, str(participants_path), study)
    ids = set(participants_raw["participant_id"]) - {""}
    measurements, more = validate_measurements(measurements_raw, str(measurements_path), ids, study)
    problems += more
    if problems:
        raise ContractError(problems)
    files = {"participants": participants_path, "measurements": measurements_path}
    participants["arm"] = participants["arm"].map(study.role)  # the analyses' roles (Study)
    return Dataset(participants, measurements, data_dir, files, metadata, study)


def validation_summary(dataset: Dataset) -> pd.DataFrame:
    """What was read and what it holds; nothing is dropped, so rows in = rows kept."""
    m, p = dataset.measurements, dataset.participants
    measured_ids = set(m["participant_id"])
    rows = [
        ("participants", len(p), "rows read, all kept"),
        ("participants without any measurement", int((~p["participant_id"].isin(measured_ids)).sum()), "kept; they inform nothing"),
        ("measurement rows", len(m), "rows read, all kept"),
        ("rows without a value (sample not obtained)", int((m["value"].isna() & ~m["below_lod"]).sum()), "kept as missing"),
        ("assay rows below the limit of detection", int(m["below_lod"].sum()), "kept, treated as censored"),
        ("rules checked", len(RULES), "all passed"),
    ]
    return pd.DataFrame(rows, columns=["item", "count", "handling"])
