"""The original approach, replicated: linear mixed models (statsmodels, REML,
a random intercept per participant) for the three aims, overall and within
each subgroup, with one row per test.

How the paper likely did it (its exact models are not published; these are
assumptions, stated in chapter 07):

* values under the detection limit are replaced by a fraction of the limit
  (``lod_fraction``, default 1/2: LOD/2, the most common substitution);
* aim 1, per marker: change in log NIF from baseline at each post-infusion
  visit, ``change ~ 0 + C(visit) + C(visit):ketamine``; the test is the
  ketamine minus saline difference at each visit (reported as a ratio);
* aim 2, per marker and arm: MADRS at every visit on the within-person centred
  log2 NIF and the person's mean log2 NIF, ``madrs ~ C(visit) + within +
  between``; the test is the within-person slope (MADRS points per doubling);
  the arm difference is ``within:ketamine`` in a model of both arms;
* aim 3, per marker: MADRS change from baseline at each post-infusion visit on
  arm x standardised baseline log NIF, ``change ~ 0 + C(visit) +
  C(visit):ketamine + C(visit):z + C(visit):ketamine:z``; the test is the
  ``ketamine:z`` term at each visit.

Estimates are keyed like every other analysis (:mod:`ketamine_nif.estimands`).
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from .contract import Dataset
from .estimands import (
    ALL_PARTICIPANTS,
    ALL_VISITS,
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    NIF_CHANGE_RATIO,
)
from .estimates import COLUMNS
from .identifiability import (
    MIN_PER_ARM,  # an arm contrast needs at least this many participants in each arm
)
from .subgroups import Split, assign

LOD_FRACTION = 0.5  # values under the detection limit count as LOD/2
AIMS = {1: "NIF change by arm", 2: "within-person coupling", 3: "baseline NIF x arm"}
TEST_COLUMNS = ["aim", "estimand", "marker", "visit", "subgroup", "split", "term", "estimate", "se", "ci_low", "ci_high",
                "p_value", "participants", "observations", "converged"]


def person_visit_table(dataset: Dataset, lod_fraction: float = LOD_FRACTION) -> pd.DataFrame:
    """One row per participant x visit: arm, ``ketamine`` (0/1, the treatment
    role), the study's outcome in column :data:`OUTCOME` (a name no measure
    takes), and the natural log of each
    marker (values under the lod replaced by lod x ``lod_fraction``), in
    schedule order (``visit`` a categorical whose first category is the baseline)."""
    m = dataset.measurements
    m = m.assign(measure=m["measure"].replace({dataset.study.outcome: OUTCOME}))
    value = m["value"].where(~m["below_lod"], m["lod"] * lod_fraction)
    wide = m.assign(value=value).pivot_table(index=["participant_id", "visit"], columns="measure", values="value",
                                             aggfunc="first").reset_index()
    for marker in dataset.markers:
        wide[marker] = np.log(wide[marker]) if marker in wide else np.nan
    arm = dataset.participants.set_index("participant_id")["arm"]
    wide.insert(1, "arm", wide["participant_id"].map(arm))
    wide.insert(2, "ketamine", (wide["arm"] == "ketamine").astype(float))
    order = {v: i for i, v in enumerate(dataset.visits)}
    wide["visit"] = pd.Categorical(wide["visit"], categories=dataset.visits, ordered=False)
    return wide.sort_values(["participant_id", "visit"], key=lambda s: s.map(order) if s.name == "visit" else s).reset_index(drop=True)


OUTCOME = "__outcome__"  # the outcome's column in person_visit_table, whatever the study calls it


def _baseline_visit(table: pd.DataFrame) -> str:
    """The first visit of the schedule: the baseline (the contract puts it before every other)."""
    return table["visit"].cat.categories[0]


def _baseline(table: pd.DataFrame, column: str) -> pd.Series:
    base = table[table["visit"] == _baseline_visit(table)].set_index("participant_id")[column]
    return table["participant_id"].map(base)


def aim1_data(table: pd.DataFrame, marker: str) -> pd.DataFrame:
    """Post-infusion rows with the change in log NIF since baseline."""
    post = table.assign(change=table[marker] - _baseline(table, marker))
    post = post[(post["visit"] != _baseline_visit(table)) & post["change"].notna()]
    post = post.assign(visit=post["visit"].cat.remove_categories([_baseline_visit(table)]))
    return post[["participant_id", "arm", "ketamine", "visit", "change"]].reset_index(drop=True)


def aim2_data(table: pd.DataFrame, marker: str) -> pd.DataFrame:
    """Every visit with MADRS and the marker: log2 NIF split into the deviation
    from the person's mean (within) and that mean, centred (between)."""
    rows = table[table[OUTCOME].notna() & table[marker].notna()]
    log2 = rows[marker] / math.log(2)
    person_mean = log2.groupby(rows["participant_id"]).transform("mean")
    out = rows.assign(madrs=rows[OUTCOME], within=log2 - person_mean, between=person_mean - person_mean.mean())
    return out[["participant_id", "arm", "ketamine", "visit", "madrs", "within", "between"]].reset_index(drop=True)


