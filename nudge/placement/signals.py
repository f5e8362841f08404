"""Footfall-proxy signals, computed for all candidates at once.

The heart is a matrix ``G`` of distance-decayed "gravity" of every category of
public space at every candidate. Along the walking network it comes from
Dijkstra runs with a distance limit (from whichever side, candidates or
places, has fewer distinct nodes); without streets, from a density grid
convolved with the decay kernel (straight-line distance). Every signal is a
vectorised function of ``G``, the network's centrality, or the candidate's
own attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.signal import oaconvolve
from scipy.spatial import cKDTree

from nudge.osm.routes import LINE_MATCH_M
from nudge.placement.network import WalkNetwork
from nudge.placement.profiles import Profile

PEDESTRIAN_STREET = "pedestrian_street"
_PEDESTRIAN_UNIT_M = 50.0  # a pedestrian street counts once per 50 m
_MAX_GRID_CELLS = 16_000_000
_EXACT_PAIRS = 50_000_000  # candidates × places up to which distances are computed exactly


def decay(distance: np.ndarray, *, profile: Profile) -> np.ndarray:
    """Return the decay weight of distances in metres (0 beyond the cutoff)."""
    d = np.asarray(distance, dtype=float)
    if profile.decay == "gaussian":
        w = np.exp(-0.5 * (d / profile.scale_m) ** 2)
    else:
        w = np.exp(-d / profile.scale_m)
    return np.where(d <= profile.cutoff_m, w, 0.0)


@dataclass(frozen=True)
class Places:
    """Weighted points of the categories that feed the signals, in a metric CRS."""

    xy: np.ndarray
    code: np.ndarray
    weight: np.ndarray
    categories: tuple[str, ...]


def places_from_dataset(
    features: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, crs: CRS
) -> Places:
    """Return the public spaces as points with category codes, plus pedestrian streets."""
    cats = (*sorted(set(features["category"].dropna().astype(str))), PEDESTRIAN_STREET)
    code_of = {c: i for i, c in enumerate(cats)}
    pts = features["point"] if "point" in features.columns else features.geometry
    xy = shapely.get_coordinates(gpd.GeoSeries(pts, crs=4326).to_crs(crs).array)
    code = features["category"].astype(str).map(code_of).to_numpy(dtype=np.int64)
    weight = np.ones(len(xy))
    if len(streets):
        ped = streets.loc[(streets["highway"] == "pedestrian").to_numpy(dtype=bool)]
        mid = shapely.line_interpolate_point(ped.geometry.to_crs(crs).array, 0.5, normalized=True)
        xy = np.r_[xy, shapely.get_coordinates(mid)]
        code = np.r_[code, np.full(len(ped), code_of[PEDESTRIAN_STREET])]
        weight = np.r_[weight, ped["length_m"].to_numpy(dtype=float) / _PEDESTRIAN_UNIT_M]
    return Places(xy=xy.reshape(-1, 2), code=code, weight=weight, categories=cats)


def _one_hot(places: Places, weights: np.ndarray) -> np.ndarray:
    """Return a (places × categories) matrix with each place's weight in its category."""
    out = np.zeros((len(places.code), len(places.categories)))
    out[np.arange(len(places.code)), places.code] = weights
    return out


