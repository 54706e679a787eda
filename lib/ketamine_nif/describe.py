"""Summaries for the data chapter: flow, baseline characteristics, schedule,
panel and trajectories. Every function returns aggregates only, never rows of
participant-level data, so its output is safe to show with real data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .contract import ARMS, COVARIATES, Dataset
from .reporting import join_words, scale_note
from .subgroups import baseline_values


def measurements_with_arm(dataset: Dataset) -> pd.DataFrame:
    """The measurements with each participant's arm."""
    return dataset.measurements.merge(dataset.participants[["participant_id", "arm"]], on="participant_id")


def descriptive_values(rows: pd.DataFrame) -> pd.Series:
    """Values for description only: a censored value counts as lod/sqrt(2)
    (the models treat it as censored instead)."""
    return rows["value"].where(~rows["below_lod"], rows["lod"] / np.sqrt(2))


def arm_sizes(dataset: Dataset) -> dict[str, int]:
    counts = dataset.participants["arm"].value_counts()
    return {arm: int(counts.get(arm, 0)) for arm in ARMS}


def participant_flow(dataset: Dataset) -> pd.DataFrame:
    """Participants with a MADRS rating and with a blood sample, per arm and visit,
    as 'n (% of randomised)'."""
    m = measurements_with_arm(dataset)
    sizes = arm_sizes(dataset)
    rows = []
    for visit in dataset.visits:
        at_visit = m[m["visit"] == visit]
        row = {"visit": visit}
        for arm in ARMS:
            in_arm = at_visit[at_visit["arm"] == arm]
            rated = in_arm.loc[(in_arm["measure"] == dataset.study.outcome) & in_arm["value"].notna(), "participant_id"].nunique()
            blood = in_arm.loc[in_arm["measure"] != dataset.study.outcome, "participant_id"].nunique()
            row[f"{arm}: MADRS"] = f"{rated} ({100 * rated / max(sizes[arm], 1):.0f}%)"
            row[f"{arm}: blood"] = f"{blood} ({100 * blood / max(sizes[arm], 1):.0f}%)"
        rows.append(row)
    return pd.DataFrame(rows)


def completers(dataset: Dataset) -> dict[str, int]:
    """Participants per arm with a MADRS rating at the last visit."""
    m = dataset.measurements
    last = dataset.visits[-1]
    ids = set(m.loc[(m["visit"] == last) & (m["measure"] == dataset.study.outcome) & m["value"].notna(), "participant_id"])
    p = dataset.participants
    return {arm: int(p.loc[p["arm"] == arm, "participant_id"].isin(ids).sum()) for arm in ARMS}


def _mean_sd(x: pd.Series, digits: int = 1) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    return f"{x.mean():.{digits}f} ({x.std():.{digits}f})" if len(x) else "–"


def _count_pct(mask: pd.Series, known: pd.Series) -> str:
    n, k = int(mask[known].sum()), int(known.sum())
    return f"{n} ({100 * n / k:.0f}%)" if k else "–"


def _median_iqr(x: pd.Series) -> str:
    x = x.dropna()
    if not len(x):
        return "–"
    q1, q2, q3 = np.percentile(x, [25, 50, 75])
    return f"{q2:.3g} [{q1:.3g}, {q3:.3g}]"


BASELINE_LABELS = {
    "age": "Age, years, mean (SD)",
    "sex": "Female, n (%)",
    "bmi": "BMI, kg/m², mean (SD)",
    "failed_trials": "Failed antidepressant trials, mean (SD)",
    "training": "Active training (ASAT), n (%)",
    "antidepressant": "On an antidepressant, n (%)",
    "psychotropic": "On any psychotropic, n (%)",
    "anxiety": "Comorbid anxiety disorder, n (%)",
    "smoker": "Current smoker, n (%)",
    "benzodiazepine": "On a benzodiazepine, n (%)",
    "early_onset": "Depression onset before 18, n (%)",
    "chronic_episode": "Current episode ≥ 2 years, n (%)",
}


