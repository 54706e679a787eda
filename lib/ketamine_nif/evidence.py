"""Evidence for absence: how much the data say an effect is negligible.

Two measures, from the posterior draws the analysis chapters save
(``_build/outputs/<stem>/<fit>.nc``):

* the posterior probability that an estimand lies inside its region of
  practical equivalence (ROPE);
* the Bayes factor for the point null (effect = 0; log ratio = 0) against the
  model's prior, by the **Savage-Dickey density ratio**: for a parameter whose
  prior under the alternative, restricted to the null value, is the null
  model's prior (true here: the effects are independent of the nuisance
  parameters a priori),

      BF01 = p(theta = 0 | data) / p(theta = 0),

  the posterior density at the null over the prior density at the null. The
  prior density is exact (normal, or the normal scale mixture of a partially
  pooled effect, integrated numerically); the posterior density is a Gaussian
  kernel density estimate (Scott's bandwidth) of the draws, or a normal
  approximation (mean and SD of the draws) when the null lies outside the
  central 99% of the draws, where a kernel estimate has no draws to lean on.
  BF01 > 1 favours the null, < 1 the effect.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import integrate, stats

from .estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from .estimates import summarise

KDE = "kernel density (Gaussian, Scott's bandwidth)"
NORMAL_APPROXIMATION = "normal approximation (null in the far tail)"
TAIL = 0.005  # the null is "in the far tail" outside the central 99% of the draws


def posterior_density_at(draws: np.ndarray, value: float = 0.0) -> tuple[float, str]:
    """Posterior density at ``value`` from draws, and the method used."""
    draws = np.asarray(draws, dtype=float).ravel()
    low, high = np.quantile(draws, [TAIL, 1 - TAIL])
    if low <= value <= high:
        return float(stats.gaussian_kde(draws)(value)[0]), KDE
    return float(stats.norm.pdf(value, draws.mean(), draws.std(ddof=1))), NORMAL_APPROXIMATION


def pooled_prior_density(value: float, mean_sd: float, spread_sd: float | None = None, factor: float = 1.0) -> float:
    """Prior density at ``value`` of an effect ``mean + spread * raw`` with mean ~
    N(0, mean_sd), spread ~ HalfNormal(spread_sd), raw ~ N(0, 1) (a partially
    pooled effect; ``spread_sd`` None: just the mean). ``factor`` scales the
    variance (2 for the difference of two such effects with independent parts)."""
    if spread_sd is None:
        return float(stats.norm.pdf(value, 0.0, math.sqrt(factor) * mean_sd))

    def integrand(s):
        return stats.norm.pdf(value, 0.0, math.sqrt(factor * (mean_sd**2 + s**2))) * 2 * stats.norm.pdf(s, 0.0, spread_sd)

    result, _ = integrate.quad(integrand, 0.0, np.inf)
    return float(result)


def savage_dickey(draws: np.ndarray, prior_density: float, null: float = 0.0) -> dict:
    """BF01 by the Savage-Dickey density ratio (posterior over prior density at the null)."""
    density, method = posterior_density_at(draws, null)
    return {"bf01": density / prior_density, "posterior_density": density, "prior_density": prior_density, "method": method}


def evidence_words(bf01: float) -> str:
    """Lee & Wagenmakers' (2013) labels for a Bayes factor."""
    bf, side = (bf01, "the null") if bf01 >= 1 else (1 / bf01, "an effect")
    for bound, word in ((3, "anecdotal"), (10, "moderate"), (30, "strong"), (100, "very strong")):
        if bf < bound:
            return f"{word} evidence for {side}" if word != "anecdotal" else f"anecdotal evidence for {side}"
    return f"extreme evidence for {side}"


def rope_probability(draws: np.ndarray, rope: tuple[float, float]) -> float:
    draws = np.asarray(draws).ravel()
    return float(((draws >= rope[0]) & (draws <= rope[1])).mean())


@dataclass(frozen=True)
class Source:
    """One saved fit: the chapter's output folder name and the fit's name."""

    stem: str
    fit: str

    def path(self, outputs: Path) -> Path:
        return outputs / self.stem / f"{self.fit}.nc"

    def posterior(self, outputs: Path) -> xr.Dataset:
        return xr.open_datatree(self.path(outputs))["posterior"].to_dataset()

    def converged(self, outputs: Path) -> bool:
        record = outputs / self.stem / "diagnostics.json"
        if not record.exists():
            return False
        return bool(json.loads(record.read_text()).get(self.fit, {}).get("converged", False))


TRAJECTORIES = Source("02-nif-trajectories", "nif-trajectories")
DEPRESSION = Source("03-coupling", "depression")
COUPLING = Source("03-coupling", "coupling")
MODERATION = Source("04-baseline-prediction", "baseline-prediction")

# every key estimand of aims 1-3: where its draws are
KEY_ESTIMANDS = (
    (TRAJECTORIES, NIF_CHANGE_RATIO),
    (DEPRESSION, MADRS_CHANGE_DIFFERENCE),
    *((COUPLING, name) for name in COUPLING_WITHIN.values()),
    (MODERATION, BASELINE_MODERATION_DIFFERENCE),
)


