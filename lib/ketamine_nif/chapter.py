"""What every analysis chapter does first: figure style, output folder, the
validated data in model form, and what those data can inform."""

from __future__ import annotations

from pathlib import Path

from . import plotting, reporting
from .contract import Dataset, load_dataset
from .identifiability import MIN_PER_ARM, Assessment, anchored, assess
from .models import ModelData, prepare
from .models.prepare import ModelDataError


def open_data(data_dir: str) -> Dataset:
    """The validated data, with what the chapter shows put in their names (``reporting.speak_for``)."""
    dataset = load_dataset(data_dir)
    reporting.speak_for(dataset.study)
    return dataset


def start(data_dir: str, output_dir: str, markers: list[str] | None = None) -> tuple[Path, ModelData, Assessment]:
    """Set the figure style, create ``output_dir``, validate the data, prepare
    those of ``markers`` (default: all) measured at baseline for the models, and
    find the estimands the data cannot inform (:mod:`~ketamine_nif.identifiability`;
    the markers left out of the fits are among them). What the chapter shows
    is put in the data's names (``reporting.speak_for``)."""
    plotting.setup()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    dataset = open_data(data_dir)
    chosen = dataset.markers if markers is None else list(markers)
    fitted = anchored(dataset, chosen)
    if chosen and not fitted:
        raise ModelDataError(f"no marker of {', '.join(chosen)} is measured at {dataset.study.baseline} in at least {MIN_PER_ARM} "
                             "participants; the models anchor each marker's course at its baseline level")
    return out, prepare(dataset, markers=fitted), assess(dataset, chosen)
