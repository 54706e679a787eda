"""One place that knows where everything lives, so code works from any directory."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The repository root: ``$KETAMINE_NIF_ROOT``, else the folder above ``lib/``
    holding ``_quarto.yml``, else the nearest parent of the working directory
    that holds one."""
    env = os.environ.get("KETAMINE_NIF_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for candidate in [here.parents[2], *Path.cwd().resolve().parents, Path.cwd().resolve()]:
        if (candidate / "_quarto.yml").exists():
            return candidate
    return Path.cwd().resolve()  # outside a checkout; commands that need the book say so


ROOT = project_root()
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params"
BUILD = ROOT / "_build"  # executed notebooks, per-run outputs, caches (ignored by git)
EXECUTED = BUILD / "notebooks"  # the executed notebooks, one per chapter of _quarto.yml
BOOK = ROOT / "_book"  # the rendered book (ignored by git)
SYNTHETIC_DATA = ROOT / "data" / "synthetic"  # the default twin (generated, ignored)
QUARTO_CONFIG = ROOT / "_quarto.yml"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def run_output_dir(notebook_stem: str) -> Path:
    """Where one notebook's run writes its tables, figures and diagnostics."""
    return BUILD / "outputs" / notebook_stem
