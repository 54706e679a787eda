"""Design sensitivity: what could a trial of this design have found?

One replicate (:func:`detection_replicate`) simulates a twin of the trial with
one effect planted at a chosen size, fits the report's own model and applies
the summary page's decision rule (:func:`ketamine_nif.summary.classify` and
:func:`ketamine_nif.summary.question_categories`) to the planted estimate: *supported* when the posterior probability of its
direction reaches the level of its question on the summary page (0.975
Bonferroni-adjusted over the question's estimates,
:func:`ketamine_nif.summary.question_level`) and the fit passed the
convergence verdict, *ruled out* when its posterior probability inside the
region of practical equivalence is at least 0.95. With ``fit_markers="all"`` (the
book's fit) the model is fitted to every marker of the twin, the planted one
among six without an effect, exactly as the chapters fit it; with
``"planted"``, to the planted marker alone (cheaper: the aim 1 model shares
nothing between markers for these effects, so its answer barely moves; the
aim 2 model's adjustment for the other markers is lost). Hundreds of
replicates over a grid of sizes (sweeps ``sweeps/design-*.yaml``) give the
probability of each verdict against true effect size (:func:`detection_curve`)
and the smallest effect supported with 80% probability (:func:`smallest_detectable`).

Two effects are studied:

* ``nif_change_ratio``: ketamine raises a NIF by a factor ``effect`` at one
  visit (ratio of geometric-mean change; 1 = none), fitted with the aim 1
  trajectory model;
* ``coupling_within_ketamine``: within a person in the ketamine arm, MADRS
  moves by ``effect`` points per doubling of the NIF, fitted with the aim 2
  coupling model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .estimands import COUPLING_WITHIN, NIF_CHANGE_RATIO, null_value

STUDIED = (NIF_CHANGE_RATIO, COUPLING_WITHIN["ketamine"])
TARGET_POWER = 0.8
FIT_MARKERS = ("planted", "all")  # what a replicate fits: the planted marker alone, or every marker (the book's fit)


# What a replicate may be told about the simulated trial, and about the sampler; None: the scenario's own value
DESIGN_DEFAULTS = {"scenario": "paper-null", "n_ketamine": None, "n_saline": None}
SAMPLING_DEFAULTS = {"draws": 1000, "tune": 1000, "chains": 2, "sampler": "pymc", "target_accept": 0.95}


def _settings(given: Mapping | None, defaults: dict, name: str) -> dict:
    """``defaults`` updated by ``given``; a key ``defaults`` lacks is refused, naming the known ones."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(f"unknown {name} setting(s) {', '.join(unknown)}; known: {', '.join(defaults)}")
    return {**defaults, **given}


def planted_scenario(estimand: str, effect: float, marker: str, visit: str = "24h", design: Mapping | None = None) -> dict:
    """The ``design`` scenario (``DESIGN_DEFAULTS``: scenario, n_ketamine, n_saline)
    with one effect of size ``effect`` planted."""
    from .twin import ScenarioError, load_scenario

    trial = _settings(design, DESIGN_DEFAULTS, "design")
    if estimand == NIF_CHANGE_RATIO:
        if effect <= 0:
            raise ScenarioError(f"a ratio of change must be positive; got {effect}")
        effects = {"nif_change_ratio": {marker: {visit: float(effect)}}}
    elif estimand == COUPLING_WITHIN["ketamine"]:
        effects = {"coupling_within": {marker: {"ketamine": float(effect), "saline": 0.0}}}
    else:
        raise ScenarioError(f"design sensitivity studies {' and '.join(STUDIED)}; got {estimand!r}")
    overrides: dict = {"effects": effects}
    sizes = {k: trial[k] for k in ("n_ketamine", "n_saline") if trial[k] is not None}
    if sizes:
        overrides["design"] = sizes
    return load_scenario(trial["scenario"], overrides=overrides)


