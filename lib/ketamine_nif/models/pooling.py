"""The priors of the effects that the report's verdicts rest on (one per
marker and visit, or marker and arm), and whether markers share strength.

The book gives every effect its own fixed prior, Student-t with 3 degrees of
freedom centred on no effect, with the *slab* (the size of a realistic
effect) as its scale (``pooling="none"``). It is sceptical of huge effects,
heavy-tailed so that a real effect is not pulled in, and shared with nothing:
no common mean, no scale learned from the other markers or visits. So a
marker's verdict ("supported", "ruled out") rests on its own data.

``pooling="shared"`` lets the markers share strength, for comparison: every
effect of a family is ``S * z`` with ``z`` standard normal and one scale
``S ~ HalfNormal(slab)`` learned from all of them (the classic hierarchical
prior, shrinking toward zero, never toward a common mean). With most markers null, ``S`` collapses and takes
a lone real effect with it: on this trial's precision a true 20% rise of IL-6
is then called "ruled out" in most simulated trials
(:mod:`ketamine_nif.shrinkage` measures it). A scale learned per marker was
tried as well: with two or three effects per marker it is barely learned,
its prior acts as a fixed scale mixture with a cusp at zero, and it called an
effect at the edge of the region of practical equivalence "ruled out" in about
14% of simulated trials, against 6% with the fixed prior.

Each effect records its prior on the model (``model.effect_priors``), and
:func:`ketamine_nif.inference.fit` saves them with the posterior, so that the
evidence chapter reads the prior a fit used instead of re-declaring it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pymc as pm
from scipy import integrate, stats

POOLING = ("none", "shared")


@dataclass(frozen=True)
class EffectPrior:
    """The prior of a family of effects: Student-t(nu, 0, scale) each
    (``pooling="none"``; ``nu`` = inf gives normal effects), or S * N(0, 1)
    with one S ~ HalfNormal(scale) for the family (``"shared"``)."""

    scale: float  # the slab: the size of a realistic effect
    nu: float = 3.0
    pooling: str = "none"

    def __post_init__(self):
        check_pooling(self.pooling)

    @property
    def _normal(self) -> bool:
        return np.isinf(self.nu) or self.pooling == "shared"

    def _standard(self, x):
        return stats.norm.pdf(x) if self._normal else stats.t.pdf(x, self.nu)

    def density(self, value, difference: bool = False):
        """Prior density at ``value`` (a number or an array) of one effect, or
        (``difference``) of the difference of two independent effects of the
        family (e.g. ketamine minus saline coupling)."""
        values = np.asarray(value, dtype=float)

        def given(s):  # density given the scale
            if not difference:
                return self._standard(values / s) / s
            if self._normal:
                return stats.norm.pdf(values, 0.0, np.sqrt(2.0) * s)
            return integrate.quad_vec(lambda u: self._standard(u) * self._standard(u - values / s), -np.inf, np.inf)[0] / s

        if self.pooling == "none":
            result = given(self.scale)
        else:
            result = integrate.quad_vec(lambda s: given(s) * stats.halfnorm.pdf(s, 0.0, self.scale), 0.0, np.inf)[0]
        return float(result) if np.ndim(value) == 0 else result

    def logpdf(self, value) -> np.ndarray:
        """Log prior density of single effects (``pooling="none"``), elementwise."""
        values = np.asarray(value, dtype=float) / self.scale
        standard = stats.norm.logpdf(values) if np.isinf(self.nu) else stats.t.logpdf(values, self.nu)
        return standard - np.log(self.scale)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draws of one effect from its prior."""
        t = rng.normal(size=size) if self._normal else rng.standard_t(self.nu, size)
        scale = self.scale if self.pooling == "none" else np.abs(rng.normal(0.0, self.scale, size))
        return scale * t

    def text(self) -> str:
        family = "N(0, 1)" if self._normal else f"Student-t({self.nu:g})"
        if self.pooling == "none":
            return f"{self.scale:g} × {family}"
        return f"S × {family}, S ~ HalfNormal({self.scale:g}) shared by the family"

    def to_dict(self) -> dict:
        return asdict(self)


def check_pooling(pooling: str) -> None:
    if pooling not in POOLING:
        raise ValueError(f"pooling must be one of {', '.join(POOLING)}; got {pooling!r}")


def student_t(name: str, nu: float, dims: tuple[str, ...]):
    """Standard Student-t deviations ``<name>_raw`` (their scale applied
    outside them). Written directly, not as the scale mixture n / sqrt(g)
    with g ~ Gamma(nu/2, nu/2) (the same distribution): in chapter 05's
    subgroup model the mixture's local variances near zero left a divergent
    transition in a fit of each of three runs of the chapter's five (PyMC at
    target acceptance 0.99 and 0.995, nutpie at 0.99), and in 14% of the
    subgroup SBC's 1,000 replicate fits; the direct form, in none of 12 fits
    of the chapter's data sets and none of the SBC's 1,000. Its heavy tails
    are sampled directly, which costs effective draws in the tails: chapter
    05 runs 2,000 draws per chain (at 1,000 a tail ESS fell to 372)."""
    return pm.StudentT(f"{name}_raw", nu=nu, mu=0.0, sigma=1.0, dims=dims)


def effect(name: str, prior: EffectPrior, dims: tuple[str, ...]):
    """A family of effects named ``name`` with ``dims``, given ``prior``;
    records the prior on the model being built."""
    if prior.pooling == "none":
        value = (pm.Normal(name, 0.0, prior.scale, dims=dims) if np.isinf(prior.nu) else
                 pm.StudentT(name, nu=prior.nu, mu=0.0, sigma=prior.scale, dims=dims))
    else:
        scale = pm.HalfNormal(f"{name}_scale", prior.scale)
        raw = pm.Normal(f"{name}_raw", 0.0, 1.0, dims=dims)  # non-centred
        value = pm.Deterministic(name, scale * raw, dims=dims)
    model = pm.modelcontext(None)
    model.effect_priors = {**getattr(model, "effect_priors", {}), name: prior.to_dict()}
    return value


def recorded_priors(model: pm.Model) -> dict:
    """The effect priors a model recorded while it was built (name -> fields)."""
    return dict(getattr(model, "effect_priors", {}))
