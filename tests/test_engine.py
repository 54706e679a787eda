"""The fit engine (compile once, fit many): the fixed-shape form of a book
model has the book form's log density, data swap in without a rebuild, and
an engine fit agrees with ``inference.fit`` within Monte Carlo error."""

from __future__ import annotations

import json
from dataclasses import replace

import arviz_stats
import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import log_ndtr

from conftest import SMALL
from ketamine_nif.contract import load_dataset
from ketamine_nif.engine import Engine, engine, fit_each
from ketamine_nif.inference import CORES_VARIABLE, SamplerSettings, fit
from ketamine_nif.models import (
    build_coupling_model,
    build_moderation_model,
    build_nif_trajectory_model,
    build_outcome_model,
    prepare,
)
from ketamine_nif.models.depression import (
    coupling_fixed_shape_data,
    moderation_fixed_shape_data,
    outcome_fixed_shape_data,
)
from ketamine_nif.models.trajectory import (
    LOG_CDF_SERIES,
    fixed_shape_data,
    normal_log_cdf,
    room_for,
)
from ketamine_nif.twin import load_scenario, simulate

QUICK = "FAST_COMPILE"  # densities compared at a few points: PyTensor's Python linker, no numba compilation


def _twin(tmp_path, seed: int, markers=None, overrides=SMALL):
    folder = simulate(load_scenario("paper-null", overrides=overrides), seed=seed).write(tmp_path / f"twin-{seed}")
    return prepare(load_dataset(folder), markers=markers)


