"""Rendering with Quarto, where it is installed: ``quarto render --no-execute``
in the staged book project (``render.project``), whose ``_quarto.yml`` keeps
Quarto from executing, hides stderr (``warning: false``), draws math without a
network (``html-math-method: mathml``) and includes the banner files."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .book import BookConfig
from .convert import RenderError


def render_with_quarto(config_path: Path) -> Path:
    """Render the book project of ``config_path``; returns its output folder,
    which holds ``index.html`` and a page ``<chapter>.html`` per chapter."""
    result = subprocess.run(["quarto", "render", "--no-execute"], cwd=config_path.parent, check=False)
    if result.returncode != 0:
        raise RenderError(f"quarto render failed (exit {result.returncode}); its messages are above")
    config = BookConfig.load(config_path)
    if not (config.output_dir / "index.html").exists():
        raise RenderError(f"quarto render made no home page {config.output_dir / 'index.html'}")
    return config.output_dir
