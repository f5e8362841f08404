"""Public-transport routes from OSM route relations: which routes stop where.

A route relation (``type=route``, ``route=bus|tram|trolleybus|...``) lists its stops and
platforms as members, in order. nudge keeps one row per stop or platform member with a
location: the route it belongs to, the route's kind and number (``ref``), the member's role,
and whether it is the route's last stop (no one boards there). Scoring counts the distinct
routes that stop near a site (`nudge.placement.signals.transit_service`).

Local files are read with pyosmium (``.osm``, ``.osm.bz2``, ``.osm.pbf``) in two passes: the
relations, then the locations of their members. Overpass JSON (a file or an online answer) is
parsed from its elements by `route_stops_from_elements`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROUTE_TYPES = frozenset(
    {
        "bus",
        "trolleybus",
        "tram",
        "subway",
        "train",
        "light_rail",
        "monorail",
        "share_taxi",
        "minibus",
        "ferry",
    }
)
"""Values of ``route=`` that carry passengers who board at stops."""

ROUTE_STOP_COLUMNS = ["route_id", "route", "ref", "name", "role", "last", "geometry"]
LINE_MATCH_M = 15.0
"""A route known only by its line serves the stops within this distance of it."""


def empty_route_stops() -> gpd.GeoDataFrame:
    """Return an empty route-stop table with the right columns."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ROUTE_STOP_COLUMNS[:-1]})
    frame["last"] = frame["last"].astype(bool)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def _is_stop_role(role: str) -> bool:
    return role.startswith(("stop", "platform"))


@dataclass
class _Route:
    osm_id: int
    tags: dict[str, str]
    members: list[tuple[str, int, str]] = field(default_factory=list)  # (n|w, ref, role)


def _route_head(route: _Route) -> tuple[Any, ...]:
    """Return the columns every row of a route starts with: its id, mode, ref and name."""
    tags = route.tags
    return (f"relation/{route.osm_id}", tags.get("route"), tags.get("ref"), tags.get("name"))


def _route_line(route: _Route, way_xy: Mapping[int, np.ndarray]) -> shapely.MultiLineString | None:
    """Return the lines of a route's ways in this extract, or None when it has none."""
    ways = [way_xy[ref] for kind, ref, _ in route.members if kind == "w" and ref in way_xy]
    parts = [xy for xy in ways if len(xy) >= 2]
    if not parts:
        return None
    return shapely.MultiLineString([shapely.LineString(p) for p in parts])


def route_stops_from_routes(
    routes: Iterable[_Route],
    node_xy: Mapping[int, tuple[float, float]],
    way_xy: Mapping[int, np.ndarray],
) -> gpd.GeoDataFrame:
    """Return one row per located stop or platform member of the given routes.

    A platform drawn as a way stands at the mean of its points. The last stop member of a
    route (by member order) is flagged: passengers leave there, they do not board. A route
    whose members name no stop at all gets one row with role ``line`` and the lines of its
    ways instead: scoring then takes the stops it passes within `LINE_MATCH_M` as served. A
    route whose stops lie outside a clipped extract only passes through it and gets no row
    (counting such lines was tried: it ranks measured boardings worse).
    """
    rows: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    for route in routes:
        stops = [(t, ref, role) for t, ref, role in route.members if _is_stop_role(role)]
        # the last stop member, and any platform after it, is where the route ends
        stop_at = [i for i, s in enumerate(stops) if s[2].startswith("stop")]
        last_at = stop_at[-1] if stop_at else len(stops) - 1
        for i, (kind, ref, role) in enumerate(stops):
            if kind == "n" and ref in node_xy:
                lon, lat = node_xy[ref]
            elif kind == "w" and ref in way_xy and len(way_xy[ref]):
                lon, lat = way_xy[ref].mean(axis=0)
            else:
                continue  # outside a clipped extract
            rows.append((*_route_head(route), role, i >= last_at, lon, lat))
        if not stops:  # the relation names no stop at all (not just none in this extract)
            geom = _route_line(route, way_xy)
            if geom is not None:
                lines.append((*_route_head(route), "line", False, geom))
    frames = []
    if rows:
        frame = pd.DataFrame(rows, columns=[*ROUTE_STOP_COLUMNS[:-1], "lon", "lat"])
        points = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"), crs=4326)
        frames.append(gpd.GeoDataFrame(frame, geometry=points, crs=4326))
    if lines:
        frames.append(
            gpd.GeoDataFrame(lines, columns=ROUTE_STOP_COLUMNS, geometry="geometry", crs=4326)
        )
    if not frames:
        return empty_route_stops()
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)


