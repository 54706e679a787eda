"""The package's layers: figures only in ``plotting``, models only build
models, and nothing types the analysis's choices outside ``params/analysis.yaml``
(tests/test_analysis_config.py checks the last)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ketamine_nif.paths import ROOT

PACKAGE = ROOT / "lib" / "ketamine_nif"
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (absolute names; relative ones
    as written: '..estimates', and '..checks' for ``from .. import checks``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add("." * node.level + node.module)
        elif isinstance(node, ast.ImportFrom):
            names |= {"." * node.level + alias.name for alias in node.names}
    return names


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_only_the_plotting_layer_draws(path):
    if path.relative_to(PACKAGE).parts[0] == "plotting":
        return
    assert not any(name.split(".")[0] == "matplotlib" for name in imported(path)), f"{path.name} imports matplotlib"


@pytest.mark.parametrize("path", sorted((PACKAGE / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_only_build_models(path):
    names = imported(path)
    forbidden = {"statsmodels", "..estimates", "..frequentist", "..summary", "..reporting", "..plotting", "..checks"}
    assert not {n for n in names if n.split(".")[0] == "statsmodels" or any(n.startswith(f) for f in forbidden)}, names
