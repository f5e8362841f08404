"""Limits on the files people give nudge: size, unpacked size, coordinates in degrees.

A hostile or broken file must fail fast with a clear message before a reader
spends minutes or gigabytes on it: a file larger than an import may be, an XLSX
(a zip) or a ``.osm.bz2`` that unpacks to far more than it holds (a
decompression bomb), a layer whose coordinates are metres, not degrees.

The limits are module constants; every check takes its limit as a keyword, so
a caller (or a test) can use another one.
"""

from __future__ import annotations

import bz2
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from nudge._errors import InputFileError

MAX_IMPORT_BYTES = 20 * 1024 * 1024
"""Largest spreadsheet, CSV or GeoJSON an import reads."""
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
"""Most an XLSX workbook (a zip of XML files) may unpack to."""
MAX_OSM_XML_BYTES = 2 * 1024 * 1024 * 1024
"""Most an OSM XML file (or a zip of shapefiles) may hold, after unpacking."""
MAX_PACK_RATIO = 100
"""Most times its own size a packed file may unpack to (real XLSX and OSM XML: 5-20)."""
RATIO_FLOOR_BYTES = 4 * 1024 * 1024
"""Below this many unpacked bytes the ratio is not checked (tiny files pack very well)."""
_CHUNK = 1 << 20


_MB = 1024 * 1024  # a megabyte as file managers count it, so a limit of 20 MB reads "20 MB"


def _mb(size: int) -> str:
    """Return `size` in megabytes for a message: ``5.2``, or ``0.012`` for a small file."""
    mb = size / _MB
    return f"{mb:.1f}" if mb >= 0.1 else f"{max(mb, 0.001):.3f}"


def too_large(name: str, size: int, max_bytes: int) -> InputFileError:
    """Return the error for a file of `size` bytes over the limit of `max_bytes`."""
    size_mb, limit_mb = f"{size / _MB:.1f}", f"{max_bytes / _MB:.0f}"
    return InputFileError(code="table_too_large", name=name, size_mb=size_mb, limit_mb=limit_mb)


def check_size(path: Path, *, max_bytes: int = MAX_IMPORT_BYTES, name: str | None = None) -> int:
    """Return the size of the file at `path`, refusing it when it exceeds `max_bytes`.

    Raises
    ------
    InputFileError
        When the file is larger than `max_bytes` (nothing of it is read).
    """
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise too_large(name or Path(path).name, size, max_bytes)
    return size


def _bomb(name: str, packed: int, unpacked: int, max_unpacked: int) -> InputFileError:
    packed_mb, unpacked_mb, limit_mb = _mb(packed), _mb(unpacked), f"{max_unpacked / _MB:.0f}"
    return InputFileError(
        code="file_unpacks_too_large",
        name=name,
        packed_mb=packed_mb,
        unpacked_mb=unpacked_mb,
        limit_mb=limit_mb,
        ratio=MAX_PACK_RATIO,
    )


def _too_much(packed: int, unpacked: int, *, max_unpacked: int, max_ratio: float) -> bool:
    if unpacked > max_unpacked:
        return True
    return unpacked > RATIO_FLOOR_BYTES and unpacked > max_ratio * max(packed, 1)


def check_zip(
    source: Path | bytes,
    *,
    name: str,
    max_unpacked: int = MAX_UNPACKED_BYTES,
    max_ratio: float = MAX_PACK_RATIO,
) -> None:
    """Refuse a zip (an XLSX workbook) that unpacks to too much, before anything is unpacked.

    The sizes come from the zip's directory; Python's reader never unpacks a
    member beyond its stated size, so a lying directory cannot get past this.
    A file that is not a readable zip passes: its reader says what is wrong.

    Raises
    ------
    InputFileError
        When the members unpack to more than `max_unpacked` bytes, or to more
        than `max_ratio` times their packed size.
    """
    handle = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    packed = sum(i.compress_size for i in infos)
    unpacked = sum(i.file_size for i in infos)
    if _too_much(packed, unpacked, max_unpacked=max_unpacked, max_ratio=max_ratio):
        raise _bomb(name, packed, unpacked, max_unpacked)


def check_bz2(
    path: Path,
    *,
    max_unpacked: int = MAX_OSM_XML_BYTES,
    max_ratio: float = MAX_PACK_RATIO,
    keep: int = 256,
) -> bytes:
    """Unpack a ``.bz2`` file as a stream, refusing a bomb; return its last `keep` bytes.

    Memory stays flat: the content is read in chunks and dropped, and the
    check stops as soon as the unpacked size passes a limit.

    Raises
    ------
    InputFileError
        When the content unpacks to more than `max_unpacked` bytes, or to more
        than `max_ratio` times the file's size.
    """
    path = Path(path)
    tail = b""
    unpacked = 0
    with path.open("rb") as raw, bz2.BZ2File(raw) as packed:
        while chunk := packed.read(_CHUNK):
            unpacked += len(chunk)
            tail = (tail + chunk)[-keep:]
            if _too_much(raw.tell(), unpacked, max_unpacked=max_unpacked, max_ratio=max_ratio):
                raise _bomb(path.name, raw.tell(), unpacked, max_unpacked)
    return tail


def check_degrees(geometries: object, *, name: str) -> None:
    """Refuse geometries whose coordinates are not longitude/latitude degrees.

    Parameters
    ----------
    geometries
        Shapely geometries (an array, a GeoSeries) in EPSG:4326; missing and
        empty ones are ignored.
    name
        The file's name, for the message.

    Raises
    ------
    InputFileError
        When a coordinate lies outside longitude ±180 or latitude ±90, or is
        not finite: the layer is in metres (or another unit) under a missing
        or wrong coordinate reference system.
    """
    array = np.asarray(getattr(geometries, "array", geometries), dtype=object)
    if array.size == 0:
        return
    bounds = shapely.bounds(array.ravel())
    present = ~np.isnan(bounds).all(axis=1)
    bounds = bounds[present]
    outside = ~np.isfinite(bounds).all(axis=1)
    outside |= (bounds[:, 0] < -180) | (bounds[:, 2] > 180)
    outside |= (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
    if not outside.any():
        return
    x, y = (f"{v:.6g}" for v in bounds[np.flatnonzero(outside)[0], :2])
    raise InputFileError(code="coordinates_not_degrees", name=name, x=x, y=y)


def in_degrees(frame: gpd.GeoDataFrame, *, name: str) -> gpd.GeoDataFrame:
    """Return a layer in EPSG:4326 (assumed without a CRS), refusing coordinates not in degrees.

    Raises
    ------
    InputFileError
        When a coordinate lies outside longitude ±180 or latitude ±90 (see `check_degrees`).
    """
    frame = frame.set_crs(4326) if frame.crs is None else frame.to_crs(4326)
    check_degrees(frame.geometry, name=name)
    return frame