def gravity_network(
    cand_xy: np.ndarray, places: Places, network: WalkNetwork, *, profile: Profile
) -> np.ndarray:
    """Return the category gravity at each candidate along the walking network.

    Candidates and places are snapped to their nearest network node; the
    snapping distance is added to the network distance (exactly, for the
    exponential decay, through ``f(a + b) = f(a) f(b)``).
    """
    k = len(places.categories)
    cnode, coff = network.snap(cand_xy)
    pnode, poff = network.snap(places.xy) if len(places.xy) else (np.zeros(0, int), np.zeros(0))
    cu, cinv = np.unique(cnode, return_inverse=True)
    pu, pinv = np.unique(pnode, return_inverse=True)
    # weight of each place node per category, its own snapping distance folded in
    wnode = np.zeros((len(pu), k))
    np.add.at(wnode, (pinv, places.code), places.weight * decay(poff, profile=profile))
    gu = np.zeros((len(cu), k))
    if len(pu) <= len(cu):
        for part, dist in network.batches(pu, limit=profile.cutoff_m):
            gu += decay(dist[:, cu], profile=profile).T @ wnode[part]
    else:
        for part, dist in network.batches(cu, limit=profile.cutoff_m):
            gu[part] = decay(dist[:, pu], profile=profile) @ wnode
    return gu[cinv] * decay(coff, profile=profile)[:, None]


def gravity_euclidean(
    cand_xy: np.ndarray, places: Places, *, profile: Profile, cell: float = 20.0
) -> np.ndarray:
    """Return the category gravity at each candidate by straight-line distance.

    Small instances are computed exactly from a KD-tree's pairs within the
    cutoff. Large ones count places on a grid of `cell` metres, convolve each
    category's grid with the decay kernel, and read the candidates' cells, so
    the cost does not grow with the number of place-candidate pairs.
    """
    k = len(places.categories)
    if len(places.xy) == 0 or len(cand_xy) == 0:
        return np.zeros((len(cand_xy), k))
    if len(cand_xy) * len(places.xy) <= _EXACT_PAIRS:
        pairs = cKDTree(cand_xy).sparse_distance_matrix(
            cKDTree(places.xy), profile.cutoff_m, output_type="coo_matrix"
        )
        values = decay(pairs.data, profile=profile) * places.weight[pairs.col]
        out = np.zeros((len(cand_xy), k))
        np.add.at(out, (pairs.row, places.code[pairs.col]), values)
        # a candidate exactly on a place has distance 0, which the sparse matrix omits
        dist, idx = cKDTree(places.xy).query(cand_xy, k=1)
        same = np.flatnonzero(dist == 0)
        np.add.at(out, (same, places.code[idx[same]]), places.weight[idx[same]])
        return out
    pad = profile.cutoff_m + cell
    lo = np.minimum(cand_xy.min(0), places.xy.min(0)) - pad
    hi = np.maximum(cand_xy.max(0), places.xy.max(0)) + pad
    while np.prod(np.ceil((hi - lo) / cell)) > _MAX_GRID_CELLS:
        cell *= 1.5
    shape = tuple(np.ceil((hi - lo) / cell).astype(int))
    r = int(np.ceil(profile.cutoff_m / cell))
    ax = np.arange(-r, r + 1) * cell
    kernel = decay(np.hypot(*np.meshgrid(ax, ax, indexing="ij")), profile=profile)
    pcell = np.floor((places.xy - lo) / cell).astype(int)
    ccell = np.floor((cand_xy - lo) / cell).astype(int)
    out = np.zeros((len(cand_xy), k))
    for c in range(k):
        mask = places.code == c
        if not mask.any():
            continue
        grid = np.zeros(shape)
        np.add.at(grid, (pcell[mask, 0], pcell[mask, 1]), places.weight[mask])
        surface = oaconvolve(grid, kernel, mode="same")
        out[:, c] = np.maximum(surface[ccell[:, 0], ccell[:, 1]], 0.0)
    return out


def scale_unit(values: np.ndarray) -> np.ndarray:
    """Scale values to 0..1 by their 99th percentile (the top 1% are capped at 1)."""
    v = np.nan_to_num(np.asarray(values, dtype=float))
    if v.size == 0:
        return v
    top = np.percentile(v, 99)
    top = top if top > 0 else v.max()
    return np.clip(v / top, 0.0, 1.0) if top > 0 else np.zeros_like(v)


def weighted_columns(
    gravity: np.ndarray, categories: tuple[str, ...], weights: dict[str, float]
) -> np.ndarray:
    """Return the weighted sum of the gravity columns named in `weights`."""
    vec = np.array([float(weights.get(c, 0.0)) for c in categories])
    return gravity @ vec


