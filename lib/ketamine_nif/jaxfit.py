"""The fit engine's JAX route: a book model's log density as one jitted JAX
function of its parameters and its data, sampled by NumPyro's NUTS.

PyTensor writes the model's graph as JAX (``pymc.sampling.jax.get_jaxified_graph``)
once, with the model's data containers turned into inputs of the function, so
that a new dataset of the same shapes is an argument, not a new graph: one
compilation (XLA's, at the first fit) serves every dataset of the design.
Each chain runs NumPyro's NUTS (``numpyro.infer.hmc.hmc``: step size and a
regularised diagonal mass matrix adapted in Stan's windows over the tuning
steps) inside one jitted loop, with PyMC's starting points (the model's
initial point, jittered, drawn again where the log density is not finite)
and PyMC's default tree depth (10). The sampler sees the parameters as one
flat vector (a dictionary of arrays made each step cost about three times as
much). Draws are mapped back to the model's variables (constrained values
and deterministics) by a second jitted function of the same graph.

Only the data containers are inputs: the model's other shared variables
(the lengths of its coordinates) are constants of the compiled function,
which is why the engine keys a compiled model by design (participants,
markers, visits).

Nothing here needs an accelerator: on a machine with one, JAX places the
computation there.
"""

from __future__ import annotations

import numpy as np

STATS = ("diverging", "energy", "n_steps", "acceptance_rate")  # per draw, in the sample_stats group


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)  # the model's float64, as in every other route
    return jax


class JaxSampler:
    """NUTS on ``model`` (built once; its data containers ``containers`` are
    the function's data inputs) with the draws, tuning steps and target
    acceptance of ``settings``."""

    def __init__(self, model, containers: list[str], settings):
        import pytensor.tensor as pt
        from jax.flatten_util import ravel_pytree
        from pymc.initial_point import make_initial_point_fn
        from pymc.sampling.jax import get_jaxified_graph
        from pymc.util import get_default_varnames
        from pytensor.graph.replace import graph_replace

        jax = _jax()
        self.model, self.settings, self.containers = model, settings, containers
        shared = [model[name] for name in containers]
        inputs = [pt.tensor(name=f"{v.name}_input", shape=v.type.shape, dtype=v.dtype) for v in shared]
        outputs = list(get_default_varnames(model.unobserved_value_vars, include_transformed=False))
        replaced = graph_replace([model.logp(), *outputs], dict(zip(shared, inputs, strict=True)), strict=False)
        self.value_names = [v.name for v in model.value_vars]
        self.names = [v.name for v in outputs]
        logp = get_jaxified_graph(inputs=model.value_vars + inputs, outputs=replaced[:1])
        values = get_jaxified_graph(inputs=model.value_vars + inputs, outputs=replaced[1:])
        self._start = make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs), return_transformed=True)
        _, self._unflatten = ravel_pytree(self._start(0))
        self._flatten = lambda point: ravel_pytree(point)[0]
        self._logp = lambda x, data: logp(*self._parameters(x), *data)[0]
        self._density = jax.jit(self._logp)
        self._chain = jax.jit(self._chain_function())
        self._values = jax.jit(jax.vmap(lambda x, data: values(*self._parameters(x), *data), in_axes=(0, None)))

    def _parameters(self, flat):
        z = self._unflatten(flat)
        return [z[name] for name in self.value_names]

    def _chain_function(self):
        from jax import lax
        from numpyro.infer.hmc import hmc

        tune, draws, target = self.settings.tune, self.settings.draws, self.settings.target_accept
        init_kernel, sample_kernel = hmc(potential_fn_gen=lambda *data: (lambda z: -self._logp(z, data)), algo="NUTS")

        def chain(key, start, data):
            state = init_kernel(start, num_warmup=tune, model_args=data, rng_key=key, target_accept_prob=target)
            state = lax.fori_loop(0, tune, lambda _, s: sample_kernel(s, model_args=data), state)

            def step(s, _):
                s = sample_kernel(s, model_args=data)
                return s, (s.z, s.diverging, s.energy, s.num_steps, s.accept_prob)

            return lax.scan(step, state, None, length=draws)[1]

        return chain

    def _finite_start(self, seed: int, data, tries: int = 10):
        """A jittered initial point where the log density is finite (PyMC's
        rule: draw the jitter again, up to ``tries`` times)."""
        for attempt in range(tries):
            start = self._flatten(self._start(seed + attempt))
            if np.isfinite(float(self._density(start, data))):
                return start
        raise RuntimeError(f"no finite log density at {tries} jittered initial points (seed {seed})")

    def sample(self, values: dict[str, np.ndarray], seed: int):
        """Posterior draws for the data ``values`` (one array per container;
        the model's containers must hold them too: the starting points are
        the model's initial point for them), chains one after another."""
        import arviz_base
        import jax.numpy as jnp

        jax = _jax()
        data = tuple(jnp.asarray(values[name]) for name in self.containers)
        seeds = np.random.SeedSequence(seed).generate_state(self.settings.chains)
        posterior, stats = {name: [] for name in self.names}, {name: [] for name in STATS}
        for chain_seed in seeds:
            z, *per_draw = self._chain(jax.random.PRNGKey(int(chain_seed)), self._finite_start(int(chain_seed), data), data)
            for name, value in zip(self.names, self._values(z, data), strict=True):
                posterior[name].append(np.asarray(value))
            for name, value in zip(STATS, per_draw, strict=True):
                stats[name].append(np.asarray(value))
        model = self.model
        dims = {name: list(model.named_vars_to_dims.get(name, ())) for name in self.names}
        coords = {name: list(labels) for name, labels in model.coords.items() if labels is not None}
        return arviz_base.from_dict({"posterior": {k: np.stack(v) for k, v in posterior.items()},
                                     "sample_stats": {k: np.stack(v) for k, v in stats.items()}},
                                    coords=coords, dims=dims)
