"""The studies against a known truth, and their one summary.

- the recovery study: every aim's model fitted to twins with planted effects
  (:func:`recovery_replicate`; ``sweeps/recovery.yaml``, ``sweeps/recovery-madrs.yaml``);
- the study of values under the detection limit: the aim 1 model fitted three
  ways (censored likelihood, LOD/2, LOD/sqrt(2) substituted) to the same twins
  (:func:`lod_bias_replicate`; ``sweeps/lod-bias.yaml``).

Both are sweeps, read by :func:`ketamine_nif.sweep.read_saved` and summarised
by :func:`recovery_summary` (coverage, bias, RMSE, detections), grouped by
estimand or by treatment and marker.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

from .analysis import load as load_analysis
from .contract import Dataset, load_dataset
from .estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from .estimates import recovery, summarise
from .inference import SamplerSettings, fit
from .models import build_nif_trajectory_model, prepare
from .models.trajectory import BELOW_LOD
from .twin import simulate

FITS = (  # name, the fit engine's form (ketamine_nif.engine.FORMS: its builder), estimands
    ("nif-trajectories", "nif_trajectory", [NIF_CHANGE_RATIO]),
    ("depression", "depression", [MADRS_CHANGE_DIFFERENCE]),
    ("coupling", "coupling", list(COUPLING_WITHIN.values())),
    ("baseline-prediction", "moderation", [BASELINE_MODERATION_DIFFERENCE]),
)


def fit_all(dataset: Dataset, settings: SamplerSettings, markers: list[str] | None = None,
            fits: list[str] | None = None) -> tuple[pd.DataFrame, list]:
    """Estimates of every estimand (the output contract's rows) and the
    diagnostics of each fit; ``fits`` picks some of :data:`FITS` by name.
    With ``sampler="nutpie"`` or ``"numpyro"`` each model is fitted by the
    fit engine (compiled once per process and design, :mod:`ketamine_nif.engine`),
    otherwise by ``inference.fit`` with that sampler; the book models either way."""
    from .engine import fit_form

    unknown = set(fits or []) - {name for name, _, _ in FITS}
    if unknown:
        raise ValueError(f"unknown fits {sorted(unknown)}; choose from {[name for name, _, _ in FITS]}")
    data = prepare(dataset, markers=markers)
    frames, diagnostics = [], []
    for offset, (name, form, names) in enumerate(FITS, start=1):
        if fits and name not in fits:
            continue
        result = fit_form(form, data, settings.for_fit(offset), name)
        diagnostics.append(result.diagnostics)
        frames += [summarise(result.idata, n, load_analysis().rope(n), result.diagnostics.converged) for n in names]
    return pd.concat(frames, ignore_index=True), diagnostics


def recovery_replicate(*, seed: int, scenario: str = "planted-effects", draws: int = 1000, tune: int | None = None,
                       chains: int = 4, sampler: str = "pymc", markers: list[str] | None = None,
                       fits: list[str] | None = None) -> pd.DataFrame:
    """One replicate of the recovery study: a twin of ``scenario`` with this
    seed, every aim's model fitted, estimates joined to the truth. Run many of
    them with ``ketamine-nif sweep sweeps/recovery.yaml`` (``fits`` as in
    :func:`fit_all`: sweeps/recovery-madrs.yaml fits the depression model alone)."""
    twin = simulate(scenario, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        dataset = load_dataset(twin.write(folder))
    settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune or draws, chains=chains, seed=seed)
    table, _ = fit_all(dataset, settings, markers, fits)
    joined = recovery(table, twin.truth)
    joined["error"] = joined["mean"] - joined["truth"]
    return joined.drop(columns=["subgroup"])


LOD_GROUPS = ("method", "marker")  # the study of values under the detection limit: per treatment and marker


def recovery_summary(results: pd.DataFrame, by: tuple[str, ...] = ("estimand",), error: str = "error") -> pd.DataFrame:
    """The one summary of a study against the truth, per group of ``by``
    (estimand; or treatment of values under the limit and marker): the number
    of replicates and estimates, the share of estimates from fits that passed
    the convergence checks, coverage of the 95% intervals, bias and RMSE of
    ``error`` (the estimand's scale; ``log_error`` for ratios on the log
    scale), the share of planted effects detected in their direction, and the
    number of false detections of null effects; and the share of values under
    the detection limit where the results carry it (``censored_share``). A
    table without ``seed`` is one replicate."""
    rows = []
    for key, g in results.groupby(list(by), sort=tuple(by) == ("estimand",)):
        planted = g["planted"].astype(bool)
        rows.append({
            **dict(zip(by, key, strict=True)), "replicates": g["seed"].nunique() if "seed" in g else 1, "estimates": len(g),
            **({"share under the limit": g["censored_share"].mean()} if "censored_share" in g else {}),
            "converged": g["converged"].astype(bool).mean() if "converged" in g else float("nan"),
            "coverage": g["covered"].astype(bool).mean(), "bias": g[error].mean(),
            "rmse": float((g[error] ** 2).mean() ** 0.5),
            "planted": int(planted.sum()),
            "detected_planted": g.loc[planted, "detected_in_direction"].astype(bool).mean() if planted.any() else float("nan"),
            "false_detections": int(g.loc[~planted, "detected"].astype(bool).sum()), "nulls": int((~planted).sum()),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- values under the detection limit


def below_limit_share(data) -> pd.Series:
    """Per marker, the share of its values under the detection limit (prepared data)."""
    return pd.Series(data.nif_censored).groupby(np.asarray(data.markers)[data.nif_marker]).mean()


def join_methods(estimates_by_method: dict[str, pd.DataFrame], truth: pd.DataFrame,
                 markers: list[str] | None = None) -> pd.DataFrame:
    """Each treatment's estimates joined to the truth (:func:`ketamine_nif.estimates.recovery`):
    one row per method x marker x visit, with the error of the log ratio (``log_error``)."""
    joined = pd.concat([recovery(table, truth).assign(method=method) for method, table in estimates_by_method.items()],
                       ignore_index=True)
    if markers is not None:
        joined = joined[joined["marker"].isin(markers)]
    return joined.assign(log_error=np.log(joined["mean"]) - np.log(joined["truth"]))


def lod_bias_replicate(*, seed: int, scenario: str = "planted-effects", markers: list[str] | None = None,
                       draws: int = 1000, tune: int | None = None, chains: int = 4, sampler: str = "pymc") -> pd.DataFrame:
    """One replicate of the study of values under the detection limit: a twin
    of ``scenario`` with this seed, the aim 1 model fitted to ``markers`` with
    each treatment of values under the limit (censored likelihood, LOD/2,
    LOD/sqrt(2) substituted), the ratios joined to the truth (:func:`join_methods`)
    with each marker's share under the limit. Run many with
    ``ketamine-nif sweep sweeps/lod-bias.yaml``."""
    twin = simulate(scenario, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        data = prepare(load_dataset(twin.write(folder)), markers=markers)
    rope = load_analysis().rope(NIF_CHANGE_RATIO)
    by_method = {}
    for offset, method in enumerate(BELOW_LOD, start=1):
        settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune or draws, chains=chains, seed=seed * 100 + offset)
        result = fit(build_nif_trajectory_model(data, below_lod=method), settings, f"nif-{method}", log_likelihood=False)
        by_method[method] = summarise(result.idata, NIF_CHANGE_RATIO, rope, result.diagnostics.converged)
    joined = join_methods(by_method, twin.truth, data.markers)
    return joined.assign(censored_share=joined["marker"].map(below_limit_share(data))).drop(columns=["subgroup"])


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


COVERAGE_BAND = (0.90, 0.99)  # nominal 95% intervals should cover the truth this often over a study
FALSE_DETECTION_LIMIT = 0.05  # the decision rule should detect a null effect at most this often


def recovery_sentence(summary: pd.DataFrame) -> str:
    """What :func:`recovery_summary` says: estimands whose coverage leaves
    :data:`COVERAGE_BAND`, whose null effects are detected more often than
    :data:`FALSE_DETECTION_LIMIT`, whose fits failed the checks; and how often
    the planted effects were detected."""
    from .reporting import join_words

    low, high = COVERAGE_BAND
    outside = summary[(summary["coverage"] < low) | (summary["coverage"] > high)]
    rate = summary["false_detections"] / summary["nulls"].where(summary["nulls"] > 0)
    leaky = summary[rate > FALSE_DETECTION_LIMIT]
    unconverged = summary[summary["converged"] < 1]
    planted = summary[summary["planted"] > 0]
    text = (f"Coverage of the 95% intervals lies between {100 * low:.0f}% and {100 * high:.0f}% for every estimand"
            if outside.empty else
            "**Coverage leaves the band from {:.0f}% to {:.0f}% for {}**".format(
                100 * low, 100 * high, join_words(f"{r.estimand} ({100 * r.coverage:.0f}%)" for r in outside.itertuples())))
    text += ("." if rate.isna().all() else  # every effect planted: no null to detect falsely
             f", and null effects are detected at most {100 * rate.max():.1f}% of the time (the rule allows "
             f"{100 * FALSE_DETECTION_LIMIT:.0f}%)." if leaky.empty else
             ". **Null effects are detected more often than the rule allows** ({:.0f}%) for {}.".format(
                 100 * FALSE_DETECTION_LIMIT, join_words(f"{r.estimand} ({100 * x:.1f}%)" for r, x in zip(
                     leaky.itertuples(), rate[leaky.index], strict=True))))
    if len(planted):
        text += " The planted effects, of the size a reader cares about, were detected in their direction in " + join_words(
            f"{100 * r.detected_planted:.0f}% of the twins for {r.estimand}" for r in planted.itertuples()) + "."
    if len(unconverged):
        text += f" Some fits of {join_words(unconverged['estimand'])} failed the convergence checks at these settings."
    return text


SUMMARY_COLUMNS_TEXT = (
    "Per estimand: replicates (twins), estimates, the share of them from fits that passed the convergence checks, "
    "coverage of the 95% intervals, mean error (bias) and root mean square error on the estimand's scale, planted "
    "effects and the share detected in their direction, and detections of effects that were not planted (out of the "
    "null estimates).")


def show_study(folder: str, sweep_file: str, cost: str, by: tuple[str, ...] = ("estimand",), error: str = "error",
               explain: bool = True):
    """A chapter's view of a saved study against the truth: how it was made,
    the table of :func:`recovery_summary` (grouped ``by``) and, per estimand,
    :func:`recovery_sentence`; or, when it has not been run, how to run it
    (``cost``: its time, in words). Returns the study (None when missing).
    The studies simulate this trial, so they are shown in its names whatever
    data the chapter reports on."""
    from .contract import Study
    from .reporting import speaking_for

    with speaking_for(Study()):
        return _show_study(folder, sweep_file, cost, by, error, explain)


def _show_study(folder, sweep_file, cost, by, error, explain):
    from .reporting import say, show_table
    from .sweep import read_saved

    study = read_saved(folder)
    if study is None:
        say(f"**The study's results are missing** ({folder}). Run `.venv/bin/ketamine-nif sweep {sweep_file}` ({cost}).")
        return None
    summary = recovery_summary(study.results, by, error)
    fixed = study.spec.get("fixed", {})
    say(f"Made by `{study.command}` ({study.progress}; every model with {fixed.get('chains', '?')} chains × "
        f"{fixed.get('draws', '?')} draws)." + (f" {SUMMARY_COLUMNS_TEXT}" if explain else ""))
    show_table(summary, digits=3)
    if tuple(by) == ("estimand",):
        say(recovery_sentence(summary))
    return study
