"""Reading the spreadsheets people import (CSV, XLSX, GeoJSON) into plain tables.

Shared by every import: registry batches, a planner's own candidate sites,
pedestrian counts.

CSV files may be UTF-8 (with or without BOM), UTF-16 or Windows-1251, with
``,``, ``;``, tab or ``|`` between cells; the encoding and delimiter are
detected. Every table comes back with a ``row`` column holding the row number
a person sees: the spreadsheet row (the header is row 1) or the feature number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import shapely

from nudge._errors import InputFileError
from nudge.io.sheets import unquote_cell

MAX_IMPORT_BYTES = 20 * 1024 * 1024
# Column names accepted for coordinates (English, Russian, Kazakh), first match wins.
LAT_NAMES = ("lat", "latitude", "y", "широта", "ендік")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "долгота", "бойлық")
_DELIMITERS = ",;\t|"
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
GEOJSON_SUFFIXES = frozenset({".geojson", ".json"})


def _too_large(name: str, size: int, max_bytes: int) -> InputFileError:
    size_mb, limit_mb = f"{size / 1e6:.1f}", f"{max_bytes / 1e6:.0f}"
    msg = (
        f"The file {name} is {size_mb} MB; imports are limited to "
        f"{limit_mb} MB. Split it into smaller files and import them one by one."
    )
    return InputFileError(
        msg, code="table_too_large", name=name, size_mb=size_mb, limit_mb=limit_mb
    )


def _file_bytes(source: Path | str | bytes, name: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray):
        if len(source) > max_bytes:
            raise _too_large(name, len(source), max_bytes)
        return bytes(source)
    path = Path(source)
    if not path.is_file():
        msg = f"The file {path} does not exist."
        raise InputFileError(msg, code="table_file_missing", path=Path(path).name)
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_large(name, size, max_bytes)
    return path.read_bytes()


def read_table(
    source: Path | str | bytes, *, name: str | None = None, max_bytes: int = MAX_IMPORT_BYTES
) -> tuple[pd.DataFrame, str]:
    """Read an import file into a table of cells and return it with the file's SHA-256.

    Parameters
    ----------
    source
        CSV, XLSX or GeoJSON file, or its content (e.g. an upload).
    name
        File name, whose extension tells the format; required for content
        (only used in messages, never on the filesystem).
    max_bytes
        Largest file accepted.

    Returns
    -------
    table, sha256
        Cells as text, numbers or dates (empty cells as None), plus ``row``;
        GeoJSON point geometries become ``lat`` and ``lon``.

    Raises
    ------
    InputFileError
        When the file is missing, too large, empty, of an unknown kind or unreadable.
    """
    if name is None:
        name = "upload" if isinstance(source, bytes | bytearray) else Path(source).name
    data = _file_bytes(source, name, max_bytes)
    if not data:
        msg = f"The file {name} is empty."
        raise InputFileError(msg, code="table_file_empty", name=name)
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(name).suffix.lower()
    if suffix in XLSX_SUFFIXES or data[:4] == b"PK\x03\x04":
        table = _read_xlsx(data, name)
    elif suffix in GEOJSON_SUFFIXES:
        table = _read_geojson(data, name)
    elif suffix in CSV_SUFFIXES:
        table = _read_csv(data, name)
    else:
        msg = f"Cannot import {name}: use a .csv, .xlsx or .geojson file."
        raise InputFileError(msg, code="table_unknown_kind", name=name)
    if table.empty:
        msg = f"The file {name} has a header but no rows."
        raise InputFileError(msg, code="table_no_rows", name=name)
    types = pd.api.types
    for col in table.columns:
        if types.is_object_dtype(table[col]) or types.is_string_dtype(table[col]):
            table[col] = table[col].map(unquote_cell)  # our own CSV exports import unchanged
    return table, digest


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")  # Windows-1251, what Excel saves on Russian Windows


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        msg = f"{name} is not a text CSV file (it holds binary data); save it as CSV."
        raise InputFileError(msg, code="csv_binary", name=name)
    text = _decode(data)
    sep = _delimiter(text)
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip()
        msg = (
            f"The CSV file {name} could not be read ({reason}). Check that every row "
            f"has as many cells as the header and that cells holding {sep!r} are quoted."
        )
        raise InputFileError(
            msg, code="csv_unreadable", name=name, reason=reason, sep=repr(sep)
        ) from exc
    table = table.where(table != "", None)
    table.insert(0, "row", range(2, len(table) + 2))
    return table


def _read_xlsx(data: bytes, name: str) -> pd.DataFrame:
    try:
        table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        msg = f"The spreadsheet {name} could not be read ({exc}); save it again as .xlsx."
        raise InputFileError(msg, code="xlsx_unreadable", name=name, reason=str(exc)) from exc
    table = table.dropna(how="all")
    table = table.astype(object).where(table.notna(), None)
    table.insert(0, "row", table.index.to_numpy() + 2)
    return table.reset_index(drop=True)


def _read_geojson(data: bytes, name: str) -> pd.DataFrame:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
        features = doc["features"] if doc.get("type") == "FeatureCollection" else None
    except (ValueError, AttributeError, KeyError, UnicodeDecodeError) as exc:
        msg = f"{name} is not valid GeoJSON ({exc})."
        raise InputFileError(msg, code="geojson_invalid", name=name, reason=str(exc)) from exc
    if not isinstance(features, list):
        msg = f"{name} is not a GeoJSON FeatureCollection."
        raise InputFileError(msg, code="geojson_not_collection", name=name)
    rows = []
    for number, feature in enumerate(features, start=1):
        props = dict(feature.get("properties") or {})
        lat, lon = _point_of(feature.get("geometry"))
        rows.append({"row": number, **props, "lat": lat, "lon": lon})
    table = pd.DataFrame(rows, dtype=object)
    return table.astype(object).where(table.notna(), None)


def _point_of(geometry: object) -> tuple[float | None, float | None]:
    if not geometry:
        return None, None
    try:
        geom = shapely.from_geojson(json.dumps(geometry))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None, None
    if geom.is_empty:
        return None, None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return float(shapely.get_y(point)), float(shapely.get_x(point))


def find_column(table: pd.DataFrame, names: Sequence[str]) -> str | None:
    """Return the column of `table` whose name (any case, trimmed) is the first of `names`."""
    columns = {str(c).strip().lower(): c for c in table.columns}
    return next((columns[n] for n in names if n in columns), None)


def coordinates_of(
    table: pd.DataFrame, *, name: str, file: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Return the latitude and longitude columns of `table` as numbers (NaN where not numeric).

    Parameters
    ----------
    table
        The table, e.g. from `read_table`.
    name
        What the table is, for the English message (``"The counts file c.csv"``).
    file
        The file's name alone, for the message in the user's language; `name`
        when not given.

    Raises
    ------
    InputFileError
        When `table` has no latitude or no longitude column.
    """
    lat, lon = find_column(table, LAT_NAMES), find_column(table, LON_NAMES)
    if lat is None or lon is None:
        columns = ", ".join(str(c) for c in table.columns if c != "row")
        msg = (
            f"{name} needs latitude and longitude columns ('lat' and 'lon') or point "
            f"geometries; its columns are {columns}."
        )
        raise InputFileError(
            msg, code="table_no_coordinates", file=name if file is None else file, columns=columns
        )
    return (
        pd.to_numeric(table[lat], errors="coerce").astype(float),
        pd.to_numeric(table[lon], errors="coerce").astype(float),
    )