def replicate_settings(fixed: Mapping) -> tuple[dict, dict]:
    """(design, sampling) of a sweep's replicates, with every default filled in
    (arm sizes from the scenario), from the sweep file's ``fixed`` mapping: this
    form (``design:`` and ``sampling:`` mappings) or the flat one of the studies
    run before the settings were grouped."""
    from .twin import load_scenario

    flat = {name: {k: fixed[k] for k in defaults if k in fixed}
            for name, defaults in (("design", DESIGN_DEFAULTS), ("sampling", SAMPLING_DEFAULTS))}
    trial = _settings({**flat["design"], **(fixed.get("design") or {})}, DESIGN_DEFAULTS, "design")
    scenario = load_scenario(trial["scenario"])["design"]
    trial.update({k: scenario[k] for k in ("n_ketamine", "n_saline") if trial[k] is None})
    return trial, _settings({**flat["sampling"], **(fixed.get("sampling") or {})}, SAMPLING_DEFAULTS, "sampling")


def detection_replicate(*, seed: int, estimand: str, effect: float, marker: str, visit: str = "24h",
                        design: Mapping | None = None, sampling: Mapping | None = None, fit_markers: str = "planted",
                        workdir: str | None = None) -> dict:
    """Simulate one twin of the trial ``design`` (``DESIGN_DEFAULTS``) with the
    effect planted, fit the aim's model to ``marker`` alone (``fit_markers``
    "planted") or to every marker ("all", the book's fit) with the sampler
    ``sampling`` (``SAMPLING_DEFAULTS``) and report the planted estimate and
    the fit's diagnostics (one row). A sweep calls it as ``fn(seed=..., **fixed, **point)``.
    With ``sampler: numpyro`` or ``nutpie`` the model is fitted by the fit
    engine (compiled once per worker process, :mod:`ketamine_nif.engine`);
    otherwise by ``inference.fit`` with that sampler."""
    import tempfile

    from .analysis import load as load_analysis
    from .contract import load_dataset
    from .engine import fit_form
    from .estimates import summarise
    from .inference import SamplerSettings
    from .models import prepare
    from .twin import simulate

    if fit_markers not in FIT_MARKERS:
        raise ValueError(f"fit_markers must be one of {', '.join(FIT_MARKERS)}; got {fit_markers!r}")
    start = time.perf_counter()
    settings = SamplerSettings(**_settings(sampling, SAMPLING_DEFAULTS, "sampling"), seed=seed)
    twin = simulate(planted_scenario(estimand, effect, marker, visit, design), seed=seed)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        dataset = load_dataset(twin.write(Path(folder) / "data"))
    data = prepare(dataset, markers=[marker] if fit_markers == "planted" else None)
    result = fit_form("nif_trajectory" if estimand == NIF_CHANGE_RATIO else "coupling", data, settings, estimand)
    rows = summarise(result.idata, estimand, load_analysis().rope(estimand), result.diagnostics.converged)
    rows = rows[rows["marker"] == marker]
    if estimand == NIF_CHANGE_RATIO:
        rows = rows[rows["visit"] == visit]
    row = rows.iloc[0].to_dict()
    d = result.diagnostics
    return {
        **{k: row[k] for k in ("estimand", "marker", "visit", "mean", "sd", "ci_low", "ci_high", "p_positive", "p_rope", "converged")},
        "truth": float(effect), "fit_markers": fit_markers, "markers_fitted": len(data.markers),
        "max_r_hat": d.max_r_hat, "min_ess": min(d.min_ess_bulk, d.min_ess_tail), "divergences": d.divergences,
        "sampler": d.sampler, "fit_seconds": d.seconds, "seconds": round(time.perf_counter() - start, 1),
    }


def question_size(estimand: str, scenario: str = "paper-null") -> int:
    """How many estimates the summary page's question of ``estimand`` rests
    on in the book fitted to a twin of ``scenario``: one per marker (one in
    all for an estimand of the outcome alone), and per post-infusion visit
    for an estimand of one visit. For the design studies' estimands of the
    whole sample, not subgroups."""
    from .estimands import lookup
    from .twin import load_scenario

    design, entry = load_scenario(scenario), lookup(estimand)
    markers = 1 if entry.needs == "outcome change" else len(design["markers"])
    return markers * (len(design["schedule"]) - 1 if entry.per_visit else 1)


def verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """Each replicate's verdict by the summary page's rule
    (:func:`ketamine_nif.recovery.verdicts_against_truth`: convergence, then
    ruled out, then supported), with the planted estimate held to the level
    of its question in the book (:func:`question_size`,
    :func:`ketamine_nif.summary.question_level`: supported alone but short
    of it counts as inconclusive); with ``found``: supported in the
    direction of the true effect (for a null truth, either direction: a
    false alarm) and ``ruled_out``. Results saved before the ROPE
    probability was kept count as never ruled out."""
    from .recovery import RULED_OUT, SUPPORTED, verdicts_against_truth
    from .summary import INCONCLUSIVE, p_direction, question_level

    judged = verdicts_against_truth(results if "p_rope" in results else results.assign(p_rope=np.nan))
    level = judged["estimand"].map({e: question_level(question_size(e)) for e in judged["estimand"].unique()})
    judged["verdict"] = judged["verdict"].mask((judged["verdict"] == SUPPORTED) & (p_direction(judged) < level), INCONCLUSIVE)
    judged["supported_in_direction"] &= judged["verdict"] == SUPPORTED
    judged["found"] = (judged["verdict"] == SUPPORTED) & (judged["supported_in_direction"] | judged["null"])
    judged["ruled_out"] = judged["verdict"] == RULED_OUT
    return judged


def found(results: pd.DataFrame) -> pd.Series:
    """The decision rule applied to each replicate: supported in the direction
    of the true effect (for a null truth, either direction: a false alarm)."""
    return verdicts(results)["found"]


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """The 95% Wilson interval of the share k/n."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def effect_scale(estimand: str, effect):
    """Effect sizes on the scale detection is modelled on: log ratio for ratios."""
    effect = np.asarray(effect, dtype=float)
    return np.log(effect) if estimand == NIF_CHANGE_RATIO else effect


def detection_curve(results: pd.DataFrame) -> pd.DataFrame:
    """The probability of each verdict per estimand, marker (visit, where
    given) and true size: ``power`` (supported in the true direction; at the
    null, the false-alarm rate) and ``ruled_out``, each with its Monte Carlo
    standard error sqrt(p(1-p)/n) and a 95% Wilson interval. A fit that failed
    the convergence verdict is neither (the summary page calls it unreliable);
    the share that passed is given."""
    results = verdicts(results).assign(covered=(results["ci_low"] <= results["truth"]) & (results["truth"] <= results["ci_high"]))
    keys = ["estimand", "marker", *(["visit"] if "visit" in results else []), "truth"]
    groups = results.groupby(keys, sort=True)
    curve = groups.agg(replicates=("found", "size"), found=("found", "sum"), ruled=("ruled_out", "sum"),
                       converged=("converged", "mean"), covered=("covered", "mean"), mean_estimate=("mean", "mean"),
                       seconds=("seconds", "mean"), median_max_r_hat=("max_r_hat", "median"),
                       divergent=("divergences", lambda d: (d > 0).mean())).reset_index()
    n = curve["replicates"].to_numpy(float)
    for share, count in (("power", "found"), ("ruled_out", "ruled")):
        p = curve[count].to_numpy(float) / n
        curve[share] = p
        curve[f"{share}_se"] = np.sqrt(p * (1 - p) / n)
        curve[f"{share}_low"], curve[f"{share}_high"] = _wilson(curve[count].to_numpy(float), n)
    return curve


def smallest_detectable(results: pd.DataFrame, estimand: str, target: float = TARGET_POWER,
                        draws: int = 4000, seed: int = 1) -> dict:
    """The effect (above the null) detected with probability ``target``: a
    logistic regression of found/not found on the effect (log ratio for
    ratios), inverted at ``target``; its 95% interval propagates the regression's
    uncertainty (draws from the normal approximation of its coefficients).
    Replicates at the null are left out (they measure false alarms, not power)."""
    import statsmodels.api as sm

    rows = results[(results["estimand"] == estimand) & (results["truth"] != null_value(estimand))]
    x = effect_scale(estimand, rows["truth"].to_numpy(float))
    y = found(rows).to_numpy(float)
    if len(np.unique(x)) < 2 or y.min() == y.max():
        return {"estimand": estimand, "effect": math.nan, "low": math.nan, "high": math.nan, "fits": len(rows)}
    model = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit()
    logit = math.log(target / (1 - target))
    coef = np.asarray(model.params)
    sampled = np.random.default_rng(seed).multivariate_normal(coef, np.asarray(model.cov_params()), size=draws)
    sampled = sampled[sampled[:, 1] > 0]  # power must rise with the effect

    def back(value):
        value = np.asarray(value, dtype=float)
        return np.exp(value) if estimand == NIF_CHANGE_RATIO else value

    point = back((logit - coef[0]) / coef[1])
    spread = back((logit - sampled[:, 0]) / sampled[:, 1])
    low, high = np.quantile(spread, [0.025, 0.975])
    tested = back([x.min(), x.max()])
    return {"estimand": estimand, "effect": float(point), "low": float(low), "high": float(high), "fits": len(rows),
            "within_tested_range": bool(tested[0] <= point <= tested[1])}


def studies(results: Iterable[pd.DataFrame], target: float = TARGET_POWER) -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """The detection curve and the smallest detectable effect of each study (one
    results table per estimand), both keyed by the study's estimand."""
    curves, smallest = {}, {}
    for table in results:
        estimand = table["estimand"].iloc[0]
        curves[estimand] = detection_curve(table)
        smallest[estimand] = smallest_detectable(table, estimand, target)
    return curves, smallest