def _perturbed_point(model, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {k: v + 0.3 * rng.normal(size=np.shape(v)) for k, v in model.initial_point().items()}


@pytest.mark.parametrize("options", [{}, {"likelihood": "student"}, {"below_lod": "lod/2", "person_slopes": True}])
def test_the_fixed_shape_form_has_the_book_forms_log_density_after_a_data_swap(tmp_path, options):
    """Built on one twin, given another twin's data: log density and gradient
    equal the book form built on the second twin, at a point away from the
    initial one (the twins differ in which values are under the lod, which
    samples were missed and who is in which arm)."""
    first, second = _twin(tmp_path, 1), _twin(tmp_path, 2)
    assert not np.array_equal(first.nif_censored, second.nif_censored) or len(first.nif_log) != len(second.nif_log)
    book = build_nif_trajectory_model(second, **options)
    fixed = build_nif_trajectory_model(first, fixed_shape=True, **options)
    with fixed:
        pm.set_data({k: v for k, v in fixed_shape_data(second, options.get("below_lod", "censored")).items()
                     if k in {d.name for d in fixed.data_vars}})
    point = _perturbed_point(book, 3)
    # censored normal terms: to the book form's accuracy (PyMC's log normal cdf is off by up to 3e-7 of a term near
    # z = -1, the fixed form's own, normal_log_cdf, by 1e-12: test_the_log_normal_cdf_is_exact_to_rounding)
    normal_cdf = options.get("likelihood", "normal") == "normal" and options.get("below_lod", "censored") == "censored"
    rel, grad = (1e-9, 1e-6) if normal_cdf else (1e-12, 1e-9)
    fixed_logp, book_logp = fixed.compile_logp(mode=QUICK), book.compile_logp(mode=QUICK)
    assert fixed_logp(point) == pytest.approx(book_logp(point), rel=rel)
    np.testing.assert_allclose(fixed.compile_dlogp(mode=QUICK)(point), book.compile_dlogp(mode=QUICK)(point),
                               rtol=grad, atol=grad)
    # and the swap mattered: the first twin's data give another density
    with fixed:
        pm.set_data({k: v for k, v in fixed_shape_data(first, options.get("below_lod", "censored")).items()
                     if k in {d.name for d in fixed.data_vars}})
    assert fixed_logp(point) != pytest.approx(book_logp(point), rel=1e-6)


def test_the_log_normal_cdf_is_exact_to_rounding():
    """The fixed-shape form's censored terms: log Phi(z) and its derivative
    against SciPy, from far below the series threshold to far above 0."""
    z = pt.dvector("z")
    value, slope = pytensor.function([z], [normal_log_cdf(z), pytensor.grad(normal_log_cdf(z).sum(), z)])(
        x := np.concatenate([np.linspace(-60, 40, 20001), [LOG_CDF_SERIES, LOG_CDF_SERIES - 1e-9, 0.0, -1e-12]]))
    exact = log_ndtr(x)
    below = x < 0
    assert np.max(np.abs(value - exact)[below] / np.abs(exact[below])) < 1e-12
    assert np.max(np.abs(value - exact)[~below]) < 1e-15  # log Phi(z) near 0: absolute
    density_ratio = np.exp(-0.5 * x**2 - 0.5 * np.log(2 * np.pi) - exact)  # d/dz log Phi = phi / Phi
    assert np.all(np.isfinite(slope))
    np.testing.assert_allclose(slope, density_ratio, rtol=1e-11, atol=1e-300)


@pytest.mark.jax
def test_the_jax_routes_log_density_is_the_models_after_a_data_swap(tmp_path):
    """The JAX route (sampler numpyro) takes the data as arguments: built on
    one twin, evaluated with another's data, its log density and gradient are
    the PyMC model's with that data set, at a point away from the initial
    one, and so are the model's variables (constrained, and deterministics)
    it maps the point to."""
    import jax
    from jax.flatten_util import ravel_pytree
    from pymc.util import get_default_varnames

    first, second = _twin(tmp_path, 1, ["IL-6"]), _twin(tmp_path, 2, ["IL-6"])
    compiled = Engine("nif_trajectory", first, SamplerSettings(sampler="numpyro", draws=10, tune=10, chains=1))
    sampler, model = compiled.compiled, compiled.model
    values = compiled.form.values(second, {}, like=compiled.template)
    point = _perturbed_point(model, 4)
    flat = ravel_pytree({name: point[name] for name in sampler.value_names})[0]
    data = tuple(values[name] for name in sampler.containers)
    ours = float(sampler._logp(flat, data))
    with model:
        pm.set_data({name: values[name] for name in compiled.containers})
    assert ours == pytest.approx(float(model.compile_logp()(point)), rel=1e-12)
    slope = sampler._unflatten(jax.grad(sampler._logp)(flat, data))
    expected = dict(zip([v.name for v in model.value_vars], np.split(model.compile_dlogp()(point), np.cumsum(
        [np.size(point[v.name]) for v in model.value_vars])[:-1]), strict=True))
    for name in sampler.value_names:
        np.testing.assert_allclose(np.ravel(slope[name]), expected[name], rtol=1e-10, atol=1e-12, err_msg=name)
    mapped = dict(zip(sampler.names, (v[0] for v in sampler._values(flat[None], data)), strict=True))
    outputs = get_default_varnames(model.unobserved_value_vars, include_transformed=False)  # of the values, in PyMC
    reference = model.compile_fn(outputs, inputs=model.value_vars, on_unused_input="ignore")(point)
    for name, value in zip(sampler.names, reference, strict=True):
        np.testing.assert_allclose(mapped[name], value, rtol=1e-12, err_msg=name)
    with model:
        pm.set_data({name: compiled.template[name] for name in compiled.containers})
    assert ours != pytest.approx(float(model.compile_logp()(point)), rel=1e-6)  # and the data mattered


def _keep_nif_rows(data, keep) -> None:
    """Keep only the NIF rows ``keep`` (indices or a mask) of ``data``."""
    for name in ("nif_person", "nif_marker", "nif_visit", "nif_log", "nif_censored", "nif_log_lod"):
        setattr(data, name, getattr(data, name)[keep])


def _with_gaps(data, count: int, seed: int):
    """``data`` with ``count`` NIF samples after baseline and one at baseline
    dropped at random (missed samples the outcome needs), and one participant's
    baseline MADRS missing (so, as ``prepare`` does, none of their ratings)."""
    rng = np.random.default_rng(seed)
    drop = [*rng.choice(np.flatnonzero(data.nif_visit > 0), size=count, replace=False),
            rng.choice(np.flatnonzero(data.nif_visit == 0))]
    keep = np.setdiff1d(np.arange(len(data.nif_log)), drop)
    _keep_nif_rows(data, keep)
    unrated = data.y_person[0]
    data.y0[unrated] = np.nan
    rated = data.y_person != unrated
    data.y_person, data.y_visit, data.y = data.y_person[rated], data.y_visit[rated], data.y[rated]
    return data


LATENT_LISTS = ("nif_missing", "nif_censored_quantile", "nif0_missing", "nif0_censored_quantile")  # padded in the fixed-shape forms


def _padding_logp(fixed_point: dict, book_point: dict) -> float:
    """The log density of the padded entries of the fixed-shape form's latent
    lists (beyond the book form's entries): standard normals for missed
    samples, Uniform(0, 1) quantiles on the log-odds scale."""
    total = 0.0
    for name, value in fixed_point.items():
        extra = value[len(book_point.get(name, [])):] if name.startswith(LATENT_LISTS) else []
        if "missing" in name:
            total += float(np.sum(-0.5 * extra**2 - 0.5 * np.log(2 * np.pi)))
        elif "censored_quantile" in name:
            total += float(np.sum(extra - 2 * np.logaddexp(0.0, extra)))
    return total


OUTCOME_FORMS = {  # the engine's forms with an outcome likelihood: builder, data containers, latent lists they must have
    "coupling": (build_coupling_model, coupling_fixed_shape_data, ("nif_missing", "nif_censored_quantile")),
    "moderation": (build_moderation_model, moderation_fixed_shape_data, ("nif0_missing", "nif0_censored_quantile")),
    "depression": (build_outcome_model, outcome_fixed_shape_data, ()),
}


@pytest.mark.slow
@pytest.mark.parametrize("likelihood", ["normal", "student"])
@pytest.mark.parametrize("form", list(OUTCOME_FORMS))
def test_the_outcome_models_fixed_shape_forms_have_the_book_forms_log_density_after_a_data_swap(tmp_path, form,
                                                                                                 likelihood):
    """The coupling, moderation and depression models: built on one twin,
    given another twin's data (with missed samples the outcome needs, at
    baseline too, values under the lod, a participant without a baseline
    MADRS, other arms), the log density equals the book form's on the second
    twin plus the padded entries' own terms, at two points; the gradient with
    respect to the parameters both forms share is equal."""
    build, containers, latent = OUTCOME_FORMS[form]
    markers = ["IL-6", "IL-1RA", "CRP"]
    first, second = _twin(tmp_path, 1, markers), _with_gaps(_twin(tmp_path, 2, markers), 5, seed=4)
    assert np.isnan(second.y0).sum() == 1 and not np.array_equal(first.treated, second.treated)
    book = build(second, likelihood=likelihood)
    fixed = build(first, likelihood=likelihood, fixed_shape=True)
    with fixed:
        pm.set_data(containers(second, like=containers(first)))
    assert all(name in book.named_vars for name in latent)  # the data exercise every latent list
    if form == "coupling":  # the missed samples the outcome needs: the 5 after baseline, and the baseline one
        assert book["nif_missing"].size.eval() in (5, 6)  # unless its owner has no ratings
    shared = [fixed.values_to_rvs[v].name for v in fixed.value_vars if v.name in {w.name for w in book.value_vars}
              and not v.name.startswith(LATENT_LISTS)]
    fixed_logp, book_logp = fixed.compile_logp(mode=QUICK), book.compile_logp(mode=QUICK)
    fixed_dlogp = fixed.compile_dlogp(vars=[fixed[n] for n in shared], mode=QUICK)
    book_dlogp = book.compile_dlogp(vars=[book[n] for n in shared], mode=QUICK)
    for seed in (3, 4):
        book_point = _perturbed_point(book, seed)
        rng = np.random.default_rng(seed + 10)
        fixed_point = {}
        for name, value in fixed.initial_point().items():  # the book's values, then the padding's
            fixed_point[name] = np.asarray(value + 0.3 * rng.normal(size=np.shape(value)))
            if name in book_point and np.ndim(value):
                fixed_point[name][: len(book_point[name])] = book_point[name]
            elif name in book_point:
                fixed_point[name] = book_point[name]
        expected = book_logp(book_point) + _padding_logp(fixed_point, book_point)
        assert fixed_logp(fixed_point) == pytest.approx(expected, rel=1e-10)
        np.testing.assert_allclose(fixed_dlogp(fixed_point), book_dlogp(book_point), rtol=1e-8)


def test_the_subgroup_models_fixed_shape_form_has_the_book_forms_log_density_after_a_data_swap():
    """Built on one twin's subgroup data and splits, given another twin's
    (other arms, memberships, NIF covariates, ratings and missed visits):
    the log density and its gradient equal the book form's built on the
    second twin; and the swap mattered."""
    from ketamine_nif.criticism import subgroup_sbc_design
    from ketamine_nif.models import build_subgroup_model
    from ketamine_nif.models.subgroups import subgroup_fixed_shape_data

    (first, first_design), (second, second_design) = (subgroup_sbc_design(("IL-6", "CRP"), seed) for seed in (1, 2))
    assert not np.array_equal(first.treated, second.treated) and not np.array_equal(first_design.codes, second_design.codes)
    book = build_subgroup_model(second, second_design)
    fixed = build_subgroup_model(first, first_design, fixed_shape=True)
    with fixed:
        pm.set_data(subgroup_fixed_shape_data(second, second_design))
    point = _perturbed_point(book, 3)
    fixed_logp, book_logp = fixed.compile_logp(mode=QUICK), book.compile_logp(mode=QUICK)
    assert fixed_logp(point) == pytest.approx(book_logp(point), rel=1e-12)
    np.testing.assert_allclose(fixed.compile_dlogp(mode=QUICK)(point), book.compile_dlogp(mode=QUICK)(point), rtol=1e-9)
    with fixed:
        pm.set_data(subgroup_fixed_shape_data(first, first_design))
    assert fixed_logp(point) != pytest.approx(book_logp(point), rel=1e-6)


def test_a_dataset_of_another_design_is_refused(tmp_path):
    settings = SamplerSettings(draws=20, tune=20, chains=1)
    compiled = Engine("nif_trajectory", _twin(tmp_path, 1, ["IL-6"]), settings)
    with pytest.raises(ValueError, match="compiled for 14 participants, markers IL-6.*the data have 14 participants, markers BDNF"):
        compiled.fit(_twin(tmp_path, 2, ["BDNF"]), seed=1)
    with pytest.raises(ValueError, match="the engine fits nif_trajectory, depression, coupling, moderation, subgroups; got 'day1'"):
        Engine("day1", _twin(tmp_path, 1, ["IL-6"]), settings)


@pytest.fixture
def uncompiled(monkeypatch):
    """Engines built but not compiled (what engine() picks is the point, not
    sampling), in a process that has none yet; returns the engine module."""
    import nutpie

    import ketamine_nif.engine as module

    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, **options: None)
    monkeypatch.setattr(module, "_ENGINES", type(module._ENGINES)())
    return module