def route_stops_from_file(path: str | Path, *, file_format: str | None = None) -> gpd.GeoDataFrame:
    """Read the stops of every public-transport route relation in a local OSM file.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file.
    file_format
        pyosmium's name of the format (``"osm"``, ``"osm.bz2"``, ``"pbf"``) when the file's
        name does not end in it.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``route_id``, ``route``, ``ref``, ``name``, ``role``, ``last``, Point geometry
        (EPSG:4326); empty when the file has no route relations.
    """
    import osmium

    source = osmium.io.File(str(path), file_format) if file_format else str(path)
    routes: list[_Route] = []
    for rel in osmium.FileProcessor(source, osmium.osm.RELATION):
        if not isinstance(rel, osmium.osm.Relation):
            continue
        if rel.tags.get("type") == "route" and rel.tags.get("route") in ROUTE_TYPES:
            members = [(m.type, m.ref, m.role) for m in rel.members]
            routes.append(_Route(rel.id, dict(rel.tags), members))
    if not routes:
        return empty_route_stops()
    want_nodes = {
        ref for r in routes for t, ref, role in r.members if t == "n" and _is_stop_role(role)
    }
    want_ways = {ref for r in routes for t, ref, _ in r.members if t == "w"}  # platforms, lines
    node_xy: dict[int, tuple[float, float]] = {}
    way_xy: dict[int, np.ndarray] = {}
    source = osmium.io.File(str(path), file_format) if file_format else str(path)
    processor = osmium.FileProcessor(source, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in processor:
        if isinstance(obj, osmium.osm.Node):
            if obj.id in want_nodes and obj.location.valid():
                node_xy[obj.id] = (obj.location.lon, obj.location.lat)
        elif isinstance(obj, osmium.osm.Way) and obj.id in want_ways:
            pts = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            way_xy[obj.id] = np.asarray(pts, dtype=float).reshape(-1, 2)
    return route_stops_from_routes(routes, node_xy, way_xy)


def route_stops_from_elements(elements: Iterable[Mapping[str, Any]]) -> gpd.GeoDataFrame:
    """Return the route stops in the elements of an Overpass JSON answer.

    Member locations come from the member's own ``lat``/``lon`` or ``geometry`` (``out geom``)
    or from the node and way elements of the same answer (``out body; >; out skel;``).
    """
    elements = list(elements)
    nodes = {
        el["id"]: (el["lon"], el["lat"])
        for el in elements
        if el.get("type") == "node" and "lat" in el and "lon" in el
    }
    ways: dict[int, np.ndarray] = {}
    for el in elements:
        if el.get("type") == "way":
            pts = [nodes[n] for n in el.get("nodes", []) if n in nodes]
            pts += [(p["lon"], p["lat"]) for p in el.get("geometry") or [] if p]
            ways[el["id"]] = np.asarray(pts, dtype=float).reshape(-1, 2)
    routes = []
    for el in elements:
        tags = el.get("tags") or {}
        if el.get("type") != "relation" or tags.get("route") not in ROUTE_TYPES:
            continue
        members = []
        for m in el.get("members", []):
            kind, ref, role = str(m.get("type", ""))[:1], int(m.get("ref", 0)), m.get("role", "")
            if kind == "n" and "lat" in m and "lon" in m:
                nodes[ref] = (m["lon"], m["lat"])
            if kind == "w" and m.get("geometry"):
                pts = [(p["lon"], p["lat"]) for p in m["geometry"] if p]
                ways[ref] = np.asarray(pts, dtype=float).reshape(-1, 2)
            members.append((kind, ref, role))
        routes.append(_Route(int(el["id"]), dict(tags), members))
    return route_stops_from_routes(routes, nodes, ways)


def route_count(stops: gpd.GeoDataFrame) -> int:
    """Return the number of distinct route relations in a route-stop table."""
    return int(stops["route_id"].nunique()) if len(stops) else 0