def aim3_data(table: pd.DataFrame, marker: str) -> pd.DataFrame:
    """Post-infusion MADRS change from baseline with the standardised baseline log NIF ``z``."""
    x0 = _baseline(table, marker)
    rows = table.assign(change=table[OUTCOME] - _baseline(table, OUTCOME), x0=x0)
    rows = rows[(rows["visit"] != _baseline_visit(table)) & rows["change"].notna() & rows["x0"].notna()]
    people = rows.drop_duplicates("participant_id")["x0"]
    rows = rows.assign(z=(rows["x0"] - people.mean()) / people.std())
    rows = rows.assign(visit=rows["visit"].cat.remove_categories([_baseline_visit(table)]))
    return rows[["participant_id", "arm", "ketamine", "visit", "change", "z"]].reset_index(drop=True)


FORMULAS = {
    1: "change ~ 0 + C(visit) + C(visit):ketamine",
    2: "madrs ~ C(visit) + within + between",
    "2-difference": "madrs ~ C(visit) * ketamine + within * ketamine + between * ketamine",
    3: "change ~ 0 + C(visit) + C(visit):ketamine + C(visit):z + C(visit):ketamine:z",
}


@dataclass
class MixedFit:
    params: pd.Series
    bse: pd.Series
    conf_int: pd.DataFrame
    pvalues: pd.Series
    converged: bool
    participants: int
    observations: int
    cov: pd.DataFrame  # covariance of the fixed effects' estimates


