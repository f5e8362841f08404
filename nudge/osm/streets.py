"""Street networks: edges with node ids, usable for walking and for driving.

Two ways in: `streets_from_edges` normalises the edges of a routable graph
(pyrosm, osmnx), and `streets_from_lines` builds the graph itself from plain
street lines (Geofabrik roads layer, GeoJSON) by joining them at shared
coordinates. Both return the same schema (see ``docs/data-model.md``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

STREET_COLUMNS = ["u", "v", "length_m", "highway", "name", "oneway", "walk", "drive", "geometry"]

_MAIN_ROADS = ("motorway", "trunk", "primary", "secondary", "tertiary")
# As in osmnx's "drive" network type: main roads with their link roads, and minor roads.
DRIVABLE = frozenset(
    {*_MAIN_ROADS, *(f"{road}_link" for road in _MAIN_ROADS)}
    | {"unclassified", "residential", "living_street", "road"}
)
_FOOTWAYS = frozenset({"pedestrian", "footway", "path", "steps", "corridor", "bridleway"})
_TRACKS = frozenset({"track", *(f"track_grade{grade}" for grade in range(1, 6))})
# Road classes that are streets at all (the rest, e.g. proposed or construction, are dropped).
STREET_CLASSES = DRIVABLE | _FOOTWAYS | _TRACKS | {"cycleway", "service", "busway"}
# As in osmnx's "walk" network type: everything except motorways and cycle tracks.
NOT_WALKABLE = frozenset({"motorway", "motorway_link", "cycleway", "busway"})
# Size of the grid, in degrees, on which coordinates count as the same node (about 1 cm).
_SNAP = 1e-7


def _first(value: object) -> object:
    """Return the first element of a list value (osmnx merges tags into lists)."""
    if isinstance(value, list | tuple | np.ndarray):
        return value[0] if len(value) else None
    return value


def _text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    col = frame[name]
    if col.dtype == object:
        col = col.map(_first)
    s = col.astype("string").str.strip()
    return s.mask(s == "", pd.NA)


def _oneway(frame: pd.DataFrame) -> np.ndarray:
    """Return whether each edge is one-way, from OSM (yes/true/1/-1) or Geofabrik (F/T/B)."""
    if "oneway" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    s = frame["oneway"].map(_first).astype("string").str.strip().str.lower()
    return s.isin(["yes", "true", "1", "-1", "f", "t"]).fillna(False).to_numpy(dtype=bool)


def _finish(
    edges: gpd.GeoDataFrame, highway: pd.Series, name: pd.Series, oneway: np.ndarray
) -> gpd.GeoDataFrame:
    """Add lengths and network flags, keep only street classes, in the common schema."""
    out = gpd.GeoDataFrame(
        {
            "u": edges["u"].to_numpy(dtype=np.int64),
            "v": edges["v"].to_numpy(dtype=np.int64),
            "highway": highway.to_numpy(),
            "name": name.to_numpy(),
            "oneway": oneway,
        },
        geometry=edges.geometry.to_numpy(),
        crs=edges.crs,
    ).to_crs(4326)
    keep = out["highway"].isin(STREET_CLASSES).to_numpy(dtype=bool)
    out = out.loc[keep].reset_index(drop=True)
    out["highway"] = out["highway"].astype("string")
    out["name"] = out["name"].astype("string")
    if len(out):
        metric = out.geometry.to_crs(out.geometry.estimate_utm_crs())
        out["length_m"] = shapely.length(metric.array).round(3)
    else:
        out["length_m"] = pd.Series(dtype=float)
    out["walk"] = ~out["highway"].isin(NOT_WALKABLE).to_numpy(dtype=bool)
    out["drive"] = out["highway"].isin(DRIVABLE).to_numpy(dtype=bool)
    return out[STREET_COLUMNS]


def streets_from_edges(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Normalise the edges of a routable graph (columns ``u``, ``v``, ``highway``, ...).

    Parameters
    ----------
    edges
        Edges as pyrosm's ``get_network(nodes=True)`` or osmnx's ``graph_to_gdfs``
        return them; ``u`` and ``v`` may also be index levels.

    Returns
    -------
    geopandas.GeoDataFrame
        The street schema, in EPSG:4326.
    """
    frame = edges.reset_index() if "u" not in edges.columns else edges
    frame = frame.loc[~frame.geometry.isna() & ~frame.geometry.is_empty]
    highway = _text_column(frame, "highway")
    return _finish(frame, highway, _text_column(frame, "name"), _oneway(frame))


