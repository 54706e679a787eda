"""Rendering with Quarto, where it is installed: the banner goes in through
files that ``_quarto.yml`` includes, and Quarto renders without executing."""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

from .book import BANNER_CLASS, BookConfig, typst_string
from .convert import RenderError


def write_includes(banner: str | None, build_dir: Path) -> None:
    """``_build/banner.html`` and ``_build/banner.typ`` (empty for real data)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    html_banner = (
        f'<div class="{BANNER_CLASS}" role="note" style="background:#fde68a;color:#3d2e00;padding:.5rem 1rem;'
        f'font-weight:600;text-align:center">{html.escape(banner)}</div>\n'
        if banner
        else ""
    )
    typst_banner = f'#set page(header: align(center, text(weight: "bold", size: 8.5pt, {typst_string(banner)})))\n' if banner else ""
    (build_dir / "banner.html").write_text(html_banner, encoding="utf-8")
    (build_dir / "banner.typ").write_text(typst_banner, encoding="utf-8")


def render_with_quarto(config_path: Path) -> Path:
    """``quarto render --no-execute`` in the project; returns the book's entry page.
    Quarto names pages after the chapters' paths, so where the home page is not
    ``_book/index.html`` a redirect is written there. The executed notebooks are
    copied into ``_book/notebooks/`` for download, as the offline renderer does."""
    result = subprocess.run(["quarto", "render", "--no-execute"], cwd=config_path.parent, check=False)
    if result.returncode != 0:
        raise RenderError(f"quarto render failed (exit {result.returncode}); its messages are above")
    config = BookConfig.load(config_path)
    (config.output_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    for chapter in config.chapters:
        if chapter.exists():
            shutil.copyfile(chapter, config.output_dir / "notebooks" / chapter.name)
    index = config.output_dir / "index.html"
    if not index.exists():
        home = config.chapters[0].relative_to(config.root).with_suffix(".html").as_posix()
        index.write_text(f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={home}">'
                         f'<a href="{home}">{html.escape(config.title)}</a>\n', encoding="utf-8")
    return index