def land_use_mix(
    gravity: np.ndarray, categories: tuple[str, ...], *, exclude: set[str]
) -> np.ndarray:
    """Return the normalised Shannon entropy of the category mix within reach (0..1)."""
    cols = [i for i, c in enumerate(categories) if c not in exclude]
    g = gravity[:, cols]
    total = g.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total > 0, g / total, 0.0)
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
    return h / np.log(len(cols)) if len(cols) > 1 else np.zeros(len(g))


def road_class_values(
    candidates: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, crs: CRS, table: dict[str, float]
) -> np.ndarray:
    """Return the road-class value of each candidate's street (own, or nearest within 30 m)."""
    own = candidates["highway"].astype("string")
    need = own.isna().to_numpy()
    if need.any() and len(streets):
        near = gpd.GeoDataFrame(geometry=candidates.geometry[need].to_crs(crs).array, crs=crs)
        edges = gpd.GeoDataFrame(
            {"hw": streets["highway"].to_numpy()}, geometry=streets.geometry.to_crs(crs).array
        )
        joined = near.sjoin_nearest(edges, how="left", max_distance=30.0)
        joined = joined[~joined.index.duplicated(keep="first")]
        filled = own.to_numpy(dtype=object).copy()
        filled[need] = joined["hw"].to_numpy()
        own = pd.Series(filled, index=candidates.index, dtype="string")
    return own.map(table).astype(float).fillna(0.0).to_numpy()


BUILT = "built_floor_area"
"""Category of the building points inside the near-gravity matrix (weight: floor area)."""


def with_buildings(places: Places, buildings: gpd.GeoDataFrame | None, *, crs: CRS) -> Places:
    """Return `places` plus the building points, weighted by floor area in 1,000 m²."""
    if buildings is None or buildings.empty:
        return replace(places, categories=(*places.categories, BUILT))
    xy = shapely.get_coordinates(buildings.geometry.to_crs(crs).array)
    code = np.full(len(xy), len(places.categories))
    weight = buildings["floor_area_m2"].to_numpy(dtype=float) / 1000.0
    return Places(
        xy=np.r_[places.xy, xy].reshape(-1, 2),
        code=np.r_[places.code, code],
        weight=np.r_[places.weight, np.nan_to_num(weight)],
        categories=(*places.categories, BUILT),
    )


