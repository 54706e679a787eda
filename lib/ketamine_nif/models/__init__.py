"""Model builders: ``build_..._model(data, ...) -> pm.Model`` with named coords
and dims. ``prepare`` turns a validated dataset into the arrays they use."""

import pytensor

from .depression import (
    MIN_ABOVE_LIMIT,
    OutcomePriors,
    build_coupling_model,
    build_moderation_model,
    build_outcome_model,
    moderation_data,
)
from .pooling import POOLING, EffectPrior
from .prepare import ModelData, ModelDataError, prepare
from .subgroups import Day1Priors, SubgroupPriors, build_day1_model, build_subgroup_model
from .trajectory import LIKELIHOODS, TrajectoryPriors, build_nif_trajectory_model

# Same seed, same draws, whatever the state of the compile cache. With Numba's
# fastmath on (PyTensor's default), a model compiled afresh and the same model
# loaded from the cache round their sums differently in the last bit, and NUTS
# turns that into different draws: a chapter rerun on a warm cache disagreed
# with its first run. Off, the two agree to the bit; sampling time with PyMC's
# NUTS is unchanged (aim 1, 2 and 3 models, 2 x (500 + 500), measured at
# issue 18). Set here, as every fit and every model builder imports this
# package before it compiles.
pytensor.config.numba__fastmath = False

__all__ = [
    "MIN_ABOVE_LIMIT",
    "POOLING",
    "Day1Priors",
    "EffectPrior",
    "LIKELIHOODS",
    "ModelData",
    "ModelDataError",
    "OutcomePriors",
    "SubgroupPriors",
    "TrajectoryPriors",
    "build_coupling_model",
    "build_day1_model",
    "build_moderation_model",
    "build_nif_trajectory_model",
    "build_outcome_model",
    "build_subgroup_model",
    "moderation_data",
    "prepare",
]
