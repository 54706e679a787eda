"""Shared fixtures: small synthetic datasets written to temporary folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ketamine_nif.twin import load_scenario, simulate

SMALL = {"design": {"n_ketamine": 8, "n_saline": 6}}


@pytest.fixture(scope="session")
def small_twin_dir(tmp_path_factory) -> Path:
    """A valid, small synthetic dataset (14 participants)."""
    out = tmp_path_factory.mktemp("small-twin")
    simulate(load_scenario("paper-null", overrides=SMALL), seed=11).write(out)
    return out


@pytest.fixture
def data_copy(small_twin_dir, tmp_path) -> Path:
    """A fresh copy of the small dataset that a test may corrupt."""
    target = tmp_path / "data"
    shutil.copytree(small_twin_dir, target)
    return target


def read(data_dir: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / f"{table}.csv", dtype=str, keep_default_na=False)


def write(frame: pd.DataFrame, data_dir: Path, table: str) -> None:
    frame.to_csv(data_dir / f"{table}.csv", index=False)
