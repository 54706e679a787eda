"""Compile once, fit many: the fit engine for studies of many datasets of one design.

A study (design sensitivity, recovery, calibration) fits the same model to
hundreds of simulated trials that differ only in their values. Built and
compiled per fit, most of a small fit's cost is the compilation. The engine
builds a book model once per design in its fixed-shape form (the builder's
``fixed_shape=True``: every participant x marker x visit is a row, and what
changes between datasets sits in data containers with masks), compiles it
once, and then fits each dataset by swapping its data in: the graph is never
rebuilt. The forms (:data:`FORMS`): the aim 1, depression, aim 2 and aim 3
models, and the subgroup model (its data a ``SubgroupData`` with the
``design`` of splits as a builder option). Two routes, by the settings' sampler (:data:`SAMPLERS`):

- ``nutpie`` (the default, :data:`DEFAULT_ROUTE`, and the sweeps' route):
  nutpie's compiled model (numba), the data swapped in by
  ``CompiledPyMCModel.with_data``, nutpie's NUTS;
- ``numpyro``: the log density as a jitted JAX function of parameters and
  data, NumPyro's NUTS (:mod:`ketamine_nif.jaxfit`); slower on this project's
  2-core CPU (``benchmarks/fit_engine.py`` prints both), the route to an
  accelerator where there is one.

The model is the book's own builder, not a copy: ``tests/test_engine.py``
checks that the fixed-shape log density equals the book form's on the same
data, and that an engine fit agrees with :func:`ketamine_nif.inference.fit`
(``pm.sample``, the reference path) within Monte Carlo error. Diagnostics are
computed by the same :func:`~ketamine_nif.inference.diagnose`.

Within a process, :func:`engine` keeps the compiled engines (per form,
design, settings and room of the padded lists) and reuses them, so that a
sweep worker compiles once per room it needs and fits every replicate it is
given; :func:`fit_form` is how a study fits one dataset, through the engine
or (another sampler) through ``inference.fit``.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .inference import (
    PRIORS_ATTRIBUTE,
    Fit,
    SamplerSettings,
    fit,
    fit_with_retry,
    record,
    sampler_cores,
)
from .models import (
    ModelData,
    build_coupling_model,
    build_moderation_model,
    build_nif_trajectory_model,
    build_outcome_model,
    build_subgroup_model,
)
from .models.depression import (
    coupling_fixed_shape_data,
    moderation_fixed_shape_data,
    outcome_fixed_shape_data,
)
from .models.pooling import recorded_priors
from .models.subgroups import subgroup_fixed_shape_data
from .models.trajectory import NoRoom, fixed_shape_data


@dataclass(frozen=True)
class Form:
    """A book model that the engine can fit: its builder (with ``fixed_shape``)
    and the function giving a dataset's values for its data containers."""

    build: Callable
    data: Callable[..., dict[str, np.ndarray]]
    data_options: tuple[str, ...] = ()  # builder options that the data function takes too
    # latent lists padded to a fixed length: variable -> the container masking its real entries
    padding: tuple[tuple[str, str], ...] = ()

    def values(self, data: ModelData, options: dict, like: dict | None = None) -> dict[str, np.ndarray]:
        """``data``'s values for the data containers (padded like ``like``, a compiled model's)."""
        return self.data(data, **{k: v for k, v in options.items() if k in self.data_options}, like=like)


ROOMS = ("nif_below_rows", "nif_missing_rows")  # the padded lists of the forms' data (values under the lod, missed samples)
SAMPLERS = ("numpyro", "nutpie")  # the engine's routes (studies: any other sampler fits by inference.fit)
DEFAULT_ROUTE = "nutpie"  # the faster on a 2-core CPU (benchmarks/fit_engine.py)


def route(settings: SamplerSettings) -> SamplerSettings:
    """The settings with the engine's route: their sampler if it is one of
    :data:`SAMPLERS`, else (``pymc``) :data:`DEFAULT_ROUTE`."""
    return settings if settings.sampler in SAMPLERS else replace(settings, sampler=DEFAULT_ROUTE)


def _padding(name: str) -> tuple[tuple[str, str], ...]:
    """The padded latent lists of a latent NIF grid whose variables ``name`` prefixes (models.depression)."""
    return ((f"{name}_missing", "nif_missing_seen"), (f"{name}_censored_quantile", "nif_below_seen"))


