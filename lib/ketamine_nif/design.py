"""Design sensitivity: what could a trial of this design have found?

One replicate (:func:`detection_replicate`) simulates a twin of the trial with
one effect planted at a chosen size, fits the report's own model to the marker
concerned, and applies the report's decision rule: an effect counts as found
when the posterior probability of its direction is at least 0.975
(:data:`ketamine_nif.estimates.DETECTION`), i.e. its 95% interval excludes the null.
Only the planted marker is fitted: the book's models share nothing between
markers for these effects, so a marker's answer barely depends on the others.
Hundreds of replicates over a grid of sizes (sweeps ``sweeps/design-nif.yaml`` and
``sweeps/design-coupling.yaml``)
give detection probability against true effect size (:func:`detection_curve`)
and the smallest effect detected with 80% probability (:func:`smallest_detectable`).

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
from pathlib import Path

import numpy as np
import pandas as pd

from .estimands import COUPLING_WITHIN, NIF_CHANGE_RATIO, null_value
from .estimates import DETECTION

STUDIED = (NIF_CHANGE_RATIO, COUPLING_WITHIN["ketamine"])
TARGET_POWER = 0.8


def planted_scenario(estimand: str, effect: float, marker: str, visit: str = "24h",
                     scenario: str = "paper-null", n_ketamine: int | None = None, n_saline: int | None = None) -> dict:
    """``scenario`` with one effect of size ``effect`` planted (and, optionally, other arm sizes)."""
    from .twin import ScenarioError, load_scenario

    if estimand == NIF_CHANGE_RATIO:
        if effect <= 0:
            raise ScenarioError(f"a ratio of change must be positive; got {effect}")
        effects = {"nif_change_ratio": {marker: {visit: float(effect)}}}
    elif estimand == COUPLING_WITHIN["ketamine"]:
        effects = {"coupling_within": {marker: {"ketamine": float(effect), "saline": 0.0}}}
    else:
        raise ScenarioError(f"design sensitivity studies {' and '.join(STUDIED)}; got {estimand!r}")
    overrides: dict = {"effects": effects}
    sizes = {k: v for k, v in (("n_ketamine", n_ketamine), ("n_saline", n_saline)) if v is not None}
    if sizes:
        overrides["design"] = sizes
    return load_scenario(scenario, overrides=overrides)


def detection_replicate(*, seed: int, estimand: str, effect: float, marker: str, visit: str = "24h",
                        scenario: str = "paper-null", n_ketamine: int | None = None, n_saline: int | None = None,
                        draws: int = 1000, tune: int = 1000, chains: int = 2, sampler: str = "pymc",
                        target_accept: float = 0.95, workdir: str | None = None) -> dict:
    """Simulate one twin with the effect planted, fit the aim's model to ``marker``
    alone and report the estimate and the fit's diagnostics (one row). With
    ``sampler="nutpie"`` the aim 1 model is fitted by the fit engine (compiled
    once per worker process, :mod:`ketamine_nif.engine`); otherwise, and for
    the aim 2 model, by ``inference.fit`` with that sampler."""
    import tempfile

    from .analysis import load as load_analysis
    from .contract import load_dataset
    from .engine import engine
    from .estimates import summarise
    from .inference import SamplerSettings, fit
    from .models import build_coupling_model, build_nif_trajectory_model, prepare
    from .twin import simulate

    start = time.perf_counter()
    twin = simulate(planted_scenario(estimand, effect, marker, visit, scenario, n_ketamine, n_saline), seed=seed)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        dataset = load_dataset(twin.write(Path(folder) / "data"))
    data = prepare(dataset, markers=[marker])
    settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept)
    if estimand == NIF_CHANGE_RATIO and sampler == "nutpie":
        result = engine("nif_trajectory", data, settings).fit(data, seed=seed, name=estimand)
    else:
        build = build_nif_trajectory_model if estimand == NIF_CHANGE_RATIO else build_coupling_model
        result = fit(build(data), settings, estimand, log_likelihood=False)
    rows = summarise(result.idata, estimand, load_analysis().rope(estimand), result.diagnostics.converged)
    if estimand == NIF_CHANGE_RATIO:
        rows = rows[rows["visit"] == visit]
    row = rows.iloc[0].to_dict()
    d = result.diagnostics
    return {
        **{k: row[k] for k in ("estimand", "marker", "visit", "mean", "sd", "ci_low", "ci_high", "p_positive", "p_rope", "converged")},
        "truth": float(effect),
        "max_r_hat": d.max_r_hat, "min_ess": min(d.min_ess_bulk, d.min_ess_tail), "divergences": d.divergences,
        "sampler": d.sampler, "fit_seconds": d.seconds, "seconds": round(time.perf_counter() - start, 1),
    }


def found(results: pd.DataFrame) -> pd.Series:
    """The decision rule applied to each replicate: P(direction of the true
    effect) >= 0.975 (for a null truth, either direction: a false alarm)."""
    null = results["estimand"].map(null_value)
    up = results["p_positive"] >= DETECTION
    down = results["p_positive"] <= 1 - DETECTION
    return ((results["truth"] > null) & up) | ((results["truth"] < null) & down) | ((results["truth"] == null) & (up | down))


def effect_scale(estimand: str, effect):
    """Effect sizes on the scale detection is modelled on: log ratio for ratios."""
    effect = np.asarray(effect, dtype=float)
    return np.log(effect) if estimand == NIF_CHANGE_RATIO else effect


def detection_curve(results: pd.DataFrame) -> pd.DataFrame:
    """Detection probability per estimand and true size, with its Monte Carlo
    standard error sqrt(p(1-p)/n) and a 95% Wilson interval. Fits that failed
    the sweep's verdict are counted like the others (their share is given:
    sweeps sample less than the book, so the verdict is stricter than needed)."""
    results = results.assign(found=found(results), covered=(results["ci_low"] <= results["truth"]) & (results["truth"] <= results["ci_high"]))
    groups = results.groupby(["estimand", "marker", "truth"], sort=True)
    curve = groups.agg(replicates=("found", "size"), found=("found", "sum"), converged=("converged", "mean"),
                       covered=("covered", "mean"), mean_estimate=("mean", "mean"), seconds=("seconds", "mean"),
                       median_max_r_hat=("max_r_hat", "median"), divergent=("divergences", lambda d: (d > 0).mean())).reset_index()
    n, k = curve["replicates"].to_numpy(float), curve["found"].to_numpy(float)
    p = k / n
    curve["power"] = p
    curve["mc_se"] = np.sqrt(p * (1 - p) / n)
    z = 1.959964
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    curve["power_low"], curve["power_high"] = centre - half, centre + half
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


def interpretable(estimand: str, value: float, short: bool = False) -> str:
    """An effect in the words of its unit ('+40% (ratio 1.40)', '3.0 MADRS
    points per doubling'; ``short``: '+40%', '3.0 points')."""
    if estimand == NIF_CHANGE_RATIO:
        return f"{(value - 1) * 100:+.0f}%" + ("" if short else f" (ratio {value:.2f})")
    return f"{value:.1f} " + ("points" if short else "MADRS points per doubling")


TITLES = {NIF_CHANGE_RATIO: "ketamine effect on the level", COUPLING_WITHIN["ketamine"]: "within-person coupling, ketamine arm"}
LABELS = {
    NIF_CHANGE_RATIO: "true ketamine/saline ratio of change",
    COUPLING_WITHIN["ketamine"]: "true coupling (MADRS points per doubling)",
}


def plot_detection(curves: dict[str, pd.DataFrame], smallest: dict[str, dict], target: float = TARGET_POWER):
    """Detection probability against true size, one panel per estimand: points
    with 95% Wilson intervals (Monte Carlo error), the target power and the
    smallest effect reaching it."""
    import matplotlib.pyplot as plt

    from .plotting import FIGURE_WIDTH, OKABE_ITO

    fig, axes = plt.subplots(1, len(curves), figsize=(FIGURE_WIDTH, 3.2), squeeze=False)
    for ax, (estimand, curve) in zip(axes.flat, curves.items(), strict=True):
        x = curve["truth"].to_numpy(float)
        below = np.clip(curve["power"] - curve["power_low"], 0, None)  # Wilson bounds at 0 or 1 can cross by rounding
        above = np.clip(curve["power_high"] - curve["power"], 0, None)
        ax.errorbar(x, curve["power"], yerr=[below, above],
                    color=OKABE_ITO[4], marker="o", ms=4, capsize=2, lw=1.4)
        ax.axhline(target, color="grey", lw=0.8, ls="--")
        ax.axhline(0.025, color="grey", lw=0.6, ls=":")  # the rule's false-alarm rate in one direction
        best = smallest.get(estimand, {})
        if np.isfinite(best.get("effect", np.nan)):
            ax.axvspan(best["low"], best["high"], color=OKABE_ITO[0], alpha=0.2, lw=0)
            ax.axvline(best["effect"], color=OKABE_ITO[0], lw=1.2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(LABELS.get(estimand, estimand))
        ax.set_ylabel("probability of detection")
        ax.set_title(f"{curve['marker'].iloc[0]}: {TITLES.get(estimand, estimand)}")
    fig.tight_layout()
    return fig
