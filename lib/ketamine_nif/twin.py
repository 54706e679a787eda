"""The synthetic twin: a dataset with the trial's design, generated from a scenario.

A scenario (YAML, in ``scenarios/`` or any path) sets the design, the assumed
schedule, missingness, covariates, the MADRS course, the NIF panel and any
planted effects. :func:`simulate` turns a scenario and a seed into the two
contract tables and ``truth``: the value of every estimand, keyed like the
estimates the analyses write (see :mod:`ketamine_nif.estimands`). The same seed
gives byte-identical files.

Generative model, per participant i, marker m, visit t (log scale for NIFs):

* stable level ``u_im = sqrt(icc) * log_sd * (r * z_bmi_i + sqrt(1 - r^2) * e)``
* occasion value ``log x_imt = log gm_m + u_im + eps_imt + [ketamine] log ratio_m(t)``
  with ``eps ~ N(0, (1 - icc) log_sd^2)``; with ``marker_correlation`` the
  markers' ``e`` are correlated between people and their ``eps`` within a person
* the reading ``log r_imt = log x_imt + a_imt``, ``a ~ N(0, log(1 + cv_m^2))``
  for a marker with ``assay_cv`` (else 0; a random stream of its own); readings
  under the lod are reported as censored (``below_lod``, value empty)
* MADRS ``y_it = B_i + saline_change(t) + [ketamine] diff(t) + c_i + e_it
  + gamma_m,arm * (log2 x_imt - log2 x_im0) + [ketamine] delta_m(t) * z_im0``,
  rounded and kept within 0..60; ``+ training(t)`` for participants with
  active training where the scenario gives ``madrs.training_change``.
* attendance (:func:`attendance`): dropout, permanent, with a chance that may
  follow the last observed MADRS rating (missing at random) or the unobserved
  one (not at random); missed single visits and blood not obtained at random.
* subgroup couplings (``effects.subgroup_coupling``): gamma_m,arm is added only
  for participants whose covariate (BMI) lies below a threshold; the truth then
  also carries the couplings in the two subgroups, their difference, and the
  population-average coupling in the ``all`` rows.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import __version__
from .contract import BASELINE_VISIT, DEPRESSION_MEASURE, MEASUREMENT_COLUMNS
from .estimands import (
    ALL_PARTICIPANTS,
    ALL_VISITS,
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    KEY_COLUMNS,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
    SUBGROUP_COUPLING_DIFFERENCE,
    split_key,
)
from .paths import SCENARIOS

DEFAULT_SCENARIO = "paper-null"
DEFAULT_SEED = 20250404


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says why."""


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def _deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and value:
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_scenario(name_or_path: str | Path, overrides: dict | None = None) -> dict:
    """A scenario by name (a file in the package's ``scenarios/``) or by path,
    with ``extends`` resolved and optional ``overrides`` merged on top."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIOS / f"{name_or_path}.yaml"
    if not path.exists():
        raise ScenarioError(
            f"unknown scenario {str(name_or_path)!r}; choose one of {', '.join(available_scenarios())} "
            "or give the path of a scenario YAML file"
        )
    try:
        scenario = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from None
    if "extends" in scenario:
        parent_name = scenario.pop("extends")
        beside = path.parent / f"{parent_name}.yaml"
        parent = load_scenario(beside if beside.exists() else parent_name)
        scenario = _deep_merge(parent, scenario)
    if overrides:
        scenario = _deep_merge(scenario, overrides)
    _check_scenario(scenario, path)
    return scenario


def _check_scenario(s: dict, path: Path) -> None:
    required = ("name", "design", "schedule", "missingness", "covariates", "madrs", "markers", "effects")
    missing = [k for k in required if k not in s]
    if missing:
        raise ScenarioError(f"{path}: missing section(s) {', '.join(missing)}")
    visits = [v["visit"] for v in s["schedule"]]
    if not visits or visits[0] != BASELINE_VISIT:
        raise ScenarioError(f"{path}: the schedule must start with the '{BASELINE_VISIT}' visit")
    post = set(visits[1:])
    for section in ("saline_change", "ketamine_minus_saline"):
        if set(s["madrs"][section]) != post:
            raise ScenarioError(f"{path}: madrs.{section} must give one value per post-infusion visit {sorted(post)}")
    if not set(s["madrs"].get("training_change") or {}) <= post:
        raise ScenarioError(f"{path}: madrs.training_change may give values for the post-infusion visits {sorted(post)} only")
    for key in ("dropout_madrs", "dropout_unobserved"):
        if not isinstance(s["missingness"].get(key, 0.0) or 0.0, int | float):
            raise ScenarioError(f"{path}: missingness.{key} must be a number (log-odds of dropout per 10 MADRS points)")
    for kind in ("nif_change_ratio", "coupling_within", "baseline_moderation"):
        for marker in s["effects"].get(kind) or {}:
            if marker not in s["markers"]:
                raise ScenarioError(f"{path}: effects.{kind} names {marker!r}, which is not in the marker panel")
    for i, spec in enumerate(s["effects"].get("subgroup_coupling") or [], start=1):
        if spec.get("marker") not in s["markers"]:
            raise ScenarioError(f"{path}: effects.subgroup_coupling {i} names {spec.get('marker')!r}, which is not in the marker panel")
        if spec.get("covariate") not in SUBGROUP_COVARIATES or "below" not in spec or len(spec.get("labels", [])) != 2:
            raise ScenarioError(f"{path}: effects.subgroup_coupling {i} needs covariate (one of {', '.join(SUBGROUP_COVARIATES)}), "
                                "below (the threshold) and two labels")
    for marker, spec in s["markers"].items():
        if not 0 < spec["icc"] < 1:
            raise ScenarioError(f"{path}: markers.{marker}.icc must lie strictly between 0 and 1")
        if not 0 <= float(spec.get("assay_cv") or 0.0) < 1:
            raise ScenarioError(f"{path}: markers.{marker}.assay_cv must lie in [0, 1) (a coefficient of variation, e.g. 0.1)")
    for i, pair in enumerate(s.get("marker_correlation") or [], start=1):
        named = pair.get("markers") or []
        if len(named) != 2 or len(set(named)) != 2 or any(m not in s["markers"] for m in named):
            raise ScenarioError(f"{path}: marker_correlation {i} must name two different markers of the panel")
        if any(not -1 < float(pair.get(level, 0.0)) < 1 for level in ("between", "within")):
            raise ScenarioError(f"{path}: marker_correlation {i}: between and within must lie strictly between -1 and 1")
    matrices = correlation_matrices(s)
    if matrices is not None and any(np.linalg.eigvalsh(m)[0] <= 0 for m in matrices):
        raise ScenarioError(f"{path}: marker_correlation gives a correlation matrix that is not positive definite")


@dataclass
class Twin:
    participants: pd.DataFrame
    measurements: pd.DataFrame
    truth: pd.DataFrame
    metadata: dict
    scenario: dict

    def write(self, out_dir: str | Path) -> Path:
        """Write the contract tables, ``truth.csv``, ``dataset.json`` and the
        resolved ``scenario.yaml`` into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.participants.to_csv(out / "participants.csv", index=False, lineterminator="\n")
        self.measurements.to_csv(out / "measurements.csv", index=False, lineterminator="\n")
        self.truth.to_csv(out / "truth.csv", index=False, lineterminator="\n", float_format="%.6g")
        (out / "dataset.json").write_text(json.dumps(self.metadata, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        (out / "scenario.yaml").write_text(yaml.safe_dump(self.scenario, sort_keys=False), encoding="utf-8")
        return out


def _truncated_normal(rng, mean, sd, low, high, size):
    values = rng.normal(mean, sd, size)
    bad = (values < low) | (values > high)
    while bad.any():
        values[bad] = rng.normal(mean, sd, bad.sum())
        bad = (values < low) | (values > high)
    return values


def _covariates(rng, s: dict, arms: np.ndarray) -> pd.DataFrame:
    c, n = s["covariates"], len(arms)
    age = np.round(_truncated_normal(rng, c["age"]["mean"], c["age"]["sd"], c["age"]["min"], c["age"]["max"], n))
    bmi = np.clip(np.round(np.exp(rng.normal(math.log(c["bmi"]["median"]), c["bmi"]["log_sd"], n)), 1), 16.0, 55.0)
    # failed trials: 1 + negative binomial with the trial's mean and SD
    mean_extra, var = c["failed_trials"]["mean"] - 1.0, c["failed_trials"]["sd"] ** 2
    r = mean_extra**2 / max(var - mean_extra, 1e-6)
    failed = 1 + rng.negative_binomial(r, r / (r + mean_extra), n)
    ketamine = arms == "ketamine"
    training = np.where(ketamine & (rng.random(n) >= s["design"]["ketamine_asat_share"]), "sham", "asat")

    def share(key):
        return np.where(rng.random(n) < c[f"{key}_share"], "true", "false")

    return pd.DataFrame(
        {
            "age": age.astype(int),
            "sex": np.where(rng.random(n) < c["female_share"], "female", "male"),
            "bmi": bmi,
            "training": training,
            "failed_trials": failed.astype(int),
            "antidepressant": share("antidepressant"),
            "psychotropic": share("psychotropic"),
            "anxiety": share("anxiety"),
            "smoker": share("smoker"),
            "benzodiazepine": share("benzodiazepine"),
            "early_onset": share("early_onset"),
            "chronic_episode": share("chronic_episode"),
        }
    )


def truth_table(s: dict) -> pd.DataFrame:
    """The population value of every estimand under scenario ``s``."""
    post = [v["visit"] for v in s["schedule"][1:]]
    effects = s["effects"]
    ratios = effects.get("nif_change_ratio") or {}
    couplings = _average_couplings(s)
    moderation = effects.get("baseline_moderation") or {}
    rows = []
    for visit in post:
        # the direct effect, plus what planted couplings carry from planted NIF changes
        carried = sum(
            (couplings.get(m, {}).get("ketamine", 0.0)) * math.log2(ratios.get(m, {}).get(visit, 1.0))
            for m in s["markers"]
        )
        # active training: every saline participant, a share of the ketamine arm (the arms' contrast carries the imbalance)
        training = (s["design"]["ketamine_asat_share"] - 1.0) * float((s["madrs"].get("training_change") or {}).get(visit, 0.0))
        rows.append((MADRS_CHANGE_DIFFERENCE, DEPRESSION_MEASURE, visit,
                     s["madrs"]["ketamine_minus_saline"][visit] + carried + training))
    for marker in s["markers"]:
        for visit in post:
            rows.append((NIF_CHANGE_RATIO, marker, visit, float(ratios.get(marker, {}).get(visit, 1.0))))
        gamma = {arm: float(couplings.get(marker, {}).get(arm, 0.0)) for arm in ("ketamine", "saline")}
        gamma["difference"] = gamma["ketamine"] - gamma["saline"]
        for arm, name in COUPLING_WITHIN.items():
            rows.append((name, marker, ALL_VISITS, gamma[arm]))
        for visit in post:
            rows.append((BASELINE_MODERATION_DIFFERENCE, marker, visit, float(moderation.get(marker, {}).get(visit, 0.0))))
    truth = pd.DataFrame(rows, columns=["estimand", "marker", "visit", "value"])
    truth.insert(3, "subgroup", ALL_PARTICIPANTS)
    subgroup = _subgroup_truth(s)
    if subgroup is not None:
        truth = _add_subgroup_truth(truth, subgroup)
    return truth[[*KEY_COLUMNS, "value"]]


# covariates a subgroup coupling may be planted on, and the population share below a threshold
SUBGROUP_COVARIATES = ("bmi",)


def _share_below(s: dict, covariate: str, threshold: float) -> float:
    """Population share of participants with the covariate below ``threshold``
    (BMI: log-normal, recorded to 0.1)."""
    c = s["covariates"]["bmi"]
    return float(0.5 * math.erfc(-(math.log(threshold - 0.05) - math.log(c["median"])) / (c["log_sd"] * math.sqrt(2))))


def _subgroup_truth(s: dict) -> list[tuple] | None:
    """(estimand, marker, visit, subgroup, value) rows of the planted subgroup
    couplings: each arm's coupling in both subgroups of each planted split, and
    the first minus the second subgroup's coupling per arm."""
    planted = s["effects"].get("subgroup_coupling") or []
    if not planted:
        return None
    base = s["effects"].get("coupling_within") or {}
    rows = []
    for spec in planted:
        first, second = spec["labels"]
        for marker in s["markers"]:
            gamma = {arm: float(base.get(marker, {}).get(arm, 0.0)) for arm in ("ketamine", "saline")}
            extra = {arm: sum(float(p.get(arm, 0.0)) for p in planted if p["marker"] == marker and p["labels"] == spec["labels"])
                     for arm in ("ketamine", "saline")}
            for label, add in ((first, 1.0), (second, 0.0)):
                values = {arm: gamma[arm] + add * extra[arm] for arm in gamma}
                values["difference"] = values["ketamine"] - values["saline"]
                rows += [(COUPLING_WITHIN[arm], marker, ALL_VISITS, label, values[arm]) for arm in COUPLING_WITHIN]
            rows += [(SUBGROUP_COUPLING_DIFFERENCE[arm], marker, ALL_VISITS, split_key(spec["labels"]), extra[arm])
                     for arm in SUBGROUP_COUPLING_DIFFERENCE]
    return rows


def _add_subgroup_truth(truth: pd.DataFrame, rows: list[tuple]) -> pd.DataFrame:
    s_rows = pd.DataFrame(rows, columns=[*KEY_COLUMNS, "value"]).drop_duplicates(list(KEY_COLUMNS))
    return pd.concat([truth, s_rows], ignore_index=True)


def _average_couplings(s: dict) -> dict:
    """Population-average coupling per marker and arm: the planted overall
    coupling plus each planted subgroup coupling times its subgroup's share."""
    couplings = s["effects"].get("coupling_within") or {}
    planted = s["effects"].get("subgroup_coupling") or []
    if not planted:
        return couplings
    couplings = copy.deepcopy(couplings)
    for spec in planted:
        share = _share_below(s, spec["covariate"], float(spec["below"]))
        entry = couplings.setdefault(spec["marker"], {})
        for arm in ("ketamine", "saline"):
            entry[arm] = float(entry.get(arm, 0.0)) + share * float(spec.get(arm, 0.0))
    return couplings


def correlation_matrices(s: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The correlations between markers of a scenario's ``marker_correlation``
    (None without one): of people's stable levels (``between``, the part not
    tied to BMI) and of a visit's deviations from them (``within``), in the
    order of the marker panel; markers not named are uncorrelated."""
    pairs = s.get("marker_correlation") or []
    if not pairs:
        return None
    markers = list(s["markers"])
    matrices = np.eye(len(markers)), np.eye(len(markers))
    for pair in pairs:
        j, k = (markers.index(m) for m in pair["markers"])
        for matrix, level in zip(matrices, ("between", "within"), strict=True):
            matrix[j, k] = matrix[k, j] = float(pair.get(level, 0.0))
    return matrices


def _correlated_normals(rng, s: dict, n: int, n_visits: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Standard normals for the markers' stable levels (n x markers) and
    occasion deviations (n x visits x markers), correlated across markers as
    the scenario says; None (the markers' own draws, one after the other,
    as before correlations existed) without ``marker_correlation``."""
    matrices = correlation_matrices(s)
    if matrices is None:
        return None
    between, within = (np.linalg.cholesky(m) for m in matrices)
    m = len(s["markers"])
    return rng.normal(0.0, 1.0, (n, m)) @ between.T, rng.normal(0.0, 1.0, (n, n_visits, m)) @ within.T


def assay_sd(cv: float) -> float:
    """The SD on the log scale of a multiplicative assay error with
    coefficient of variation ``cv`` (log-normal: sqrt(log(1 + cv^2)))."""
    return math.sqrt(math.log1p(cv**2))


def _assay(s: dict, log_nif: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """What the laboratory reads: each sample's true log value plus the
    marker's assay error (``assay_cv``, 0 if absent), drawn from a stream of
    its own so that a twin with and without assay error share everything
    else; the detection limit applies to the reading."""
    rng = np.random.default_rng([seed, 1])
    return {marker: values + rng.normal(0.0, assay_sd(float(s["markers"][marker].get("assay_cv") or 0.0)), values.shape)
            for marker, values in log_nif.items()}


def attendance(miss: dict, ratings: np.ndarray, leave: np.ndarray, skip: np.ndarray, centre: float) -> np.ndarray:
    """Who attends each visit (participants x visits; baseline always).
    Dropout is permanent: before visit t a participant still in the study
    leaves when ``leave[:, t]`` falls under the dropout chance, whose log-odds
    are those of ``dropout_per_visit`` plus ``dropout_madrs`` per 10 MADRS
    points of their last observed rating above ``centre`` (the baseline mean;
    missing at random) plus ``dropout_unobserved`` per 10 points of the
    rating they would have had at visit t above that visit's mean rating
    (missing not at random: those who would have rated worse than others
    leave more often, and dropout overall stays near ``dropout_per_visit``,
    where centring on the baseline would lower it as ratings fall after the
    infusion). A missed visit (``skip`` under ``missed_visit``) is not dropout."""
    n, visits = ratings.shape
    p0, mar, mnar = (float(miss.get(k) or 0.0) for k in ("dropout_per_visit", "dropout_madrs", "dropout_unobserved"))
    attended, dropped, last = np.ones((n, visits), dtype=bool), np.zeros(n, dtype=bool), ratings[:, 0].astype(float)
    for t in range(1, visits):
        chance = p0
        if (mar or mnar) and 0 < p0 < 1:
            log_odds = math.log(p0 / (1 - p0)) + (mar * (last - centre) + mnar * (ratings[:, t] - ratings[:, t].mean())) / 10
            chance = 1 / (1 + np.exp(-log_odds))
        dropped |= leave[:, t] < chance
        attended[:, t] = ~dropped & (skip[:, t] >= miss["missed_visit"])
        last = np.where(attended[:, t], ratings[:, t], last)
    return attended


def simulate(scenario: str | Path | dict = DEFAULT_SCENARIO, seed: int = DEFAULT_SEED) -> Twin:
    """Generate the twin for a scenario (name, path or loaded dict) and seed."""
    s = scenario if isinstance(scenario, dict) else load_scenario(scenario)
    rng = np.random.default_rng(seed)
    design, miss, madrs = s["design"], s["missingness"], s["madrs"]
    n_k, n_s = int(design["n_ketamine"]), int(design["n_saline"])
    n = n_k + n_s
    arms = rng.permutation(np.array(["ketamine"] * n_k + ["saline"] * n_s))
    ids = np.array([f"P{i + 1:03d}" for i in range(n)])
    covariates = _covariates(rng, s, arms)
    participants = pd.concat([pd.DataFrame({"participant_id": ids, "arm": arms}), covariates], axis=1)
    ketamine = arms == "ketamine"

    schedule = s["schedule"]
    visits = [v["visit"] for v in schedule]
    n_visits = len(visits)
    # attendance, decided once the ratings exist (dropout may depend on them): the draws come first
    leave, skip = np.zeros((n, n_visits)), np.zeros((n, n_visits))
    for t in range(1, n_visits):
        leave[:, t], skip[:, t] = rng.random(n), rng.random(n)
    no_blood = rng.random((n, n_visits)) < miss["blood_not_obtained"]
    nominal = np.array([v["hours"] for v in schedule])
    jitter = np.array([v["jitter_hours"] for v in schedule])
    hours = nominal + rng.normal(0.0, 1.0, (n, n_visits)) * jitter
    hours[:, 0] = np.minimum(hours[:, 0], -0.1)
    hours[:, 1:] = np.maximum(hours[:, 1:], 1.0)
    madrs_hours = hours + rng.uniform(-0.5, 0.5, (n, n_visits))
    madrs_hours[:, 0] = np.minimum(madrs_hours[:, 0], -0.05)

    # NIFs on the log scale, for every occasion (also unobserved ones: MADRS depends on them)
    z_bmi = (np.log(participants["bmi"].to_numpy()) - math.log(s["covariates"]["bmi"]["median"])) / s["covariates"]["bmi"]["log_sd"]
    ratios = s["effects"].get("nif_change_ratio") or {}
    log_nif = {}
    correlated = _correlated_normals(rng, s, n, n_visits)
    for j, (marker, spec) in enumerate(s["markers"].items()):
        r = float(spec.get("bmi_correlation", 0.0))
        stable_sd = math.sqrt(spec["icc"]) * spec["log_sd"]
        occasion_sd = math.sqrt(1 - spec["icc"]) * spec["log_sd"]
        if correlated is None:  # each marker's own draws, in the order of the twins made before correlations
            e = rng.normal(0.0, 1.0, n)
            eps = rng.normal(0.0, occasion_sd, (n, n_visits))
        else:
            e, eps = correlated[0][:, j], occasion_sd * correlated[1][:, :, j]
        u = stable_sd * (r * z_bmi + math.sqrt(1 - r**2) * e)
        effect = np.array([0.0] + [math.log(ratios.get(marker, {}).get(v, 1.0)) for v in visits[1:]])
        log_nif[marker] = math.log(spec["geometric_mean"]) + u[:, None] + eps + ketamine[:, None] * effect
    measured = _assay(s, log_nif, seed)

    # MADRS
    base = np.clip(np.round(rng.normal(madrs["baseline"]["mean"], madrs["baseline"]["sd"], n)), 0, 60)
    change = np.array([madrs["saline_change"][v] + 0.0 for v in visits[1:]])
    diff = np.array([madrs["ketamine_minus_saline"][v] + 0.0 for v in visits[1:]])
    person = rng.normal(0.0, madrs["person_change_sd"], n)
    noise = rng.normal(0.0, madrs["residual_sd"], (n, n_visits - 1))
    mean_post = base[:, None] + change + ketamine[:, None] * diff + person[:, None] + noise
    for marker, gamma in (s["effects"].get("coupling_within") or {}).items():
        slope = np.where(ketamine, gamma.get("ketamine", 0.0), gamma.get("saline", 0.0))
        within = (log_nif[marker][:, 1:] - log_nif[marker][:, :1]) / math.log(2)
        mean_post += slope[:, None] * within
    for spec in s["effects"].get("subgroup_coupling") or []:
        member = participants[spec["covariate"]].to_numpy() < float(spec["below"])
        slope = member * np.where(ketamine, spec.get("ketamine", 0.0), spec.get("saline", 0.0))
        within = (log_nif[spec["marker"]][:, 1:] - log_nif[spec["marker"]][:, :1]) / math.log(2)
        mean_post += slope[:, None] * within
    for marker, delta in (s["effects"].get("baseline_moderation") or {}).items():
        spec = s["markers"][marker]
        z0 = (log_nif[marker][:, 0] - math.log(spec["geometric_mean"])) / spec["log_sd"]
        mean_post += ketamine[:, None] * np.array([delta.get(v, 0.0) for v in visits[1:]]) * z0[:, None]
    training = madrs.get("training_change") or {}
    if training:  # active training (ASAT) helps a little from the first post-infusion visit
        asat = participants["training"].to_numpy() == "asat"
        mean_post += asat[:, None] * np.array([float(training.get(v, 0.0)) for v in visits[1:]])
    madrs_values = np.column_stack([base, np.clip(np.round(mean_post), 0, 60)])
    attended = attendance(miss, madrs_values, leave, skip, float(madrs["baseline"]["mean"]))
    blood = attended & ~no_blood

    rows = []
    markers = list(s["markers"])
    for i in range(n):
        for t, visit in enumerate(visits):
            if not attended[i, t]:
                continue
            rows.append((ids[i], visit, f"{madrs_hours[i, t]:.2f}", DEPRESSION_MEASURE, f"{madrs_values[i, t]:.0f}", "", "false", "points"))
            if not blood[i, t]:
                continue
            for marker in markers:
                lod = s["markers"][marker].get("lod")
                value = math.exp(measured[marker][i, t])
                below = lod is not None and value < lod
                rows.append((
                    ids[i], visit, f"{hours[i, t]:.2f}", marker,
                    "" if below else f"{value:.4g}",
                    "" if lod is None else f"{lod:g}",
                    "true" if below else "false",
                    s["markers"][marker]["unit"],
                ))
    measurements = pd.DataFrame(rows, columns=[*MEASUREMENT_COLUMNS, "unit"])
    metadata = {
        "synthetic": True,
        "scenario": s["name"],
        "description": " ".join(str(s.get("description", "")).split()),
        "seed": int(seed),
        "generator": f"ketamine-nif {__version__}",
    }
    return Twin(participants, measurements, truth_table(s), metadata, s)
