"""Evidence for absence: how much the data say an effect is negligible, and
how much that answer owes to the choices made.

From the posterior draws the analysis chapters save
(``_build/outputs/<stem>/<fit>.nc``), with the priors those fits used (saved
with the draws, :func:`ketamine_nif.inference.saved_priors`; never re-declared
here):

* the posterior probability that an estimand lies inside its region of
  practical equivalence (ROPE);
* the Bayes factor for the point null (effect = 0; log ratio = 0) against the
  model's prior, by the **Savage-Dickey density ratio**, BF01 = p(theta = 0 |
  data) / p(theta = 0): the posterior density at the null over the prior
  density at the null, where the null model is the full model conditioned on
  theta = 0. The prior density is exact (:meth:`~ketamine_nif.models.pooling.EffectPrior.density`); the
  posterior density is a Gaussian kernel density estimate (Scott's bandwidth)
  of the draws, or a normal approximation (mean and SD of the draws) when the
  null lies outside the central 99% of the draws, where a kernel estimate has
  no draws to lean on. BF01 > 1 favours the null, < 1 the effect;
* both again under other priors, without refitting, by **importance
  reweighting** of the saved draws: a prior p2 in place of the book's p1 turns
  the posterior into one proportional to posterior x p2 / p1, so each draw gets
  the weight p2 / p1 (of the parameters whose prior changed). The effective
  number of draws, (sum w)^2 / sum w^2, says how far to trust a reweighted
  answer; below :data:`MIN_WEIGHTED_DRAWS` it is flagged. Two uses: the
  book's slabs scaled up and down (:func:`sensitivity`), and the sceptical,
  neutral and optimistic priors of published Bayesian reanalyses of trials
  [Spiegelhalter et al. 1994] (:func:`alternative_priors`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .estimands import (
    ALL_VISITS,
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from .estimates import COLUMNS, summarise, write
from .inference import saved_priors
from .models.pooling import EffectPrior

KDE = "kernel density (Gaussian, Scott's bandwidth)"
NORMAL_APPROXIMATION = "normal approximation (null in the far tail)"
TAIL = 0.005  # the null is "in the far tail" outside the central 99% of the draws
MIN_WEIGHTED_DRAWS = 200  # a reweighted answer resting on fewer effective draws is flagged


def _weighted_quantiles(draws: np.ndarray, weights: np.ndarray, q) -> np.ndarray:
    order = np.argsort(draws)
    cdf = np.cumsum(weights[order]) / weights.sum()
    return np.interp(q, cdf, draws[order])


def posterior_density_at(draws: np.ndarray, value: float = 0.0, weights: np.ndarray | None = None) -> tuple[float, str]:
    """Posterior density at ``value`` from (optionally weighted) draws, and the method used."""
    draws = np.asarray(draws, dtype=float).ravel()
    weights = np.ones_like(draws) if weights is None else np.asarray(weights, dtype=float).ravel()
    low, high = _weighted_quantiles(draws, weights, [TAIL, 1 - TAIL])
    if low <= value <= high:
        return float(stats.gaussian_kde(draws, weights=weights)(value)[0]), KDE
    mean = np.average(draws, weights=weights)
    sd = math.sqrt(np.average((draws - mean) ** 2, weights=weights))
    return float(stats.norm.pdf(value, mean, sd)), NORMAL_APPROXIMATION


def savage_dickey(draws: np.ndarray, prior_density: float, null: float = 0.0, weights: np.ndarray | None = None) -> dict:
    """BF01 by the Savage-Dickey density ratio (posterior over prior density at the null)."""
    density, method = posterior_density_at(draws, null, weights)
    return {"bf01": density / prior_density, "posterior_density": density, "prior_density": prior_density, "method": method}


def evidence_words(bf01: float) -> str:
    """Lee & Wagenmakers' (2013) labels for a Bayes factor."""
    bf, side = (bf01, "the null") if bf01 >= 1 else (1 / bf01, "an effect")
    for bound, word in ((3, "anecdotal"), (10, "moderate"), (30, "strong"), (100, "very strong")):
        if bf < bound:
            return f"{word} evidence for {side}"
    return f"extreme evidence for {side}"


