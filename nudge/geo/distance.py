"""Distances on the Earth: the one haversine of nudge, and unit vectors for KD-tree searches.

Every great-circle distance in nudge comes from here (a sphere of the mean Earth
radius; on the scale of a city the error against the WGS84 ellipsoid stays under 0.5 %).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_M = 6_371_008.8
"""Mean radius of the Earth (IUGG), metres."""


def distance_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray:
    """Return great-circle distances in metres (haversine), element-wise.

    Parameters
    ----------
    lat1, lon1, lat2, lon2
        Coordinates in degrees; arrays broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Distances in metres (NaN where a coordinate is NaN).
    """
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, float)) - np.radians(np.asarray(lon1, float))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
    """Return points as 3-D unit vectors, for KD-tree searches by chord distance."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def chord_for_metres(metres: float) -> float:
    """Return the unit-sphere chord length of an arc of `metres` on the Earth."""
    return float(2.0 * np.sin(metres / (2.0 * EARTH_RADIUS_M)))
