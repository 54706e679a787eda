"""The priors of the effects that the report's verdicts rest on (one per
marker and visit, or marker and arm), and how far they share strength.

Markers never share anything: each marker's effects are shrunk toward zero
(never toward a common mean) by the marker's own scale, so that a marker's
verdict ("supported", "ruled out") rests on its own data and one real effect
is not diluted by six null markers (``pooling="marker"``, the book's choice):

    effect_mj = s_m z_mj,   z_mj ~ N(0, 1),   s_m ~ Gamma(2, 2 / slab)

The slab is the size of a realistic effect (the scale's prior mean). The
scale's prior is zero-avoiding, so that a marker whose effects look null
cannot shrink them to nothing, and uncertain, so that each effect's prior is
heavy-tailed (a normal scale mixture with kurtosis 10: like a Student-t with
about 5 degrees of freedom). (Student-t locals, nu = 3, gave the sampler
divergent transitions at the book's settings and were dropped.)

``pooling="none"``: each effect has the fixed prior N(0, slab); these are the
unpooled estimates the chapters show beside the book's.

Sharing a scale across markers was rejected: with most markers null it
collapses and takes a lone real effect with it (on the trial's design a true
20% rise of IL-6 is then called "ruled out" in about half of the trials;
:mod:`ketamine_nif.shrinkage` measures this).

Each effect records its prior on the model (``model.effect_priors``), and
:func:`ketamine_nif.inference.fit` saves them with the posterior, so that the
evidence chapter reads the prior a fit used instead of re-declaring it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pymc as pm
from scipy import integrate, stats

POOLING = ("marker", "none")
SCALE_SHAPE = 2.0  # Gamma shape of a marker's own scale (mean: the slab)


@dataclass(frozen=True)
class EffectPrior:
    """The prior of a family of effects: N(0, s_m) with each marker's scale
    s_m ~ Gamma(2, mean ``scale``) (``pooling="marker"``), or N(0, ``scale``)
    (``"none"``)."""

    scale: float  # the slab: the size of a realistic effect
    pooling: str = "marker"

    def __post_init__(self):
        check_pooling(self.pooling)

    def _scale_density(self, s):
        return stats.gamma.pdf(s, SCALE_SHAPE, scale=self.scale / SCALE_SHAPE)

    def density(self, value, difference: bool = False):
        """Prior density at ``value`` (a number or an array) of one effect, or
        (``difference``) of the difference of two effects of the same marker
        (e.g. ketamine minus saline coupling), which share the marker's scale."""
        factor = np.sqrt(2.0) if difference else 1.0
        values = np.asarray(value, dtype=float)
        if self.pooling == "none":
            result = stats.norm.pdf(values, 0.0, factor * self.scale)
        else:
            result = integrate.quad_vec(lambda s: stats.norm.pdf(values, 0.0, factor * s) * self._scale_density(s), 0.0, np.inf)[0]
        return float(result) if np.ndim(value) == 0 else result

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draws of one effect from its prior."""
        z = rng.normal(size=size)
        if self.pooling == "none":
            return self.scale * z
        return rng.gamma(SCALE_SHAPE, self.scale / SCALE_SHAPE, size) * z

    def text(self) -> str:
        if self.pooling == "none":
            return f"N(0, {self.scale:g})"
        return f"N(0, s_m), s_m ~ Gamma({SCALE_SHAPE:g}, mean {self.scale:g}) per marker"

    def to_dict(self) -> dict:
        return asdict(self)


def check_pooling(pooling: str) -> None:
    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {', '.join(POOLING)}; got {pooling!r}")


def student_t(name: str, nu: float, dims: tuple[str, ...]):
    """Standard Student-t draws written as a scale mixture, z = n / sqrt(g) with
    n ~ N(0, 1) and g ~ Gamma(nu/2, nu/2): the same distribution, without the
    heavy-tailed geometry that NUTS explores badly under a small scale
    (nu = 1 is the Cauchy, whose local scales make this a horseshoe)."""
    n = pm.Normal(f"{name}_raw", 0.0, 1.0, dims=dims)
    g = pm.Gamma(f"{name}_local", alpha=nu / 2, beta=nu / 2, dims=dims)
    return n / pm.math.sqrt(g)


def effect(name: str, prior: EffectPrior, dims: tuple[str, ...]):
    """A family of effects named ``name`` with dims (marker, visit or arm),
    given ``prior``; records the prior on the model being built."""
    if prior.pooling == "none":
        value = pm.Normal(name, 0.0, prior.scale, dims=dims)
    else:
        scale = pm.Gamma(f"{name}_scale", alpha=SCALE_SHAPE, beta=SCALE_SHAPE / prior.scale, dims=dims[0])
        raw = pm.Normal(f"{name}_raw", 0.0, 1.0, dims=dims)  # non-centred
        value = pm.Deterministic(name, scale[:, None] * raw, dims=dims)
    model = pm.modelcontext(None)
    model.effect_priors = {**getattr(model, "effect_priors", {}), name: prior.to_dict()}
    return value


def recorded_priors(model: pm.Model) -> dict:
    """The effect priors a model recorded while it was built (name -> fields)."""
    return dict(getattr(model, "effect_priors", {}))
