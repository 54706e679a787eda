"""Model criticism: the variants of the aim 1 model (:data:`VARIANTS`),
leave-one-participant-out comparison of them, predictive checks of any
variant, how values under the detection limit bias the estimates, and
simulation-based calibration (SBC) of the NIF-trajectory model (aim 1) and
of the outcome models with latent NIF values (aims 2 and 3,
:func:`outcome_sbc_replicate`). The figures
are in :mod:`ketamine_nif.plotting.criticism`, the sentences in
:mod:`ketamine_nif.answers.criticism`.

Leave-one-participant-out: a participant's log-likelihood is the sum over all
their rows, and PSIS-LOO (``arviz_stats.loo``) is run over participants, so
that the unit left out is the unit that was randomised. Variants that treat
values under the lod differently are compared on the same data: each posterior
is scored with the censored likelihood of what was actually observed (a value
under the lod contributes P(log y <= log lod)), whatever its own likelihood
was.

SBC [Talts et al. 2018]: draw parameters and data from the prior, fit, and
record the rank of each true parameter among the posterior draws; if the
inference is right, ranks are uniform. Ranks are turned into continuous PIT
values ``(rank + U) / (L + 1)`` (U uniform, L draws) and their ECDF minus the
uniform CDF is compared with a 95% simultaneous band computed by simulation
[Säilynoja et al. 2022] (:func:`simultaneous_band`, :func:`sbc_ecdf`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy import special, stats

from . import checks, estimates
from .contract import BASELINE_VISIT
from .estimands import NIF_CHANGE_RATIO
from .estimands import VARIANTS as VARIANT_DESCRIPTIONS
from .inference import Fit, SamplerSettings, fit
from .models import TrajectoryPriors, build_nif_trajectory_model
from .models.prepare import ModelData
from .models.trajectory import PERSON_SD_SHAPE

# ---------------------------------------------------------------- the variants of the aim 1 model

LOD_TREATMENTS = {"censored": "censored", "lod/2": "LOD/2", "lod/sqrt2": "LOD/√2"}  # below_lod -> its name in the text


@dataclass(frozen=True)
class Variant:
    """One way of fitting the aim 1 model in the model-criticism chapter."""

    label: str  # its name in the chapter's tables and sentences
    fit_name: str  # the fit's name: its posterior file, its diagnostics row and (through it) its seed
    suffix: str  # appended to nif_change_ratio for its estimates in estimates.csv ("" for the book's model)
    likelihood: str = "normal"  # occasion-to-occasion noise: normal or student
    below_lod: str = "censored"  # values under the detection limit: censored, lod/2 or lod/sqrt2
    person_slopes: bool = False  # each participant's own linear course after the infusion
    draws_factor: int = 1  # draws per chain, as a multiple of the chapter's

    @property
    def options(self) -> dict:
        """Keyword arguments of :func:`build_nif_trajectory_model`."""
        return {"likelihood": self.likelihood, "below_lod": self.below_lod, "person_slopes": self.person_slopes}

    @property
    def description(self) -> str:
        """What differs from the book's model (``estimands.VARIANTS``, which the summary page also reads)."""
        return VARIANT_DESCRIPTIONS[self.suffix.lstrip("_")] if self.suffix else "the book's model"

    @property
    def estimand(self) -> str:
        return NIF_CHANGE_RATIO + self.suffix

    @property
    def treatment(self) -> str:
        """How it treats values under the detection limit, as the text names it."""
        return LOD_TREATMENTS[self.below_lod]

    def settings(self, chapter: SamplerSettings) -> SamplerSettings:
        """The chapter's settings with this fit's own seed and draws."""
        own = chapter.for_fit(self.fit_name)
        return replace(own, draws=own.draws * self.draws_factor)


BOOK = Variant("normal, censored", "nif-normal", "")
STUDENT = Variant("Student-t, censored", "nif-student", "_student", likelihood="student")
LOD_HALF = Variant("normal, LOD/2", "nif-lod-half", "_lod_half", below_lod="lod/2")
LOD_SQRT2 = Variant("normal, LOD/√2", "nif-lod-sqrt2", "_lod_sqrt2", below_lod="lod/sqrt2")
PERSON_SLOPES = Variant("normal, censored, person slopes", "nif-person-slopes", "_person_slopes", person_slopes=True,
                        draws_factor=4)  # the SD of the slopes mixes slowly: at twice the draws its bulk ESS was 327 with nutpie (R-hat 1.011 with pymc)
VARIANTS = (BOOK, STUDENT, LOD_HALF, LOD_SQRT2, PERSON_SLOPES)


def fit_variant(variant: Variant, data: ModelData, priors: TrajectoryPriors, settings: SamplerSettings,
                output_dir: str | Path | None = None) -> Fit:
    """Fit one variant with the chapter's ``settings`` (its own seed and draws)."""
    model = build_nif_trajectory_model(data, priors=priors, **variant.options)
    return fit(model, variant.settings(settings), variant.fit_name, output_dir)


def ratio_estimates(result: Fit, rope: tuple[float, float], estimand: str = NIF_CHANGE_RATIO) -> pd.DataFrame:
    """The ketamine/saline ratios of an aim 1 fit (``estimates.summarise``),
    named ``estimand`` (a variant's :attr:`Variant.estimand` for estimates.csv)."""
    table = estimates.summarise(result.idata, NIF_CHANGE_RATIO, rope, result.diagnostics.converged)
    return table.assign(estimand=estimand)


# ---------------------------------------------------------------- leave one participant out