def test_an_engine_is_shared_by_datasets_that_fit_its_room_without_much_waste(tmp_path, uncompiled):
    """Aim 1 (padding adds exact zeros): a replicate with one value fewer
    under the lod than a compiled engine was made for shares it, one with
    many more gets its own, and so does one that would leave more than half
    again the room it needs unused. Aim 2 (padded entries are parameters):
    only an engine of exactly the room a replicate needs, so that its draws
    do not depend on what the process fitted before."""
    few = _twin(tmp_path, 1, ["IL-6"])
    fewer = replace(few, nif_censored=few.nif_censored.copy())
    fewer.nif_censored[np.flatnonzero(few.nif_censored)[0]] = False
    many = replace(few, nif_censored=np.ones_like(few.nif_censored))  # every value under the lod
    settings = SamplerSettings(draws=10, tune=10, chains=1)
    small = engine("nif_trajectory", few, settings)
    assert engine("nif_trajectory", fewer, settings) is small
    large = engine("nif_trajectory", many, settings)
    assert large is not small and large.room > 1.5 * small.room and not small.has_room_for(many)
    assert engine("nif_trajectory", few, settings) is small and engine("nif_trajectory", many, settings) is large
    uncompiled._ENGINES.clear()
    large = engine("nif_trajectory", many, settings)
    assert large.has_room_for(few) and engine("nif_trajectory", few, settings) is not large  # too much waste
    coupling = engine("coupling", many, settings)
    assert coupling.has_room_for(few) and engine("coupling", few, settings) is not coupling
    assert engine("coupling", many, settings) is coupling


