"""Model criticism: leave-one-participant-out comparison of model variants,
predictive checks of any variant, how values under the detection limit bias
the estimates, and simulation-based calibration (SBC) of the NIF-trajectory
model.

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
uniform CDF is drawn with a 95% simultaneous band computed by simulation
[Säilynoja et al. 2022] (:func:`simultaneous_band`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy import special, stats

from .contract import BASELINE_VISIT
from .models import TrajectoryPriors, build_nif_trajectory_model
from .models.prepare import ModelData
from .models.trajectory import PERSON_SD_SHAPE

# ---------------------------------------------------------------- leave one participant out


def _person_sum(values: np.ndarray, rows_person: np.ndarray, n_people: int) -> np.ndarray:
    """(chain, draw, rows) -> (chain, draw, participants) by summing each person's rows."""
    indicator = np.zeros((values.shape[-1], n_people))
    indicator[np.arange(values.shape[-1]), rows_person] = 1.0
    return values @ indicator


def nif_participant_log_likelihood(log_likelihood, data: ModelData) -> np.ndarray:
    """Per-participant log-likelihood of the aim 1 model from its pointwise
    groups ``log_nif`` (rows above the lod) and ``log_nif_censored``."""
    seen = ~data.nif_censored
    total = _person_sum(np.asarray(log_likelihood["log_nif"]), data.nif_person[seen], data.n_participants)
    if data.nif_censored.any():
        total = total + _person_sum(np.asarray(log_likelihood["log_nif_censored"]), data.nif_person[data.nif_censored],
                                    data.n_participants)
    return total


def censored_log_likelihood(idata, data: ModelData, likelihood: str = "normal", priors: TrajectoryPriors = TrajectoryPriors()):
    """Pointwise log-likelihood of the data as observed (censored likelihood)
    under the posterior in ``idata``, whichever way that posterior treated the
    values under the lod (the parameters are the same)."""
    model = build_nif_trajectory_model(data, likelihood=likelihood, priors=priors)
    scored = pm.compute_log_likelihood(idata, model=model, extend_inferencedata=False, progressbar=False)
    return scored if isinstance(scored, xr.Dataset) else scored["log_likelihood"].to_dataset()


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


# ---------------------------------------------------------------- predictive checks


def nif_replicates_any(group, data: ModelData) -> np.ndarray:
    """Replicated log NIF values (samples x rows, data order), censored at the
    lod as a laboratory would report them, for the censored model (two
    variables) or a substitution variant (one variable over all rows)."""
    draws = group["log_nif"]
    values = np.asarray(draws.stack(sample=("chain", "draw")).transpose("sample", ...))
    if values.shape[1] != len(data.nif_log):
        out = np.empty((values.shape[0], len(data.nif_log)))
        out[:, ~data.nif_censored] = values
        below = group["log_nif_censored"]
        out[:, data.nif_censored] = np.asarray(below.stack(sample=("chain", "draw")).transpose("sample", ...))
        values = out
    return np.maximum(values, data.nif_log_lod[None, :])


def ecdf_check(observed: np.ndarray, replicates: np.ndarray, grid: np.ndarray) -> pd.DataFrame:
    """Observed ECDF on ``grid`` and the 90% range of replicated ECDFs."""
    obs = (observed[:, None] <= grid[None, :]).mean(axis=0)
    rep = (replicates[:, :, None] <= grid[None, None, :]).mean(axis=1)
    return pd.DataFrame({"x": grid, "observed": obs, "low": np.quantile(rep, 0.05, axis=0), "high": np.quantile(rep, 0.95, axis=0)})


# ---------------------------------------------------------------- values under the lod


def lod_bias(estimates_by_method: dict[str, pd.DataFrame], truth: pd.DataFrame, markers: list[str] | None = None) -> pd.DataFrame:
    """Estimates of each method joined to the truth, on the log scale for
    ratios: one row per method x marker x visit, with error and coverage."""
    frames = []
    for method, table in estimates_by_method.items():
        joined = table.merge(truth.rename(columns={"value": "truth"}), on=["estimand", "marker", "visit", "subgroup"])
        frames.append(joined.assign(method=method))
    out = pd.concat(frames, ignore_index=True)
    if markers is not None:
        out = out[out["marker"].isin(markers)]
    out["log_error"] = np.log(out["mean"]) - np.log(out["truth"])
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out