def baseline_table(dataset: Dataset) -> pd.DataFrame:
    """Baseline characteristics by arm: covariates present in the data, baseline
    MADRS, BMI < 25, and each NIF's median [IQR] (censored values at their lod)."""
    p = dataset.participants.set_index("participant_id")
    groups = {arm: p.index[p["arm"] == arm] for arm in ARMS}
    rows = [{"characteristic": "Participants, n", **{arm: str(len(ix)) for arm, ix in groups.items()}}]
    for name, (kind, _) in COVARIATES.items():
        if name not in p.columns:
            continue
        label = BASELINE_LABELS.get(name, name)
        row = {"characteristic": label}
        for arm, ix in groups.items():
            col = p.loc[ix, name]
            if kind in ("number", "integer"):
                row[arm] = _mean_sd(col)
            elif name == "sex":
                row[arm] = _count_pct(col == "female", col.notna())
            elif name == "training":
                row[arm] = _count_pct(col == "asat", col.notna())
            else:
                row[arm] = _count_pct(col.astype("boolean").fillna(False).astype(bool), col.notna())
        rows.append(row)
        if name == "bmi":
            rows.append({"characteristic": "BMI < 25, n (%)", **{arm: _count_pct(p.loc[ix, "bmi"] < 25, p.loc[ix, "bmi"].notna()) for arm, ix in groups.items()}})
    madrs = baseline_values(dataset, dataset.study.outcome)
    rows.append({"characteristic": "MADRS before infusion, mean (SD)", **{arm: _mean_sd(madrs.reindex(ix)) for arm, ix in groups.items()}})
    units = dataset.units
    for marker in dataset.markers:
        values = baseline_values(dataset, marker)
        unit = f", {units[marker]}" if units.get(marker) else ""
        rows.append({"characteristic": f"{marker}{unit}, median [IQR]", **{arm: _median_iqr(values.reindex(ix)) for arm, ix in groups.items()}})
    return pd.DataFrame(rows)


def schedule_table(dataset: Dataset) -> pd.DataFrame:
    """Observed timing of each visit (hours since infusion) and how many attended."""
    m = dataset.measurements
    per_visit = m.groupby(["participant_id", "visit"])["hours"].median().reset_index()
    rows = []
    for visit in dataset.visits:
        h = per_visit.loc[per_visit["visit"] == visit, "hours"]
        q1, q3 = h.quantile([0.25, 0.75])
        rows.append({"visit": visit, "participants": len(h), "median hours": f"{h.median():.1f}",
                     "middle half of hours": f"{q1:.1f} to {q3:.1f}"})
    return pd.DataFrame(rows)


def panel_table(dataset: Dataset) -> pd.DataFrame:
    """The NIF panel: unit, detection limit, how many values, share below the limit."""
    m = dataset.measurements
    units = dataset.units
    rows = []
    for marker in dataset.markers:
        rows_m = m[m["measure"] == marker]
        lods = rows_m["lod"].dropna().unique()
        lod = "none" if len(lods) == 0 else ", ".join(f"{v:g}" for v in sorted(lods))
        rows.append({"marker": marker, "unit": units.get(marker, ""), "detection limit": lod,
                     "values": len(rows_m), "below the limit": f"{100 * rows_m['below_lod'].mean():.0f}%"})
    return pd.DataFrame(rows, columns=["marker", "unit", "detection limit", "values", "below the limit"])


def trajectory_summary(dataset: Dataset, measure: str) -> pd.DataFrame:
    """Per arm and visit: n, centre and 95% interval of the mean. MADRS: arithmetic
    mean. NIFs: geometric mean, with censored values set to lod/sqrt(2) for this
    description only (the models treat them as censored)."""
    m = measurements_with_arm(dataset)
    rows_m = m[(m["measure"] == measure)].copy()
    log_scale = measure != dataset.study.outcome
    values = descriptive_values(rows_m)
    rows_m["y"] = np.log(values) if log_scale else values
    hours = m.groupby("visit")["hours"].median()
    out = []
    for (arm, visit), g in rows_m.dropna(subset=["y"]).groupby(["arm", "visit"]):
        n = len(g)
        centre = g["y"].mean()
        half = stats.t.ppf(0.975, n - 1) * g["y"].std() / np.sqrt(n) if n > 1 else np.nan
        low, high = centre - half, centre + half
        if log_scale:
            centre, low, high = np.exp([centre, low, high])
        out.append({"arm": arm, "visit": visit, "hours": hours[visit], "n": n, "centre": centre, "low": low, "high": high})
    order = {v: i for i, v in enumerate(dataset.visits)}
    return pd.DataFrame(out).sort_values(["arm", "visit"], key=lambda s: s.map(order) if s.name == "visit" else s).reset_index(drop=True)


