"""Values under the detection limit filled in from a fitted trajectory model:
multiple imputation for analyses that need complete values (the subgroup
model of chapter 05).

Each imputation takes one posterior draw of the aim 1 model (chapter 02's
``nif-trajectories.nc``: each person's level, the change per visit and arm,
the occasion SD) and draws every censored value from that draw's normal
distribution of the log value, truncated above at the limit:

    log x = eta + sigma * Phi^-1(U * Phi((log L - eta) / sigma)),   U ~ Uniform(0, 1),

where eta is the row's mean under the draw. An analysis fitted to each
completed data set and its posterior draws mixed (Zhou & Reiter 2010) carries
the uncertainty of the missing values, unlike a fixed substitute such as
LOD/2. The imputation model knows nothing of depression, so a coupling that
involves values under the limit is somewhat attenuated; it is far less than
with LOD/2, which sets every such value to the same number.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import xarray as xr
from scipy import special

from .contract import Dataset


class ImputationError(ValueError):
    """The posterior cannot impute these data (a marker or participant it does not know)."""


def impute_below_lod(dataset: Dataset, posterior: xr.Dataset, imputations: int, seed: int,
                     markers: list[str] | None = None) -> list[Dataset]:
    """``imputations`` copies of ``dataset`` whose values of ``markers``
    (default: every marker of the posterior) under the detection limit are
    drawn from the aim 1 ``posterior`` (see the module docstring); they are
    marked as observed (``below_lod`` false) in the copies."""
    posterior = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior
    m = dataset.measurements
    saved_markers = [str(v) for v in posterior["marker"].values]
    wanted = saved_markers if markers is None else list(markers)
    unknown = sorted(set(wanted) - set(saved_markers))
    if unknown:
        raise ImputationError(f"the aim 1 posterior has no marker {', '.join(unknown)}; refit it with every marker to impute")
    markers = saved_markers
    rows = np.flatnonzero((m["below_lod"] & m["measure"].isin(wanted)).to_numpy())
    people = list(dataset.participants["participant_id"])
    saved_people = [str(v) for v in posterior["participant"].values]
    if saved_people != people:
        raise ImputationError("the aim 1 posterior was fitted to other participants than these data")
    visits = dataset.visits
    # integer positions (also when no value of these markers is under the limit: nothing to draw then)
    person = m["participant_id"].iloc[rows].map({p: i for i, p in enumerate(people)}).to_numpy(dtype=int)
    marker = m["measure"].iloc[rows].map({k: j for j, k in enumerate(markers)}).to_numpy(dtype=int)
    visit = m["visit"].iloc[rows].map({v: t for t, v in enumerate(visits)}).to_numpy(dtype=int)
    log_lod = np.log(m["lod"].iloc[rows].to_numpy(dtype=float))
    treated = (dataset.participants["arm"].to_numpy() == "ketamine").astype(float)
    contrast = (treated - treated.mean())[person]
    post, t_post = (visit > 0).astype(float), np.maximum(visit - 1, 0)

    stacked = posterior.stack(sample=("chain", "draw"))
    rng = np.random.default_rng(seed)
    picks = rng.choice(stacked.sizes["sample"], size=imputations, replace=False)
    completed = []
    for pick in picks:
        draw = stacked.isel(sample=int(pick))
        level = np.asarray(draw["level"].transpose("participant", "marker"))[person, marker]
        delta = np.asarray(draw["delta"].transpose("marker", "post_visit"))[marker, t_post]
        ratio = np.asarray(draw["log_ratio"].transpose("marker", "post_visit"))[marker, t_post]
        sigma = np.asarray(draw["sigma"])[marker]
        eta = level + post * (delta + contrast * ratio)
        u = rng.uniform(size=len(rows)) * special.ndtr((log_lod - eta) / sigma)
        log_value = eta + sigma * special.ndtri(np.clip(u, 1e-300, None))
        filled = m.copy()
        filled.iloc[rows, filled.columns.get_loc("value")] = np.exp(np.minimum(log_value, log_lod))
        filled.iloc[rows, filled.columns.get_loc("below_lod")] = False
        completed.append(replace(dataset, measurements=filled))
    return completed