def test_a_process_keeps_its_most_recently_used_engines(tmp_path, uncompiled, monkeypatch):
    """Engines are reused by design and settings (seed aside), and a process
    keeps only the ``MAX_ENGINES`` most recently used (an SBC worker meets many rooms)."""
    monkeypatch.setattr(uncompiled, "MAX_ENGINES", 2)
    data = _twin(tmp_path, 1, ["IL-6"])

    def get(draws):
        return engine("nif_trajectory", data, SamplerSettings(draws=draws, tune=10, chains=1, seed=draws))

    first, second = get(10), get(20)
    assert get(10) is first and len(uncompiled._ENGINES) == 2  # reused; now the most recently used
    get(30)  # evicts 20, the least recently used
    assert get(10) is first and get(20) is not second


def test_an_engine_fit_with_divergences_is_refitted_once_with_smaller_steps_and_more_draws(tmp_path, uncompiled, monkeypatch):
    """As ``inference.fit`` does (``tests/test_inference.py``): with
    ``retry``, a fit through the engine at target acceptance 0.8 is drawn
    again after divergences, with the same compiled model, at 0.95, twice
    the draws and a seed of its own."""
    from test_inference import _draws

    calls = []

    def draw(self, values, settings):
        calls.append((settings.target_accept, settings.draws, settings.seed))
        return _draws(4, settings.draws, 4 if settings.target_accept < 0.95 else 0, len(calls))

    monkeypatch.setattr(uncompiled.Engine, "_draw", draw)
    data = _twin(tmp_path, 1, ["IL-6"])
    settings = SamplerSettings(sampler="nutpie", draws=1000, tune=10, chains=4, target_accept=0.8, retry=True)
    compiled = engine("nif_trajectory", data, settings)
    result = compiled.fit(data, seed=3).diagnostics
    assert calls == [(0.8, 1000, 3), (0.95, 2000, replace(settings, seed=3).for_fit("refit").seed)]
    assert len(uncompiled._ENGINES) == 1
    assert (result.target_accept, result.divergences) == (0.95, 0) and "(4 divergent transitions)" in result.refit


