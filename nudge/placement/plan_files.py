"""Files around a plan: reading locks, exclusions, costs, districts; writing the plan.

Readers are forgiving about layout (CSV, text, TOML, any vector format GDAL
reads, GeoParquet) and strict about content: a file that cannot be used raises
`InputFileError` saying what was expected.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nudge._errors import InputFileError, Notice
from nudge.geo.districts import NAME_FIELDS
from nudge.geo.regions import population_table_from_file
from nudge.io.exports import table_with_lonlat, write_geoframe
from nudge.io.limits import check_degrees, check_size
from nudge.io.sheets import xlsx_bytes
from nudge.io.tables import csv_text, frame_from_file
from nudge.placement._report import PLAN_COLUMNS, PlanResult

ID_COLUMNS = ("site_id", "candidate_id", "id")
DISTRICT_COLUMNS = NAME_FIELDS  # the names a district layer may carry, in the same order
_UNREADABLE = frozenset({"csv_unreadable", "xlsx_unreadable"})
PLAN_FORMATS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".csv": "CSV",
    ".xlsx": "XLSX",
}


def _exists(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(code="plan_file_missing", file=path.name)
    return path


def read_table(path: Path, *, what: str) -> pd.DataFrame:
    """Read a CSV, XLSX, Parquet or vector file as a (Geo)DataFrame.

    The file is read by nudge's one table reader (`nudge.io.tables.frame_from_file`):
    CSV as every import is, CSV and XLSX files larger than `MAX_IMPORT_BYTES`,
    and XLSX bombs, refused before they are read.

    Raises
    ------
    InputFileError
        When the file is missing, too large, or cannot be read as a table.
    """
    path = _exists(path, what)
    try:
        return frame_from_file(path)
    except InputFileError as exc:
        if exc.code not in _UNREADABLE:  # too large, a bomb, binary: said as it is
            raise
        reason = exc.params["reason"]  # in words, with its own code
        raise InputFileError(code="plan_file_unreadable", file=path.name, reason=reason) from exc
    except Exception as exc:  # GDAL, Arrow and codecs raise errors of many kinds
        reason = _reason_in_words(exc, path)
        raise InputFileError(code="plan_file_unreadable", file=path.name, reason=reason) from exc


def _reason_in_words(exc: Exception, path: Path) -> str:
    """Return why a reader failed, without GDAL's advice on driver prefixes a user cannot act on."""
    text = str(exc).replace(str(path), path.name)
    if "not recognized as being in a supported file format" in text:
        return Notice(code="layer_reason_unknown_format")
    return text.split("; It might help to specify the correct driver")[0]


def site_ids_from_file(path: Path, *, what: str = "site list") -> list[str]:
    """Return the site ids listed in a file.

    The file is a table with a ``site_id``, ``candidate_id`` or ``id`` column
    (a CSV, a spreadsheet, or a plan exported by ``nudge plan``), or a text
    file with one id per line.
    """
    path = _exists(path, what)
    if path.suffix.lower() in {".txt", ""}:
        check_size(path)
        try:
            text, _ = csv_text(path.read_bytes(), path.name)
        except UnicodeDecodeError as exc:
            reason = Notice(code="reason_not_text")
            raise InputFileError(
                code="plan_file_unreadable", file=path.name, reason=reason
            ) from exc
        return [s.strip() for s in text.splitlines() if s.strip() and not s.startswith("#")]
    table = read_table(path, what=what)
    column = next((c for c in ID_COLUMNS if c in table.columns), None)
    if column is None and table.index.name in ID_COLUMNS:
        return [str(s) for s in table.index]
    if column is None:
        raise InputFileError(
            code="plan_file_id_column_missing",
            file=path.name,
            allowed=", ".join(ID_COLUMNS),
            columns=", ".join(map(str, table.columns)),
        )
    return [str(s).strip() for s in table[column] if str(s).strip()]


def costs_from_file(path: Path) -> dict[str, float]:
    """Return costs per kind and/or per site from a TOML or CSV file.

    TOML: ``banner = 250000`` lines, or ``[kind]`` and ``[site]`` tables.
    CSV: a ``cost`` column with a ``kind`` or a site id column.
    """
    path = _exists(path, "cost")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise InputFileError(code="cost_file_bad_toml", file=path.name, reason=reason) from exc
        flat: dict[str, Any] = {k: v for k, v in data.items() if not isinstance(v, dict)}
        for section in ("kind", "site"):
            flat.update(data.get(section, {}))
        return _numbers(flat, path)
    table = read_table(path, what="cost")
    key = next((c for c in ("kind", *ID_COLUMNS) if c in table.columns), None)
    if key is None or "cost" not in table.columns:
        raise InputFileError(
            code="cost_file_columns_missing",
            file=path.name,
            columns=", ".join(map(str, table.columns)),
        )
    return _numbers(dict(zip(table[key].astype(str), table["cost"], strict=True)), path)


