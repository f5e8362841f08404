"""Geometry of coverage: metric coordinates, coverage matrices, spacing conflicts.

Everything here is plain numpy/scipy on projected coordinates in metres; the
public modules turn GeoDataFrames into these arrays.
"""

from __future__ import annotations

import functools
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from shapely.geometry import box

from nudge._errors import InputFileError

# A cell of side s/sqrt(2) has a diagonal just under s, so two sites in one cell
# are always closer than s: every cell is a clique of the spacing conflict graph.
_CELL_SHRINK = 0.999 / np.sqrt(2.0)


def metric_crs(*frames: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    """Return a CRS in metres that suits all `frames` together.

    Frames that already share one projected CRS in metres keep it; otherwise
    the UTM zone of their joint bounds is used.
    """
    frames = tuple(f for f in frames if len(f))
    crs_list = [_crs_of(f) for f in frames]
    first = crs_list[0] if crs_list else None
    if first is not None and first.is_projected and all(c == first for c in crs_list):
        unit = first.axis_info[0].unit_name if first.axis_info else ""
        if unit in {"metre", "meter"}:
            return first
    boxes = [
        gpd.GeoSeries([box(*f.total_bounds)], crs=c).to_crs("EPSG:4326")
        for f, c in zip(frames, crs_list, strict=True)
    ]
    if not boxes:
        return "EPSG:3857"
    west, south, east, north = gpd.GeoSeries(
        pd.concat(boxes, ignore_index=True), crs="EPSG:4326"
    ).total_bounds
    return _utm_crs((west + east) / 2, (south + north) / 2)


@functools.lru_cache(maxsize=64)
def _utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS 84 UTM zone of a point (EPSG 326xx north, 327xx south)."""
    zone = int(np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60))
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _crs_of(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    if frame.crs is None:
        raise InputFileError(code="plan_layer_without_crs")
    return frame.crs


def xy_in(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any) -> np.ndarray:
    """Return an ``(n, 2)`` array of representative-point coordinates in `crs`."""
    geom = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    _crs_of(geom)
    geom = geom if geom.crs == crs else geom.to_crs(crs)
    values = geom.to_numpy()
    if not shapely.is_empty(values).any() and (shapely.get_type_id(values) == 0).all():
        return shapely.get_coordinates(values)
    return shapely.get_coordinates(shapely.point_on_surface(values))


def coverage_matrix(demand_xy: np.ndarray, site_xy: np.ndarray, radius: float) -> sparse.csc_array:
    """Return which site covers which demand point, as a boolean sparse matrix.

    Parameters
    ----------
    demand_xy, site_xy
        Coordinates in metres, shapes ``(n_demand, 2)`` and ``(n_sites, 2)``.
    radius
        Service radius in metres; a point at exactly `radius` is covered.

    Returns
    -------
    scipy.sparse.csc_array
        Shape ``(n_demand, n_sites)``; column ``j`` holds the demand points
        within `radius` of site ``j``.
    """
    n_dem, n_sites = len(demand_xy), len(site_xy)
    if n_dem == 0 or n_sites == 0:
        return sparse.csc_array((n_dem, n_sites), dtype=bool)
    pairs = cKDTree(site_xy).sparse_distance_matrix(
        cKDTree(demand_xy), radius, output_type="ndarray"
    )
    data = np.ones(len(pairs), dtype=bool)
    coo = sparse.coo_array((data, (pairs["j"], pairs["i"])), shape=(n_dem, n_sites))
    out = sparse.csc_array(coo)
    out.sort_indices()
    return out


def coverage_from_costs(cost_matrix: Any, radius: float) -> sparse.csc_array:
    """Return the coverage matrix of a dense or sparse distance matrix.

    A dense matrix covers where ``cost <= radius``; a sparse one covers at its
    stored entries that are ``<= radius`` (missing entries mean unreachable).
    """
    if sparse.issparse(cost_matrix):
        coo = sparse.coo_array(cost_matrix)
        keep = coo.data <= radius
        out = sparse.coo_array(
            (np.ones(int(keep.sum()), dtype=bool), (coo.row[keep], coo.col[keep])),
            shape=coo.shape,
        )
        return sparse.csc_array(out)
    dense = np.asarray(cost_matrix, dtype=float)
    return sparse.csc_array(dense <= radius)


def conflict_pairs(site_xy: np.ndarray, min_spacing: float) -> np.ndarray:
    """Return the pairs ``(j, k)``, ``j < k``, of sites closer than `min_spacing`."""
    if min_spacing <= 0 or len(site_xy) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    tree = cKDTree(site_xy)
    # query_pairs keeps pairs at distance <= r; spacing forbids distance < r.
    pairs = tree.query_pairs(r=min_spacing, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    d = np.hypot(*(site_xy[pairs[:, 0]] - site_xy[pairs[:, 1]]).T)
    pairs = pairs[d < min_spacing]
    return np.sort(pairs, axis=1).astype(np.int64)


def conflicts_from_costs(site_costs: Any, min_spacing: float) -> np.ndarray:
    """Return the pairs of sites closer than `min_spacing` in a site-to-site distance matrix."""
    if min_spacing <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    dense = np.asarray(site_costs.toarray() if sparse.issparse(site_costs) else site_costs)
    j, k = np.nonzero(np.triu(dense < min_spacing, k=1))
    return np.column_stack([j, k]).astype(np.int64)


def spacing_cells(site_xy: np.ndarray, min_spacing: float) -> np.ndarray:
    """Return a grid-cell id per site such that sites sharing a cell are in conflict."""
    if min_spacing <= 0 or len(site_xy) == 0:
        return np.arange(len(site_xy), dtype=np.int64)
    side = min_spacing * _CELL_SHRINK
    ij = np.floor((site_xy - site_xy.min(axis=0)) / side).astype(np.int64)
    _, cells = np.unique(ij, axis=0, return_inverse=True)
    return cells.ravel().astype(np.int64)


def aggregate_rows(
    coverage: sparse.csr_array, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Group demand rows that are covered by exactly the same sites.

    Parameters
    ----------
    coverage
        Row-wise coverage matrix with sorted indices.
    weights
        Weight per row.

    Returns
    -------
    rows, weights
        One representative row index per group and the summed weight of the
        group. Rows that no site covers are dropped.
    """
    indptr, indices = coverage.indptr, coverage.indices.astype(np.int32, copy=False)
    keys = [indices[indptr[i] : indptr[i + 1]].tobytes() for i in range(coverage.shape[0])]
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
    sums = np.bincount(codes, weights=weights, minlength=len(uniques))
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    nonempty = np.diff(indptr)[first] > 0
    return first[nonempty], sums[nonempty]
