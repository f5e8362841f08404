"""Which cells of a rotation are live: regions of a rollout stay dark until their first flight.

A rollout (`nudge.evaluation.rollout`) starts the campaign region by region; the rotation
must not show anything at the sites of a region before its first flight, or the regions
still waiting would no longer be a comparison. `live_mask` turns each region's first flight
(a flight number, or the first day of the campaign there) and an optional mask of its own
into the site x flight mask of `nudge.content._solver.RotationProblem.live`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge._errors import InputFileError, RecordError
from nudge.geo.regions import region_code, regions_of_points


def _code(value: object) -> str:
    """Return a region's code when the text names a region, else the text itself."""
    try:
        return region_code(str(value))
    except RecordError:
        return str(value).strip()


def _first_flight(start: int | date, flights: pd.DataFrame) -> int:
    """Return the 1-based first live flight: a number as it is, a date's first flight on/after."""
    if isinstance(start, date):
        later = np.flatnonzero(pd.to_datetime(flights["start"]) >= pd.Timestamp(start))
        return int(later[0]) + 1 if later.size else len(flights) + 1
    return int(start)


def site_regions(plan: pd.DataFrame, region: str | None) -> pd.Series:
    """Return each site's region (code when known).

    The ``region`` column, else `region`, else (for a plan with locations, as the Plan page
    keeps it) the region the site stands in; None for a site outside Kazakhstan.
    """
    column = plan["region"] if "region" in plan.columns else pd.Series(None, index=plan.index)
    values = column.astype(object).where(column.notna(), region)
    unknown = values.isna().to_numpy()
    if unknown.any() and isinstance(plan, gpd.GeoDataFrame) and plan.geometry.name in plan:
        points = plan.geometry.to_crs(4326).representative_point()
        values[unknown] = regions_of_points(points.y.to_numpy(), points.x.to_numpy())[unknown]
    return values.map(lambda v: None if v is None or pd.isna(v) else _code(v))


def live_mask(
    plan: pd.DataFrame,
    flights: pd.DataFrame,
    *,
    region_starts: Mapping[str, int | date] | None = None,
    live: np.ndarray | pd.DataFrame | None = None,
    region: str | None = None,
) -> np.ndarray | None:
    """Return the (sites, flights) bool mask of live cells, or None when all are live.

    Parameters
    ----------
    plan
        The plan indexed by ``site_id``, with a ``region`` column, or `region`, or locations
        (a site's region is then where it stands).
    flights
        The rotation's flights (`nudge.content.rotation.flight_table`).
    region_starts
        Region (code or name) -> first flight (1-based) or first campaign day: earlier
        flights are dark at the region's sites. Every site's region must be listed.
    live
        A mask of its own: (sites, flights) bool array in plan order, or a table indexed by
        ``site_id`` with one column per flight (cells missing from it are live).
    region
        The region of sites without a ``region`` value.

    Raises
    ------
    InputFileError
        When a site has no region (none given and outside Kazakhstan) or one not in
        `region_starts`, or an array `live` has another shape.
    """
    if region_starts is None and live is None:
        return None
    shape = (len(plan), len(flights))
    mask = np.ones(shape, dtype=bool)
    if isinstance(live, pd.DataFrame):
        table = live.reindex(index=plan.index.astype(str)).fillna(True)
        mask &= table.iloc[:, : shape[1]].to_numpy(dtype=bool)
    elif live is not None:
        if np.shape(live) != shape:
            size = {"shape": str(np.shape(live)), "sites": shape[0], "flights": shape[1]}
            raise InputFileError(code="rotation_live_shape", **size)
        mask &= np.asarray(live, dtype=bool)
    if region_starts is not None:
        first = {_code(k): _first_flight(v, flights) for k, v in region_starts.items()}
        regions = site_regions(plan, region)
        if regions.isna().any():
            sites = ", ".join(map(str, regions.index[regions.isna()][:10]))
            raise InputFileError(code="rotation_sites_no_region", sites=sites)
        unknown = sorted({str(r) for r in regions if r not in first})
        if unknown:
            names = {"regions": ", ".join(unknown), "listed": ", ".join(sorted(first))}
            raise InputFileError(code="rotation_region_not_in_rollout", **names)
        starts = regions.map(first).to_numpy(dtype=np.int64)
        mask &= np.arange(1, shape[1] + 1)[None, :] >= starts[:, None]
    return mask