def _numbers(mapping: dict[str, Any], path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    bad = []
    for k, v in mapping.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            bad.append(k)
        else:
            if out[str(k)] < 0:
                bad.append(k)
    if bad:
        raise InputFileError(
            code="cost_file_bad_values", file=path.name, keys=", ".join(map(str, bad[:10]))
        )
    return out


def population_from_file(path: Path) -> dict[str, float]:
    """Return the population per district from a table (`nudge.geo.regions`' one reader).

    The table has a district column (``district``, ``district_name``...) and a
    population column (``population``, ``official_population``, ``pop``).
    """
    table = population_table_from_file(
        path, names=DISTRICT_COLUMNS, read=lambda p: read_table(p, what="population")
    )
    return {name: float(value) for name, value in table.items()}


def districts_from_file(path: Path) -> gpd.GeoDataFrame:
    """Read district polygons from any vector file, in EPSG:4326.

    Self-intersecting polygons are repaired (`shapely.make_valid`).

    Raises
    ------
    InputFileError
        When the file is unreadable, has no CRS, holds anything but polygons,
        or has coordinates that are not degrees.
    """
    table = read_table(path, what="districts")
    if not isinstance(table, gpd.GeoDataFrame) or table.crs is None:
        raise InputFileError(code="districts_file_without_crs", file=path.name)
    if not table.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputFileError(code="districts_file_not_polygons", file=path.name)
    return _valid_polygons(table, path)


def exclusions_from_file(path: Path) -> gpd.GeoDataFrame:
    """Read exclusion zones (polygons where no site may stand) from any vector file, in EPSG:4326.

    A layer without a CRS is taken to be in EPSG:4326; self-intersecting
    polygons are repaired (`shapely.make_valid`).

    Raises
    ------
    InputFileError
        When the file is unreadable, holds anything but polygons, or has
        coordinates that are not degrees.
    """
    path = Path(path)
    table = read_table(path, what="exclusion")
    if not isinstance(table, gpd.GeoDataFrame) or not (
        table.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    ):
        raise InputFileError(code="exclusions_file_not_polygons", file=path.name)
    if table.crs is None:
        table = table.set_crs(4326)
    return _valid_polygons(table, path)


def _valid_polygons(table: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    out = table.to_crs(4326)
    check_degrees(out.geometry, name=path.name)
    geoms = out.geometry.array
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        fixed = np.asarray(geoms, dtype=object).copy()
        fixed[bad] = shapely.make_valid(fixed[bad], method="structure", keep_collapsed=False)
        out[out.geometry.name] = gpd.GeoSeries(fixed, index=out.index, crs=4326)
    return out


def quota_from_file(path: Path) -> dict[str, str]:
    """Return per-district quotas from a table with ``district``, ``min``, ``max`` columns."""
    table = read_table(path, what="quota")
    name = next((c for c in DISTRICT_COLUMNS if c in table.columns), None)
    if name is None or not {"min", "max"} & set(table.columns):
        raise InputFileError(
            code="quota_file_columns_missing",
            file=path.name,
            district_columns=", ".join(DISTRICT_COLUMNS),
            columns=", ".join(map(str, table.columns)),
        )
    low, high = (_bound(table, column) for column in ("min", "max"))
    return {str(n): f"{lo}:{hi}" for n, lo, hi in zip(table[name], low, high, strict=True)}


def _bound(table: pd.DataFrame, column: str) -> list[str]:
    """Return a quota column as text: empty where there is no bound, ``2`` for a cell of 2.0."""
    if column not in table.columns:
        return [""] * len(table)
    return [_bound_text(v) for v in table[column]]


def _bound_text(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else str(int(value)) if value.is_integer() else str(value)
    return "" if value is None else str(value).strip()


def plan_to_file(plan: PlanResult | gpd.GeoDataFrame, path: Path) -> Path:
    """Write a plan's sites to GeoJSON, GeoPackage, CSV or XLSX, by the file extension.

    CSV and XLSX get ``lon`` and ``lat`` columns instead of a geometry; XLSX
    also gets a ``districts`` sheet and a ``summary`` sheet when a
    `PlanResult` is given.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    fmt = PLAN_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputFileError(
            code="plan_file_format", file=path.name, formats=", ".join(PLAN_FORMATS)
        )
    sites = plan.chosen if isinstance(plan, PlanResult) else plan
    sites = gpd.GeoDataFrame(sites[PLAN_COLUMNS], geometry="geometry", crs=sites.crs)
    if fmt != "XLSX":
        return write_geoframe(sites, path, index=False)
    sheets = {"plan": table_with_lonlat(sites)}
    if isinstance(plan, PlanResult):
        table = pd.DataFrame.from_dict(plan.by_district, orient="index")
        if "site_ids" in table.columns:
            table["site_ids"] = table["site_ids"].map(", ".join)
        sheets["districts"] = table.rename_axis("district").reset_index()
        summary = {k: v for k, v in plan.summary().items() if not isinstance(v, dict | list)}
        sheets["summary"] = pd.Series(summary, name="value").rename_axis("figure").reset_index()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx_bytes(sheets))
    return path
