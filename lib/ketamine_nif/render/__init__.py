"""Rendering the executed notebooks into the book: with Quarto where it is
installed, otherwise with the offline renderer (Pandoc + Typst from PyPI)."""

from .book import BookConfig, render_book
from .convert import RenderError

__all__ = ["BookConfig", "RenderError", "render_book", "banner_text"]


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
