"""The one table reader: spreadsheets people import (CSV, XLSX, GeoJSON) and table files.

`read_table` reads every import (registry batches, a planner's own candidate
sites, pedestrian counts, population tables) into cells with row numbers;
`frame_from_file` reads the files around a plan (also Parquet and any vector
layer GDAL reads) into (Geo)DataFrames. Both decode CSV through `csv_frame`
and XLSX through `xlsx_frame`, so there is one sniffer of encodings and
delimiters (`csv_text`) in nudge.

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
import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nudge._errors import InputFileError, Notice
from nudge.io.limits import (
    MAX_IMPORT_BYTES,
    check_degrees,
    check_size,
    check_zip,
    too_large,
)
from nudge.io.sheets import unquote_cell

# Column names accepted for coordinates (English, Russian, Kazakh), first match wins.
LAT_NAMES = ("lat", "latitude", "y", "широта", "ендік")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "долгота", "бойлық")
_DELIMITERS = ",;\t|"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
GEOJSON_SUFFIXES = frozenset({".geojson", ".json"})
PARQUET_SUFFIXES = frozenset({".parquet", ".geoparquet"})
VECTOR_SUFFIXES = frozenset({".geojson", ".json", ".gpkg", ".shp", ".fgb"})


def _file_bytes(source: Path | str | bytes, name: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray):
        if len(source) > max_bytes:
            raise too_large(name, len(source), max_bytes)
        return bytes(source)
    path = Path(source)
    if not path.is_file():
        raise InputFileError(code="table_file_missing", path=path.name)
    check_size(path, max_bytes=max_bytes, name=name)
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
        raise InputFileError(code="table_file_empty", name=name)
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(name).suffix.lower()
    if suffix in XLSX_SUFFIXES or data[:4] == b"PK\x03\x04":
        table = _read_xlsx(data, name)
    elif suffix in GEOJSON_SUFFIXES:
        table = _read_geojson(data, name)
    elif suffix in CSV_SUFFIXES:
        table = _read_csv(data, name)
    else:
        raise InputFileError(code="table_unknown_kind", name=name)
    if table.empty:
        raise InputFileError(code="table_no_rows", name=name)
    types = pd.api.types
    for col in table.columns:
        if types.is_object_dtype(table[col]) or types.is_string_dtype(table[col]):
            table[col] = table[col].map(unquote_cell)  # our own CSV exports import unchanged
    return table, digest


def decode_text(data: bytes) -> str:
    """Return the text of a file people saved: UTF-16 with BOM, UTF-8 (BOM or not), or cp1251."""
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")  # Windows-1251, what Excel saves on Russian Windows


def delimiter_of(text: str) -> str:
    """Return the cell delimiter of CSV `text`: ``,``, ``;``, tab or ``|`` (``,`` by default)."""
    lines = text.splitlines()
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    sample = "\n".join(lines[:50])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if counts.get(sniffed):  # a delimiter the header does not use is a cell's content
        return sniffed
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_text(data: bytes, name: str) -> tuple[str, str]:
    """Return the text of CSV file content and its delimiter.

    Raises
    ------
    InputFileError
        When the content is binary, not text.
    UnicodeDecodeError
        When the text is in none of the encodings of `decode_text`.
    """
    if b"\x00" in data[:4096] and not data.startswith(_UTF16_BOMS):
        raise InputFileError(code="csv_binary", name=name)
    text = decode_text(data)
    return text, delimiter_of(text)


def csv_frame(data: bytes, name: str) -> pd.DataFrame:
    """Return CSV content as a table of text cells (``""`` where empty), header as columns.

    The encoding and delimiter are detected by `csv_text`.

    Raises
    ------
    InputFileError
        When the content is binary, or its rows cannot be split into as many
        cells as the header has.
    UnicodeDecodeError
        When the text is in none of the encodings of `decode_text`.
    """
    text, sep = csv_text(data, name)
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True
        )
        if not isinstance(table.index, pd.RangeIndex):  # pandas made the extra cells an index
            header, cells = len(table.columns), len(table.columns) + table.index.nlevels
            msg = f"Expected {header} fields in line 2, saw {cells}"
            raise pd.errors.ParserError(msg)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = _csv_reason(exc)
        raise InputFileError(
            code="csv_unreadable", name=name, reason=reason, sep=repr(sep)
        ) from exc
    return table.fillna("")  # short rows: their missing cells are empty too


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    try:
        table = csv_frame(data, name)
    except UnicodeDecodeError:
        reason = Notice(code="csv_reason_encoding")
        raise InputFileError(code="csv_unreadable", name=name, reason=reason, sep="','") from None
    table = table.where(table != "", None)
    table.insert(0, "row", range(2, len(table) + 2))
    return table


def _csv_reason(exc: Exception) -> Notice:
    """Say in words why the rows of a CSV file cannot be split into cells (never pandas' text)."""
    text = str(exc)
    if found := re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text):
        header, row, cells = (int(g) for g in found.groups())
        return Notice(code="csv_reason_cells", row=row, cells=cells, header=header)
    if found := re.search(r"EOF inside string starting at row (\d+)", text):
        row = int(found.group(1)) + 1  # pandas counts lines from 0
        return Notice(code="csv_reason_open_quote", row=row)
    return Notice(code="csv_reason_unsplit")