def rope_probability(draws: np.ndarray, rope: tuple[float, float], weights: np.ndarray | None = None) -> float:
    draws = np.asarray(draws).ravel()
    inside = (draws >= rope[0]) & (draws <= rope[1])
    return float(np.average(inside, weights=None if weights is None else np.asarray(weights).ravel()))


def effective_draws(weights: np.ndarray) -> float:
    """Kish's effective number of draws of importance weights."""
    weights = np.asarray(weights, dtype=float).ravel()
    return float(weights.sum() ** 2 / (weights**2).sum())


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


@dataclass(frozen=True)
class KeyEstimand:
    """A key estimand: where its draws are, the variable on the scale its prior
    is on (log ratio for ratios), the recorded prior behind it, and whether the
    estimand is the difference of two of that prior's effects (a marker's couplings in the two arms)."""

    estimand: str
    source: Source
    variable: str
    prior: str
    difference: bool = False
    log_scale: bool = False

    def prior_of(self, posterior: xr.Dataset) -> EffectPrior | None:
        fields = saved_priors(posterior).get(self.prior)
        return EffectPrior(**fields) if fields else None


KEY_ESTIMANDS = (
    KeyEstimand(NIF_CHANGE_RATIO, TRAJECTORIES, "log_ratio", "log_ratio", log_scale=True),
    KeyEstimand(MADRS_CHANGE_DIFFERENCE, DEPRESSION, MADRS_CHANGE_DIFFERENCE, MADRS_CHANGE_DIFFERENCE),
    KeyEstimand(COUPLING_WITHIN["ketamine"], COUPLING, COUPLING_WITHIN["ketamine"], "coupling"),
    KeyEstimand(COUPLING_WITHIN["saline"], COUPLING, COUPLING_WITHIN["saline"], "coupling"),
    KeyEstimand(COUPLING_WITHIN["difference"], COUPLING, COUPLING_WITHIN["difference"], "coupling", difference=True),
    KeyEstimand(BASELINE_MODERATION_DIFFERENCE, MODERATION, BASELINE_MODERATION_DIFFERENCE, BASELINE_MODERATION_DIFFERENCE),
)


def on_prior_scale(rope: tuple[float, float], key: KeyEstimand) -> tuple[float, float]:
    """A ROPE on the scale of the estimand's prior (log for ratios)."""
    return (math.log(rope[0]), math.log(rope[1])) if key.log_scale else tuple(rope)


def important_effects(config) -> dict[str, float]:
    """estimand -> the important effect of each key estimand in the analysis
    configuration ``config``, on the scale of its prior (log for ratios): the
    reference of :func:`reanalysis_priors`."""
    return {key.estimand: (math.log if key.log_scale else float)(config.important_effect(key.estimand))
            for key in KEY_ESTIMANDS}


def rope_estimates(outputs: Path, ropes: dict, informed=None) -> tuple[pd.DataFrame, list[str]]:
    """Output-contract rows of every key estimand found under ``outputs`` (those
    the data inform, by ``informed``, an :class:`~ketamine_nif.identifiability.Assessment`),
    with P(inside the ROPE) for ``ropes`` (estimand -> bounds); and the missing sources."""
    frames, missing = [], []
    for key in KEY_ESTIMANDS:
        if not key.source.path(outputs).exists():
            missing.append(str(key.source.path(outputs)))
            continue
        tree = xr.open_datatree(key.source.path(outputs))
        frames.append(summarise(tree, key.estimand, tuple(ropes[key.estimand]), key.source.converged(outputs)))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return (table if informed is None else informed.keep(table)), sorted(set(missing))


def write_outputs(out: Path, sources: Path, table: pd.DataFrame, factors: pd.DataFrame, missing: list[str]) -> bool:
    """The chapter's estimates.csv, bayes-factors.csv and diagnostics.json in
    ``out``; whether there are estimates and every fit behind them converged."""
    write(table if not table.empty else pd.DataFrame(columns=COLUMNS), out)
    factors.to_csv(out / "bayes-factors.csv", index=False, float_format="%.6g")
    converged = bool(len(table)) and bool(table["converged"].all())
    record = {"evidence": {"sources": str(sources), "missing": missing, "estimands": len(table),
                           "bayes_factors": len(factors), "converged": converged}}
    (out / "diagnostics.json").write_text(json.dumps(record, indent=2) + "\n")
    return converged


