"""The place locks that let concurrent writers see each other's nearby installations."""

from __future__ import annotations

import numpy as np
import pytest

from nudge.geo.regions import distance_m
from nudge.registry._store import _ALL_PLACES, _MAX_CELLS, place_lock_keys


def test_two_points_closer_than_the_radius_always_share_a_lock() -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(40.6, 55.4, 2000)
    lon = rng.uniform(46.6, 87.3, 2000)
    bearing = rng.uniform(0, 2 * np.pi, 2000)
    metres = rng.uniform(0, 15, 2000)
    lat2 = lat + metres * np.cos(bearing) / 111_195.0
    lon2 = lon + metres * np.sin(bearing) / (111_195.0 * np.cos(np.radians(lat)))
    assert float(distance_m(lat, lon, lat2, lon2).max()) < 15.01
    for a in range(len(lat)):
        mine = place_lock_keys(lat[a : a + 1], lon[a : a + 1], 15.0)
        theirs = place_lock_keys(lat2[a : a + 1], lon2[a : a + 1], 15.0)
        assert mine is not None and theirs is not None
        assert set(mine) & set(theirs), (lat[a], lon[a], lat2[a], lon2[a])


def test_keys_are_few_sorted_and_below_the_every_place_lock() -> None:
    keys = place_lock_keys(np.array([43.2389, 43.2389]), np.array([76.8897, 76.8898]), 15.0)
    assert keys is not None and 1 <= len(keys) <= 4
    assert keys == sorted(set(keys))
    assert max(keys) < _ALL_PLACES
    assert place_lock_keys(np.array([]), np.array([]), 15.0) == []
    assert len(place_lock_keys(np.array([43.2389]), np.array([76.8897]), 0.0) or []) >= 1


@pytest.mark.parametrize("radius", [15.0, 5_000.0])
def test_a_writer_touching_many_cells_locks_every_place(radius: float) -> None:
    rng = np.random.default_rng(3)
    rows = 1 if radius > 1_000 else _MAX_CELLS + 50
    lat, lon = rng.uniform(43.1, 43.4, rows), rng.uniform(76.7, 77.1, rows)
    assert place_lock_keys(lat, lon, radius) is None