def streets_from_lines(
    lines: gpd.GeoDataFrame, *, highway_column: str = "highway"
) -> gpd.GeoDataFrame:
    """Build a street graph from plain lines by joining them at shared coordinates.

    A node is placed at both ends of every line and wherever two lines (or one
    line twice) pass through the same coordinate; each line is split at its
    nodes into edges. This is how a graph is made from the Geofabrik roads
    layer, which has no node ids.

    Parameters
    ----------
    lines
        LineString or MultiLineString geometries with a road-class column.
    highway_column
        Name of the road-class column (``fclass`` for Geofabrik layers).

    Returns
    -------
    geopandas.GeoDataFrame
        The street schema, in EPSG:4326; node ids number the distinct node
        coordinates from 0.
    """
    lines = lines.to_crs(4326) if lines.crs is not None else lines.set_crs(4326)
    lines = lines.loc[lines.geom_type.isin(["LineString", "MultiLineString"])]
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    coords, line_idx = shapely.get_coordinates(lines.geometry.array, return_index=True)
    edge_of, vertex_order, node_id = _split_at_nodes(coords, line_idx)
    geoms = shapely.linestrings(coords[vertex_order], indices=edge_of)
    first = np.r_[0, np.flatnonzero(np.diff(edge_of)) + 1]
    last = np.r_[first[1:] - 1, len(edge_of) - 1]
    src_line = line_idx[vertex_order][first]
    edges = gpd.GeoDataFrame(
        {"u": node_id[vertex_order][first], "v": node_id[vertex_order][last]},
        geometry=geoms,
        crs=4326,
    )
    source = lines.iloc[src_line].reset_index(drop=True)
    highway = _text_column(source, highway_column)
    return _finish(edges, highway, _text_column(source, "name"), _oneway(source))


def _split_at_nodes(coords: np.ndarray, line_idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return, for the vertex copies that make the edges: edge id, vertex index, node id.

    Vertices are keyed on a 1e-7 degree grid. A vertex is a node when it is the
    end of its line or its key occurs more than once overall.
    """
    keys = np.round(coords / _SNAP).astype(np.int64)
    _, key_id, key_count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    key_id = key_id.ravel()
    n = len(coords)
    starts = np.r_[True, line_idx[1:] != line_idx[:-1]]
    ends = np.r_[line_idx[1:] != line_idx[:-1], True]
    is_node = starts | ends | (key_count[key_id] > 1)
    # Edge number of the edge that starts at or runs through each vertex.
    edge_start = np.cumsum(is_node & ~ends) - 1
    # A vertex copy opens (or continues) an edge unless it ends its line; an interior
    # node also closes the edge before it.
    opening = np.flatnonzero(~ends)
    closing = np.flatnonzero(is_node & ~starts)
    edge_of = np.r_[edge_start[opening], edge_start[closing] - (~ends[closing]).astype(np.int64)]
    vertex = np.r_[opening, closing]
    order = np.lexsort((vertex, edge_of))
    edge_of, vertex = edge_of[order], vertex[order]
    # Node ids: number the node keys densely.
    node_keys = np.unique(key_id[is_node])
    node_id = np.full(n, -1, dtype=np.int64)
    node_id[is_node] = np.searchsorted(node_keys, key_id[is_node])
    return edge_of, vertex, node_id


def _grid_keys(xy: np.ndarray) -> pd.DataFrame:
    keys = np.round(xy / _SNAP).astype(np.int64)
    return pd.DataFrame({"kx": keys[:, 0], "ky": keys[:, 1]})


def streets_from_segments(edges: gpd.GeoDataFrame, *, way_column: str = "id") -> gpd.GeoDataFrame:
    """Simplify a node-to-node segment graph (as pyrosm gives) to one edge per street section.

    Segments of the same OSM way are joined, then split again only where ways
    meet or end, so a node of the result is an intersection or a dead end. The
    nodes keep their OSM node ids.

    Parameters
    ----------
    edges
        Segments with ``u``, ``v`` (OSM node ids), the way id column, ``highway``,
        ``name``, ``oneway`` and LineString geometries.
    way_column
        Column holding the OSM way id of each segment.
    """
    frame = edges.loc[~edges.geometry.isna() & ~edges.geometry.is_empty]
    if frame.empty or way_column not in frame.columns:
        return streets_from_edges(edges)
    cols = [c for c in ("highway", "name", "oneway") if c in frame.columns]
    ways = frame[[way_column, *cols, "geometry"]].dissolve(by=way_column, aggfunc="first")
    ways["geometry"] = shapely.line_merge(ways.geometry.array)
    out = streets_from_lines(ways.reset_index())
    # map the new nodes back to OSM node ids through their coordinates
    geoms = frame.geometry.array
    ends = np.r_[
        shapely.get_coordinates(shapely.get_point(geoms, 0)),
        shapely.get_coordinates(shapely.get_point(geoms, -1)),
    ]
    lookup = _grid_keys(ends).assign(osm=np.r_[frame["u"].to_numpy(), frame["v"].to_numpy()])
    lookup = lookup.drop_duplicates(["kx", "ky"])
    for col, index in (("u", 0), ("v", -1)):
        at = _grid_keys(shapely.get_coordinates(shapely.get_point(out.geometry.array, index)))
        osm = at.merge(lookup, on=["kx", "ky"], how="left")["osm"]
        fallback = -1 - out[col].to_numpy(dtype=np.int64)
        out[col] = np.where(osm.isna(), fallback, osm.fillna(0)).astype(np.int64)
    return out


def node_count(streets: pd.DataFrame) -> int:
    """Return the number of distinct graph nodes the edges touch."""
    if streets.empty:
        return 0
    return int(pd.unique(np.r_[streets["u"].to_numpy(), streets["v"].to_numpy()]).size)
