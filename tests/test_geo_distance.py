"""The one haversine of nudge (nudge.geo.distance)."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from nudge.geo import regions
from nudge.geo.distance import EARTH_RADIUS_M, chord_for_metres, distance_m, unit_vectors


def test_distance_agrees_with_the_wgs84_ellipsoid_within_half_a_percent() -> None:
    lat1, lon1 = np.array([43.2389, 51.1282]), np.array([76.8897, 71.4307])
    lat2, lon2 = np.array([43.2050, 43.2389]), np.array([76.9000, 76.8897])
    _, _, ellipsoid = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    assert distance_m(lat1, lon1, lat2, lon2) == pytest.approx(ellipsoid, rel=5e-3)
    assert np.isnan(distance_m(np.nan, 0.0, 0.0, 0.0))


def test_chords_of_unit_vectors_measure_arcs() -> None:
    xyz = unit_vectors([43.2389, 43.2050], [76.8897, 76.9000])
    chord = float(np.linalg.norm(xyz[0] - xyz[1]))
    arc = float(distance_m(43.2389, 76.8897, 43.2050, 76.9000))
    assert chord == pytest.approx(chord_for_metres(arc), rel=1e-9)
    assert chord * EARTH_RADIUS_M == pytest.approx(arc, rel=1e-6)


def test_regions_re_export_the_one_implementation() -> None:
    assert regions.distance_m is distance_m
    assert regions.EARTH_RADIUS_M == EARTH_RADIUS_M
