"""Rendering the executed notebooks into the book: with Quarto where it is
installed, otherwise with the offline renderer (Pandoc + Typst from PyPI).
Both render the same generated book project (``render.project``), so the book
has one layout whichever renderer made it: ``_book/index.html``,
``_book/<chapter>.html``, the PDF and ``_book/notebooks/``."""

from __future__ import annotations

import shutil
from pathlib import Path

from .book import BookConfig, render_book
from .convert import RenderError
from .project import stage_book

__all__ = ["BookConfig", "RenderError", "banner_text", "build_book", "render_book", "stage_book"]


def banner_text(metadata: dict) -> str | None:
    """The warning every page carries when the report runs on synthetic data."""
    if not metadata.get("synthetic"):
        return None
    scenario = metadata.get("scenario", "unknown")
    seed = metadata.get("seed", "unknown")
    return (
        f"SYNTHETIC DATA \u2014 this report runs on the synthetic twin (scenario '{scenario}', seed {seed}), "
        "not on trial data. Nothing here describes real patients."
    )


def build_book(config_path: Path, executed_dir: Path, build_dir: Path, book_dir: Path, banner: str | None,
               engine: str, run_log: dict | None = None, data_dir: str | None = None) -> Path:
    """Stage the book project in ``build_dir/book``, render it with ``engine``
    (``quarto`` or ``offline``) and put the result in ``book_dir``; returns the PDF."""
    project = stage_book(config_path, executed_dir, build_dir / "book", banner, run_log, data_dir)
    config = BookConfig.load(project)
    if engine == "quarto":
        from .quarto import render_with_quarto

        render_with_quarto(project)
    else:
        render_book(project, banner, build_dir / "render")
    if book_dir.exists():
        shutil.rmtree(book_dir)
    shutil.move(config.output_dir, book_dir)
    return book_dir / f"{config.output_file}.pdf"
