"""One way to fit every model: sampler as a parameter, seeds, the posterior
saved, and diagnostics with a verdict.

A fit that fails the verdict (R-hat > 1.01, bulk or tail ESS < 400, any
divergence) still completes; the chapter shows a warning and its estimates
carry ``converged = False``. Low E-BFMI (< 0.3) is reported as a warning.

With the settings' ``retry`` (the chapters'), a fit that fails the checks is
met by the standard remedies: it is drawn again, once, with smaller steps
(target acceptance 0.95, or its own if higher), twice the draws and a seed
of its own (:func:`fit_with_retry`), and its diagnostics say so. Chapters whose models
allow it run at 0.8, NUTS's usual target, which takes half the leapfrog
steps of 0.95 on those models; a fit that needs smaller steps or longer
chains on some data set gets them there, and only there. The studies fit
without retries, as their saved results were made.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr
from arviz_stats.validate import validate_ci_prob

from . import convergence
from .models.pooling import recorded_priors
from .paths import atomic_path, write_atomic

SAMPLERS = ("pymc", "nutpie", "numpyro")
DEFAULT_SAMPLER = "pymc"  # pm.sample's own NUTS: the reference path (the chapters default to nutpie: benchmarks/samplers.py)
MAX_R_HAT = 1.01
MIN_ESS = 400
MIN_BFMI = 0.3
RETRY_TARGET_ACCEPT = 0.95  # the least target acceptance of a refit (fit_with_retry)
RETRY_DRAWS_FACTOR = 2  # a refit's draws per chain, as a multiple of the first fit's


@dataclass(frozen=True)
class SamplerSettings:
    sampler: str = DEFAULT_SAMPLER
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 1
    target_accept: float = 0.95  # the studies' (the chapters pass their own)
    retry: bool = False  # refit once where the checks fail (fit_with_retry): the chapters' fits

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {self.sampler!r}")
        for name in ("draws", "tune", "chains"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive whole number")
        if not 0.5 <= self.target_accept < 1:
            raise ValueError("target_accept must lie in [0.5, 1)")

    def for_fit(self, key: str | int) -> SamplerSettings:
        """The same settings with a seed of its own for one fit: derived from
        the fit's name (chapters: fits with different names get different
        seeds, barring a CRC-32 collision), or from a fit number (the studies, whose saved results were
        drawn so)."""
        derived = (self.seed * 1000 + key if isinstance(key, int)
                   else (self.seed * 1_000_003 + zlib.crc32(key.encode())) % 2**32)
        return replace(self, seed=derived)


@dataclass
class Diagnostics:
    model: str
    sampler: str
    draws: int
    tune: int
    chains: int
    seed: int
    seconds: float
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    min_bfmi: float
    worst: dict = field(default_factory=dict)  # variable with the largest R-hat and the smallest ESS
    target_accept: float = float("nan")  # of the draws kept
    refit: str = ""  # what a first fit failed, where these draws replace it (fit_with_retry)

    @property
    def converged(self) -> bool:
        return (
            self.max_r_hat <= MAX_R_HAT
            and self.min_ess_bulk >= MIN_ESS
            and self.min_ess_tail >= MIN_ESS
            and self.divergences == 0
        )

    def problems(self) -> list[str]:
        out = []
        if self.max_r_hat > MAX_R_HAT:
            out.append(f"R-hat up to {self.max_r_hat:.3f} (> {MAX_R_HAT}) in {self.worst.get('r_hat')}")
        if min(self.min_ess_bulk, self.min_ess_tail) < MIN_ESS:
            out.append(f"effective sample size down to {min(self.min_ess_bulk, self.min_ess_tail):.0f} (< {MIN_ESS}) in {self.worst.get('ess')}")
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        return out

    def warnings(self) -> list[str]:
        return [f"E-BFMI down to {self.min_bfmi:.2f} (< {MIN_BFMI})"] if self.min_bfmi < MIN_BFMI else []

    def to_dict(self) -> dict:
        return {**asdict(self), "converged": self.converged, "problems": self.problems(), "warnings": self.warnings()}


@dataclass
class Fit:
    model: pm.Model
    idata: object  # xarray.DataTree from pm.sample
    diagnostics: Diagnostics


def _extreme(values: np.ndarray, names: list[str], pick) -> tuple[float, str]:
    """The largest or smallest (``pick``: np.nanargmax or np.nanargmin) of
    per-scalar values, and the variable it belongs to."""
    if np.isnan(values).all():
        return float("nan"), ""
    at = pick(values)
    return float(values[at]), names[at]


def diagnose(idata, name: str, settings: SamplerSettings, seconds: float, refit: str = "") -> Diagnostics:
    """Convergence of a fit: ArviZ's rank-normalised R-hat and bulk and tail
    ESS (computed over all scalars at once, :mod:`ketamine_nif.convergence`),
    divergences and E-BFMI; ``settings`` those the draws were made with,
    ``refit`` what a first fit that they replace failed (:func:`fit_with_retry`)."""
    draws, names = convergence.scalars(idata.posterior)
    r_hats, bulks = convergence.rhat_and_ess_bulk(draws)
    r_hat, worst_r_hat = _extreme(r_hats, names, np.nanargmax)
    ess_bulk, worst_bulk = _extreme(bulks, names, np.nanargmin)
    ess_tail, worst_tail = _extreme(convergence.ess_tail(draws, validate_ci_prob(None)), names, np.nanargmin)
    bfmi = np.asarray(az.bfmi(idata)["energy"])  # one value per chain
    return Diagnostics(
        model=name, sampler=settings.sampler, draws=settings.draws, tune=settings.tune, chains=settings.chains,
        seed=settings.seed, seconds=round(seconds, 1), max_r_hat=r_hat, min_ess_bulk=ess_bulk, min_ess_tail=ess_tail,
        divergences=int(idata.sample_stats["diverging"].sum()), min_bfmi=float(np.min(bfmi)),
        worst={"r_hat": worst_r_hat, "ess": worst_bulk if ess_bulk <= ess_tail else worst_tail},
        target_accept=settings.target_accept, refit=refit,
    )


def fit_with_retry(draw: Callable[[SamplerSettings], object], settings: SamplerSettings, name: str):
    """``draw(settings)`` (a fit's draws, ready to diagnose) and their
    :func:`diagnose`; where they fail the checks and the settings ask for a
    ``retry``, ``draw`` again with the standard remedies: smaller steps
    (target acceptance :data:`RETRY_TARGET_ACCEPT`, or the settings' own if
    higher), against divergences and chains slow through a model's narrow
    regions, and :data:`RETRY_DRAWS_FACTOR` times the draws, against an R-hat
    or ESS near its threshold; and a seed of its own (derived from the
    fit's), so that the refit is a new run, not the failed one extended.
    Taken only for a fit that needs it, once: a refit that fails stands,
    failed. The kept draws are valid MCMC draws whichever fit they come
    from; the one selection is that a fit gets two chances to pass the
    checks. The diagnostics are those of the draws kept, their time counted
    from the first fit's start and, after a refit, with a note of what the
    first fit failed (``Diagnostics.refit``). Returns (draws, diagnostics)."""
    start = time.perf_counter()
    idata = draw(settings)
    first = diagnose(idata, name, settings, time.perf_counter() - start)
    if first.converged or not settings.retry:
        return idata, first
    again = replace(settings, seed=settings.for_fit("refit").seed, draws=settings.draws * RETRY_DRAWS_FACTOR,
                    target_accept=max(settings.target_accept, RETRY_TARGET_ACCEPT), retry=False)
    note = (f"first fit ({settings.draws:,} draws per chain, target acceptance {settings.target_accept:.2f}) failed the "
            f"checks ({'; '.join(first.problems())}); refitted with {again.draws:,} draws per chain at target acceptance "
            f"{again.target_accept:.2f} and a seed of its own (the seconds are both fits')")
    idata = draw(again)
    return idata, diagnose(idata, name, again, time.perf_counter() - start, note)


CORES_VARIABLE = "KETAMINE_NIF_SAMPLER_CORES"  # set to 1 by the sweep runner: one process per fit


def sampler_cores(chains: int) -> int:
    """Processes for the chains: one per chain up to the CPU count, unless
    ``KETAMINE_NIF_SAMPLER_CORES`` caps it (the sweep runner runs fits side by
    side and sets 1, so that fits, not chains, share the cores)."""
    cap = int(os.environ.get(CORES_VARIABLE) or 0) or os.cpu_count() or 1
    return max(1, min(chains, cap))


def sample(model: pm.Model, settings: SamplerSettings, log_likelihood: bool = False):
    """Posterior draws with observed data and, if asked (it costs a
    compilation and an evaluation per draw), the pointwise log-likelihood.
    Of the chapters only chapter 08's power-scaling check needs it, and
    computes it (``criticism.power_scaling``); its leave-one-out integrates
    each person's levels out itself."""
    logging.getLogger("pymc").setLevel(logging.ERROR)  # the chapter prints its own diagnostics table
    idata = pm.sample(
        draws=settings.draws, tune=settings.tune, chains=settings.chains, cores=sampler_cores(settings.chains),
        random_seed=settings.seed, nuts_sampler=settings.sampler, target_accept=settings.target_accept,
        progressbar=False, model=model,
    )
    sizes = idata["posterior"].sizes
    if (sizes["chain"], sizes["draw"]) != (settings.chains, settings.draws):  # PyMC returns what it has when interrupted
        raise RuntimeError(f"sampling stopped early: {sizes['chain']} chains x {sizes['draw']} draws of "
                           f"{settings.chains} x {settings.draws} (interrupted?)")
    if log_likelihood:
        pm.compute_log_likelihood(idata, model=model, progressbar=False)
    return idata


SAVED_GROUPS = ("posterior", "sample_stats", "observed_data")
PRIORS_ATTRIBUTE = "effect_priors"  # the effect priors the model recorded (models.pooling), as JSON


def saved_priors(posterior) -> dict:
    """The effect priors stored with a posterior by :func:`fit` (name -> fields)."""
    return json.loads(posterior.attrs.get(PRIORS_ATTRIBUTE, "{}"))


def save_posterior(idata, path: Path) -> None:
    """Posterior draws (float32, compressed), sampler statistics and observed
    data. A pointwise log-likelihood, where one was computed, is not saved
    (it is the largest group; ``pm.compute_log_likelihood`` rebuilds it from
    the posterior and the model)."""
    tree = xr.DataTree.from_dict({f"/{g}": idata[g].to_dataset() for g in SAVED_GROUPS if g in idata.children})
    encoding = {
        f"/{g}": {v: {"dtype": "float32", "zlib": True, "complevel": 4}
                  for v, da in tree[g].data_vars.items() if da.dtype.kind == "f"}
        for g in tree.children
    }
    with atomic_path(path) as temporary:
        tree.to_netcdf(temporary, engine="h5netcdf", encoding=encoding)


def fit(model: pm.Model, settings: SamplerSettings, name: str, output_dir: str | Path | None = None,
        log_likelihood: bool = False) -> Fit:
    """Sample and diagnose (with the settings' ``retry``, refitted once
    where the checks fail: :func:`fit_with_retry`), and (with
    ``output_dir``) save the posterior as ``<name>.nc`` and the diagnostics
    into ``diagnostics.json`` under the fit's name.
    The effect priors the model recorded go with the posterior (:func:`saved_priors`).
    ``log_likelihood=True`` adds the pointwise log-likelihood to ``Fit.idata``
    (not saved)."""
    idata, diagnostics = fit_with_retry(lambda s: sample(model, s, log_likelihood), settings, name)
    idata["posterior"].attrs[PRIORS_ATTRIBUTE] = json.dumps(recorded_priors(model))
    result = Fit(model, idata, diagnostics)
    if output_dir is not None:
        record(result, output_dir)
    return result


def record(result: Fit, output_dir: str | Path) -> None:
    """Save a fit as :func:`fit` does: its posterior as ``<name>.nc`` (the
    name of its diagnostics) and its diagnostics into ``diagnostics.json``
    under that name."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = result.diagnostics.model
    save_posterior(result.idata, out / f"{name}.nc")
    ledger = out / "diagnostics.json"
    existing = json.loads(ledger.read_text()) if ledger.exists() else {}
    existing[name] = result.diagnostics.to_dict()
    write_atomic(ledger, json.dumps(existing, indent=2) + "\n")