def fit_mixed(formula: str, data: pd.DataFrame) -> MixedFit:
    """``smf.mixedlm(formula, data, groups=participant_id).fit(reml=True)``; a
    convergence warning sets ``converged = False`` instead of printing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = smf.mixedlm(formula, data, groups=data["participant_id"]).fit(reml=True)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    fe = result.fe_params.index
    return MixedFit(result.fe_params, result.bse[fe], result.conf_int().loc[fe], result.pvalues[fe],
                    bool(result.converged) and not warned, data["participant_id"].nunique(), len(data),
                    result.cov_params().loc[fe, fe])


def _both_arms(data: pd.DataFrame) -> bool:
    counts = data.drop_duplicates("participant_id")["arm"].value_counts()
    return all(counts.get(a, 0) >= MIN_PER_ARM for a in ("ketamine", "saline"))


def _row(aim, estimand, marker, visit, subgroup, split, term, fit: MixedFit) -> dict:
    return {"aim": aim, "estimand": estimand, "marker": marker, "visit": visit, "subgroup": subgroup, "split": split,
            "term": term, "estimate": fit.params[term], "se": fit.bse[term], "ci_low": fit.conf_int.loc[term, 0],
            "ci_high": fit.conf_int.loc[term, 1], "p_value": fit.pvalues[term], "participants": fit.participants,
            "observations": fit.observations, "converged": fit.converged}


def _attempt(formula: str, data: pd.DataFrame, failures: list, label: str) -> MixedFit | None:
    try:
        return fit_mixed(formula, data)
    except (np.linalg.LinAlgError, ValueError, IndexError, KeyError) as exc:
        failures.append(f"{label}: {type(exc).__name__}")
        return None


def tests_for_group(table: pd.DataFrame, markers: list[str], subgroup: str = ALL_PARTICIPANTS, split: str = "",
                    failures: list | None = None, aims: tuple[int, ...] = (1, 2, 3)) -> list[dict]:
    """Every test of ``aims`` in one group of participants (``table`` already
    restricted to it). Contrasts between arms are skipped where an arm has
    fewer than :data:`MIN_PER_ARM` participants; fits that fail are listed in ``failures``."""
    failures = [] if failures is None else failures
    rows = []
    for marker in markers:
        label = f"{subgroup} / {marker}"
        d1 = aim1_data(table, marker)
        if 1 in aims and _both_arms(d1) and (f := _attempt(FORMULAS[1], d1, failures, f"{label} / aim 1")):
            for visit in d1["visit"].cat.categories:
                rows.append(_row(1, NIF_CHANGE_RATIO, marker, visit, subgroup, split, f"C(visit)[{visit}]:ketamine", f))
        d2 = aim2_data(table, marker)
        for arm in ("ketamine", "saline") if 2 in aims else ():
            part = d2[d2["arm"] == arm]
            if part["participant_id"].nunique() >= MIN_PER_ARM and (f := _attempt(FORMULAS[2], part, failures, f"{label} / aim 2 {arm}")):
                rows.append(_row(2, COUPLING_WITHIN[arm], marker, ALL_VISITS, subgroup, split, "within", f))
        if 2 in aims and _both_arms(d2) and (f := _attempt(FORMULAS["2-difference"], d2, failures, f"{label} / aim 2 difference")):
            rows.append(_row(2, COUPLING_WITHIN["difference"], marker, ALL_VISITS, subgroup, split, "within:ketamine", f))
        d3 = aim3_data(table, marker)
        if 3 in aims and _both_arms(d3) and (f := _attempt(FORMULAS[3], d3, failures, f"{label} / aim 3")):
            for visit in d3["visit"].cat.categories:
                rows.append(_row(3, BASELINE_MODERATION_DIFFERENCE, marker, visit, subgroup, split, f"C(visit)[{visit}]:ketamine:z", f))
    return rows


def all_tests(dataset: Dataset, splits: list[Split], markers: list[str] | None = None,
              lod_fraction: float = LOD_FRACTION, aims: tuple[int, ...] = (1, 2, 3)) -> tuple[pd.DataFrame, list[str]]:
    """Every test overall and within each subgroup of ``splits``: one row per
    test (:data:`TEST_COLUMNS`), and the fits that failed."""
    markers = markers or dataset.markers
    table = person_visit_table(dataset, lod_fraction)
    failures: list[str] = []
    rows = tests_for_group(table, markers, failures=failures, aims=aims)
    for split in splits:
        labels = assign(split, dataset)
        for label in split.labels:
            members = set(labels.index[labels == label])
            rows += tests_for_group(table[table["participant_id"].isin(members)], markers, label, split.name, failures, aims)
    return pd.DataFrame(rows, columns=TEST_COLUMNS), failures


def to_estimates(tests: pd.DataFrame) -> pd.DataFrame:
    """The tests in the output contract: mean = estimate, sd = standard error,
    95% confidence interval; ratios (aim 1) on the ratio scale (exp of the log
    estimate and its interval, sd by the delta method). Posterior-only columns are NaN."""
    ratio = tests["estimand"] == NIF_CHANGE_RATIO
    out = tests[["estimand", "marker", "visit", "subgroup"]].copy()
    out["mean"] = np.where(ratio, np.exp(tests["estimate"]), tests["estimate"])
    out["sd"] = np.where(ratio, np.exp(tests["estimate"]) * tests["se"], tests["se"])
    out["ci_low"] = np.where(ratio, np.exp(tests["ci_low"]), tests["ci_low"])
    out["ci_high"] = np.where(ratio, np.exp(tests["ci_high"]), tests["ci_high"])
    for column in ("p_positive", "p_rope", "r_hat", "ess_bulk", "ess_direction", "ess_rope"):
        out[column] = np.nan
    out["converged"] = tests["converged"].astype(bool)
    return out[COLUMNS].reset_index(drop=True)


def multiplicity(tests: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per aim and overall: number of tests, how many have p < alpha, and how
    many a global null (every effect zero) would give on average (tests x alpha)."""
    rows = []
    for aim, part in [*tests.groupby("aim"), ("all", tests)]:
        rows.append({"aim": aim if aim == "all" else f"{aim}: {AIMS[aim]}", "tests": len(part),
                     f"p < {alpha:g}": int((part["p_value"] < alpha).sum()), "expected under the global null": len(part) * alpha})
    return pd.DataFrame(rows)


