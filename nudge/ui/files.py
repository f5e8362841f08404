"""Uploads to temporary files and results to bytes for the app's download buttons."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from nudge.io.exports import write_geoframe

UPLOAD_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def _safe_name(name: str) -> str:
    """Return an upload's base name without folders or odd characters."""
    base = re.split(r"[\\/]", name)[-1].strip() or "upload"
    return UPLOAD_NAME.sub("_", base)[:120]


SIDECAR_SUFFIXES = frozenset({".dbf", ".shx", ".prj", ".cpg", ".xml", ".qix", ".sbn", ".sbx"})
"""Parts of a shapefile that travel beside its ``.shp`` and are not read on their own."""


def save_uploads(files: Sequence[tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write uploaded ``(name, bytes)`` pairs into `folder` under safe names; return the paths.

    Names are kept (so the parts of a shapefile stay together); a repeated name
    gets a number in front.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (name, data) in enumerate(files):
        path = folder / _safe_name(name)
        if path.exists():
            path = folder / f"{i:02d}_{_safe_name(name)}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def readable_files(paths: Sequence[Path]) -> list[Path]:
    """Return the files a loader reads: all but the side files of shapefiles."""
    return [p for p in paths if p.suffix.lower() not in SIDECAR_SUFFIXES]


def geoframe_bytes(frame: gpd.GeoDataFrame, suffix: str) -> bytes:
    """Return `frame` written in the format of `suffix` (see `nudge.io.exports`)."""
    with tempfile.TemporaryDirectory(prefix="nudge-export-") as tmp:
        path = write_geoframe(frame, Path(tmp) / f"export{suffix}")
        return path.read_bytes()


def file_bytes(write: Any, suffix: str) -> bytes:
    """Call ``write(path)`` on a temporary file named ``*.suffix`` and return its bytes."""
    with tempfile.TemporaryDirectory(prefix="nudge-file-") as tmp:
        path = Path(tmp) / f"export{suffix}"
        write(path)
        return path.read_bytes()


def with_upload(name: str, data: bytes, action: Any) -> Any:
    """Save one upload to a temporary file under its (safe) name and return ``action(path)``."""
    with tempfile.TemporaryDirectory(prefix="nudge-in-") as tmp:
        folder = Path(tmp)
        path = folder / _safe_name(name)
        path.write_bytes(data)
        return action(path)