def test_a_chapters_fits_to_several_datasets_compile_once_and_are_saved_as_inference_fit_saves(tmp_path, monkeypatch):
    """``fit_each`` (chapter 05's imputed data sets): with an engine route one
    compilation serves every dataset, each fit has the seed of its name and
    its own data, and posteriors and diagnostics land where ``inference.fit``
    puts them; with ``pymc``, one ``inference.fit`` per dataset."""
    import ketamine_nif.engine as module

    monkeypatch.setattr(module, "_ENGINES", type(module._ENGINES)())
    first = _twin(tmp_path, 1, ["IL-6"])
    shifted = replace(first, nif_log=first.nif_log + np.where(first.nif_censored, 0.0, 1.0))  # measured values 2.7 times higher
    settings = SamplerSettings(sampler="nutpie", draws=40, tune=40, chains=1, seed=4)
    fits = fit_each("nif_trajectory", [first, shifted], settings, ["original", "shifted"], tmp_path / "out")
    assert len(module._ENGINES) == 1
    assert [f.diagnostics.seed for f in fits] == [settings.for_fit(n).seed for n in ("original", "shifted")]
    levels = [float(f.idata["posterior"]["mu"].mean()) for f in fits]
    assert levels[1] - levels[0] > 0.3  # the second fit saw the second dataset
    saved = json.loads((tmp_path / "out" / "diagnostics.json").read_text())
    assert set(saved) == {"original", "shifted"} and saved["shifted"]["sampler"] == "nutpie"
    assert (tmp_path / "out" / "original.nc").exists() and (tmp_path / "out" / "shifted.nc").exists()
    reference = fit_each("nif_trajectory", [first], replace(settings, sampler="pymc"), ["original"], tmp_path / "pymc")
    assert reference[0].diagnostics.sampler == "pymc" and len(module._ENGINES) == 1
    assert json.loads((tmp_path / "pymc" / "diagnostics.json").read_text())["original"]["seed"] == fits[0].diagnostics.seed


