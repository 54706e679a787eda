"""The output contract: every analysis writes ``estimates.csv`` with one row per
estimand, keyed like the synthetic twin's ``truth.csv`` (see
:mod:`ketamine_nif.estimands`), so that recovery is a join.

Columns: estimand, marker, visit, subgroup, mean, sd, ci_low, ci_high (95%
equal-tailed interval), p_positive (posterior probability that the effect is
above its null: 0, or 1 for ratios), p_rope (probability inside the region of
practical equivalence), r_hat, ess_bulk, ess_direction and ess_rope (the
effective draws behind p_positive and p_rope: :func:`indicator_ess`),
converged (the fit's verdict).
"""

from __future__ import annotations

from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd

from .analysis import load as load_analysis
from .estimands import (
    ALL_PARTICIPANTS,
    ALL_VISITS,
    KEY_COLUMNS,
    MADRS_CHANGE_DIFFERENCE,
    null_value,
)
from .paths import atomic_path

COLUMNS = [*KEY_COLUMNS, "mean", "sd", "ci_low", "ci_high", "p_positive", "p_rope", "r_hat", "ess_bulk", "ess_direction",
           "ess_rope", "converged"]
OPTIONAL = ("ess_direction", "ess_rope")  # added later: a table written before them is read with them empty
DETECTION = load_analysis().detection_level  # "detected" when P(direction) reaches it (0.975: the 95% interval excludes the null)


def describe_draws(values: np.ndarray, estimand: str, rope: tuple[float, float]) -> dict:
    """The statistics of one estimand's draws in an output-contract row: mean,
    SD, 95% equal-tailed interval, P(above its null), P(inside ``rope``)."""
    null = null_value(estimand)
    return {
        "mean": values.mean(), "sd": values.std(ddof=1),
        "ci_low": np.quantile(values, 0.025), "ci_high": np.quantile(values, 0.975),
        "p_positive": (values > null).mean(), "p_rope": ((values >= rope[0]) & (values <= rope[1])).mean(),
    }


def indicator_ess(draws: np.ndarray, estimand: str, rope: tuple[float, float], bulk: np.ndarray) -> dict[str, np.ndarray]:
    """The effective draws behind ``p_positive`` and ``p_rope`` of each row of
    ``draws`` (row, chain, draw): the ESS of the indicator that each counts
    (:func:`~ketamine_nif.convergence.ess_mean`), at most the number of draws;
    where the indicator is constant (every draw on one side), the row's bulk
    ESS ``bulk``, again at most the number of draws."""
    from .convergence import ess_mean

    draws = np.asarray(draws, dtype=float)
    total = draws.shape[1] * draws.shape[2]
    out = {}
    for column, indicator in (("ess_direction", draws > null_value(estimand)),
                              ("ess_rope", (draws >= rope[0]) & (draws <= rope[1]))):
        constant = indicator.all(axis=(1, 2)) | ~indicator.any(axis=(1, 2))
        out[column] = np.minimum(np.where(constant, bulk, ess_mean(indicator.astype(float))), total)
    return out


def summarise(idata, variable: str, rope: tuple[float, float], converged: bool, estimand: str | None = None,
              marker: str | None = None) -> pd.DataFrame:
    """One row per element of a posterior variable whose dims are (marker-like[,
    post_visit]). ``marker`` names the marker when the variable has no marker dim
    (the MADRS arm difference is keyed to the outcome measure of the study reported
    on, ``reporting.study``: MADRS for this trial, as in ``truth.csv``)."""
    from .reporting import study

    estimand = estimand or variable
    marker = marker or (study().outcome if estimand == MADRS_CHANGE_DIFFERENCE else None)
    subset = idata.posterior.to_dataset()[[variable]]
    draws = subset[variable]
    r_hat = az.rhat(subset)[variable]
    ess = az.ess(subset, method="bulk")[variable]
    dims = [d for d in draws.dims if d not in ("chain", "draw")]
    by_chain = np.asarray(draws.transpose(*dims, "chain", "draw").values, dtype=float)  # (element..., chain, draw)
    flat_ess = np.asarray(ess, dtype=float).reshape(-1)
    effective = {k: v.reshape(by_chain.shape[:-2]) for k, v in indicator_ess(
        by_chain.reshape(-1, *by_chain.shape[-2:]), estimand, rope, flat_ess).items()}
    rows = []
    for index in np.ndindex(*by_chain.shape[:-2]):
        values = by_chain[index].reshape(-1)  # the element's draws, chain after chain
        coords = {d: str(draws[d].values[i]) for d, i in zip(dims, index, strict=True)}
        visit = coords.get("post_visit", ALL_VISITS)
        name = marker or next((v for d, v in coords.items() if d != "post_visit"), "")
        rows.append({
            "estimand": estimand, "marker": name, "visit": visit, "subgroup": ALL_PARTICIPANTS,
            **describe_draws(values, estimand, rope),
            "r_hat": float(np.asarray(r_hat)[index]), "ess_bulk": float(np.asarray(ess)[index]),
            **{k: float(v[index]) for k, v in effective.items()}, "converged": bool(converged),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def write(estimates: pd.DataFrame, output_dir: str | Path) -> Path:
    path = Path(output_dir) / "estimates.csv"
    with atomic_path(path) as temporary:
        estimates[COLUMNS].to_csv(temporary, index=False, float_format="%.6g")
    return path


def detected(estimates: pd.DataFrame) -> pd.Series:
    """Effects whose 95% interval excludes the null (in either direction)."""
    return (estimates["p_positive"] >= DETECTION) | (estimates["p_positive"] <= 1 - DETECTION)


def recovery(estimates: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Join estimates to the truth: coverage of the 95% interval, and whether a
    non-null truth is detected in its direction."""
    joined = estimates.merge(truth.rename(columns={"value": "truth"}), on=list(KEY_COLUMNS), how="inner")
    nulls = joined["estimand"].map(null_value)
    joined["covered"] = (joined["ci_low"] <= joined["truth"]) & (joined["truth"] <= joined["ci_high"])
    joined["planted"] = ~np.isclose(joined["truth"], nulls)
    upward = joined["truth"] > nulls
    joined["detected"] = detected(joined)
    joined["detected_in_direction"] = np.where(upward, joined["p_positive"] >= DETECTION, joined["p_positive"] <= 1 - DETECTION)
    return joined