def mean_change(dataset: Dataset) -> pd.DataFrame:
    """Observed mean MADRS change from baseline per arm and post-infusion visit
    (participants with both ratings), with the arm difference."""
    m = dataset.measurements
    madrs = m[(m["measure"] == dataset.study.outcome) & m["value"].notna()].pivot(index="participant_id", columns="visit", values="value")
    arm = dataset.participants.set_index("participant_id")["arm"].reindex(madrs.index)
    rows = []
    for visit in dataset.visits:
        if visit == dataset.study.baseline or visit not in madrs:
            continue
        change = madrs[visit] - madrs[dataset.study.baseline]
        row = {"visit": visit}
        for a in ARMS:
            row[a] = float(change[arm == a].mean())
        row["difference"] = row["ketamine"] - row["saline"]
        rows.append(row)
    return pd.DataFrame(rows)


# --- the sentences of the data chapter and the home page ----------------------------

def edition_text(dataset: Dataset) -> str:
    """Which data this edition runs on (a synthetic twin, with its scenario and
    seed, or real data) and what they hold, with their fingerprint."""
    if dataset.synthetic:
        meta = dataset.metadata
        origin = (f"This edition runs on **synthetic data**: the project's synthetic twin of the trial "
                  f"(scenario `{meta.get('scenario')}`, seed {meta.get('seed')}), generated with the trial's design "
                  f"because the participant-level trial data are not public. {meta.get('description', '')} "
                  f"Numbers in this report describe that simulated trial, not real patients.")
    else:
        origin = "This edition runs on **real trial data** supplied by the user; no participant-level values are shown."
    sizes = arm_sizes(dataset)
    return origin + "\n\n" + (
        f"It holds {len(dataset.participants)} participants ({sizes['ketamine']} ketamine, {sizes['saline']} saline), "
        f"rated at {len(dataset.visits)} visits ({join_words(dataset.visits)}), with "
        f"{len(dataset.markers)} blood markers ({join_words(dataset.markers)}). "
        f"Data fingerprint (SHA-256, first 16 digits): `{dataset.data_hash()}`."
        + (f"\n\n{note}" if (note := scale_note(dataset.study)) else ""))


def twin_assumptions(scenario: dict) -> str:
    """What the synthetic twin's scenario assumes about missing data, and which
    effects it plants (none: the paper's conclusion)."""
    miss = scenario["missingness"]
    planted = {k: sorted(v) for k, v in scenario["effects"].items() if v}
    effects = ("Planted effects: " + "; ".join(f"{k.replace('_', ' ')} for {join_words(v)}" for k, v in planted.items()) + "."
               if planted else "No effect on, or of, any blood marker is planted (the paper's conclusion).")
    return (f"The synthetic twin assumes this schedule, a {100 * miss['dropout_per_visit']:.0f}% chance of dropping out "
            f"before each post-infusion visit, a {100 * miss['missed_visit']:.0f}% chance of missing a single visit, and "
            f"a {100 * miss['blood_not_obtained']:.0f}% chance that an attended visit yields no blood. " + effects
            + "".join(" " + t for t in (_dropout_text(miss), _training_text(scenario)) if t) + " " + _assay_text(scenario))