def integrated_participant_log_likelihood(posterior, data: ModelData, likelihood: str = "normal", nodes: int = 24,
                                          chunk: int = 200, slope_nodes: int = 12) -> np.ndarray:
    """Per-participant log-likelihood of the aim 1 model with each person's
    stable levels integrated out (Gauss-Hermite quadrature, one level per
    marker): log p(y_i | theta) = sum_m log int prod_rows p(y_imt | l, theta)
    N(l | mu_m, tau_m) dl. For the variant with person-level slopes (a
    ``slope_sd`` in the posterior) each person's slope is integrated out too,
    on a product grid of ``nodes`` x ``slope_nodes`` points. Values under the
    lod are scored as censored (P(log y <= log lod)), whatever likelihood the
    posterior came from.

    Leaving a participant out then removes only what they say about the
    shared parameters theta, which importance sampling handles well; with the
    levels left in, each participant's own parameters vanish with them and
    PSIS fails (Pareto k > 0.7 for most participants)."""
    post = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    slopes = "slope_sd" in post
    x, w = np.polynomial.hermite.hermgauss(nodes)
    if slopes:
        xs, ws = np.polynomial.hermite.hermgauss(slope_nodes)
        node_level, node_slope = np.repeat(x, slope_nodes), np.tile(xs, nodes)
        log_w = np.log(np.outer(w, ws).ravel() / np.pi)
    else:
        node_level, node_slope, log_w = x, np.zeros(nodes), np.log(w / np.sqrt(np.pi))
    chunk = max(1, chunk * nodes // len(log_w))  # the same memory per chunk with more nodes

    def draws(name):
        return np.asarray(post[name]).reshape(n_chain * n_draw, *post[name].shape[2:])

    mu, tau, sigma, delta, ratio = (draws(n) for n in ("mu", "tau", "sigma", "delta", "log_ratio"))
    nu = draws("nu") if likelihood == "student" else None
    omega = draws("slope_sd") if slopes else np.zeros_like(tau)
    m, i, t = data.nif_marker, data.nif_person, data.nif_visit
    days = data.visit_days[t] if slopes else np.zeros(len(t))
    post_row = (t > 0).astype(float)
    t_post = np.maximum(t - 1, 0)
    cell = i * len(data.markers) + m  # (participant, marker) cell of each row
    n_cells = data.n_participants * len(data.markers)
    order = np.argsort(cell, kind="stable")  # rows grouped by cell, for np.add.reduceat
    starts = np.flatnonzero(np.r_[True, np.diff(cell[order]) != 0])
    cells_seen = cell[order][starts]
    below = data.nif_censored
    out = np.zeros((n_chain * n_draw, n_cells))
    for start in range(0, n_chain * n_draw, chunk):
        s = slice(start, start + chunk)
        fixed = post_row * (delta[s][:, m, t_post] + data.arm_contrast[i] * ratio[s][:, m, t_post])  # (S, R)
        eta = (mu[s][:, m, None] + fixed[:, :, None]  # (S, R, K)
               + np.sqrt(2.0) * (tau[s][:, m, None] * node_level + omega[s][:, m, None] * days[None, :, None] * node_slope))
        scale = sigma[s][:, m, None]
        z = (data.nif_log[None, :, None] - eta) / scale
        logp = np.empty_like(z)
        if likelihood == "normal":
            logp[:, ~below] = -0.5 * z[:, ~below] ** 2 - np.log(scale[:, ~below]) - 0.5 * np.log(2 * np.pi)
            logp[:, below] = special.log_ndtr(z[:, below])
        else:
            df = nu[s][:, None, None]
            logp[:, ~below] = stats.t.logpdf(z[:, ~below], df) - np.log(scale[:, ~below])
            logp[:, below] = stats.t.logcdf(z[:, below], df)
        per_node = np.add.reduceat(logp[:, order], starts, axis=1)  # (S, cells, K)
        out[s, cells_seen] = _logsumexp(per_node + log_w, axis=-1)
    per_person = out.reshape(n_chain * n_draw, data.n_participants, len(data.markers)).sum(axis=-1)
    return per_person.reshape(n_chain, n_draw, data.n_participants)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def participant_loo(idata, per_person: np.ndarray, participants: list[str]):
    """PSIS-LOO over participants (``arviz_stats.loo``) from a (chain, draw,
    participant) log-likelihood array."""
    from arviz_stats import loo

    posterior = idata.posterior.to_dataset() if hasattr(idata.posterior, "to_dataset") else idata.posterior
    tree = xr.DataTree.from_dict({
        "/posterior": posterior[[next(iter(posterior.data_vars))]],
        "/log_likelihood": xr.Dataset({"by_participant": (("chain", "draw", "participant"), per_person)},
                                      coords={"participant": participants, "chain": posterior["chain"], "draw": posterior["draw"]}),
    })
    return loo(tree, var_name="by_participant", pointwise=True)


def thinned(posterior, max_draws: int | None):
    """Every k-th draw of each chain, the smallest k that leaves at most
    ``max_draws`` draws over all chains (None: every draw)."""
    post = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior
    if max_draws is None:
        return post
    per_chain = max(1, max_draws // post.sizes["chain"])
    return post.isel(draw=slice(None, None, -(-post.sizes["draw"] // per_chain)))


def participant_elpd(result: Fit, data: ModelData, likelihood: str = "normal", nodes: int = 24,
                     max_draws: int | None = None):
    """Integrated leave-one-participant-out elpd of an aim 1 fit
    (:func:`integrated_participant_log_likelihood`, :func:`participant_loo`),
    from at most ``max_draws`` of its draws (:func:`thinned`; chapter 08
    scores its slopes variant, run at four times the draws, on as many
    draws as the others)."""
    posterior = thinned(result.idata.posterior, max_draws)
    per_person = integrated_participant_log_likelihood(posterior, data, likelihood, nodes=nodes)
    return participant_loo(xr.DataTree.from_dict({"/posterior": posterior}), per_person, data.participants)


def difference_se(a, b) -> float:
    """Standard error of elpd(a) - elpd(b) from the paired pointwise (here
    per-participant) values: sqrt(n var(elpd_i(a) - elpd_i(b)))."""
    diff = np.asarray(a.elpd_i).ravel() - np.asarray(b.elpd_i).ravel()
    return float(np.sqrt(len(diff) * diff.var()))  # as arviz_stats.compare computes it


def comparison_table(elpds: dict) -> pd.DataFrame:
    """``arviz_stats.compare`` of the variants, with the share of participants
    whose Pareto k exceeds 0.7 (where PSIS-LOO is unreliable)."""
    from arviz_stats import compare

    table = compare(elpds, round_to="none").copy()
    table["share_k_over_0.7"] = [float((np.asarray(elpds[name].pareto_k) > 0.7).mean()) for name in table.index]
    return table


# ---------------------------------------------------------------- prior sensitivity

ARM_EFFECTS = "log_ratio"  # the aim 1 model's arm effects (each with its own sceptical prior)
SCALED_PARAMETERS = (ARM_EFFECTS, "tau", "sigma")  # whose sensitivity power-scaling reports (the arm effects first)
TOP_LEVEL_PRIORS = ("mu", "delta", ARM_EFFECTS, "tau", "sigma")  # the priors it scales (not the person levels)


def power_scaling(result: Fit) -> pd.DataFrame:
    """Power-scaling sensitivity (``arviz_stats.psense_summary``) of an aim 1
    fit's main parameters to its top-level priors and to the likelihood
    (the pointwise log-likelihood computed here if the fit has none)."""
    import arviz_stats

    pm.stats.compute_log_prior(result.idata, model=result.model, progressbar=False)
    if "log_likelihood" not in result.idata.children:
        pm.compute_log_likelihood(result.idata, model=result.model, progressbar=False)
    present = result.idata.posterior
    logging.getLogger("arviz_stats.psense").setLevel(logging.ERROR)  # its warning of flags: the chapter says which
    return arviz_stats.psense_summary(result.idata, var_names=[v for v in SCALED_PARAMETERS if v in present],
                                      prior_var_names=[v for v in TOP_LEVEL_PRIORS if v in present])


def scaled_priors(priors: TrajectoryPriors, factor: float) -> dict[str, TrajectoryPriors]:
    """The priors with the scale of the arm effects (the slab) ``factor``
    times wider and narrower."""
    return {"wider": replace(priors, arm_scale=priors.arm_scale * factor),
            "narrower": replace(priors, arm_scale=priors.arm_scale / factor)}


def fit_scaled_priors(data: ModelData, priors: TrajectoryPriors, factor: float, settings: SamplerSettings,
                      output_dir: str | Path | None = None) -> dict[str, Fit]:
    """The book's model refitted under each of :func:`scaled_priors`, as the
    fits ``nif-priors-wider`` and ``nif-priors-narrower``."""
    return {word: fit(build_nif_trajectory_model(data, priors=scaled), settings.for_fit(f"nif-priors-{word}"),
                      f"nif-priors-{word}", output_dir)
            for word, scaled in scaled_priors(priors, factor).items()}


# ---------------------------------------------------------------- predictive checks


def nif_posterior_replicates(result: Fit, data: ModelData, seed: int) -> np.ndarray:
    """Replicated log NIF values of an aim 1 fit (samples x rows, data order),
    censored at the lod as a laboratory would report them, whichever way the
    variant treated the values under the lod."""
    names = ["log_nif", "log_nif_censored"] if "log_nif_censored" in result.model.named_vars else ["log_nif"]
    group = checks.posterior_predictive(result.idata, result.model, seed, names).posterior_predictive
    return checks.nif_replicates(group, data)


def ecdf_check(observed: np.ndarray, replicates: np.ndarray, grid: np.ndarray) -> pd.DataFrame:
    """Observed ECDF on ``grid`` and the 90% range of replicated ECDFs."""
    obs = (observed[:, None] <= grid[None, :]).mean(axis=0)
    rep = (replicates[:, :, None] <= grid[None, None, :]).mean(axis=1)
    return pd.DataFrame({"x": grid, "observed": obs, "low": np.quantile(rep, 0.05, axis=0), "high": np.quantile(rep, 0.95, axis=0)})


def distribution_checks(data: ModelData, replicates: dict[str, np.ndarray], thin: int = 4,
                        points: int = 80) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (name, marker), for each named set of replicates (samples x rows):
    the :func:`ecdf_check` of the marker's reported log concentrations (values
    under the lod at the lod), on ``points`` points over the observed range,
    with every ``thin``-th replicate."""
    observed = np.maximum(data.nif_log, data.nif_log_lod)
    panels = {}
    for name, values in replicates.items():
        for j, marker in enumerate(data.markers):
            rows = data.nif_marker == j
            grid = np.linspace(*np.quantile(observed[rows], [0.0, 1.0]), points)
            panels[name, marker] = ecdf_check(observed[rows], values[::thin, rows], grid)
    return panels


def share_outside(panels: dict[tuple[str, str], pd.DataFrame]) -> pd.Series:
    """Per panel of :func:`distribution_checks`: the share of evaluation points
    where the observed ECDF leaves the 90% range of replicated ones."""
    return pd.Series({key: 1 - checks.share_inside(c) for key, c in panels.items()})


# ---------------------------------------------------------------- simulation-based calibration


def rank_statistic(draws: np.ndarray, truth: float) -> int:
    """Number of posterior draws below the true value (0..L)."""
    return int((np.asarray(draws).ravel() < truth).sum())


def pit_from_ranks(ranks: np.ndarray, n_draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Continuous PIT values (rank + U) / (L + 1): uniform on (0, 1) when the
    ranks are uniform on 0..L."""
    ranks, n_draws = np.asarray(ranks, float), np.asarray(n_draws, float)
    return (ranks + rng.uniform(size=ranks.shape)) / (n_draws + 1)


def simultaneous_band(n: int, eval_points: np.ndarray, prob: float = 0.95, n_simulations: int = 2000,
                      rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of the ECDF of ``n`` uniform values at
    ``eval_points`` that hold jointly with probability ``prob``. Simulation
    method of Säilynoja et al. (2022): find the pointwise level gamma at which
    a share ``prob`` of simulated uniform ECDFs stay inside the pointwise
    binomial intervals at every evaluation point."""
    rng = rng or np.random.default_rng(0)
    z = np.asarray(eval_points, float)
    if z.ndim != 1 or not z.size or not np.isfinite(z).all() or (np.diff(z) <= 0).any() or z[0] <= 0 or z[-1] >= 1:
        raise ValueError("eval_points must be increasing points strictly between 0 and 1")
    # the counts of n uniform values at or under each point: multinomial over the gaps between the points
    counts = rng.multinomial(n, np.diff(np.concatenate([[0.0], z, [1.0]])), size=n_simulations).cumsum(axis=1)[:, :len(z)]
    k = np.arange(n + 1)[None, :]  # both binomial tails of every count at every point, looked up, not recomputed
    column = np.arange(len(z))[None, :]
    lower_tail = stats.binom.cdf(k, n, z[:, None])[column, counts]
    upper_tail = stats.binom.sf(k - 1, n, z[:, None])[column, counts]
    gamma_each = np.min(2 * np.minimum(lower_tail, upper_tail), axis=1)
    gamma = np.quantile(gamma_each, 1 - prob)
    return stats.binom.ppf(gamma / 2, n, z) / n, stats.binom.ppf(1 - gamma / 2, n, z) / n


def ecdf_difference(pit: np.ndarray, eval_points: np.ndarray) -> np.ndarray:
    """ECDF of the PIT values minus the uniform CDF, at ``eval_points``."""
    pit = np.sort(np.asarray(pit, float))
    return np.searchsorted(pit, eval_points, side="right") / len(pit) - eval_points


MODEL_BAND_TAIL = 100  # simulated ECDFs expected outside the model's band: its level is then good to about 10%


def sbc_ecdf(results: pd.DataFrame, prob: float = 0.95, points: int = 99, seed: int = 0) -> pd.DataFrame:
    """Per parameter (in order of appearance) and evaluation point ``z``: the
    ECDF of the PIT values minus the uniform CDF (``difference``), the
    ``prob`` simultaneous band around 0 (``low``, ``high``), and the model's
    band (``model_low``, ``model_high``): the band at level
    ``1 - (1 - prob) / n`` for the ``n`` parameters of ``results``, inside
    which every parameter of a calibrated model stays with probability
    about ``prob`` or more (Bonferroni, valid whatever the dependence between
    parameters, up to the simulation noise of the band's level; one band per
    parameter lets about ``(1 - prob) * n`` of them out by chance); with the
    number of replicates."""
    rng = np.random.default_rng(seed)
    z = np.linspace(0, 1, points + 2)[1:-1]
    model_prob = 1 - (1 - prob) / results["parameter"].nunique()
    model_rng = np.random.default_rng([seed, 1])  # a stream of its own: the per-parameter bands do not depend on it
    frames, bands = [], {}
    for name, part in results.groupby("parameter", sort=False):
        pit = pit_from_ranks(part["rank"].to_numpy(), part["draws"].to_numpy(), rng)
        if len(pit) not in bands:  # one pair of bands per number of replicates; about 100 simulations in the model band's tail
            bands[len(pit)] = (simultaneous_band(len(pit), z, prob, rng=rng), simultaneous_band(
                len(pit), z, model_prob, n_simulations=max(2000, int(MODEL_BAND_TAIL / (1 - model_prob))), rng=model_rng))
        (low, high), (model_low, model_high) = bands[len(pit)]
        frames.append(pd.DataFrame({"parameter": name, "replicates": len(pit), "z": z, "difference": ecdf_difference(pit, z),
                                    "low": low - z, "high": high - z, "model_low": model_low - z, "model_high": model_high - z}))
    return pd.concat(frames, ignore_index=True)


def last_marker_under_limit(results: pd.DataFrame, level: str = "mu") -> pd.Series:
    """Per replicate (seed), the share of the censored (last) marker's values
    under its fixed limit: the rows' ``censored_share`` (of all the NIF
    values of a complete design) times the number of markers, counted from
    the labels of the model's per-marker mean level ``level`` (``mu``,
    ``nif_mu``, ``nif0_mu``); empty where the replicates carry no share."""
    if "censored_share" not in results:
        return pd.Series(dtype=float)
    labels = results.loc[results["parameter"].str.startswith(f"{level}["), "parameter"]
    if labels.empty:
        raise ValueError(f"no parameter {level}[...] in these SBC results: give the model's per-marker mean level")
    return results.groupby("seed")["censored_share"].first() * labels.nunique()


def wholly_censored(results: pd.DataFrame, level: str = "mu") -> pd.Series:
    """Whether each row's replicate had every value of its censored marker
    under the limit (:func:`last_marker_under_limit`): a rule on the data
    alone, so that the ranks on either side of it stay uniform under
    calibration (each posterior is exact for its own data)."""
    under = last_marker_under_limit(results, level)
    return results["seed"].isin(under.index[under >= 1 - 1e-9])


def values_above_limit(results: pd.DataFrame, values: int, level: str = "mu") -> pd.Series:
    """Per replicate (seed), how many of the censored marker's ``values`` (its
    samples in the design: one per participant in the aim 3 model's) lay
    above its limit (:func:`last_marker_under_limit`)."""
    return (values * (1 - last_marker_under_limit(results, level))).round()


def scarcely_above_limit(results: pd.DataFrame, values: int, minimum: int, level: str = "mu") -> pd.Series:
    """Whether each row's replicate had fewer than ``minimum`` of its censored
    marker's ``values`` above the limit (:func:`values_above_limit`): a rule
    on the data alone, like :func:`wholly_censored`, so the ranks on either
    side of it stay uniform under calibration. The aim 3 model's rule
    (``models.moderation_data``)."""
    above = values_above_limit(results, values, level)
    return results["seed"].isin(above.index[above < minimum])


def sbc_summary(results: pd.DataFrame, prob: float = 0.95, points: int = 99, seed: int = 0) -> pd.DataFrame:
    """Per parameter: replicates, the largest |ECDF - uniform|, and whether
    the ECDF leaves its ``prob`` simultaneous band anywhere
    (``outside_band``) and the model's band (``outside_model_band``), both
    of :func:`sbc_ecdf`."""
    curves = sbc_ecdf(results, prob, points, seed)
    difference = curves["difference"]
    return curves.assign(abs_difference=difference.abs(), outside=(difference < curves["low"]) | (difference > curves["high"]),
                         model_outside=(difference < curves["model_low"]) | (difference > curves["model_high"])).groupby(
        "parameter", sort=False).agg(replicates=("replicates", "first"), max_abs_difference=("abs_difference", "max"),
                                     outside_band=("outside", "any"), outside_model_band=("model_outside", "any")).reset_index()


class _FixedCentre(ModelData):
    """Model data whose priors centred on the data (the NIF intercepts; the
    outcome's centre and scale) are centred on fixed values, so that the prior
    does not move with each simulated data set (SBC needs one prior). The
    values are attributes, not dataclass fields: :meth:`changed` carries
    them over where ``dataclasses.replace`` would drop them. Data without a fixed outcome prior refuse to
    give one rather than fall back on the data's."""

    centre: np.ndarray
    outcome_prior: tuple[float, float] | None = None

    def nif_center(self) -> np.ndarray:
        return self.centre

    def outcome_scale(self) -> tuple[float, float]:
        if self.outcome_prior is None:
            raise ValueError("these SBC data have no fixed outcome prior (outcome_prior); set it after replace()")
        return self.outcome_prior

    def changed(self, **fields) -> _FixedCentre:
        """``dataclasses.replace`` with the fixed centres carried over."""
        out = replace(self, **fields)
        out.centre, out.outcome_prior = self.centre, self.outcome_prior
        return out


SBC_VISITS = [BASELINE_VISIT, "24h", "day3", "day5"]


def sbc_design(participants: int, markers: int, rng: np.random.Generator, centre: float = 1.0) -> ModelData:
    """A complete design (every participant, marker and visit) of the aim 1
    model's shape: two thirds ketamine, as in the trial. Values are placeholders."""
    treated = np.zeros(participants)
    treated[rng.permutation(participants)[: round(participants * 2 / 3)]] = 1.0
    person, marker, visit = (a.ravel() for a in np.meshgrid(np.arange(participants), np.arange(markers),
                                                             np.arange(len(SBC_VISITS)), indexing="ij"))
    data = _FixedCentre(
        participants=[f"p{i:03d}" for i in range(participants)], treated=treated, visits=list(SBC_VISITS),
        markers=[f"marker{j + 1}" for j in range(markers)], outcome="none",
        nif_person=person, nif_marker=marker, nif_visit=visit, nif_log=np.zeros(len(person)),
        nif_censored=np.zeros(len(person), bool), nif_log_lod=np.full(len(person), -np.inf),
        y_person=np.zeros(0, int), y_visit=np.zeros(0, int), y=np.zeros(0), y0=np.full(participants, np.nan),
        visit_days=np.array([0.0, 1.0, 3.0, 5.0]),
    )
    data.centre = np.full(markers, centre)
    return data


def _flat(values: np.ndarray, name: str, labels: list[list[str]]) -> dict[str, np.ndarray]:
    """Split a (sample, *dims) array into named scalar parameters."""
    if values.ndim == 1:
        return {name: values}
    out = {}
    for index in np.ndindex(*values.shape[1:]):
        label = ",".join(labels[k][i] for k, i in enumerate(index))
        out[f"{name}[{label}]"] = values[(slice(None), *index)]
    return out


SBC_PARAMETERS = ("log_ratio", "mu", "tau", "sigma")


def sbc_log_lod(centre: float, censored_share: float, priors: TrajectoryPriors = TrajectoryPriors()) -> float:
    """The detection limit (log scale) of the censored marker in SBC: fixed in
    advance, as an assay's is, at the ``censored_share`` quantile of a normal
    with the prior predictive's mean and expected variance of a log value
    (intercept, between-person and residual variance; E[tau^2] = (1 + 1/shape)
    person_sd^2 under the Gamma prior of tau). A limit taken from each
    simulated data set (a quantile of its values) would make censoring depend
    on the values it hides, which the model's likelihood does not describe,
    and would miscalibrate the posterior. The share censored then varies
    between replicates, about ``censored_share`` on average."""
    if censored_share <= 0:
        return -np.inf
    person_sd_squared = (1 + 1 / PERSON_SD_SHAPE) * priors.person_sd ** 2  # E[tau^2] of the Gamma prior
    spread = np.sqrt(priors.intercept_sd ** 2 + person_sd_squared + priors.residual_sd ** 2)
    return float(centre + stats.norm.ppf(censored_share) * spread)


def sbc_replicate(*, seed: int, participants: int = 30, markers: int = 2, censored_share: float = 0.25,
                  draws: int = 200, tune: int = 300, chains: int = 2, thin: int = 2, target_accept: float = 0.95,
                  sampler: str = "pymc", **_ignored) -> list[dict]:
    """One SBC replicate of the NIF-trajectory model at reduced size.

    Draws every parameter and a data set from the prior (``participants`` x
    ``markers`` x 4 visits); the last marker has a detection limit fixed in
    advance (:func:`sbc_log_lod`; values under it enter as censored, as in the
    trial's assays); fits the model with ``chains`` x ``draws`` (thinned by
    ``thin``); returns one row per main parameter (per marker the arm effect
    at each visit, the mean level, the between-person SD and the residual SD)
    with the rank of the true value among the posterior draws. With
    ``sampler="numpyro"`` or ``"nutpie"`` the fit goes through the fit engine
    (the model compiled once per worker process, :mod:`ketamine_nif.engine`);
    otherwise ``inference.fit`` (``pm.sample``) with that sampler."""
    rng = np.random.default_rng(seed)
    design = sbc_design(participants, markers, rng)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    prior_model = build_nif_trajectory_model(design)
    # one joint draw from the prior: the parameters and the data they generate
    simulated = checks.prior_predictive(prior_model, 1, seed)
    prior = simulated.prior
    values = np.asarray(simulated.prior_predictive["log_nif"]).ravel()
    last = design.nif_marker == markers - 1
    log_lod = np.where(last, sbc_log_lod(design.centre[-1], censored_share), -np.inf)
    censored = values <= log_lod
    data = design.changed(nif_log=np.where(censored, log_lod, values), nif_censored=censored, nif_log_lod=log_lod)
    from .engine import fit_form

    settings = SamplerSettings(sampler=sampler, draws=-(-draws * thin // chains), tune=tune, chains=chains, seed=seed + 1,
                               target_accept=target_accept)
    idata = fit_form("nif_trajectory", data, settings, "sbc").idata
    return _rank_rows(idata, prior, SBC_PARAMETERS, thin, censored_share=float(censored.mean()),
                      log_lod=float(log_lod[last][0]))


def _rank_rows(idata, prior, names, thin: int, **extra) -> list[dict]:
    """One row per scalar of the parameters ``names``: the rank of its true
    value (``prior``, the draw that made the data) among the posterior draws
    (thinned by ``thin``), with the fit's divergences and ``extra``."""
    posterior = idata.posterior.isel(draw=slice(None, None, thin))
    divergences = int(idata.sample_stats["diverging"].sum())
    rows = []
    for name in names:
        da = posterior[name]
        dims = [d for d in da.dims if d not in ("chain", "draw")]
        labels = [[str(v) for v in da[d].values] for d in dims]
        post = np.asarray(da.stack(sample=("chain", "draw")).transpose("sample", *dims))
        true = np.asarray(prior[name]).reshape(1, *post.shape[1:]) if dims else np.asarray(prior[name]).reshape(1)
        for label, column in _flat(post, name, labels).items():
            truth = _flat(true, name, labels)[label][0]
            rows.append({"parameter": label, "rank": rank_statistic(column, truth), "draws": len(column),
                         "truth": float(truth), "posterior_mean": float(column.mean()), "divergences": divergences,
                         **extra})
    return rows


SBC_COUPLING_PARAMETERS = ("coupling", "level_slope", "madrs_change_difference", "alpha", "theta", "sigma_y",
                           "person_sd", "nif_arm", "nif_mu", "nif_tau", "nif_sigma")
SBC_OUTCOME = (22.0, 8.0)  # centre and scale of the outcome priors in the aim 2 SBC: about the twin's MADRS after the infusion
SBC_BASELINE_MADRS = (32.8, 5.3)  # mean and SD of the baseline MADRS covariate (the paper-null twin's)


SBC_MODERATION_PARAMETERS = ("baseline_moderation_difference", "baseline_slope_nif", "madrs_change_difference", "alpha",
                             "theta", "sigma_y", "person_sd", "nif0_mu", "nif0_sd")
OUTCOME_SBC = {  # form -> (the latent NIF grid the model draws when every sample is missing, the parameters ranked)
    "coupling": ("nif_missing", SBC_COUPLING_PARAMETERS),
    "moderation": ("nif0_missing", SBC_MODERATION_PARAMETERS),
}


def sbc_coupling_replicate(**options) -> list[dict]:
    """One SBC replicate of the aim 2 (coupling) model (:func:`outcome_sbc_replicate`)."""
    return outcome_sbc_replicate(form="coupling", **options)


def sbc_moderation_replicate(**options) -> list[dict]:
    """One SBC replicate of the aim 3 (moderation) model (:func:`outcome_sbc_replicate`)."""
    return outcome_sbc_replicate(form="moderation", **options)


def outcome_sbc_replicate(*, seed: int, form: str, participants: int = 30, markers: int = 2, censored_share: float = 0.25,
                          draws: int = 200, tune: int = 300, chains: int = 2, thin: int = 2, target_accept: float = 0.95,
                          sampler: str = "nutpie", min_above: int = 0, **_ignored) -> list[dict]:
    """One SBC replicate of an outcome model with latent NIF values (``form``:
    ``coupling``, aim 2, or ``moderation``, aim 3): a joint draw from its
    prior (:func:`outcome_sbc_data`), the model fitted to the drawn data
    through the fit engine (``sampler`` one of its routes) with ``chains`` x
    ``draws`` (thinned by ``thin``); one row per main parameter
    (:data:`OUTCOME_SBC`): the rank of its true value among the posterior
    draws. Data whose censored marker has fewer than ``min_above`` values
    above its limit are not fitted (no rows): a rule on the data alone, so
    the ranks of the fitted replicates stay uniform under calibration."""
    from .engine import fit_form

    data, prior = outcome_sbc_data(seed, participants, markers, censored_share, form)
    if int((~data.nif_censored[data.nif_marker == markers - 1]).sum()) < min_above:
        return []
    settings = SamplerSettings(sampler=sampler, draws=-(-draws * thin // chains), tune=tune, chains=chains, seed=seed + 1,
                               target_accept=target_accept)
    idata = fit_form(form, data, settings, f"sbc-{form}").idata
    last = data.nif_marker == markers - 1
    return _rank_rows(idata, prior, OUTCOME_SBC[form][1], thin, censored_share=float(data.nif_censored.mean()),
                      log_lod=float(data.nif_log_lod[last][0]))


SBC_SUBGROUP_PARAMETERS = ("coupling", "coupling_deviation_scale", "level_slope", "madrs_person_sd", "madrs_sigma",
                           "nif_arm", "nif_delta", "arm_deviation_scale", "nif_person_sd", "nif_sigma",
                           "coupling_deviation", "arm_deviation")
SBC_SUBGROUP_DEVIATIONS = ("coupling_deviation", "arm_deviation")  # ranked for the splits named in ``ranked_splits`` only


def subgroup_sbc_design(markers: tuple[str, ...], twin_seed: int):
    """The design of the subgroup model's SBC, at the trial's size: the rows
    (who has a rating and a sample at which visit), NIF covariates, arms and
    memberships of every split of ``params/subgroups.yaml`` of one
    ``paper-null`` twin (seed ``twin_seed``), for ``markers``; the prior of
    the MADRS means fixed at its ratings' mean and SD. Returns (data, design)."""
    import tempfile

    from .contract import load_dataset
    from .paths import PARAMS
    from .subgroup_analysis import subgroup_data, subgroup_design
    from .subgroups import load_splits
    from .twin import simulate

    key = (tuple(markers), int(twin_seed))
    if key not in _SUBGROUP_DESIGNS:
        with tempfile.TemporaryDirectory() as folder:
            dataset = load_dataset(simulate("paper-null", seed=int(twin_seed)).write(folder))
        data = subgroup_data(dataset, list(markers))
        data.y_prior = (float(np.mean(data.y)), float(np.std(data.y)))
        _SUBGROUP_DESIGNS[key] = (data, subgroup_design(dataset, load_splits(PARAMS / "subgroups.yaml"), data.participants))
    return _SUBGROUP_DESIGNS[key]


_SUBGROUP_DESIGNS: dict = {}  # per process: a sweep worker builds the design once


def subgroup_sbc_data(seed: int, template, design):
    """A joint draw from the subgroup model's prior on the design of
    ``template`` (:func:`subgroup_sbc_design`): (the data, the prior draw).
    The parameters come from the model itself, the data from
    :func:`simulate_subgroup_data`."""
    from .models.subgroups import build_subgroup_model

    logging.getLogger("pymc").setLevel(logging.ERROR)
    with warnings.catch_warnings():  # the likelihood is a Potential: prior draws of the parameters only, as intended
        warnings.simplefilter("ignore", UserWarning)
        prior = checks.prior_predictive(build_subgroup_model(template, design), 1, seed).prior
    values = {name: np.asarray(prior[name])[0, 0] for name in (*SBC_SUBGROUP_PARAMETERS, "madrs_mean")}
    return simulate_subgroup_data(template, design, values, np.random.default_rng(seed)), prior


def simulate_subgroup_data(template, design, p: dict[str, np.ndarray], rng: np.random.Generator):
    """``template`` with ratings and NIF changes drawn as the subgroup model's
    likelihood says, given the parameter values ``p`` (by name): each
    marker's part on its own (each part has its own copy of the ratings and
    no parameter of another marker's, so the model is one model per marker
    side by side, and each copy is drawn afresh), with a normal person
    effect per marker and participant and normal residuals, the NIF
    covariates (within- and between-person) held at the template's."""
    codes, shape = design.codes, (len(template.markers), template.n_participants)
    m, i, t = template.y_marker, template.y_person, template.y_visit
    arm = np.where(template.treated[i] == 1.0, 0, 1)
    slope = p["coupling"][m, arm] + (p["coupling_deviation"][m, arm, :] * codes[i]).sum(axis=1)
    y = (p["madrs_mean"][m, arm, t] + slope * template.within + p["level_slope"][m] * template.between
         + rng.normal(0.0, p["madrs_person_sd"][:, None], shape)[m, i] + rng.normal(0.0, p["madrs_sigma"][m]))
    m, i, t = template.c_marker, template.c_person, template.c_visit
    shift = p["arm_deviation"] @ codes.T  # (marker, participant)
    change = (p["nif_delta"][m, t] + template.arm_contrast[i] * (p["nif_arm"][m, t] + shift[m, i])
              + rng.normal(0.0, p["nif_person_sd"][:, None], shape)[m, i] + rng.normal(0.0, p["nif_sigma"][m]))
    return replace(template, y=y, change=change)


def sbc_subgroup_replicate(*, seed: int, markers: tuple[str, ...] = ("IL-1RA", "BDNF"), twin_seed: int = 1,
                           ranked_splits: tuple[str, ...] = ("bmi", "training"), draws: int = 200, tune: int = 500,
                           chains: int = 2, thin: int = 2, target_accept: float = 0.95, sampler: str = "nutpie",
                           **_ignored) -> list[dict]:
    """One SBC replicate of the subgroup model (chapter 05) at the trial's
    size, every split of the book in the model: a joint draw from its prior
    (:func:`subgroup_sbc_data`) fitted through the fit engine (its
    ``subgroups`` form, compiled once per worker) with ``chains`` x
    ``draws`` (thinned by ``thin``); one row per main parameter
    (:data:`SBC_SUBGROUP_PARAMETERS`; the subgroup differences of
    ``ranked_splits`` only): the rank of its true value among the posterior draws."""
    from .engine import engine

    template, design = subgroup_sbc_design(tuple(markers), twin_seed)
    unknown = sorted(set(ranked_splits) - set(design.splits))
    if unknown:
        raise ValueError(f"ranked_splits names {', '.join(unknown)}, not a split of params/subgroups.yaml")
    data, prior = subgroup_sbc_data(seed, template, design)
    settings = SamplerSettings(sampler=sampler, draws=-(-draws * thin // chains), tune=tune, chains=chains, seed=seed + 1,
                               target_accept=target_accept)
    idata = engine("subgroups", template, settings, design=design).fit(data, settings.seed, "sbc-subgroups").idata
    return ranked_subgroup_rows(_rank_rows(idata, prior, SBC_SUBGROUP_PARAMETERS, thin, participants=template.n_participants),
                                ranked_splits)


def ranked_subgroup_rows(rows: list[dict], ranked_splits) -> list[dict]:
    """The rows of a subgroup SBC replicate to keep: every parameter, except
    the subgroup differences (:data:`SBC_SUBGROUP_DEVIATIONS`, by exact name)
    of splits not in ``ranked_splits``."""
    return [r for r in rows if r["parameter"].split("[")[0] not in SBC_SUBGROUP_DEVIATIONS
            or r["parameter"].rstrip("]").rsplit(",", 1)[-1] in ranked_splits]


def coupling_sbc_data(seed: int, participants: int, markers: int, censored_share: float) -> tuple[ModelData, xr.Dataset]:
    """A joint draw from the aim 2 model's prior (:func:`outcome_sbc_data`)."""
    return outcome_sbc_data(seed, participants, markers, censored_share, "coupling")


def outcome_sbc_data(seed: int, participants: int, markers: int, censored_share: float,
                     form: str = "coupling") -> tuple[ModelData, xr.Dataset]:
    """A joint draw from the prior of the aim 2 (``form`` coupling) or aim 3
    (moderation) model: (the data, the prior draw).

    The draw comes from the model itself, built on a design whose every NIF
    sample is missing: each cell of the NIF grid the model uses (every visit
    for aim 2, the baseline for aim 3) is then a latent value drawn from its
    prior, and the MADRS ratings are drawn given them. The drawn grid
    becomes the data's NIF values (the last marker censored under a limit
    fixed in advance, :func:`sbc_log_lod`) and the drawn ratings its MADRS;
    the baseline MADRS is a covariate drawn once per participant
    (:data:`SBC_BASELINE_MADRS`); the priors centred on data are centred on
    fixed values (:class:`_FixedCentre`, :data:`SBC_OUTCOME`)."""
    from .engine import form_named

    latent = OUTCOME_SBC[form][0]
    rng = np.random.default_rng(seed)
    design = sbc_design(participants, markers, rng)
    if form == "moderation":  # its model reads the baseline samples only
        baseline = design.nif_visit == 0
        design = design.changed(**{name: getattr(design, name)[baseline] for name in
                                   ("nif_person", "nif_marker", "nif_visit", "nif_log", "nif_censored", "nif_log_lod")})
    post_visits = len(SBC_VISITS) - 1
    design.y0 = rng.normal(*SBC_BASELINE_MADRS, size=participants)
    design.y_person = np.repeat(np.arange(participants), post_visits)
    design.y_visit = np.tile(np.arange(1, post_visits + 1), participants)
    design.y = np.zeros(len(design.y_person))  # placeholders: the prior draw gives the ratings
    design.outcome_prior = SBC_OUTCOME
    no_samples = design.changed(**{name: getattr(design, name)[:0] for name in
                                   ("nif_person", "nif_marker", "nif_visit", "nif_log", "nif_censored", "nif_log_lod")})
    logging.getLogger("pymc").setLevel(logging.ERROR)
    simulated = checks.prior_predictive(form_named(form).build(no_samples), 1, seed)
    # the latent cells in (marker, participant, visit) order: the whole grid, or its baseline column
    grid = np.asarray(simulated.prior[latent]).reshape(markers, participants, -1)
    values = grid[design.nif_marker, design.nif_person, design.nif_visit]
    log_lod = np.where(design.nif_marker == markers - 1, sbc_log_lod(design.centre[-1], censored_share), -np.inf)
    censored = values <= log_lod
    data = design.changed(nif_log=np.where(censored, log_lod, values), nif_censored=censored, nif_log_lod=log_lod,
                          y=np.asarray(simulated.prior_predictive["y"]).ravel())
    return data, simulated.prior
