"""Geometry of coverage: metric coordinates, coverage matrices, spacing conflicts.

Everything here is plain numpy/scipy on projected coordinates in metres; the
public modules turn GeoDataFrames into these arrays.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree

from nudge._errors import InputFileError

# A cell of side s/sqrt(2) has a diagonal just under s, so two sites in one cell
# are always closer than s: every cell is a clique of the spacing conflict graph.
_CELL_SHRINK = 0.999 / np.sqrt(2.0)


def metric_crs(*frames: gpd.GeoDataFrame | gpd.GeoSeries) -> Any:
    """Return a UTM CRS in metres that suits all `frames` together."""
    parts = [_in_lonlat(f) for f in frames if len(f)]
    if not parts:
        return "EPSG:3857"
    joined = gpd.GeoSeries(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
    crs = joined.estimate_utm_crs()
    return crs if crs is not None else "EPSG:3857"


def _in_lonlat(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    geom = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geom.crs is None:
        msg = "A layer has no coordinate reference system; set one (e.g. EPSG:4326) first."
        raise InputFileError(msg)
    return geom.to_crs("EPSG:4326")


def xy_in(frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any) -> np.ndarray:
    """Return an ``(n, 2)`` array of representative-point coordinates in `crs`."""
    geom = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    if geom.crs is None:
        msg = "A layer has no coordinate reference system; set one (e.g. EPSG:4326) first."
        raise InputFileError(msg)
    points = geom.to_crs(crs).representative_point()
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


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
    tree = cKDTree(demand_xy)
    hits = tree.query_ball_point(site_xy, r=radius, return_sorted=True)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n_sites)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    indices = (
        np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
        if indptr[-1]
        else np.zeros(0, dtype=np.int64)
    )
    data = np.ones(len(indices), dtype=bool)
    return sparse.csc_array((data, indices, indptr), shape=(n_dem, n_sites))


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
