"""Reading map clicks: pure functions that tests call with plain dicts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np

from nudge.geo.distance import distance_m
from nudge.ui.maps._base import lat_lon


def point_from_click(returned: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Return ``(lat, lon)`` of the last click in a streamlit-folium result, or None.

    A click on a marker (``last_object_clicked``) wins over a click on the
    bare map (``last_clicked``).
    """
    if not returned:
        return None
    for key in ("last_object_clicked", "last_clicked"):
        point = returned.get(key)
        if isinstance(point, Mapping):
            lat, lon = point.get("lat"), point.get("lng", point.get("lon"))
            try:
                lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if math.isfinite(lat_f) and math.isfinite(lon_f) and abs(lat_f) <= 90:
                return lat_f, ((lon_f + 180.0) % 360.0) - 180.0
    return None


def nearest_id(
    point: tuple[float, float],
    ids: Sequence[str] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    max_distance_m: float,
) -> str | None:
    """Return the id of the point nearest to `point` within `max_distance_m`, or None."""
    if len(ids) == 0:
        return None
    dist = distance_m(np.asarray(lat, float), np.asarray(lon, float), point[0], point[1])
    dist = np.where(np.isfinite(dist), dist, np.inf)
    best = int(np.argmin(dist))
    return str(ids[best]) if dist[best] <= max_distance_m else None


@dataclass(frozen=True, slots=True)
class Click:
    """What a map click means: where it was, and the site it picked (if any)."""

    point: tuple[float, float] | None
    site_id: str | None


def interpret_click(
    returned: Mapping[str, Any] | None,
    sites: gpd.GeoDataFrame | None = None,
    *,
    max_distance_m: float = 60.0,
    previous: tuple[float, float] | None = None,
) -> Click:
    """Interpret a streamlit-folium result: the clicked point and the nearest site to it.

    Parameters
    ----------
    returned
        The dict `st_folium` returned (only ``last_clicked`` and
        ``last_object_clicked`` are read).
    sites
        Sites that may be picked (index = id, Point geometry in EPSG:4326).
    max_distance_m
        A click farther than this from every site picks none.
    previous
        The point already handled; the same point again means no new click
        (Streamlit reruns return the last click again).

    Returns
    -------
    Click
        ``Click(None, None)`` when there is no new click.
    """
    point = point_from_click(returned)
    if point is None or (previous is not None and np.allclose(point, previous, atol=1e-9)):
        return Click(None, None)
    if sites is None or not len(sites):
        return Click(point, None)
    lat, lon = lat_lon(sites)
    site = nearest_id(
        point, sites.index.astype(str).to_numpy(), lat, lon, max_distance_m=max_distance_m
    )
    return Click(point, site)