def xlsx_frame(data: bytes, name: str) -> pd.DataFrame:
    """Return the first sheet of XLSX content as cells (None where empty), header as columns.

    Empty rows are dropped; the index is the sheet row number minus 2 (the
    first row under the header is 0).

    Raises
    ------
    InputFileError
        When the workbook unpacks to too much, or is damaged or not a workbook.
    """
    check_zip(data, name=name)
    try:
        table = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # a damaged workbook makes openpyxl raise errors of many kinds
        why = Notice(code="xlsx_reason_damaged")
        raise InputFileError(code="xlsx_unreadable", name=name, reason=why) from exc
    table = table.dropna(how="all")
    return table.astype(object).where(table.notna(), None)


def _read_xlsx(data: bytes, name: str) -> pd.DataFrame:
    table = xlsx_frame(data, name)
    table.insert(0, "row", table.index.to_numpy() + 2)
    return table.reset_index(drop=True)


def frame_from_file(path: Path | str, *, max_bytes: int = MAX_IMPORT_BYTES) -> pd.DataFrame:
    """Read a table file of any kind as a (Geo)DataFrame, by its extension.

    Parameters
    ----------
    path
        CSV (or any other extension: read as CSV) and XLSX files give cells
        (`csv_frame`, `xlsx_frame`; no ``row`` column); Parquet gives a
        GeoDataFrame when it is GeoParquet; GeoJSON, GeoPackage, shapefiles
        and FlatGeobuf give GeoDataFrames.
    max_bytes
        Largest CSV or XLSX file read; a larger one is refused before it is read.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame

    Raises
    ------
    InputFileError
        When a CSV or XLSX file is missing, too large, binary, unsplittable
        or damaged. Parquet and vector files raise their reader's errors.
    UnicodeDecodeError
        When a CSV file is in none of the encodings of `decode_text`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return parquet_frame(path)
    if suffix in VECTOR_SUFFIXES:
        return gpd.read_file(path)
    data = _file_bytes(path, path.name, max_bytes)
    if suffix in XLSX_SUFFIXES:
        return xlsx_frame(data, path.name).reset_index(drop=True)
    return csv_frame(data, path.name)


def parquet_frame(path: Path) -> pd.DataFrame:
    """Read a Parquet file: a GeoDataFrame when it is GeoParquet, else a DataFrame."""
    try:
        return gpd.read_parquet(path)
    except ValueError:  # plain Parquet, without geometry
        return pd.read_parquet(path)


def _read_geojson(data: bytes, name: str) -> pd.DataFrame:
    try:
        doc = json.loads(decode_text(data))
        collection = isinstance(doc, dict) and doc.get("type") == "FeatureCollection"
        features = doc.get("features") if collection else None  # words below, never a TypeError
    except (ValueError, AttributeError, KeyError, RecursionError) as exc:
        reason: str = str(exc)
        if isinstance(exc, RecursionError):
            reason = Notice(code="geojson_reason_nested")
        elif isinstance(exc, UnicodeDecodeError):  # bytes no text encoding reads
            reason = Notice(code="csv_reason_encoding")
        raise InputFileError(code="geojson_invalid", name=name, reason=reason) from None
    if not isinstance(features, list):
        raise InputFileError(code="geojson_not_collection", name=name)
    rows = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or not isinstance(props or {}, dict):
            reason = Notice(code="geojson_reason_feature", number=number)
            raise InputFileError(code="geojson_invalid", name=name, reason=reason)
        lat, lon = _point_of(feature.get("geometry"))
        cells = {k: v for k, v in (props or {}).items() if k != "row"}
        rows.append({"row": number, **cells, "lat": lat, "lon": lon})
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

    Decimal commas (``43,25``, as Excel writes on Russian Windows) are accepted.

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
        When `table` has no latitude or no longitude column, or when no row's
        coordinates lie within latitude ±90 and longitude ±180 (the file is in
        metres, not degrees).
    """
    lat, lon = find_column(table, LAT_NAMES), find_column(table, LON_NAMES)
    if lat is None or lon is None:
        columns = ", ".join(str(c) for c in table.columns if c != "row")
        raise InputFileError(
            code="table_no_coordinates", file=name if file is None else file, columns=columns
        )
    y, x = _numbers(table[lat]), _numbers(table[lon])
    located = y.notna() & x.notna()
    inside = y.between(-90, 90) & x.between(-180, 180)
    if located.any() and not inside.any():  # every row: metres, not degrees
        first = int(np.flatnonzero(located.to_numpy())[0])
        check_degrees(
            shapely.points([x.iloc[first]], [y.iloc[first]]), name=name if file is None else file
        )
    return y, x


def _numbers(column: pd.Series) -> pd.Series:
    """Return a column as floats, accepting decimal commas (``43,25``); NaN where not a number."""
    text = column.astype("string").str.strip()
    comma = text.str.fullmatch(r"[+-]?\d+,\d+", na=False)
    text = text.where(~comma, text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers))
