"""Candidate sites for banners, photo exhibitions and career-guidance venues.

`candidates_from_dataset` proposes sites from a city dataset; `candidates_from_file`
reads a planner's own list (existing structures, proposed spots); `mark_exclusions`
marks candidates near places of worship and historic sites, or inside a user
exclusion layer, as excluded with the reason (never silently dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from nudge._errors import InputFileError, RowProblem
from nudge.io.limits import check_degrees
from nudge.io.tables import coordinates_of, find_column, read_table
from nudge.osm.datasets import CityDataset
from nudge.placement._options import KINDS

CANDIDATE_COLUMNS = [
    "kind",
    "name",
    "source",
    "osm_id",
    "category",
    "highway",
    "street_name",
    "bearing",
    "area_m2",
    "excluded",
    "exclusion_reason",
    "geometry",
]
_NOT_TEXT = {"bearing", "area_m2", "excluded", "geometry"}
_TEXT_COLUMNS = [c for c in CANDIDATE_COLUMNS if c not in _NOT_TEXT]
BANNER_CLASSES = ("primary", "secondary", "tertiary", "pedestrian", "trunk")
EXHIBITION_CATEGORIES = (
    "square_pedestrian",
    "park",
    "mall",
    "transit_station",
    "market",
    "public_service",
    "culture",
)


def _frame(data: dict[str, object], geometry: np.ndarray, crs: object) -> gpd.GeoDataFrame:
    out = gpd.GeoDataFrame(data, geometry=geometry, crs=crs).to_crs(4326)
    for col in CANDIDATE_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out["excluded"] = False
    for col in ("bearing", "area_m2"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    for col in _TEXT_COLUMNS:
        out[col] = out[col].astype("string")
    return out[CANDIDATE_COLUMNS]


def _bearing(a: np.ndarray, b: np.ndarray, crs: object) -> np.ndarray:
    """Return compass bearings (0 = true north, clockwise) from points `a` to `b` in `crs`."""
    to_wgs = Transformer.from_crs(crs, 4326, always_xy=True)
    ax, ay = to_wgs.transform(a[:, 0], a[:, 1])
    bx, by = to_wgs.transform(b[:, 0], b[:, 1])
    azimuth, _, _ = Geod(ellps="WGS84").inv(ax, ay, bx, by)
    return np.round(np.asarray(azimuth) % 360, 1)


def _merged_streets(edges: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Join consecutive edges of the same street (class and name) into longer lines.

    Graphs from pyrosm split streets at every node; spacing points along each
    tiny edge would skip short edges, so points are spaced along whole streets.
    """
    if edges.empty:
        return edges[["highway", "name", "geometry"]]
    frame = edges[["highway", "name", "geometry"]].copy()
    frame["name"] = frame["name"].fillna("")
    merged = frame.dissolve(by=["highway", "name"], as_index=False)
    merged["geometry"] = shapely.line_merge(merged.geometry.array)
    out = merged.explode(index_parts=False).reset_index(drop=True)
    out["name"] = out["name"].replace("", pd.NA)
    return out