FORMS = {
    "nif_trajectory": Form(build_nif_trajectory_model, fixed_shape_data, ("below_lod",)),
    "depression": Form(build_outcome_model, outcome_fixed_shape_data),
    "coupling": Form(build_coupling_model, coupling_fixed_shape_data, padding=_padding("nif")),
    "moderation": Form(build_moderation_model, moderation_fixed_shape_data, padding=_padding("nif0")),
    "subgroups": Form(build_subgroup_model, subgroup_fixed_shape_data, ("design",)),
}


def form_named(name: str) -> Form:
    if name not in FORMS:
        raise ValueError(f"the engine fits {', '.join(FORMS)}; got {name!r}")
    return FORMS[name]


def design_of(data: ModelData) -> tuple:
    """What must be equal for two datasets to share a compiled model."""
    return (data.n_participants, tuple(data.markers), tuple(data.visits))


class Engine:
    """One book model (a :data:`FORMS` name) compiled once for the design of
    ``template``; :meth:`fit` fits it to any dataset of that design."""

    def __init__(self, form: str, template: ModelData, settings: SamplerSettings, **options):
        settings = route(settings)
        self.form, self.options, self.settings = form_named(form), options, settings
        self.name, self.design = form, design_of(template)
        self.template = self.form.values(template, options)
        start = time.perf_counter()
        self.model = self.form.build(template, fixed_shape=True, **options)
        self.priors = json.dumps(recorded_priors(self.model))
        self.containers = [v.name for v in self.model.data_vars]
        self._jax_samplers = {}  # the JAX route's, by settings (seed aside)
        if settings.sampler == "nutpie":
            import nutpie

            self.compiled = nutpie.compile_pymc_model(self.model, backend="numba")
        else:
            self.compiled = self._jax_sampler(settings)
        self.compile_seconds = time.perf_counter() - start  # the JAX route's XLA compilation comes at its first fit

    def fit(self, data: ModelData, seed: int, name: str | None = None) -> Fit:
        """Swap ``data`` in and sample (chains, draws, tuning and target
        acceptance of the engine's settings, refitted once where the checks
        fail if they ask for a ``retry``; ``seed`` for this fit). The same
        seed gives the same draws whichever dataset the engine was compiled on:
        the data go into the compiled functions and into the model, whose
        initial point (the chains' start) depends on them; ``Fit.model`` then
        holds this dataset's values."""
        import pymc as pm

        if design_of(data) != self.design:
            raise ValueError(f"this engine was compiled for {self._describe(self.design)}; "
                             f"the data have {self._describe(design_of(data))}")
        settings = replace(self.settings, seed=int(seed))
        values = self.form.values(data, self.options, like=self.template)
        lacking = sorted(set(self.containers) - set(values))
        if lacking:
            raise ValueError(f"the data lack {', '.join(lacking)}, which this model uses")
        values = {name: values[name] for name in self.containers}
        pm.set_data(values, model=self.model)
        idata, diagnostics = fit_with_retry(lambda s: self._posterior(self._draw(values, s), values, data), settings,
                                            name or self.name)
        idata["posterior"].attrs[PRIORS_ATTRIBUTE] = self.priors
        return Fit(self.model, idata, diagnostics)

    def _posterior(self, idata, values: dict[str, np.ndarray], data: ModelData):
        """``idata`` with its posterior as the dataset's: the participants'
        labels, and without the padded lists' unused entries (no part of the
        posterior, nor of its diagnostics)."""
        posterior = idata["posterior"].to_dataset()
        if "participant" in posterior.dims:  # the template's labels, until renamed
            posterior = posterior.assign_coords(participant=list(data.participants))
        for variable, mask in self.form.padding:
            real = np.flatnonzero(values[mask])
            posterior = posterior.isel({posterior[variable].dims[-1]: real}) if len(real) else posterior.drop_vars(variable)
        idata["posterior"] = posterior
        return idata

    def _draw(self, values: dict[str, np.ndarray], settings: SamplerSettings):
        """Draws for the data ``values`` with ``settings`` (the engine's, but
        for the seed and, on a refit, the target acceptance and draws)."""
        if settings.sampler == "nutpie":
            import nutpie

            return nutpie.sample(self.compiled.with_data(**values), draws=settings.draws, tune=settings.tune,
                                 chains=settings.chains, cores=sampler_cores(settings.chains), seed=settings.seed,
                                 target_accept=settings.target_accept, save_warmup=False, progress_bar=False)
        return self._jax_sampler(settings).sample(values, settings.seed)

    def _jax_sampler(self, settings: SamplerSettings):
        """The JAX route's sampler for ``settings`` (its target acceptance and
        draws are compiled in: a refit's is made, and kept, on first use)."""
        from .jaxfit import JaxSampler

        key = replace(settings, seed=0)
        if key not in self._jax_samplers:
            self._jax_samplers[key] = JaxSampler(self.model, self.containers, settings)
        return self._jax_samplers[key]

    def has_room_for(self, data: ModelData) -> bool:
        """Whether ``data``'s padded lists (values under the lod, missed
        samples) fit this engine's rooms."""
        try:
            self.form.values(data, self.options, like=self.template)
        except NoRoom:
            return False
        return True

    @property
    def room(self) -> int:
        """The entries of this engine's padded lists, all together."""
        return sum(len(self.template[name]) for name in ROOMS if name in self.template)

    @staticmethod
    def _describe(design: tuple) -> str:
        n, markers, visits = design
        return f"{n} participants, markers {', '.join(markers)}, visits {', '.join(visits)}"


