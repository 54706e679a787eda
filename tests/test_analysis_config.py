"""One place for the analysis's choices: ``params/analysis.yaml`` (priors,
regions of practical equivalence, decision levels, the paper's finding) is read
by every chapter and model, and a change there alone reaches the fits and the
evidence chapter."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from conftest import TINY, cli, make_project
from ketamine_nif import analysis, estimands, runner
from ketamine_nif.btheb import BthebPriors
from ketamine_nif.inference import saved_priors
from ketamine_nif.models import OutcomePriors, TrajectoryPriors
from ketamine_nif.models.pooling import EffectPrior
from ketamine_nif.models.subgroups import Day1Priors, SubgroupPriors
from ketamine_nif.paths import ROOT

PRIOR_CLASSES = (TrajectoryPriors, OutcomePriors, SubgroupPriors, Day1Priors, BthebPriors)


def write_config(path: Path, change) -> Path:
    raw = yaml.safe_load(analysis.CONFIG.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_priors_classes_take_their_defaults_from_the_configuration():
    config = analysis.load()
    raw = yaml.safe_load(analysis.CONFIG.read_text())
    for cls in PRIOR_CLASSES:
        assert config.priors(cls) == cls()
        assert {k: float(v) for k, v in raw["priors"][cls.PRIOR_FAMILY].items()} == vars(cls())


def test_every_registered_estimand_has_a_rope_and_variants_share_it():
    config = analysis.load()
    for name, entry in estimands.REGISTRY.items():
        low, high = config.rope(name)
        assert low < entry.null < high
    assert config.rope("nif_change_ratio_student") == config.rope(estimands.NIF_CHANGE_RATIO)
    assert config.rope(estimands.SUBGROUP_COUPLING_DIFFERENCE["saline"]) == config.rope(estimands.COUPLING_WITHIN["ketamine"])
    with pytest.raises(KeyError, match="unknown estimand 'no_such_thing'"):
        config.rope("no_such_thing")


def test_another_file_overrides_priors_and_ropes(tmp_path):
    def change(raw):
        raw["priors"]["trajectory"]["arm_scale"] = 0.35
        raw["ropes"]["coupling"] = [-0.5, 0.5]

    config = analysis.load(write_config(tmp_path / "analysis.yaml", change))
    assert config.priors(TrajectoryPriors).arm_scale == 0.35
    assert config.priors(TrajectoryPriors, time_sd=0.1).time_sd == 0.1
    assert config.rope(estimands.COUPLING_WITHIN["difference"]) == (-0.5, 0.5)
    assert analysis.load().priors(TrajectoryPriors).arm_scale == TrajectoryPriors().arm_scale  # the book's file is untouched


@pytest.mark.parametrize("change, message", [
    (lambda raw: raw["priors"]["trajectory"].update(arm_scael=0.3), "unknown: arm_scael"),
    (lambda raw: raw["priors"]["outcome"].pop("arm_sd"), "missing: arm_sd"),
    (lambda raw: raw["ropes"].update(coupling=[1.0, -1.0]), "ROPE coupling must be \\[low, high\\]"),
    (lambda raw: raw.pop("ropes"), "missing section\\(s\\) ropes"),
    (lambda raw: raw["decision"].update(equivalence_level=95), "equivalence_level must lie between 0.5 and 1"),
    (lambda raw: raw["decision"].update(max_error_rate=5), "max_error_rate must lie between 0 and 0.5"),
    (lambda raw: raw["decision"].pop("max_error_rate"), "max_error_rate must lie between 0 and 0.5"),
    (lambda raw: raw["decision"].update(multiplicity="holm"), "multiplicity must be one of bonferroni, none"),
])
def test_a_broken_configuration_is_refused_with_a_message_naming_the_entry(tmp_path, change, message):
    path = write_config(tmp_path / "analysis.yaml", change)
    with pytest.raises(analysis.AnalysisConfigError, match=message):
        config = analysis.load(path)
        for cls in PRIOR_CLASSES:
            config.priors(cls)
    with pytest.raises(analysis.AnalysisConfigError, match="not found"):
        analysis.load(tmp_path / "absent.yaml")


def test_the_runner_reruns_a_chapter_when_its_configuration_changes(tmp_path):
    path = write_config(tmp_path / "analysis.yaml", lambda raw: None)
    before = runner.analysis_hash({"analysis_config": str(path)})
    write_config(path, lambda raw: raw["ropes"].update(nif_ratio=[0.8, 1.25]))
    assert runner.analysis_hash({"analysis_config": str(path)}) != before
    with pytest.raises(runner.RunError, match="absent.yaml not found"):
        runner.analysis_hash({"analysis_config": str(tmp_path / "absent.yaml")})


def test_each_rope_and_prior_scale_is_typed_in_one_file():
    """No notebook declares a prior or ROPE parameter, and no code outside the
    configuration types a ROPE's bounds."""
    raw = yaml.safe_load(analysis.CONFIG.read_text())
    bounds = [re.compile(rf"[\[(]\s*{low:g}(\.0)?,\s*{high:g}(\.0)?\s*[\])]") for low, high in raw["ropes"].values()]
    sources = [*ROOT.glob("notebooks/*.py"), *ROOT.glob("lib/ketamine_nif/**/*.py"), *ROOT.glob("benchmarks/*.py"),
               *[p for p in ROOT.glob("params/*.yaml") if p.name != "analysis.yaml"]]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^(?!\w*(factor|draws))(prior_\w+|rope_\w+|important_\w+|deviation_nu) = [-\[\d(]", text, re.M), path
        assert not any(b.search(text) for b in bounds), f"{path} types a ROPE's bounds"
    for cls in PRIOR_CLASSES:  # fields without typed defaults (analysis.defaults fills them in)
        assert not re.search(r": float = \d", inspect.getsource(cls)), cls.__name__


@pytest.mark.slow
def test_a_prior_changed_in_the_configuration_alone_reaches_the_fit_and_the_evidence_chapter(tmp_path):
    root = make_project(tmp_path / "project")
    write_config(root / "params" / "analysis.yaml", lambda raw: raw["priors"]["trajectory"].update(arm_scale=0.35))
    run = cli(root, "run", *TINY, "02-nif-trajectories", "06-evidence-for-absence")
    assert run.returncode == 0, run.stderr
    outputs = root / "_build" / "outputs"
    posterior = xr.open_datatree(outputs / "02-nif-trajectories" / "nif-trajectories.nc")["posterior"]
    assert saved_priors(posterior)["log_ratio"]["scale"] == 0.35
    factors = pd.read_csv(outputs / "06-evidence-for-absence" / "bayes-factors.csv")
    ratio = factors[factors["estimand"] == estimands.NIF_CHANGE_RATIO]
    assert len(ratio) and np.allclose(ratio["prior_density"], EffectPrior(0.35).density(0.0), rtol=1e-4)
    assert not np.allclose(ratio["prior_density"], EffectPrior(TrajectoryPriors().arm_scale).density(0.0), rtol=1e-2)


@pytest.mark.parametrize("level, value", [("detection_level", 0.99), ("max_error_rate", 0.1), ("multiplicity", "none")])
def test_a_chapters_own_configuration_keeps_the_books_decision_levels(tmp_path, level, value):
    path = write_config(tmp_path / "analysis.yaml", lambda raw: raw["decision"].update({level: value}))
    with pytest.raises(analysis.AnalysisConfigError, match="the decision levels are the book's"):
        analysis.load(path)
