"""What every analysis chapter does first: figure style, output folder, and
the validated data in model form."""

from __future__ import annotations

from pathlib import Path

from . import plotting
from .contract import load_dataset
from .models import ModelData, prepare


def start(data_dir: str, output_dir: str, markers: list[str] | None = None) -> tuple[Path, ModelData]:
    """Set the figure style, create ``output_dir``, validate and prepare the data."""
    plotting.setup()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    return out, prepare(load_dataset(data_dir), markers=markers)
