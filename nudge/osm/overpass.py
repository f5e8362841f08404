"""Parse Overpass API JSON (``[out:json]``) into a tagged GeoDataFrame.

Pure functions over the decoded response, testable with plain dicts. Nodes
become points; ways with ``geom`` output become lines, or polygons when closed
and tagged as areas; elements with only a ``center`` become that point;
multipolygon relations with member geometry become polygons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

# Closed ways with these keys are areas (after the OSM wiki's area rules, shortened).
_AREA_KEYS = frozenset(
    {
        "amenity",
        "building",
        "landuse",
        "leisure",
        "shop",
        "tourism",
        "historic",
        "place",
        "man_made",
        "industrial",
        "area",
        "office",
        "healthcare",
        "public_transport",
    }
)


def _coords(points: Iterable[Mapping[str, Any]]) -> list[tuple[float, float]]:
    return [(p["lon"], p["lat"]) for p in points if p is not None]


def _is_area(tags: Mapping[str, str]) -> bool:
    if tags.get("area") == "no":
        return False
    if tags.get("area") == "yes":
        return True
    return any(k in _AREA_KEYS for k in tags) and "highway" not in tags


def _way_geometry(el: Mapping[str, Any]) -> BaseGeometry | None:
    coords = _coords(el.get("geometry") or [])
    if len(coords) < 2:
        return None
    closed = coords[0] == coords[-1] and len(coords) >= 4
    if closed and _is_area(el.get("tags", {})):
        return shapely.Polygon(coords)
    return shapely.LineString(coords)


def _relation_geometry(el: Mapping[str, Any]) -> BaseGeometry | None:
    rings = [
        shapely.LineString(_coords(m["geometry"]))
        for m in el.get("members", [])
        if m.get("type") == "way"
        and m.get("role", "outer") in ("outer", "")
        and m.get("geometry")
        and len(m["geometry"]) >= 2
    ]
    if not rings:
        return None
    polys = shapely.get_parts(shapely.polygonize(rings))
    if len(polys) == 0:
        return None
    return shapely.union_all(polys)


def element_geometry(el: Mapping[str, Any]) -> BaseGeometry | None:
    """Return the geometry of one Overpass element, or None when it has none."""
    kind = el.get("type")
    geom: BaseGeometry | None = None
    if kind == "node" and "lat" in el and "lon" in el:
        geom = shapely.Point(el["lon"], el["lat"])
    elif kind == "way":
        geom = _way_geometry(el)
    elif kind == "relation":
        geom = _relation_geometry(el)
    if geom is None and "center" in el:
        geom = shapely.Point(el["center"]["lon"], el["center"]["lat"])
    return geom


def elements_to_frame(elements: Iterable[Mapping[str, Any]]) -> gpd.GeoDataFrame:
    """Turn Overpass elements into one row per tagged element with geometry.

    Parameters
    ----------
    elements
        The ``elements`` list of an Overpass JSON response.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``osm_type``, ``osm_id``, one column per tag key, and the
        geometry, in EPSG:4326. Untagged elements (way nodes) are dropped.
    """
    rows: list[dict[str, Any]] = []
    geoms: list[BaseGeometry] = []
    for el in elements:
        tags = el.get("tags")
        if not tags:
            continue
        geom = element_geometry(el)
        if geom is None:
            continue
        rows.append({"osm_type": el["type"], "osm_id": el["id"], **tags})
        geoms.append(geom)
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"osm_type": [], "osm_id": []})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=4326), crs=4326)