_ENGINES: OrderedDict[tuple, Engine] = OrderedDict()  # least recently used first
MAX_ENGINES = 16  # compiled engines a process keeps (a sweep worker needs a few: one per form and room)


def engine(form: str, template: ModelData, settings: SamplerSettings, **options) -> Engine:
    """The process's engine for this form, design, sampler settings (seed
    aside) and builder options, compiled on first use and then reused. A
    form whose padded lists are data only (aim 1: a padded entry adds an
    exact zero) reuses, of the engines compiled, the one with the least room
    that has room for ``template``'s lists and at most one and a half times
    the room ``template`` needs (:func:`~ketamine_nif.models.trajectory.room_for`),
    so that replicates whose counts under the lod scatter share a
    compilation without fitting many padded terms. A form with padded
    latent entries (aims 2 and 3: each padded entry is a parameter the
    sampler moves) is reused only with the room ``template`` needs, so that
    a replicate's draws do not depend on what the process fitted before.
    The process keeps the :data:`MAX_ENGINES` most recently used."""
    chosen = form_named(form)
    kind = (form, design_of(template), replace(route(settings), seed=0), tuple(sorted(options.items())))
    own = chosen.values(template, options)
    shapes = tuple(sorted((k, np.shape(v)) for k, v in own.items()))
    need = sum(len(own[name]) for name in ROOMS if name in own)
    fitting = [key for key, e in _ENGINES.items() if key[:-1] == kind and (
        key[-1] == shapes if chosen.padding else e.room <= 1.5 * need and e.has_room_for(template))]
    if fitting:
        key = min(fitting, key=lambda k: _ENGINES[k].room)
        _ENGINES.move_to_end(key)
        return _ENGINES[key]
    key = (*kind, shapes)
    _ENGINES[key] = Engine(form, template, settings, **options)
    while len(_ENGINES) > MAX_ENGINES:
        _ENGINES.popitem(last=False)
    return _ENGINES[key]


def fit_form(form: str, data: ModelData, settings: SamplerSettings, name: str,
             output_dir: str | Path | None = None, **options) -> Fit:
    """One fit of a book model (a :data:`FORMS` name) to ``data``, as a
    study makes it: by the process's engine when the settings' sampler is
    one of :data:`SAMPLERS`, otherwise built and fitted by
    :func:`~ketamine_nif.inference.fit` with that sampler (the reference
    path). ``options``: the builder's (for the subgroup form, ``design`` and
    its priors); with ``output_dir`` the fit is saved as ``inference.fit``
    saves it. An engine's fits share its one model, which holds the values
    of the dataset it was last given: read a fit's ``idata``, not its ``model``."""
    if settings.sampler not in SAMPLERS:
        return fit(form_named(form).build(data, **options), settings, name, output_dir)
    result = engine(form, data, settings, **options).fit(data, settings.seed, name)
    if output_dir is not None:
        record(result, output_dir)
    return result


def fit_each(form: str, datasets: list, settings: SamplerSettings, names: list[str],
             output_dir: str | Path | None = None, **options) -> list[Fit]:
    """A chapter's fits of one book model to several datasets of one design
    (chapter 05's imputed data sets), each with the seed of its name
    (:meth:`~ketamine_nif.inference.SamplerSettings.for_fit`), by
    :func:`fit_form`: with an engine route the model is compiled once and
    each dataset swapped in; with ``pymc`` each is built and fitted."""
    return [fit_form(form, data, settings.for_fit(name), name, output_dir, **options)
            for data, name in zip(datasets, names, strict=True)]


def compiled(form: str, sampler: str | None = None) -> list[Engine]:
    """The engines of ``form`` (and route ``sampler``) this process has
    compiled (one per design, settings and room)."""
    return [e for key, e in _ENGINES.items() if key[0] == form and sampler in (None, e.settings.sampler)]
