"""environment.yml (the conda environment for Quarto users) follows
requirements.lock: every package it pins, from conda-forge or pip, at the
locked version, and every dependency of the project provided."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from ketamine_nif.paths import ROOT

CONDA_NAMES = {"matplotlib-base": "matplotlib"}  # conda-forge name -> PyPI name


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normal(name)] = version.strip()
    return pins


def environment() -> tuple[dict[str, str | None], list[str]]:
    """(conda package -> pinned version or None, pip lines)."""
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, []
    for entry in spec["dependencies"]:
        if isinstance(entry, dict):
            pip += entry["pip"]
        else:
            name, _, version = entry.partition("=")
            conda[normal(CONDA_NAMES.get(name, name))] = version or None
    return conda, pip


def test_conda_forge_and_pip_pins_follow_the_lock():
    pins = locked()
    conda, pip = environment()
    assert "quarto" in conda and conda["python"] == "3.12"
    checked = 0
    for name, version in conda.items():
        if name in pins:
            assert version == pins[name], f"environment.yml pins {name}={version}, requirements.lock {pins[name]}"
            checked += 1
    for line in pip:
        if "==" in line:
            name, version = line.split("==")
            assert version == pins[normal(name)], f"environment.yml pip: {line}, requirements.lock {pins[normal(name)]}"
            assert normal(name) not in conda, f"{name} is both a conda and a pip package"
            checked += 1
    assert checked >= 30


def test_every_dependency_of_the_project_is_in_the_environment():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    conda, pip = environment()
    provided = set(conda) | {normal(line.split("==")[0]) for line in pip if "==" in line}
    missing = [d for d in (normal(re.split(r"[<>=\[ ]", dep)[0]) for dep in project) if d not in provided]
    assert missing == [], f"not in environment.yml: {missing}"
    assert "-e ." in " ".join(pip)  # and the project itself, with its command ketamine-nif


_DRAWS = """
from ketamine_nif import btheb
from ketamine_nif.inference import SamplerSettings, sample
model = btheb.build_btheb_model(btheb.to_long(btheb.load_wide()))
idata = sample(model, SamplerSettings(draws=40, tune=40, chains=1, seed=5))
print(repr(float(idata.posterior["sigma_person"].sum())))
"""


@pytest.mark.slow
def test_the_same_seed_gives_the_same_draws_on_a_cold_and_a_warm_compile_cache(tmp_path):
    """The first fit compiles the model; the second loads it from the cache.
    With Numba's fastmath on, the two rounded differently and the draws parted."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'compiled'}", "OMP_NUM_THREADS": "1"}
    runs = [subprocess.run([sys.executable, "-c", _DRAWS], env=env, capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert any((tmp_path / "compiled").rglob("*.nbi")), "the first run left no Numba cache to load"
    assert runs[0] == runs[1]
