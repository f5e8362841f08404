"""Write GeoDataFrames to the file formats planners exchange, chosen by extension.

``.geojson``/``.json`` GeoJSON, ``.gpkg`` GeoPackage, ``.parquet`` GeoParquet,
``.csv`` and ``.xlsx`` tables with ``lat``/``lon`` columns (WGS 84). Files are
written to a temporary name and moved into place, so a failed export never
leaves half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from nudge._errors import InputFileError
from nudge.io.sheets import csv_bytes, xlsx_bytes

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}
SUFFIXES = (".geojson", ".json", ".gpkg", ".parquet", ".csv", ".xlsx")


def table_with_lonlat(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the attributes with ``lat``/``lon`` of each geometry's representative point."""
    wgs = frame.to_crs(4326) if frame.crs is not None else frame
    pts = shapely.point_on_surface(wgs.geometry.array)
    xy = shapely.get_coordinates(pts)
    geo_cols = [c for c in wgs.columns if isinstance(wgs[c], gpd.GeoSeries)]
    table = pd.DataFrame(wgs.drop(columns=geo_cols))
    table["lat"] = xy[:, 1].round(7) if len(xy) else []
    table["lon"] = xy[:, 0].round(7) if len(xy) else []
    return table


def _plain(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop extra geometry columns and turn nullable types into ones every driver writes."""
    extra = [
        c for c in frame.columns if isinstance(frame[c], gpd.GeoSeries) and c != frame.geometry.name
    ]
    out = frame.drop(columns=extra)
    for col in out.columns:
        if col != out.geometry.name and str(out[col].dtype) in ("string", "Int64", "boolean"):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def write_geoframe(frame: gpd.GeoDataFrame, path: str | Path, *, index: bool = True) -> Path:
    """Write `frame` to `path` in the format its extension names.

    Parameters
    ----------
    frame
        The rows to write; the index is written as a column when named and `index`.
    path
        Target file; its suffix picks the format (see the module docstring).

    Raises
    ------
    InputFileError
        When the extension is not one of the supported formats.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        formats = ", ".join(SUFFIXES)
        raise InputFileError(code="export_unknown_format", name=path.name, formats=formats)
    out = frame.reset_index() if index and frame.index.name else frame.reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry=frame.geometry.name, crs=frame.crs).to_crs(4326)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()
        if suffix == ".parquet":
            out.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            tmp.write_bytes(csv_bytes(table_with_lonlat(_plain(out))))
        elif suffix == ".xlsx":
            tmp.write_bytes(xlsx_bytes({"sheet1": table_with_lonlat(_plain(out))}))
        elif suffix == ".gpkg":
            layer = re.sub(r"\W+", "_", path.stem).strip("_") or "layer"
            _plain(out).to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
        else:
            _plain(out).to_file(tmp, driver=FORMATS[suffix], engine="pyogrio")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