def arm_difference_mixed_model(data, visits, prior_sd: float | None = None) -> pd.DataFrame:
    """The independent check of the outcome model (chapter 03): the ketamine
    minus saline MADRS change at each of ``visits`` (post-infusion) from a
    statsmodels mixed model with a random intercept per participant (REML) on
    the same rows, ``y ~ visit + baseline + visit:arm``; estimate and standard
    error, indexed by visit in the order of ``visits`` (nothing is fitted
    without visits: an arm difference the data cannot inform). ``data`` is the
    models' ``ModelData``. With ``prior_sd``, also ``shrunk``: the estimates
    shrunk by the outcome model's prior, an independent N(0, prior_sd) per
    visit, in closed form (:func:`shrunk_by_prior`), which is where the
    Bayesian posterior means should sit, up to the plug-in of the variance
    components and the outcome model's weak priors on its other terms; NaN
    when the mixed model did not converge."""
    visits = list(visits)
    if not visits:
        return pd.DataFrame({"estimate": [], "se": [], **({"shrunk": []} if prior_sd else {})}, index=pd.Index([], name="visit"))
    frame = pd.DataFrame({"y": data.y, "participant_id": data.y_person, "visit": np.asarray(data.visits)[data.y_visit],
                          "y0c": (data.y0 - np.nanmean(data.y0))[data.y_person], "k": data.arm_contrast[data.y_person]})
    result = fit_mixed("y ~ 0 + C(visit) + y0c + C(visit):k", frame)
    terms = [f"C(visit)[{visit}]:k" for visit in visits]
    table = pd.DataFrame({"estimate": [result.params[t] for t in terms], "se": [result.bse[t] for t in terms]},
                         index=pd.Index(visits, name="visit"))
    if prior_sd:
        every = [t for t in result.params.index if t.endswith("]:k")]  # the prior is on every visit's difference at once
        shrunk = shrunk_by_prior(result.params[every].to_numpy(), result.cov.loc[every, every].to_numpy(), prior_sd)
        table["shrunk"] = pd.Series(shrunk, index=every)[terms].to_numpy() if result.converged else np.nan
    return table


def shrunk_by_prior(estimate: np.ndarray, cov: np.ndarray, prior_sd: float) -> np.ndarray:
    """The posterior mean of effects with independent N(0, ``prior_sd``)
    priors, given estimates with covariance ``cov`` taken as their
    likelihood (normal): (C^-1 + I/s^2)^-1 C^-1 estimate. Correlated
    estimates (one person's visits share their intercept) are pulled toward
    zero along their common direction, so the pull on a small effect can be
    as large as on a large one."""
    cov = np.asarray(cov, float)  # (C^-1 + I/s^2)^-1 C^-1 = (I + C/s^2)^-1, without inverting C
    return np.linalg.solve(np.eye(len(cov)) + cov / prior_sd**2, np.asarray(estimate, float))


def chance_hits(tests: int, alpha: float = 0.05) -> tuple[float, float]:
    """Hits p < ``alpha`` among ``tests`` under the global null: the expected
    number, and its SD if the tests were independent (binomial)."""
    return alpha * tests, math.sqrt(tests * alpha * (1 - alpha))


FIT_KEYS = ["subgroup", "marker", "aim"]  # one model fit: the visits of aims 1 and 3 share a fit


def model_fits(tests: pd.DataFrame) -> int:
    """How many model fits the tests come from (:data:`FIT_KEYS`)."""
    return int(tests.groupby(FIT_KEYS).ngroups)