def street_points(
    streets: gpd.GeoDataFrame, *, spacing: float, classes: Sequence[str]
) -> gpd.GeoDataFrame:
    """Return points every `spacing` metres along the streets of the given classes."""
    chosen = _merged_streets(streets.loc[streets["highway"].isin(classes).to_numpy(dtype=bool)])
    crs = chosen.geometry.estimate_utm_crs() if len(chosen) else "EPSG:3857"
    lines = chosen.geometry.to_crs(crs).array
    length = shapely.length(lines)
    count = np.floor(length / spacing + 0.5).astype(np.int64)
    edge = np.repeat(np.arange(len(lines)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    step = np.repeat(np.where(count > 0, length / np.maximum(count, 1), 0), count)
    dist = (np.arange(len(edge)) - first + 0.5) * step
    points = shapely.line_interpolate_point(lines[edge], dist)
    ahead = shapely.line_interpolate_point(lines[edge], np.minimum(dist + 1, length[edge]))
    behind = shapely.line_interpolate_point(lines[edge], np.maximum(dist - 1, 0))
    data = {
        "kind": "banner",
        "source": "street",
        "highway": chosen["highway"].to_numpy()[edge],
        "street_name": chosen["name"].to_numpy()[edge],
        "name": chosen["name"].to_numpy()[edge],
        "bearing": _bearing(shapely.get_coordinates(behind), shapely.get_coordinates(ahead), crs),
    }
    return _frame(data, points, crs)


def face_nearest_street(
    candidates: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, max_distance: float = 30.0
) -> gpd.GeoDataFrame:
    """Fill street name, class and bearing of candidates that lack them from the nearest street.

    Transit stops and intersections face the nearest edge of `streets` (the
    roads, for banners read from traffic) within `max_distance` metres; the
    bearing is that edge's direction at the closest point.
    """
    need = np.flatnonzero(candidates["bearing"].isna().to_numpy())
    if len(need) == 0 or streets.empty:
        return candidates
    crs = candidates.geometry.estimate_utm_crs()
    pts = candidates.geometry.iloc[need].to_crs(crs).array
    lines = streets.geometry.to_crs(crs).array
    cand, edge = shapely.STRtree(lines).query_nearest(
        pts, max_distance=max_distance, all_matches=False
    )
    if len(cand) == 0:
        return candidates
    line = lines[edge]
    at = shapely.line_locate_point(line, pts[cand])
    length = shapely.length(line)
    ahead = shapely.line_interpolate_point(line, np.minimum(at + 1, length))
    behind = shapely.line_interpolate_point(line, np.maximum(at - 1, 0))
    rows = need[cand]
    out = candidates.copy()
    bearing = out["bearing"].to_numpy(dtype=float).copy()
    bearing[rows] = _bearing(shapely.get_coordinates(behind), shapely.get_coordinates(ahead), crs)
    out["bearing"] = bearing
    for col, src in (("highway", "highway"), ("street_name", "name")):
        values = out[col].astype("object").to_numpy().copy()
        missing = pd.isna(values[rows])
        values[rows[missing]] = streets[src].to_numpy()[edge[missing]]
        out[col] = pd.Series(values, index=out.index, dtype="string")
    return out


def major_intersections(streets: gpd.GeoDataFrame, *, classes: Sequence[str]) -> gpd.GeoDataFrame:
    """Return the nodes where three or more street edges of the given classes meet."""
    chosen = streets.loc[streets["highway"].isin(classes).to_numpy(dtype=bool)]
    ends = np.r_[chosen["u"].to_numpy(), chosen["v"].to_numpy()]
    geoms = chosen.geometry.array
    pts = np.r_[shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)]
    names = np.r_[chosen["name"].to_numpy(), chosen["name"].to_numpy()]
    highway = np.r_[chosen["highway"].to_numpy(), chosen["highway"].to_numpy()]
    _, first, degree = np.unique(ends, return_index=True, return_counts=True)
    keep = first[degree >= 3]
    data = {
        "kind": "banner",
        "source": "intersection",
        "name": names[keep],
        "street_name": names[keep],
        "highway": highway[keep],
    }
    return _frame(data, pts[keep], 4326)


def place_candidates(
    features: gpd.GeoDataFrame, *, kind: str, categories: Sequence[str], source: str = "place"
) -> gpd.GeoDataFrame:
    """Return one candidate per public space of the given categories, at its point."""
    chosen = features.loc[features["category"].isin(categories).to_numpy(dtype=bool)]
    if kind == "exhibition":  # universities are exhibition venues, schools are not
        uni = (features["category"] == "education") & (features["subcategory"] == "university")
        chosen = pd.concat([chosen, features.loc[uni.to_numpy(dtype=bool)]])
    crs = chosen.geometry.estimate_utm_crs() if len(chosen) else "EPSG:3857"
    area = shapely.area(chosen.geometry.to_crs(crs).array)
    data = {
        "kind": kind,
        "source": source,
        "name": chosen["name"].to_numpy(),
        "osm_id": chosen["osm_id"].to_numpy(),
        "category": chosen["category"].to_numpy(),
        "area_m2": np.round(area, 1),
    }
    return _frame(data, chosen["point"].to_crs(4326).array, 4326)


def _ids(frame: gpd.GeoDataFrame, kind: str) -> pd.Index:
    """Return stable ids: OSM-based for places, numbered for street points."""
    numbered = pd.Series([f"{kind}/{i:06d}" for i in range(len(frame))], dtype="string")
    osm = frame["osm_id"].astype("string").reset_index(drop=True)
    ids = (kind + "/" + osm).where(osm.notna(), numbered)
    dup = ids.duplicated(keep="first")
    ids[dup] = numbered[dup]
    return pd.Index(ids, name="candidate_id")


def candidates_from_dataset(
    dataset: CityDataset,
    *,
    kind: str,
    spacing: float = 50.0,
    classes: Sequence[str] = BANNER_CLASSES,
    exclusion_buffer: float = 50.0,
) -> gpd.GeoDataFrame:
    """Propose candidate sites of one kind from a city dataset.

    Parameters
    ----------
    dataset
        The city's public spaces and streets.
    kind
        ``banner``: points every `spacing` metres along streets of `classes`,
        major intersections, and transit stops. ``exhibition``: one per square,
        park, mall, station, market, public-service centre, cultural venue and
        university. ``career``: one per production site.
    spacing
        Distance between banner candidates along a street, in metres.
    classes
        Road classes along which banners may stand.
    exclusion_buffer
        Candidates within this many metres of a place of worship or a historic
        site are marked excluded.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``candidate_id``, in EPSG:4326 (see ``docs/data-model.md``).
    """
    if kind not in KINDS:
        msg = f"Unknown kind of site {kind!r}; use one of {', '.join(KINDS)}."
        raise ValueError(msg)
    feats = dataset.features
    if kind == "banner":
        parts = [place_candidates(feats, kind=kind, categories=["transit_stop"], source="transit")]
        if dataset.has_streets:
            parts += [
                street_points(dataset.streets, spacing=spacing, classes=classes),
                major_intersections(dataset.streets, classes=classes),
            ]
    elif kind == "exhibition":
        parts = [place_candidates(feats, kind=kind, categories=EXHIBITION_CATEGORIES)]
    else:
        parts = [place_candidates(feats, kind=kind, categories=["production"])]
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    if kind == "banner" and dataset.has_streets:
        roads = dataset.streets.loc[dataset.streets["drive"].to_numpy(dtype=bool)]
        out = face_nearest_street(out, roads if len(roads) else dataset.streets)
    out.index = _ids(out, kind)
    return mark_exclusions(out, feats, buffer=exclusion_buffer)


@dataclass(frozen=True)
class _Reasons:
    geometry: np.ndarray
    text: np.ndarray


def _exclusion_zones(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    zones = features.loc[features["category"].isin(["worship", "historic"]).to_numpy(dtype=bool)]
    label = np.where(zones["category"] == "worship", "place of worship", "historic site")
    name = zones["name"].fillna("").astype(str).to_numpy()
    text = [
        f"{lab} {nm!r} ({oid})" if nm else f"{lab} ({oid})"
        for lab, nm, oid in zip(label, name, zones["osm_id"], strict=True)
    ]
    return gpd.GeoDataFrame({"reason": text}, geometry=zones.geometry.array, crs=4326)


def mark_exclusions(
    candidates: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame | None,
    *,
    buffer: float = 50.0,
    user_zones: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Mark candidates within `buffer` metres of exclusion zones as excluded, with the reason.

    Zones are the places of worship and historic sites of `features` and any
    polygons in `user_zones` (their ``name`` column, if any, goes into the reason).
    """
    out = candidates.copy()
    zones = [] if features is None else [_exclusion_zones(features)]
    if user_zones is not None and len(user_zones):
        names = user_zones.get("name", pd.Series("", index=user_zones.index)).fillna("")
        text = ["user exclusion zone" + (f" {n!r}" if n else "") for n in names.astype(str)]
        zones.append(
            gpd.GeoDataFrame(
                {"reason": text}, geometry=user_zones.geometry.array, crs=user_zones.crs
            ).to_crs(4326)
        )
    allz = pd.concat(zones, ignore_index=True) if zones else None
    if allz is None or allz.empty or out.empty:
        return out
    crs = out.geometry.estimate_utm_crs()
    zg = gpd.GeoSeries(allz.geometry.array, crs=4326).to_crs(crs).array
    cg = out.geometry.to_crs(crs).array
    tree = shapely.STRtree(zg)
    cand_idx, zone_idx = tree.query(cg, predicate="dwithin", distance=buffer)
    if len(cand_idx) == 0:
        return out
    first = np.unique(cand_idx, return_index=True)[1]
    hit, zone = cand_idx[first], zone_idx[first]
    within = f"within {buffer:g} m of "
    reasons = [within + r for r in allz["reason"].to_numpy()[zone]]
    excluded = out["excluded"].to_numpy(dtype=bool).copy()
    excluded[hit] = True
    out["excluded"] = excluded
    reason = out["exclusion_reason"].astype("object").to_numpy().copy()
    reason[hit] = reasons
    out["exclusion_reason"] = pd.Series(reason, index=out.index, dtype="string")
    return out


_VECTOR_SUFFIXES = (".gpkg", ".parquet", ".shp", ".fgb", ".zip")


def _point_table(path: Path) -> pd.DataFrame:
    """Return the rows of a sites file with ``row``, ``lat`` and ``lon`` columns."""
    if path.suffix.lower() not in _VECTOR_SUFFIXES:
        table, _ = read_table(path, name=path.name)
        lat, lon = coordinates_of(table, name=path.name)
        return table.assign(lat=lat, lon=lon)
    if not path.is_file():
        raise InputFileError(code="candidates_file_missing", file=path.name)
    try:
        frame = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
    except Exception as exc:
        raise InputFileError(
            code="candidates_file_unreadable",
            file=path.name,
            reason=f"{type(exc).__name__}: {exc}",
        ) from exc
    frame = frame.to_crs(4326) if frame.crs is not None else frame
    pts = shapely.point_on_surface(frame.geometry.array)
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    if len(pts) and not ((np.abs(lat) <= 90) & (np.abs(lon) <= 180)).any():
        check_degrees(pts, name=path.name)  # every site in metres: refuse the file, not each row
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table.insert(0, "row", np.arange(len(frame)) + 1)
    return table.assign(lat=lat, lon=lon)


def candidates_from_points(
    lon: np.ndarray, lat: np.ndarray, *, kind: str, labels: list[str]
) -> gpd.GeoDataFrame:
    """Return candidate sites of one kind at the given points, indexed by `labels`.

    No exclusion zones are applied: for scoring places where something was measured.
    """
    out = _frame(
        {"kind": np.full(len(labels), kind), "source": "user"},
        np.asarray(shapely.points(lon, lat)),
        4326,
    )
    out.index = pd.Index(labels, name="candidate_id")
    return out


def candidates_from_file(
    path: str | Path,
    *,
    kind: str,
    features: gpd.GeoDataFrame | None = None,
    exclusion_buffer: float = 50.0,
) -> tuple[gpd.GeoDataFrame, list[RowProblem]]:
    """Read a planner's own candidate sites, validating every row.

    Parameters
    ----------
    path
        CSV/XLSX with ``lat`` and ``lon`` columns, or a GeoJSON/GeoPackage;
        optional ``id``, ``name`` and ``kind`` columns (``kind`` overrides `kind`).
    kind
        Kind of site for rows without their own ``kind``.
    features
        The city's public spaces, for the exclusion zones.
    exclusion_buffer
        Metres around places of worship and historic sites.

    Returns
    -------
    tuple
        The good rows as candidates (source ``user``) and the problems of the
        bad rows (row numbers count the header as row 1).
    """
    path = Path(path)
    table = _point_table(path)
    rows = table["row"].to_numpy()
    y, x = table["lat"].to_numpy(dtype=float), table["lon"].to_numpy(dtype=float)
    bad_xy = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(y) <= 90) & (np.abs(x) <= 180))
    problems = [RowProblem(int(r), code="placement_bad_coordinates") for r in rows[bad_xy]]
    kind_name = find_column(table, ("kind", "type"))
    kinds = table[kind_name].astype("string").str.strip() if kind_name else None
    kind_col = kinds.fillna(kind).to_numpy() if kinds is not None else np.full(len(table), kind)
    bad_kind = ~np.isin(kind_col, KINDS) & ~bad_xy
    kinds_allowed = ", ".join(KINDS)
    problems += [
        RowProblem(
            int(r), code="candidates_unknown_kind", params={"kind": str(k), "kinds": kinds_allowed}
        )
        for r, k in zip(rows[bad_kind], kind_col[bad_kind], strict=True)
    ]
    good = ~(bad_xy | bad_kind)
    name_col = find_column(table, ("name",))
    names = table[name_col].astype("string").to_numpy()[good] if name_col else None
    out = _frame(
        {"kind": kind_col[good], "source": "user", "name": names},
        shapely.points(x[good], y[good]),
        4326,
    )
    id_col = find_column(table, ("id", "site_id", "candidate_id"))
    if id_col:
        labels = [f"user/{v}" for v in table[id_col].astype("string").to_numpy()[good]]
    else:
        labels = [f"user/{r:06d}" for r in rows[good]]
    out.index = pd.Index(labels, name="candidate_id")
    dup = out.index.duplicated()
    for cid in out.index[dup]:
        problems.append(RowProblem(0, code="candidates_duplicate_id", params={"id": str(cid)}))
    out = out.loc[~dup]
    return mark_exclusions(out, features, buffer=exclusion_buffer), sorted(
        problems, key=lambda p: p.row
    )
