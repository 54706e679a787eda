"""Prior and posterior predictive checks: replicated data summarised the way the
data are, so that the two can be set side by side.

NIF replicates are censored at each row's detection limit, as the laboratory
would report them, and summarised by the mean log value per marker, arm and
visit; outcome replicates by the mean per arm and visit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm

from .models.prepare import ModelData

ARM_LABELS = {1.0: "ketamine", 0.0: "saline"}


def _draws(group, name: str) -> np.ndarray:
    """(samples, ...) array of a variable in a predictive group."""
    values = group[name]
    return np.asarray(values.stack(sample=("chain", "draw")).transpose("sample", ...))


def nif_replicates(group, data: ModelData) -> np.ndarray:
    """Replicated log NIF values (samples x rows, in ``data`` order), censored at the lod:
    from the censored model (``log_nif`` for the rows above the lod,
    ``log_nif_censored`` for those under it) or from a variant that substitutes
    a value for those under the lod (``log_nif`` for every row)."""
    first = _draws(group, "log_nif")
    if first.shape[1] == len(data.nif_log):
        return np.maximum(first, data.nif_log_lod[None, :])
    out = np.empty((first.shape[0], len(data.nif_log)))
    out[:, ~data.nif_censored] = first
    out[:, data.nif_censored] = _draws(group, "log_nif_censored")
    return np.maximum(out, data.nif_log_lod[None, :])


def outcome_replicates(group) -> np.ndarray:
    """Replicated outcomes (samples x rows)."""
    return _draws(group, "y")


def _cell_check(keys: pd.DataFrame, observed: np.ndarray, replicates: np.ndarray, visits: list[str]) -> pd.DataFrame:
    """Per group of ``keys`` (marker, arm, visit): the observed mean and the 90%
    range of the replicated means, in schedule order."""
    rows = []
    for (marker, arm, visit), idx in keys.groupby(["marker", "arm", "visit"], sort=False).indices.items():
        rep = replicates[:, idx].mean(axis=1)
        mean = observed[idx].mean()
        rows.append({"marker": marker, "arm": arm, "visit": visit, "observed": mean,
                     "low": np.quantile(rep, 0.05), "high": np.quantile(rep, 0.95), "p_above": (rep > mean).mean()})
    order = {v: i for i, v in enumerate(visits)}
    return pd.DataFrame(rows).sort_values("visit", key=lambda v: v.map(order), kind="stable").reset_index(drop=True)


def nif_check(data: ModelData, replicates: np.ndarray) -> pd.DataFrame:
    """Observed vs replicated mean log NIF (censored at the lod) per marker, arm, visit."""
    keys = pd.DataFrame({
        "marker": np.asarray(data.markers)[data.nif_marker],
        "arm": [ARM_LABELS[a] for a in data.treated[data.nif_person]],
        "visit": np.asarray(data.visits)[data.nif_visit],
    })
    return _cell_check(keys, np.maximum(data.nif_log, data.nif_log_lod), replicates, data.visits)


def outcome_check(data: ModelData, replicates: np.ndarray) -> pd.DataFrame:
    """Observed vs replicated mean outcome per arm and post-infusion visit."""
    keys = pd.DataFrame({
        "marker": data.outcome,
        "arm": [ARM_LABELS[a] for a in data.treated[data.y_person]],
        "visit": np.asarray(data.visits)[data.y_visit],
    })
    return _cell_check(keys, data.y, replicates, data.visits)


# Forward draws are compiled without PyTensor's graph rewrites: in PyMC's
# default (numba) mode 500 prior draws of the coupling model took 6.5-7.9 s,
# nearly all of it rewriting and compiling the graph, and 0.8 s in this mode;
# the draws are the same (the random generators are NumPy's either way).
PREDICTIVE_MODE = "FAST_COMPILE"


def prior_predictive(model: pm.Model, draws: int, seed: int, var_names: list[str] | None = None):
    return pm.sample_prior_predictive(draws=draws, model=model, random_seed=seed, var_names=var_names,
                                      compile_kwargs={"mode": PREDICTIVE_MODE})


def posterior_predictive(idata, model: pm.Model, seed: int, var_names: list[str]):
    return pm.sample_posterior_predictive(idata, model=model, random_seed=seed, var_names=var_names, progressbar=False,
                                          compile_kwargs={"mode": PREDICTIVE_MODE})


def share_inside(check: pd.DataFrame) -> float:
    """The share of rows of a predictive check (``nif_check``, ``outcome_check``,
    an ECDF check) whose observed value lies in the replicated range."""
    return float(((check["observed"] >= check["low"]) & (check["observed"] <= check["high"])).mean())


def interval_share(values: np.ndarray, low: float, high: float) -> float:
    """Share of values inside [low, high]."""
    values = np.asarray(values).ravel()
    return float(((values >= low) & (values <= high)).mean())