def rope_estimates(outputs: Path, ropes: dict) -> tuple[pd.DataFrame, list[str]]:
    """Output-contract rows of every key estimand found under ``outputs``, with
    P(inside the ROPE) for ``ropes`` (estimand -> bounds); and the missing sources."""
    frames, missing = [], []
    for source, estimand in KEY_ESTIMANDS:
        if not source.path(outputs).exists():
            missing.append(str(source.path(outputs)))
            continue
        tree = xr.open_datatree(source.path(outputs))
        frames.append(summarise(tree, estimand, tuple(ropes[estimand]), source.converged(outputs)))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table, sorted(set(missing))


@dataclass(frozen=True)
class Headline:
    """A null hypothesis tested by a Bayes factor: a posterior variable, its
    candidate names in the saved fit, and its prior."""

    source: Source
    names: tuple[str, ...]  # the variable, under each name it has had
    label: str
    mean_sd: float
    spread_sd: float | None = None  # partially pooled across markers: the spread's half-normal scale
    factor: float = 1.0
    spread_names: tuple[str, ...] = ()  # the spread's names in the saved fit (absent with one marker: no pooling)

    def variable(self, posterior: xr.Dataset) -> str | None:
        return next((n for n in self.names if n in posterior), None)


def headlines(arm_mean_sd: float, arm_spread_sd: float, madrs_arm_sd: float, coupling_mean_sd: float,
              coupling_spread_sd: float, moderation_mean_sd: float, moderation_spread_sd: float) -> list[Headline]:
    """The headline nulls of aims 1-3 (the pooled effect across markers) and each
    marker's effect, with the priors the chapters used (pass the chapters' values)."""
    return [
        Headline(TRAJECTORIES, ("arm_mean", "beta_bar"), "pooled log NIF change ratio (all markers)", arm_mean_sd),
        Headline(TRAJECTORIES, ("log_ratio",), "log NIF change ratio", arm_mean_sd, arm_spread_sd, 1.0, ("arm_spread", "beta_spread")),
        Headline(DEPRESSION, ("madrs_change_difference",), "ketamine minus saline MADRS change", madrs_arm_sd),
        Headline(COUPLING, ("coupling_mean",), "pooled within-person coupling (all markers)", coupling_mean_sd),
        Headline(COUPLING, (COUPLING_WITHIN["ketamine"],), "within-person coupling, ketamine", coupling_mean_sd,
                 coupling_spread_sd, 1.0, ("coupling_spread",)),
        Headline(COUPLING, (COUPLING_WITHIN["saline"],), "within-person coupling, saline", coupling_mean_sd,
                 coupling_spread_sd, 1.0, ("coupling_spread",)),
        Headline(COUPLING, (COUPLING_WITHIN["difference"],), "coupling, ketamine minus saline", coupling_mean_sd,
                 coupling_spread_sd, 2.0, ("coupling_spread",)),
        Headline(MODERATION, ("moderation_mean",), "pooled baseline moderation (all markers)", moderation_mean_sd),
        Headline(MODERATION, (BASELINE_MODERATION_DIFFERENCE,), "baseline moderation", moderation_mean_sd,
                 moderation_spread_sd, 1.0, ("moderation_spread",)),
    ]


def bayes_factors(outputs: Path, specs: list[Headline]) -> pd.DataFrame:
    """BF01 (Savage-Dickey) for every element of every headline variable found
    under ``outputs``. A per-marker effect in a fit without a spread (one marker)
    has the plain normal prior of the mean."""
    rows = []
    for spec in specs:
        if not spec.source.path(outputs).exists():
            continue
        posterior = spec.source.posterior(outputs)
        name = spec.variable(posterior)
        if name is None:
            continue
        pooled_spread = spec.spread_sd if any(n in posterior for n in spec.spread_names) else None
        prior_density = pooled_prior_density(0.0, spec.mean_sd, pooled_spread, spec.factor)
        draws = posterior[name]
        dims = [d for d in draws.dims if d not in ("chain", "draw")]
        stacked = draws.stack(sample=("chain", "draw")).transpose(*dims, "sample")
        for index in np.ndindex(*stacked.shape[:-1]):
            coords = {d: str(draws[d].values[i]) for d, i in zip(dims, index, strict=True)}
            result = savage_dickey(np.asarray(stacked[index]), prior_density)
            rows.append({
                "null": spec.label, "variable": name,
                "marker": next((v for d, v in coords.items() if d in ("marker", "outcome")), "all"),
                "arm": coords.get("arm", ""), "visit": coords.get("post_visit", "all"),
                "prior": _prior_text(spec.mean_sd, pooled_spread, spec.factor),
                **result, "evidence": evidence_words(result["bf01"]), "converged": spec.source.converged(outputs),
            })
    return pd.DataFrame(rows)


def _prior_text(mean_sd: float, spread_sd: float | None, factor: float) -> str:
    scale = f"{math.sqrt(factor):g} × " if factor != 1 else ""
    if spread_sd is None:
        return f"N(0, {scale}{mean_sd:g})"
    return f"N(0, {scale}√({mean_sd:g}² + s²)), s ~ HalfNormal({spread_sd:g})"