def missing_inputs(missing: list[str]) -> str:
    """What the chapter says when saved fits of chapters 02-04 are missing."""
    from .reporting import join_words

    return (f"**Missing inputs**: {join_words(missing)} not found. This chapter reads the posterior draws that chapters "
            "02-04 save; run them first (`make report` does). Estimands without their fit are left out below.")


def verdicts(table: pd.DataFrame, level: float = 0.95) -> np.ndarray:
    """Per estimate: "ruled out" (P(inside the ROPE) >= ``level``), "present"
    (<= 1 - ``level``) or "undecided"."""
    return np.select([table["p_rope"] >= level, table["p_rope"] <= 1 - level], ["ruled out", "present"], "undecided")


def verdict_summary(table: pd.DataFrame, ropes: dict, level: float = 0.95) -> pd.DataFrame:
    """Per estimand: its ROPE, how many estimates are ruled out, present or
    undecided (:func:`verdicts`), and the smallest and largest P(inside the ROPE)."""
    from .estimands import description

    verdict = pd.Series(verdicts(table, level), index=table.index)
    summary = table.assign(verdict=verdict).groupby("estimand", sort=False).agg(
        estimates=("p_rope", "size"), ruled_out=("verdict", lambda v: int((v == "ruled out").sum())),
        present=("verdict", lambda v: int((v == "present").sum())),
        undecided=("verdict", lambda v: int((v == "undecided").sum())),
        lowest=("p_rope", "min"), highest=("p_rope", "max")).reset_index()
    summary.insert(1, "ROPE", summary["estimand"].map(lambda e: f"{ropes[e][0]:g} to {ropes[e][1]:g}"))
    summary["estimand"] = summary["estimand"].map(description)
    return summary.rename(columns={"ruled_out": "ruled out", "lowest": "min P(ROPE)", "highest": "max P(ROPE)"})


def _elements(posterior: xr.Dataset, variable: str):
    """(coords, draws) of every element of a posterior variable, draws flattened over chains."""
    draws = posterior[variable]
    dims = [d for d in draws.dims if d not in ("chain", "draw")]
    stacked = draws.stack(sample=("chain", "draw")).transpose(*dims, "sample")
    for index in np.ndindex(*stacked.shape[:-1]):
        yield {d: str(draws[d].values[i]) for d, i in zip(dims, index, strict=True)}, np.asarray(stacked[index], dtype=float)


def _informed_elements(key: KeyEstimand, posterior: xr.Dataset, informed):
    """:func:`_elements` of a key estimand that the data inform (all when ``informed`` is None)."""
    for coords, draws in _elements(posterior, key.variable):
        if informed is None or informed.informed(key.estimand, _marker_of(coords), coords.get("post_visit", ALL_VISITS)):
            yield coords, draws


def _marker_of(coords: dict) -> str:
    """The marker of a posterior element; the outcome's name (``reporting.study``) for the outcome's estimands."""
    from .reporting import study

    return coords.get("marker", study().outcome)


def _row_key(key: KeyEstimand, coords: dict) -> dict:
    return {"estimand": key.estimand, "marker": _marker_of(coords), "visit": coords.get("post_visit", "all")}


def _available(outputs: Path):
    """(key, posterior, prior) for every key estimand whose fit is saved with its prior."""
    cache = {}
    for key in KEY_ESTIMANDS:
        if not key.source.path(outputs).exists():
            continue
        if key.source not in cache:
            cache[key.source] = key.source.posterior(outputs)
        posterior = cache[key.source]
        prior = key.prior_of(posterior)
        if prior is not None and key.variable in posterior:
            yield key, posterior, prior


def bayes_factors(outputs: Path, informed=None) -> pd.DataFrame:
    """BF01 (Savage-Dickey) for every element of every key estimand saved
    under ``outputs`` (that the data inform), with the prior the fit recorded."""
    rows = []
    for key, posterior, prior in _available(outputs):
        prior_density = prior.density(0.0, key.difference)
        for coords, draws in _informed_elements(key, posterior, informed):
            result = savage_dickey(draws, prior_density)
            rows.append({**_row_key(key, coords), "prior": prior.text() + (" (difference of two)" if key.difference else ""),
                         **result, "evidence": evidence_words(result["bf01"]), "converged": key.source.converged(outputs)})
    return pd.DataFrame(rows)


