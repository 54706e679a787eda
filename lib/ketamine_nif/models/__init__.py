"""Model builders: ``build_..._model(data, ...) -> pm.Model`` with named coords
and dims. ``prepare`` turns a validated dataset into the arrays they use."""

from .depression import (
    OutcomePriors,
    build_coupling_model,
    build_moderation_model,
    build_outcome_model,
)
from .pooling import POOLING, EffectPrior
from .prepare import ModelData, ModelDataError, prepare
from .subgroups import SubgroupPriors, build_subgroup_model, subgroup_data, subgroup_design
from .trajectory import LIKELIHOODS, TrajectoryPriors, build_nif_trajectory_model

__all__ = [
    "POOLING",
    "EffectPrior",
    "LIKELIHOODS",
    "ModelData",
    "ModelDataError",
    "OutcomePriors",
    "SubgroupPriors",
    "TrajectoryPriors",
    "build_coupling_model",
    "build_moderation_model",
    "build_nif_trajectory_model",
    "build_outcome_model",
    "build_subgroup_model",
    "prepare",
    "subgroup_data",
    "subgroup_design",
]
