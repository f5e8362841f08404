"""Buildings as floor area: where people live and work, for the built-intensity signal.

Each OSM building (a closed way or multipolygon tagged ``building=*``) becomes one point at
its footprint's centroid with ``footprint_m2`` and ``levels`` (``building:levels``, else
``height`` / 3 m, else missing). ``floor_area_m2`` multiplies the two, with
`DEFAULT_LEVELS` where the levels are missing (most OSM buildings have none).

Local files are read with pyosmium's area assembly (``.osm``, ``.osm.bz2``, ``.osm.pbf``);
Overpass JSON and osmnx answers by `buildings_from_frame`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

DEFAULT_LEVELS = 3.0
"""Storeys assumed where OSM gives none: a common mid-rise city block (stated in the docs)."""
STOREY_HEIGHT_M = 3.0
BUILDING_COLUMNS = ["footprint_m2", "levels", "floor_area_m2", "geometry"]


def empty_buildings() -> gpd.GeoDataFrame:
    """Return an empty building table with the right columns."""
    frame = pd.DataFrame({c: pd.Series(dtype=float) for c in BUILDING_COLUMNS[:-1]})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def levels_from_tags(levels: pd.Series, height: pd.Series) -> pd.Series:
    """Return storeys from ``building:levels`` (or ``height`` / 3 m); NaN where neither is usable.

    Values such as ``"5;6"`` or ``"3.5"`` keep their first number; zero or negative counts
    and more than 200 storeys are treated as missing.
    """
    first = r"^\s*(\d+(?:[.,]\d+)?)"
    lv = pd.to_numeric(
        levels.astype("string").str.extract(first)[0].str.replace(",", "."), errors="coerce"
    )
    h = pd.to_numeric(
        height.astype("string").str.extract(first)[0].str.replace(",", "."), errors="coerce"
    )
    out = lv.fillna((h / STOREY_HEIGHT_M).round())
    return out.where((out > 0) & (out <= 200)).astype("float64")


def buildings_from_polygons(
    polygons: np.ndarray, levels: pd.Series, height: pd.Series
) -> gpd.GeoDataFrame:
    """Return building points with footprint and floor area from polygons in EPSG:4326."""
    polys = gpd.GeoSeries(polygons, crs=4326)
    keep = (~polys.is_empty & polys.notna()).to_numpy()
    polys = polys[keep].reset_index(drop=True)
    if polys.empty:
        return empty_buildings()
    metric = polys.to_crs(polys.estimate_utm_crs())
    footprint = metric.area.to_numpy()
    lv = levels_from_tags(
        pd.Series(np.asarray(levels, dtype=object)[keep]),
        pd.Series(np.asarray(height, dtype=object)[keep]),
    ).to_numpy(dtype=float)
    points = metric.representative_point().to_crs(4326)
    return gpd.GeoDataFrame(
        {
            "footprint_m2": footprint,
            "levels": lv,
            "floor_area_m2": footprint * np.where(np.isnan(lv), DEFAULT_LEVELS, lv),
        },
        geometry=points.array,
        crs=4326,
    )


def buildings_from_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the buildings among tagged elements (an Overpass or osmnx frame with a tag column)."""
    if "building" not in frame.columns or frame.empty:
        return empty_buildings()
    b = frame[frame["building"].notna() & (frame["building"].astype(str) != "no")]
    polygonal = b.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    b = b[polygonal]
    missing = pd.Series([None] * len(b), dtype=object)
    return buildings_from_polygons(
        np.asarray(b.geometry.array),
        b["building:levels"] if "building:levels" in b.columns else missing,
        b["height"] if "height" in b.columns else missing,
    )


def buildings_from_file(path: str | Path, *, file_format: str | None = None) -> gpd.GeoDataFrame:
    """Read every building footprint of a local OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building: ``footprint_m2``, ``levels`` (NaN when unknown),
        ``floor_area_m2``, and a Point inside the footprint (EPSG:4326).
    """
    import osmium

    source = osmium.io.File(str(path), file_format) if file_format else str(path)
    processor = (
        osmium.FileProcessor(source)
        .with_areas(osmium.filter.KeyFilter("building"))
        .with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
        .with_filter(osmium.filter.KeyFilter("building"))
    )
    factory = osmium.geom.WKBFactory()
    wkb: list[str] = []
    levels: list[str | None] = []
    height: list[str | None] = []
    for area in processor:
        if not isinstance(area, osmium.osm.Area) or area.tags.get("building") == "no":
            continue
        try:
            wkb.append(factory.create_multipolygon(area))  # outer rings with their courtyards
        except RuntimeError:  # a ring osmium cannot close
            continue
        levels.append(area.tags.get("building:levels"))
        height.append(area.tags.get("height"))
    if not wkb:
        return empty_buildings()
    polys = np.asarray(shapely.from_wkb(wkb))
    return buildings_from_polygons(polys, pd.Series(levels), pd.Series(height))