def _scale_weights(key: KeyEstimand, posterior: xr.Dataset, prior: EffectPrior, factor: float, coords: dict,
                   draws: np.ndarray) -> np.ndarray:
    """Weights that turn the book's posterior into the one in which this
    estimand's prior has its slab times ``factor`` (the prior of each
    estimate changed in turn, the others kept): the ratio of the two densities
    of the effect, or of both effects of a difference (``pooling="none"``), or
    of the family's shared scale (``"shared"``)."""
    if factor == 1.0:
        return np.ones_like(draws)
    scaled = EffectPrior(prior.scale * factor, prior.nu, prior.pooling)
    if prior.pooling == "shared":
        scale = np.asarray(posterior[f"{key.prior}_scale"].stack(sample=("chain", "draw")), dtype=float)
        log_w = stats.halfnorm.logpdf(scale, 0.0, scaled.scale) - stats.halfnorm.logpdf(scale, 0.0, prior.scale)
    else:
        effects = [draws] if not key.difference else [
            np.asarray(posterior[key.prior].sel(marker=coords["marker"], arm=arm).stack(sample=("chain", "draw")), dtype=float)
            for arm in posterior[key.prior]["arm"].values]
        log_w = sum(scaled.logpdf(e) - prior.logpdf(e) for e in effects)
    return np.exp(log_w - log_w.max())


def sensitivity(outputs: Path, ropes: dict, prior_factors=(0.5, 1.0, 2.0), rope_factors=(0.5, 1.0, 1.5, 2.0),
                level: float = 0.95, informed=None) -> pd.DataFrame:
    """The verdicts of every key estimand over a grid of slab multiples (by
    reweighting) and ROPE half-widths (multiples of each ROPE, about its
    centre): per estimand, prior factor and ROPE factor, how many estimates are
    ruled out (P(inside) >= ``level``), how many Bayes factors exceed 3 (for the
    null) or fall under 1/3 (for an effect), and the fewest effective draws."""
    rows = []
    for key, posterior, prior in _available(outputs):
        base = on_prior_scale(ropes[key.estimand], key)
        centre, half = (base[0] + base[1]) / 2, (base[1] - base[0]) / 2
        for p_factor in prior_factors:
            scaled = EffectPrior(prior.scale * p_factor, prior.nu, prior.pooling)
            prior_density = scaled.density(0.0, key.difference)
            per_rope = {f: [] for f in rope_factors}
            factors, ess = [], []
            for coords, draws in _informed_elements(key, posterior, informed):
                w = _scale_weights(key, posterior, prior, p_factor, coords, draws)
                ess.append(effective_draws(w))
                factors.append(savage_dickey(draws, prior_density, weights=w)["bf01"])
                for f in rope_factors:
                    per_rope[f].append(rope_probability(draws, (centre - f * half, centre + f * half), w))
            for f in rope_factors if factors else ():
                rows.append({"estimand": key.estimand, "prior_factor": p_factor, "rope_factor": f,
                             "estimates": len(factors), "ruled_out": int((np.array(per_rope[f]) >= level).sum()),
                             "bf01_above_3": int((np.array(factors) > 3).sum()), "bf01_below_third": int((np.array(factors) < 1 / 3).sum()),
                             "min_effective_draws": float(min(ess))})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class AlternativePrior:
    """A normal prior (or an even mixture of two, at +-mean) on an estimand's scale."""

    name: str
    mean: float
    sd: float
    both_signs: bool = False  # an even mixture of N(+mean, sd) and N(-mean, sd)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        if not self.both_signs:
            return stats.norm.logpdf(x, self.mean, self.sd)
        return np.logaddexp(stats.norm.logpdf(x, self.mean, self.sd), stats.norm.logpdf(x, -self.mean, self.sd)) - math.log(2)

    def text(self) -> str:
        centre = f"±{self.mean:.3g}" if self.both_signs else f"{self.mean:.3g}"
        return f"N({centre}, {self.sd:.3g})"