def fits_per_group(tests: pd.DataFrame) -> pd.Series:
    """How many model fits each group's (subgroup's) tests come from."""
    return tests.drop_duplicates(FIT_KEYS).groupby("subgroup").size()


def write_outputs(out, tests: pd.DataFrame, failures: list[str], seconds: float) -> pd.DataFrame:
    """The chapter's tests.csv, estimates.csv (:func:`to_estimates`) and
    diagnostics.json in ``out``; returns the estimates."""
    from pathlib import Path

    from .estimates import write

    out = Path(out)
    tests.to_csv(out / "tests.csv", index=False, float_format="%.6g")
    table = to_estimates(tests)
    write(table, out)
    record = {"frequentist": {"model": "statsmodels mixedlm (REML, random intercept per participant)", "tests": len(tests),
                              "failed_fits": failures, "not_converged": int((~tests["converged"]).sum()),
                              "seconds": round(seconds, 1), "converged": bool(tests["converged"].all()) and not failures}}
    (out / "diagnostics.json").write_text(json.dumps(record, indent=2) + "\n")
    return table


def intervals(tests: pd.DataFrame) -> list[str]:
    """'estimate [low, high]' per test; ratios (aim 1) back on the ratio scale."""
    ratio = (tests["estimand"] == NIF_CHANGE_RATIO).to_numpy()
    scaled = {c: np.where(ratio, np.exp(tests[c]), tests[c]) for c in ("estimate", "ci_low", "ci_high")}
    return [f"{e:.2f} [{lo:.2f}, {hi:.2f}]" for e, lo, hi in zip(*scaled.values(), strict=True)]


def tests_table(tests: pd.DataFrame, p_digits: int = 3) -> pd.DataFrame:
    """Tests formatted for reading: question, marker, visit, subgroup,
    'estimate [95% CI]' and p."""
    return pd.DataFrame({
        "aim": tests["aim"], "question": tests["estimand"].str.replace("_", " "), "marker": tests["marker"],
        "visit": tests["visit"], "subgroup": tests["subgroup"], "estimate [95% CI]": intervals(tests),
        "p": tests["p_value"].map(lambda p: f"{p:.{p_digits}f}"),
    })


def paper_test(tests: pd.DataFrame, finding: dict) -> pd.Series | None:
    """The test of the paper's finding (``finding``: marker and subgroup of
    the analysis configuration's ``paper_finding``): the ketamine-arm coupling
    of that marker in that subgroup; None when it was not tested."""
    rows = tests[(tests["marker"] == finding["marker"]) & (tests["subgroup"] == finding["subgroup"])
                 & (tests["estimand"] == COUPLING_WITHIN["ketamine"])]
    return None if rows.empty else rows.iloc[0]


def beside_bayesian(estimates: pd.DataFrame, outputs, stems: list[str]) -> pd.DataFrame | None:
    """The estimates of all participants joined to the Bayesian chapters'
    (``estimates.csv`` of each of ``stems`` under ``outputs``) on the same
    estimand, marker, visit and subgroup (suffixes _f and _b); None when no
    chapter's estimates are found."""
    from pathlib import Path

    frames = [pd.read_csv(path) for stem in stems if (path := Path(outputs) / stem / "estimates.csv").exists()]
    if not frames:
        return None
    overall = estimates[estimates["subgroup"] == ALL_PARTICIPANTS]
    return overall.merge(pd.concat(frames), on=["estimand", "marker", "visit", "subgroup"], suffixes=("_f", "_b"))


def comparison_table(side: pd.DataFrame) -> pd.DataFrame:
    """:func:`beside_bayesian`'s rows formatted for reading."""
    def text(suffix):
        columns = [side[f"{c}_{suffix}"] for c in ("mean", "ci_low", "ci_high")]
        return [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in zip(*columns, strict=True)]

    return pd.DataFrame({"question": side["estimand"].str.replace("_", " "), "marker": side["marker"],
                         "visit": side["visit"], "frequentist": text("f"), "Bayesian": text("b")})