def _dropout_text(miss: dict) -> str:
    """Whether dropout follows the MADRS course (``dropout_madrs``: the last
    observed rating, missing at random; ``dropout_unobserved``: the rating
    the participant would have had, missing not at random)."""
    parts = [f"{math.exp(float(miss[key])):.2g} per 10 points of {what}" for key, what in (
        ("dropout_madrs", "the last observed MADRS rating (missing at random)"),
        ("dropout_unobserved", "the rating the participant would have had at the missed visit (missing not at random)"))
        if miss.get(key)]
    return f"The odds of dropping out are multiplied by {join_words(parts)}." if parts else ""


def _training_text(scenario: dict) -> str:
    """The training condition's effect on MADRS (``madrs.training_change``), if any."""
    change = (scenario.get("madrs") or {}).get("training_change") or {}
    if not any(change.values()):
        return ""
    share = scenario.get("design", {}).get("ketamine_asat_share", 0.0)
    return ("Active training (every saline participant, " f"{100 * share:.0f}% of the ketamine arm) changes MADRS by "
            + join_words([f"{v:+g} points at {visit}" for visit, v in change.items()])
            + ", so the arms' contrast carries the imbalance.")


def _assay_text(scenario: dict) -> str:
    """How the twin's laboratory reads its markers: assay error
    (``markers.<m>.assay_cv``) and correlations between markers
    (``marker_correlation``), or that it has neither."""
    cvs = {m: float(spec["assay_cv"]) for m, spec in (scenario.get("markers") or {}).items() if spec.get("assay_cv")}
    pairs = scenario.get("marker_correlation") or []
    if not cvs and not pairs:
        return ("Its assays read every sample exactly, and its markers vary independently of each other (apart from "
                "any tie to BMI); real immunoassays err by about 5-20% (coefficient of variation) and inflammatory "
                "markers move together, which a scenario can add (assay_cv, marker_correlation).")
    parts = []
    if cvs:
        parts.append("each reading carries an assay error on top of the sample's true value (coefficient of variation "
                     + join_words([f"{100 * v:.0f}% for {m}" for m, v in cvs.items()]) + ")")
    if pairs:
        parts.append("markers move together: " + join_words([
            f"{a} and {b} correlate {float(p.get('between', 0.0)):.2g} between people and "
            f"{float(p.get('within', 0.0)):.2g} within a person" for p in pairs for a, b in [p["markers"]]]))
    return "In its laboratory, " + "; ".join(parts) + "."


def _moved(change: float) -> str:
    return "fell" if change < 0 else "rose" if change > 0 else "did not change"


def madrs_change_text(change: pd.DataFrame) -> str:
    """The observed MADRS change from baseline per arm (``mean_change``): its
    direction at the first visit after the infusion, the raw arm difference
    there and at the last visit."""
    if change.empty:
        return "No participant was rated both before and after the infusion, so no change in MADRS can be described."
    first, last = change.iloc[0], change.iloc[-1]
    ketamine, saline = _moved(first["ketamine"]), _moved(first["saline"])
    moved = (f"{ketamine} after the infusion with ketamine and {saline} with saline" if ketamine != saline else
             "did not change after the infusion in either arm" if ketamine == "did not change" else
             f"{ketamine} after the infusion in both arms")
    return (
        f"On average MADRS {moved}. At {first['visit']} the mean change from baseline was "
        f"{first['ketamine']:.1f} points with ketamine and {first['saline']:.1f} with saline, a raw difference of "
        f"{first['difference']:.1f} points; by {last['visit']} the difference was {last['difference']:.1f} points. "
        "These are unadjusted averages of the participants rated at each visit; the models in later chapters estimate "
        "the differences with their uncertainty.")


def censoring_text(panel: pd.DataFrame) -> str:
    """Which markers have values below their detection limit (``panel_table``), and why that matters."""
    if panel.empty:
        return ("These data hold no blood markers: the chapters on the markers and their relation to the outcome "
                "have nothing to analyse, and this chapter describes the outcome alone.")
    censored = [f"{m} ({s})" for m, s in zip(panel["marker"], panel["below the limit"], strict=True) if s != "0%"]
    return ("Values below the detection limit occur for " + (join_words(censored) if censored else "no marker")
            + ". Where that share is large, substituting a fixed value would bias both the level and the spread of a "
            "marker; the models instead use the probability of lying below the limit.")