def reanalysis_priors(important: float, direction: int = 0) -> list[AlternativePrior]:
    """The priors of Bayesian reanalyses of trials [Spiegelhalter et al. 1994],
    for an effect whose clinically important size is ``important`` (on the
    estimand's scale): *sceptical*, centred on no effect with a 5% chance of an
    effect beyond the important size in the expected direction; *neutral*,
    centred on no effect and wide (SD twice the important size); *optimistic*,
    centred on the important effect with the sceptic's SD (a 5% chance of the
    other direction). ``direction`` is the sign of the expected effect (-1 for
    a fall in MADRS); 0 when no sign is expected (NIFs): the optimist then
    believes in an effect of either sign, an even mixture of both."""
    sd = important / stats.norm.ppf(0.95)
    optimistic = AlternativePrior("optimistic", important * (direction or 1), sd, both_signs=direction == 0)
    return [AlternativePrior("sceptical", 0.0, sd), AlternativePrior("neutral", 0.0, 2 * important), optimistic]


def alternative_priors(outputs: Path, ropes: dict, important: dict, directions: dict | None = None,
                       visits: tuple[str, ...] | None = None, informed=None) -> pd.DataFrame:
    """P(beyond the ROPE) of every key estimand (at ``visits`` where it has
    visits; all by default) under the book's prior and under the sceptical,
    neutral and optimistic priors of :func:`reanalysis_priors` (``important``:
    estimand -> important effect on its prior's scale; ``directions``: estimand
    -> expected sign), by reweighting each draw with p_alternative / p_book of
    the estimand (the book's marginal prior of one effect, or of a difference)."""
    directions = directions or {}
    rows = []
    for key, posterior, prior in _available(outputs):
        if key.estimand not in important:
            continue
        rope = on_prior_scale(ropes[key.estimand], key)
        alternatives = reanalysis_priors(important[key.estimand], directions.get(key.estimand, 0))
        for coords, draws in _informed_elements(key, posterior, informed):
            if visits is not None and coords.get("post_visit", visits[0]) not in visits:
                continue
            nodes = _density_nodes(draws)
            log_book = np.interp(draws, nodes, np.log(np.maximum(prior.density(nodes, key.difference), 1e-300)))
            row = {**_row_key(key, coords), "book": 1 - rope_probability(draws, rope)}
            for alternative in alternatives:
                log_w = alternative.logpdf(draws) - log_book
                w = np.exp(log_w - log_w.max())
                row[alternative.name] = 1 - rope_probability(draws, rope, w)
                row[f"{alternative.name}_effective_draws"] = effective_draws(w)
            rows.append(row)
    return pd.DataFrame(rows)


def _density_nodes(draws: np.ndarray, n: int = 121) -> np.ndarray:
    """Nodes spanning the draws, where the (numerically integrated) book prior
    density is evaluated and then interpolated."""
    low, high = float(np.min(draws)), float(np.max(draws))
    pad = 1e-9 + 0.01 * (high - low)
    return np.linspace(low - pad, high + pad, n)


def bayes_factor_summary(factors: pd.DataFrame) -> pd.DataFrame:
    """Per estimand: the prior, the number of Bayes factors, their range and
    median, and how many favour the null (BF01 > 3) or an effect (< 1/3)."""
    return factors.groupby("estimand", sort=False).agg(
        prior=("prior", "first"), tests=("bf01", "size"), smallest=("bf01", "min"), median=("bf01", "median"),
        largest=("bf01", "max"), favour_null=("bf01", lambda b: int((b > 3).sum())),
        favour_effect=("bf01", lambda b: int((b < 1 / 3).sum())),
    ).reset_index().rename(columns={"favour_null": "BF01 > 3", "favour_effect": "BF01 < 1/3"})


