"""Fit every aim's model to one dataset and collect its estimates: the engine
of the recovery tests and of the fuller recovery study (benchmarks/recovery.py)."""

from __future__ import annotations

import pandas as pd

from .analysis import load as load_analysis
from .contract import Dataset
from .estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from .estimates import summarise
from .inference import SamplerSettings, fit
from .models import (
    build_coupling_model,
    build_moderation_model,
    build_nif_trajectory_model,
    build_outcome_model,
    prepare,
)

FITS = (
    ("nif-trajectories", build_nif_trajectory_model, [NIF_CHANGE_RATIO]),
    ("depression", build_outcome_model, [MADRS_CHANGE_DIFFERENCE]),
    ("coupling", build_coupling_model, list(COUPLING_WITHIN.values())),
    ("baseline-prediction", build_moderation_model, [BASELINE_MODERATION_DIFFERENCE]),
)


def fit_all(dataset: Dataset, settings: SamplerSettings, markers: list[str] | None = None,
            fits: list[str] | None = None) -> tuple[pd.DataFrame, list]:
    """Estimates of every estimand (the output contract's rows) and the
    diagnostics of each fit; ``fits`` picks some of :data:`FITS` by name."""
    unknown = set(fits or []) - {name for name, _, _ in FITS}
    if unknown:
        raise ValueError(f"unknown fits {sorted(unknown)}; choose from {[name for name, _, _ in FITS]}")
    data = prepare(dataset, markers=markers)
    frames, diagnostics = [], []
    for offset, (name, build, names) in enumerate(FITS, start=1):
        if fits and name not in fits:
            continue
        result = fit(build(data), settings.for_fit(offset), name)
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
    import tempfile

    from .contract import load_dataset
    from .estimates import recovery
    from .twin import simulate

    twin = simulate(scenario, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        dataset = load_dataset(twin.write(folder))
    settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune or draws, chains=chains, seed=seed)
    table, _ = fit_all(dataset, settings, markers, fits)
    joined = recovery(table, twin.truth)
    joined["error"] = joined["mean"] - joined["truth"]
    return joined.drop(columns=["subgroup"])


def recovery_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per estimand, over every replicate of a recovery sweep: the share of
    estimates from fits that passed the convergence checks, coverage of the
    95% intervals, bias and RMSE, the share of planted effects detected in their
    direction, and the number of false detections of null effects."""
    rows = []
    for estimand, g in results.groupby("estimand", sort=True):
        planted = g["planted"].astype(bool)
        rows.append({
            "estimand": estimand, "replicates": g["seed"].nunique(), "estimates": len(g),
            "converged": g["converged"].astype(bool).mean() if "converged" in g else float("nan"),
            "coverage": g["covered"].astype(bool).mean(), "bias": g["error"].mean(),
            "rmse": float((g["error"] ** 2).mean() ** 0.5),
            "planted": int(planted.sum()),
            "detected_planted": g.loc[planted, "detected_in_direction"].astype(bool).mean() if planted.any() else float("nan"),
            "false_detections": int(g.loc[~planted, "detected"].astype(bool).sum()), "nulls": int((~planted).sum()),
        })
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


def show_study(folder: str, sweep_file: str, cost: str, explain: bool = True) -> None:
    """A chapter's view of a saved recovery sweep: how it was made, the table of
    :func:`recovery_summary` and :func:`recovery_sentence`; or, when it has not
    been run, how to run it (``cost``: its time, in words)."""
    from .reporting import say, show_table
    from .sweep import read_saved

    study = read_saved(folder)
    if study is None:
        say(f"**The study's results are missing** ({folder}). Run `.venv/bin/ketamine-nif sweep {sweep_file}` ({cost}).")
        return
    summary = recovery_summary(study.results)
    fixed = study.spec.get("fixed", {})
    say(f"Made by `{study.command}` ({study.progress}; every model with {fixed.get('chains', '?')} chains × "
        f"{fixed.get('draws', '?')} draws)." + (f" {SUMMARY_COLUMNS_TEXT}" if explain else ""))
    show_table(summary, digits=3)
    say(recovery_sentence(summary))