def test_room_for_values_under_the_lod_is_padded_and_checked(tmp_path):
    """Rows under the lod are listed, padded with a margin to a power of two or one and a half times one,
    so that replicates share a compiled model; more than a compiled model has
    room for is refused, not cut."""
    assert [room_for(c) for c in (0, 3, 6, 12, 21, 100, 134, 205, 210)] == [8, 16, 24, 32, 48, 192, 192, 256, 384]
    data = _twin(tmp_path, 1, ["IL-6"])
    values = fixed_shape_data(data)
    count = int(data.nif_censored.sum())
    assert count > 0 and len(values["nif_below_rows"]) == room_for(count)
    assert values["nif_below_seen"].sum() == count and values["nif_seen"].sum() == len(data.nif_log) - count
    assert np.array_equal(values["nif_value"][values["nif_below_rows"][:count]], data.nif_log[data.nif_censored])
    small = {**values, "nif_below_rows": np.zeros(count - 1, dtype=int)}
    with pytest.raises(ValueError, match=f"{count} values under the lod; this compiled model has room for {count - 1}"):
        fixed_shape_data(data, like=small)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["nutpie", pytest.param("numpyro", marks=pytest.mark.jax)])
def test_the_same_seed_gives_the_same_draws_whichever_dataset_the_engine_was_compiled_on(tmp_path, sampler):
    """Swapping data in must leave nothing of the template behind (values,
    centres, arm contrast, the chains' starting point, participant labels):
    an engine compiled on twin A and given twin B draws exactly what an engine
    compiled on B draws, with the same seed."""
    settings = SamplerSettings(sampler=sampler, draws=30, tune=30, chains=2)
    first, second = _twin(tmp_path, 1, ["IL-6"]), _twin(tmp_path, 2, ["IL-6"])
    second.participants = [f"other-{p}" for p in second.participants]
    swapped = Engine("nif_trajectory", first, settings).fit(second, seed=3)
    direct = Engine("nif_trajectory", second, settings).fit(second, seed=3)
    # exactly, but for rounding on the JAX route: the twins need different room for values under the lod, and XLA's
    # vectorised sums over the padded lists round differently with more padding (zeros), where numba adds in order
    tolerance = 0.0 if sampler == "nutpie" else 1e-9
    for name in ("mu", "log_ratio", "level", "sigma"):
        np.testing.assert_allclose(swapped.idata.posterior[name].values, direct.idata.posterior[name].values,
                                   rtol=tolerance, atol=tolerance, err_msg=name)
    assert list(swapped.idata.posterior["participant"].values) == second.participants