def sensitivity_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`sensitivity` as one row per estimand and slab multiple: ruled
    out (of all estimates) at each ROPE multiple, and the Bayes factor counts."""
    rows = []
    for (estimand, factor), g in table.groupby(["estimand", "prior_factor"], sort=False):
        row = {"estimand": estimand, "slab ×": f"{factor:g}", "estimates": int(g["estimates"].iloc[0])}
        row.update({f"ruled out, ROPE × {f:g}": int(n) for f, n in zip(g["rope_factor"], g["ruled_out"], strict=True)})
        row.update({"BF01 > 3": int(g["bf01_above_3"].iloc[0]), "BF01 < 1/3": int(g["bf01_below_third"].iloc[0]),
                    "reweighting": "ok" if g["min_effective_draws"].min() >= MIN_WEIGHTED_DRAWS else "few effective draws"})
        rows.append(row)
    return pd.DataFrame(rows)


PRIOR_NAMES = ("book", "sceptical", "neutral", "optimistic")


def alternative_summary(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """:func:`alternative_priors` per estimand: under each prior, how many
    estimates are ruled out (P(beyond the ROPE) <= 1 - ``level``) and the
    largest P(beyond the ROPE)."""
    rows = []
    for estimand, g in table.groupby("estimand", sort=False):
        row = {"estimand": estimand, "estimates": len(g)}
        for name in PRIOR_NAMES:
            row[name] = f"{int((g[name] <= 1 - level).sum())} ruled out; max P(beyond) {g[name].max():.2f}"
        unreliable = [n for n in PRIOR_NAMES[1:] if (g[f"{n}_effective_draws"] < MIN_WEIGHTED_DRAWS).any()]
        row["reweighting"] = "few effective draws: " + ", ".join(unreliable) if unreliable else "ok"
        rows.append(row)
    return pd.DataFrame(rows)


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def answer(table: pd.DataFrame, factors: pd.DataFrame, alternatives: pd.DataFrame, converged: bool,
           level: float = 0.95) -> str:
    """The chapter's answer: verdicts per NIF estimand family, the range of
    the markers' Bayes factors, how the count ruled out moves under the
    sceptical and optimistic priors, and the MADRS effect. No answer without
    estimates or Bayes factors (the saved fits of chapters 02-04)."""
    from .estimands import description
    from .reporting import join_words

    if table.empty or factors.empty:
        return "No answer can be given without the posterior draws of chapters 02-04."
    table = table.assign(verdict=verdicts(table, level))
    nif = table[table["estimand"] != MADRS_CHANGE_DIFFERENCE]
    madrs = table[table["estimand"] == MADRS_CHANGE_DIFFERENCE]
    per_marker = factors[factors["estimand"] != MADRS_CHANGE_DIFFERENCE]
    by_family = {description(e): (int((g["verdict"] == "ruled out").sum()), len(g)) for e, g in nif.groupby("estimand", sort=False)}
    text = ("" if converged else "**Caution**: some source fits did not pass the convergence checks; their numbers are "
            "shown but are not findings. ")
    counts = {v: int((nif["verdict"] == v).sum()) for v in ("ruled out", "present", "undecided")}
    text += (f"Of {len(nif)} NIF estimates, {counts['ruled out']} {_be(counts['ruled out'])} ruled out for practical purposes "
             f"(P(inside the ROPE) ≥ {level:g}), {counts['present']} {_be(counts['present'])} practically present and "
             f"{counts['undecided']} undecided ("
             + join_words(f"{k}: {a} of {n} ruled out" for k, (a, n) in by_family.items()) + "). ")
    if not per_marker.empty:
        text += (f"The Bayes factors for each marker's effect range from {per_marker['bf01'].min():.2g} to "
                 f"{per_marker['bf01'].max():.2g}, {int((per_marker['bf01'] > 3).sum())} of {len(per_marker)} above 3 (at "
                 "least moderate evidence for no effect). ")
    nif_alt = alternatives[alternatives["estimand"] != MADRS_CHANGE_DIFFERENCE] if not alternatives.empty else alternatives
    if not nif_alt.empty:
        counts = {name: int((nif_alt[name] <= 1 - level).sum()) for name in PRIOR_NAMES}
        spread = max(counts.values()) - min(counts.values())
        text += (f"Under the sceptical prior {counts['sceptical']} of these {len(nif_alt)} would be ruled out, under the "
                 f"neutral {counts['neutral']}, under the optimistic {counts['optimistic']} (under the book's, {counts['book']}): "
                 + ("where the data are weak, the prior decides, and those verdicts are the prior's, not the trial's. "
                    if spread > 0.1 * len(nif_alt) else
                    ("these priors agree on the count" if spread == 0 else f"the count moves by {spread} between these priors")
                    + "; what a narrower or wider prior scale does is in @tbl-evidence-sensitivity. "))
    present = madrs.loc[madrs["verdict"] == "present", "visit"]
    if len(present):
        text += f"Ketamine's effect on MADRS, by contrast, is practically present at {join_words(present)}. "
    return text + ("Where an effect is undecided, the trial is silent rather than negative: the interval still reaches "
                   "effects that would matter.")