def lod_bias_summary(joined: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean error (bias) and RMSE of the log ratio, coverage."""
    return joined.groupby("method", sort=False).agg(
        estimates=("log_error", "size"), bias_log_ratio=("log_error", "mean"),
        rmse_log_ratio=("log_error", lambda e: float(np.sqrt((e**2).mean()))), coverage=("covered", "mean"),
    ).reset_index()


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
    sims = np.sort(rng.uniform(size=(n_simulations, n)), axis=1)
    counts = np.stack([np.searchsorted(s, z, side="right") for s in sims])  # (sim, points)
    lower_tail = stats.binom.cdf(counts, n, z)
    upper_tail = stats.binom.sf(counts - 1, n, z)
    gamma_each = np.min(2 * np.minimum(lower_tail, upper_tail), axis=1)
    gamma = np.quantile(gamma_each, 1 - prob)
    return stats.binom.ppf(gamma / 2, n, z) / n, stats.binom.ppf(1 - gamma / 2, n, z) / n


def ecdf_difference(pit: np.ndarray, eval_points: np.ndarray) -> np.ndarray:
    """ECDF of the PIT values minus the uniform CDF, at ``eval_points``."""
    pit = np.sort(np.asarray(pit, float))
    return np.searchsorted(pit, eval_points, side="right") / len(pit) - eval_points


def sbc_summary(results: pd.DataFrame, prob: float = 0.95, points: int = 99, seed: int = 0) -> pd.DataFrame:
    """Per parameter: replicates, the largest |ECDF - uniform| and whether the
    ECDF leaves the 95% simultaneous band anywhere."""
    rng = np.random.default_rng(seed)
    z = np.linspace(0, 1, points + 2)[1:-1]
    rows = []
    for name, part in results.groupby("parameter", sort=False):
        pit = pit_from_ranks(part["rank"].to_numpy(), part["draws"].to_numpy(), rng)
        low, high = simultaneous_band(len(pit), z, prob, rng=rng)
        ecdf = ecdf_difference(pit, z) + z
        rows.append({"parameter": name, "replicates": len(pit), "max_abs_difference": float(np.abs(ecdf - z).max()),
                     "outside_band": bool(((ecdf < low) | (ecdf > high)).any())})
    return pd.DataFrame(rows)


class _FixedCentre(ModelData):
    """Model data whose intercept prior is centred on fixed values, so that the
    prior does not move with each simulated data set (SBC needs one prior)."""

    centre: np.ndarray

    def nif_center(self) -> np.ndarray:
        return self.centre


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
    ``sampler="nutpie"`` the fit goes through the fit engine (the model
    compiled once per worker process, :mod:`ketamine_nif.engine`); otherwise
    ``pm.sample`` with PyMC's NUTS."""
    rng = np.random.default_rng(seed)
    design = sbc_design(participants, markers, rng)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    prior_model = build_nif_trajectory_model(design)
    # one joint draw from the prior: the parameters and the data they generate
    simulated = pm.sample_prior_predictive(draws=1, model=prior_model, random_seed=seed)
    prior = simulated.prior
    values = np.asarray(simulated.prior_predictive["log_nif"]).ravel()
    last = design.nif_marker == markers - 1
    log_lod = np.where(last, sbc_log_lod(design.centre[-1], censored_share), -np.inf)
    censored = values <= log_lod
    data = replace(design, nif_log=np.where(censored, log_lod, values), nif_censored=censored, nif_log_lod=log_lod)
    data.centre = design.centre
    per_chain = -(-draws * thin // chains)
    if sampler == "nutpie":
        from .engine import engine
        from .inference import SamplerSettings

        settings = SamplerSettings(sampler=sampler, draws=per_chain, tune=tune, chains=chains, target_accept=target_accept)
        idata = engine("nif_trajectory", data, settings).fit(data, seed=seed + 1).idata
    else:
        idata = pm.sample(draws=per_chain, tune=tune, chains=chains, cores=1, random_seed=seed + 1, target_accept=target_accept,
                          progressbar=False, model=build_nif_trajectory_model(data), compute_convergence_checks=False)
    posterior = idata.posterior.isel(draw=slice(None, None, thin))
    divergences = int(idata.sample_stats["diverging"].sum())
    rows = []
    for name in SBC_PARAMETERS:
        da = posterior[name]
        dims = [d for d in da.dims if d not in ("chain", "draw")]
        labels = [[str(v) for v in da[d].values] for d in dims]
        post = np.asarray(da.stack(sample=("chain", "draw")).transpose("sample", *dims))
        true = np.asarray(prior[name]).reshape(1, *post.shape[1:]) if dims else np.asarray(prior[name]).reshape(1)
        for label, column in _flat(post, name, labels).items():
            truth = _flat(true, name, labels)[label][0]
            rows.append({"parameter": label, "rank": rank_statistic(column, truth), "draws": len(column),
                         "truth": float(truth), "posterior_mean": float(column.mean()), "divergences": divergences,
                         "censored_share": float(censored.mean()), "log_lod": float(log_lod[last][0])})
    return rows


@dataclass
class StudyFiles:
    """A saved study's tables and the command that made them (or why missing)."""

    tables: dict[str, pd.DataFrame]
    command: str | None
    missing: list[str]


def read_study(folder: str | Path, tables: list[str], command_file: str) -> StudyFiles:
    folder = Path(folder)
    found, missing = {}, []
    for name in tables:
        path = folder / name
        if path.exists():
            found[name] = pd.read_csv(path)
        else:
            missing.append(str(path))
    command = (folder / command_file).read_text().strip() if (folder / command_file).exists() else None
    return StudyFiles(found, command, missing)


# ---------------------------------------------------------------- figures


def plot_ecdf_checks(checks_by_panel: dict[str, pd.DataFrame], xlabel: str, columns: int = 3):
    """Observed ECDF (line) within the 90% range of replicated ECDFs (band), one panel each."""
    import matplotlib.pyplot as plt

    from .plotting import FIGURE_WIDTH

    rows = int(np.ceil(len(checks_by_panel) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH, 2.3 * rows + 0.3), squeeze=False)
    for ax, (title, check) in zip(axes.flat, checks_by_panel.items(), strict=False):
        ax.fill_between(check["x"], check["low"], check["high"], color="0.75", step="post", label="replicated (90%)")
        ax.step(check["x"], check["observed"], where="post", color="#D55E00", lw=1.4, label="observed")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
    for ax in list(axes.flat)[len(checks_by_panel):]:
        ax.set_visible(False)
    axes.flat[0].set_ylabel("cumulative share")
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_sbc(results: pd.DataFrame, prob: float = 0.95, points: int = 99, seed: int = 0, columns: int = 4):
    """SBC: per parameter, the ECDF of the PIT values minus the uniform CDF,
    with the ``prob`` simultaneous band (grey)."""
    import matplotlib.pyplot as plt

    from .plotting import FIGURE_WIDTH

    rng = np.random.default_rng(seed)
    z = np.linspace(0, 1, points + 2)[1:-1]
    names = list(dict.fromkeys(results["parameter"]))
    rows = int(np.ceil(len(names) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(FIGURE_WIDTH, 1.9 * rows + 0.3), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names, strict=False):
        part = results[results["parameter"] == name]
        pit = pit_from_ranks(part["rank"].to_numpy(), part["draws"].to_numpy(), rng)
        low, high = simultaneous_band(len(pit), z, prob, rng=rng)
        ax.fill_between(z, low - z, high - z, color="0.8", step="post")
        ax.axhline(0, color="0.5", lw=0.6)
        ax.step(z, ecdf_difference(pit, z), where="post", color="#0072B2", lw=1.2)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    axes.flat[0].set_ylabel("ECDF − uniform", fontsize=8)
    fig.tight_layout()
    return fig


def paired_differences(errors: pd.DataFrame, reference: str = "censored") -> pd.DataFrame:
    """Each method against ``reference`` on the same estimates (same data,
    marker, visit and seed): mean difference of the error and of the absolute
    error of the log ratio, with their standard errors."""
    keys = [k for k in ("seed", "marker", "visit") if k in errors]
    wide = errors.pivot_table(index=keys, columns="method", values="log_error")
    rows = []
    for method in wide.columns:
        if method == reference:
            continue
        diff = wide[method] - wide[reference]
        abs_diff = wide[method].abs() - wide[reference].abs()
        n = int(diff.notna().sum())
        rows.append({"method": method, "against": reference, "estimates": n,
                     "error_difference": float(diff.mean()), "se": float(diff.std(ddof=1) / np.sqrt(n)),
                     "abs_error_difference": float(abs_diff.mean()), "abs_se": float(abs_diff.std(ddof=1) / np.sqrt(n))})
    return pd.DataFrame(rows)