def _in_one_process(model, settings):
    """``inference.fit`` with its chains in this process: no fork after JAX has started (tests/conftest.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CORES_VARIABLE, "1")
        return fit(model, settings, "reference")


@pytest.fixture(scope="module")
def aim_1_reference(tmp_path_factory):
    """One twin of the trial's size with a planted effect (IL-6 raised 1.6-fold
    at 24 h), IL-6 alone, and its ``inference.fit`` (``pm.sample``)."""
    folder = tmp_path_factory.mktemp("aim-1")
    settings = SamplerSettings(draws=1000, tune=1000, chains=4, seed=7)
    data = _twin(folder, 5, ["IL-6"], overrides={"effects": {"nif_change_ratio": {"IL-6": {"24h": 1.6}}}})
    return folder, settings, data, _in_one_process(build_nif_trajectory_model(data), settings)


@pytest.mark.slow
@pytest.mark.jax  # with its reference fit, shared by both routes
@pytest.mark.parametrize("sampler", ["nutpie", "numpyro"])
def test_an_engine_fit_agrees_with_the_reference_fit(aim_1_reference, sampler):
    """Posterior means and SDs of the three change ratios from the engine
    (each route, compiled on another twin, whose data it fits first) and from
    ``inference.fit`` agree within Monte Carlo error; the engine's
    diagnostics come from the same code."""
    tmp_path, settings, data, reference = aim_1_reference
    settings = replace(settings, sampler=sampler)
    other = _twin(tmp_path, 6, ["IL-6"], overrides=None)
    compiled = engine("nif_trajectory", other, settings)
    compiled.fit(other, seed=1)  # another dataset first
    ours = compiled.fit(data, seed=7)
    assert float(ours.idata.posterior["nif_change_ratio"].sel(post_visit="24h").mean()) > 1.25  # the effect is seen
    assert engine("nif_trajectory", data, settings) is compiled  # one compilation per design and settings
    for result in (reference, ours):
        assert result.diagnostics.converged, result.diagnostics.problems()
    a = reference.idata.posterior["nif_change_ratio"]
    b = ours.idata.posterior["nif_change_ratio"]
    mean_a, mean_b = a.mean(("chain", "draw")).values.ravel(), b.mean(("chain", "draw")).values.ravel()
    sd_a, sd_b = a.std(("chain", "draw")).values.ravel(), b.std(("chain", "draw")).values.ravel()
    # Monte Carlo SE of each mean is below SD / sqrt(400) (every ESS is at least 400, above); 4 SEs of the difference
    assert np.all(np.abs(mean_a - mean_b) < 4 * np.sqrt(2) * np.maximum(sd_a, sd_b) / np.sqrt(400))
    np.testing.assert_allclose(sd_b, sd_a, rtol=0.15)
    assert ours.diagnostics.sampler == sampler and ours.diagnostics.seed == 7


@pytest.fixture(scope="module")
def aim_2_reference(tmp_path_factory):
    """The coupling model at the trial's size, IL-1RA alone, with a within-person
    coupling of 3 MADRS points per doubling planted in the ketamine arm (the
    design sweep's middle size), and its ``inference.fit``."""
    from ketamine_nif.design import planted_scenario

    folder = tmp_path_factory.mktemp("aim-2")
    settings = SamplerSettings(draws=1000, tune=1000, chains=4, seed=11)
    planted = simulate(planted_scenario("coupling_within_ketamine", 3.0, "IL-1RA"), seed=21).write(folder / "planted")
    data = prepare(load_dataset(planted), markers=["IL-1RA"])
    return folder, settings, data, _in_one_process(build_coupling_model(data), settings)


@pytest.mark.slow
@pytest.mark.jax  # with its reference fit, shared by both routes
@pytest.mark.parametrize("sampler", ["nutpie", "numpyro"])
def test_an_aim_2_engine_fit_agrees_with_the_reference_fit(aim_2_reference, sampler):
    """Posterior means and SDs of the couplings and nuisance parameters from
    the engine (each route, compiled on another twin, whose data it fits
    first) and from ``inference.fit`` agree within Monte Carlo error."""
    tmp_path, settings, data, reference = aim_2_reference
    settings = replace(settings, sampler=sampler)
    other = _twin(tmp_path, 22, ["IL-1RA"], overrides=None)
    compiled = engine("coupling", other, settings)
    compiled.fit(other, seed=1)
    ours = compiled.fit(data, seed=11)
    _assert_agree(reference, ours, ["coupling_within_ketamine", "coupling_within_saline", "madrs_change_difference",
                                    "level_slope", "sigma_y", "person_sd", "nif_tau", "nif_sigma", "nif_arm"],
                  ("nif_missing", "nif_censored_quantile"))
    assert float(ours.idata.posterior["coupling_within_ketamine"].mean()) > 1.0  # the planted coupling is seen


def _assert_agree(reference, ours, names: list[str], latent: tuple[str, ...]) -> None:
    """Both fits converged; posterior means and SDs of ``names`` agree, each
    difference within 4 of its Monte Carlo standard errors (those of both fits
    combined); the ``latent`` lists have the reference's entries (the
    padding's are left out of the engine's posterior)."""
    for result in (reference, ours):
        assert result.diagnostics.converged, result.diagnostics.problems()
    for name in names:
        for method, statistic in (("mean", lambda d: d.mean(("chain", "draw"))), ("sd", lambda d: d.std(("chain", "draw")))):
            errors = [arviz_stats.mcse(r.idata, var_names=[name], method=method)[name] for r in (reference, ours)]
            gap = np.abs(statistic(reference.idata.posterior[name]) - statistic(ours.idata.posterior[name]))
            assert np.all(gap.values < 4 * np.sqrt(errors[0].values**2 + errors[1].values**2)), (name, method)
    for name in latent:
        assert (name in ours.idata.posterior) == (name in reference.idata.posterior), name
        if name in reference.idata.posterior:
            assert ours.idata.posterior[name].shape == reference.idata.posterior[name].shape, name


@pytest.mark.slow
def test_an_aim_3_engine_fit_agrees_with_the_reference_fit(tmp_path):
    """The moderation model at the trial's size (BDNF, with its planted
    moderation of -3 MADRS points per SD, and IL-6, a third of its values
    under the lod) through the engine (nutpie, the sweeps' route; compiled on
    another twin, whose data it fits first) and through ``inference.fit``:
    posterior means and SDs of the moderations, the arm effect on MADRS and
    the nuisance parameters agree within Monte Carlo error."""
    settings = SamplerSettings(draws=1000, tune=1000, chains=4, seed=13, sampler="nutpie")
    markers = ["BDNF", "IL-6"]
    data, other = (prepare(load_dataset(simulate("planted-effects", seed=seed).write(tmp_path / str(seed))), markers=markers)
                   for seed in (31, 32))
    reference = _in_one_process(build_moderation_model(data), replace(settings, sampler="pymc"))
    compiled = engine("moderation", other, settings)
    compiled.fit(other, seed=1)
    ours = compiled.fit(data, seed=13)
    _assert_agree(reference, ours, ["baseline_moderation_difference", "baseline_slope_nif", "madrs_change_difference",
                                    "theta", "sigma_y", "person_sd", "nif0_mu", "nif0_sd"],
                  ("nif0_missing", "nif0_censored_quantile"))
    assert "nif0_censored_quantile" in reference.idata.posterior  # IL-6's values under the lod are latent
    assert float(ours.idata.posterior["baseline_moderation_difference"].sel(marker="BDNF").mean()) < -1.0  # seen


def test_a_marker_without_values_is_refused_by_name(tmp_path):
    """Its prior centre would be the median of nothing (NaN), and the sampler would fail without saying why."""
    data = _twin(tmp_path, 1, ["IL-6", "CRP"])
    _keep_nif_rows(data, data.nif_marker != 1)
    with pytest.raises(ValueError, match="no values of CRP in these data"):
        coupling_fixed_shape_data(data)
