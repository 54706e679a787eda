"""Fit every aim's model to one dataset and collect its estimates: the engine
of the recovery tests and of the fuller recovery study (benchmarks/recovery.py)."""

from __future__ import annotations

import pandas as pd

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

# the regions of practical equivalence the notebooks use by default
DEFAULT_ROPES = {
    NIF_CHANGE_RATIO: (0.9, 1.1),
    MADRS_CHANGE_DIFFERENCE: (-2.0, 2.0),
    **{name: (-1.0, 1.0) for name in COUPLING_WITHIN.values()},
    BASELINE_MODERATION_DIFFERENCE: (-1.5, 1.5),
}

FITS = (
    ("nif-trajectories", build_nif_trajectory_model, [NIF_CHANGE_RATIO]),
    ("depression", build_outcome_model, [MADRS_CHANGE_DIFFERENCE]),
    ("coupling", build_coupling_model, list(COUPLING_WITHIN.values())),
    ("baseline-prediction", build_moderation_model, [BASELINE_MODERATION_DIFFERENCE]),
)


def fit_all(dataset: Dataset, settings: SamplerSettings, markers: list[str] | None = None) -> tuple[pd.DataFrame, list]:
    """Estimates of every estimand (the output contract's rows) and the diagnostics of each fit."""
    data = prepare(dataset, markers=markers)
    frames, diagnostics = [], []
    for offset, (name, build, names) in enumerate(FITS, start=1):
        result = fit(build(data), settings.for_fit(offset), name)
        diagnostics.append(result.diagnostics)
        frames += [summarise(result.idata, n, DEFAULT_ROPES[n], result.diagnostics.converged) for n in names]
    return pd.concat(frames, ignore_index=True), diagnostics


def recovery_replicate(*, seed: int, scenario: str = "planted-effects", draws: int = 1000, tune: int | None = None,
                       chains: int = 4, sampler: str = "pymc", markers: list[str] | None = None) -> pd.DataFrame:
    """One replicate of the recovery study: a twin of ``scenario`` with this
    seed, every aim's model fitted, estimates joined to the truth. Run many of
    them with ``ketamine-nif sweep sweeps/recovery.yaml``."""
    import tempfile

    from .contract import load_dataset
    from .estimates import recovery
    from .twin import simulate

    twin = simulate(scenario, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        dataset = load_dataset(twin.write(folder))
    settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune or draws, chains=chains, seed=seed)
    table, _ = fit_all(dataset, settings, markers)
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