def save_studies(curves: dict[str, pd.DataFrame], smallest: dict[str, dict], folder: Path) -> None:
    """Write the curves (``detection.csv``) and the smallest detectable effects
    (``smallest-detectable.csv``) of :func:`studies` to ``folder``; nothing when there are none."""
    if curves:
        pd.concat(curves.values()).to_csv(Path(folder) / "detection.csv", index=False)
        pd.DataFrame(smallest.values()).to_csv(Path(folder) / "smallest-detectable.csv", index=False)


def interpretable(estimand: str, value: float, short: bool = False) -> str:
    """An effect in the words of its unit ('+40% (ratio 1.40)', '3.0 MADRS
    points per doubling'; ``short``: '+40%', '3.0 points')."""
    if estimand == NIF_CHANGE_RATIO:
        return f"{(value - 1) * 100:+.0f}%" + ("" if short else f" (ratio {value:.2f})")
    return f"{value:.1f} " + ("points" if short else "MADRS points per doubling")


def detection_table(curve: pd.DataFrame, estimand: str) -> pd.DataFrame:
    """A detection curve as the chapter shows it: per true size, the share of
    trials whose analysis supported the effect (± Monte Carlo error, and its
    95% interval) and the share that ruled it out, the coverage of the 95%
    interval, the share of fits that passed the convergence verdict and the
    share with divergent transitions."""
    def share(column: str) -> list[str]:
        return [f"{p:.2f} ± {se:.2f}" for p, se in zip(curve[column], curve[f"{column}_se"], strict=True)]

    return pd.DataFrame({
        "true effect": [interpretable(estimand, t) for t in curve["truth"]],
        "replicates": curve["replicates"],
        "supported": share("power"),
        "95% interval": [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(curve["power_low"], curve["power_high"], strict=True)],
        "ruled out": share("ruled_out"),
        "95% CrI covers truth": curve["covered"].map(lambda c: f"{c:.2f}"),
        "fits converged": curve["converged"].map(lambda c: f"{c:.2f}"),
        "fits with divergences": curve["divergent"].map(lambda d: f"{d:.2f}"),
    })