def routes_near(
    cand_xy: np.ndarray, stop_xy: np.ndarray, route_key: np.ndarray, *, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct (candidate, route) pairs with a stop of the route within `radius`.

    Parameters
    ----------
    cand_xy, stop_xy
        Metric coordinates of the candidates and of the route stops.
    route_key
        For each stop, the integer id of its route (routes running both ways share one).
    radius
        Metres.
    """
    cand, stops = pairs_within(cand_xy, stop_xy, radius=radius)
    pairs = np.unique(np.c_[cand, route_key[stops]], axis=0).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def pairs_within(
    cand_xy: np.ndarray, xy: np.ndarray, *, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return every (candidate, point) index pair closer than `radius` metres (zero included)."""
    none = np.zeros(0, dtype=np.int64)
    if len(xy) == 0 or len(cand_xy) == 0:
        return none, none
    near = cKDTree(xy).query_ball_point(cand_xy, r=radius)
    sizes = np.fromiter((len(n) for n in near), dtype=np.int64, count=len(near))
    if sizes.sum() == 0:
        return none, none
    cand = np.repeat(np.arange(len(cand_xy)), sizes)
    return cand, np.concatenate([np.asarray(n, dtype=np.int64) for n in near if n])


def serving_routes(routes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the route rows that say where people board.

    Route lines (role ``line``: relations that name no stop) count only when no route of the
    dataset names its stops: a line also passes stops it does not serve, and where stops are
    known, counting lines ranks measured boardings worse (docs/validation.md).
    """
    is_line = (routes["role"] == "line").to_numpy()
    return routes if is_line.all() else routes.loc[~is_line]


def transit_service_levels(
    cand_xy: np.ndarray,
    routes: gpd.GeoDataFrame,
    *,
    crs: CRS,
    radius: float,
    mode_weights: dict[str, float],
) -> np.ndarray:
    """Return the weighted number of distinct routes that stop within `radius` of each site.

    A route is its kind and number (``ref``, else name, else relation), so the two
    directions of one line count once. Stops where a route ends are left out: people
    leave there, they do not board. Each route counts its kind's weight in `mode_weights`
    (a train more than a bus: it carries more people per departure).
    """
    boarding = serving_routes(routes)
    boarding = boarding.loc[~boarding["last"].to_numpy(dtype=bool)]
    if boarding.empty:
        return np.zeros(len(cand_xy))
    label = boarding["ref"].fillna(boarding["name"]).fillna(boarding["route_id"]).astype(str)
    key = boarding["route"].astype(str) + "|" + label
    codes, uniques = pd.factorize(key)
    kinds = np.array([k.split("|", 1)[0] for k in uniques])
    weight = np.array([float(mode_weights.get(k, 1.0)) for k in kinds])
    geoms = boarding.geometry.to_crs(crs).array
    is_line = (boarding["role"] == "line").to_numpy()
    stop_xy = shapely.get_coordinates(geoms[~is_line])
    cand, route = routes_near(cand_xy, stop_xy, codes[~is_line].astype(np.int64), radius=radius)
    if is_line.any():  # routes known only by their line serve the stops they pass
        tree = shapely.STRtree(np.asarray(geoms[is_line]))
        pts = shapely.points(cand_xy)
        c, r = tree.query(pts, predicate="dwithin", distance=LINE_MATCH_M)
        pairs = np.unique(
            np.c_[np.r_[cand, c], np.r_[route, codes[is_line][r]]].astype(np.int64), axis=0
        )
        cand, route = pairs[:, 0], pairs[:, 1]
    return np.bincount(cand, weights=weight[route], minlength=len(cand_xy))


def route_coverage(
    stops: gpd.GeoDataFrame, routes: gpd.GeoDataFrame | None, *, crs: CRS, radius: float
) -> float:
    """Return the share of the dataset's transit stops that some route relation serves."""
    if routes is None or routes.empty or stops.empty:
        return 0.0
    routes = serving_routes(routes)
    pts = stops["point"] if "point" in stops.columns else stops.geometry
    xy = shapely.get_coordinates(gpd.GeoSeries(pts, crs=4326).to_crs(crs).array)
    served = np.zeros(len(xy), dtype=bool)
    geoms = routes.geometry.to_crs(crs).array
    is_line = (routes["role"] == "line").to_numpy()
    if (~is_line).any():
        route_xy = shapely.get_coordinates(geoms[~is_line])
        dist, _ = cKDTree(route_xy).query(xy, k=1, distance_upper_bound=radius)
        served |= np.isfinite(dist)
    if is_line.any():
        tree = shapely.STRtree(np.asarray(geoms[is_line]))
        hit, _ = tree.query(shapely.points(xy), predicate="dwithin", distance=LINE_MATCH_M)
        served[np.unique(hit)] = True
    return float(np.mean(served))


def departures_near(
    cand_xy: np.ndarray, stops: gpd.GeoDataFrame, *, crs: CRS, radius: float
) -> np.ndarray:
    """Return the weekday departures (GTFS, `nudge.osm.gtfs`) from stops within `radius`."""
    xy = shapely.get_coordinates(stops.geometry.to_crs(crs).array)
    cand, idx = pairs_within(cand_xy, xy, radius=radius)
    weight = stops["departures"].to_numpy(dtype=float)
    return np.bincount(cand, weights=weight[idx], minlength=len(cand_xy)).astype(float)
