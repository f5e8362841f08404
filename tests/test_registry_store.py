"""The place locks that let concurrent writers see each other's nearby installations.

And the search around one new installation: a brute-force match equal to the KD-tree's, and
one round trip on PostgreSQL (lock and search pipelined) finding what the two steps find.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa
from registry_support import ALMATY, Users
from sqlalchemy.engine import Engine

from nudge.geo.regions import distance_m
from nudge.registry import change_status, log_installation, write_session
from nudge.registry._places import (
    _ALL_PLACES,
    _MAX_CELLS,
    claim_places,
    lock_then_search,
    place_lock_keys,
)
from nudge.registry._store import known_or_near, match_duplicates
from nudge.registry._validate import installation_uids
from nudge.registry._validate_one import checked_row

pytest_plugins = ["registry_support"]


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


def test_one_point_gets_the_keys_the_batch_computation_gives_it() -> None:
    rng = np.random.default_rng(11)
    lat = np.concatenate([rng.uniform(40.6, 55.4, 3000), [43.0005, 43.0, -0.0004, 88.9999]])
    lon = np.concatenate([rng.uniform(46.6, 87.3, 3000), [76.9995, 77.0, -179.9996, 10.0]])
    for radius in (0.0, 15.0, 150.0):
        for a in range(len(lat)):
            one = place_lock_keys(lat[a : a + 1], lon[a : a + 1], radius)
            batch = place_lock_keys(np.repeat(lat[a], 2), np.repeat(lon[a], 2), radius)
            assert one == batch, (lat[a], lon[a], radius)
    assert place_lock_keys(np.array([43.2]), np.array([76.9]), 5_000.0) is None


def test_one_row_is_matched_as_the_kd_tree_matches_it() -> None:
    rng = np.random.default_rng(5)
    kinds = np.array(["banner", "billboard"], dtype=object)
    hits = 0
    for _ in range(400):
        k = int(rng.integers(0, 8))
        lat0, lon0 = rng.uniform(41, 55), rng.uniform(47, 87)
        stored = [
            (int(i), str(kinds[i % 2]), lat0 + rng.normal(0, 1e-4), lon0 + rng.normal(0, 1e-4))
            for i in range(1, k + 1)
        ]
        row = {"lat": np.array([lat0]), "lon": np.array([lon0]), "kind": kinds[:1].copy()}
        one = match_duplicates(row, stored, 15.0)
        twice = {name: np.repeat(values, 2) for name, values in row.items()}
        tree = match_duplicates(twice, stored, 15.0)  # two rows: the KD-tree path
        assert one.other_id[0] == tree.other_id[0]
        assert one.other_row[0] == -1
        assert one.distance[0] == tree.distance[0] or (
            np.isnan(one.distance[0]) and np.isnan(tree.distance[0])
        )
        hits += int(one.other_id[0] >= 0)
    assert 50 < hits < 400  # both matches and misses were compared
    assert match_duplicates(row, stored, 0.0).other_id[0] == -1


def _rows(kind: str, lat: float, lon: float, external_id: str) -> dict[str, np.ndarray]:
    cells = {"kind": kind, "lat": lat, "lon": lon, "installed_on": "2025-03-01"}
    checked = checked_row({**cells, "external_id": external_id}, sites={})
    assert checked is not None
    return checked


@pytest.mark.parametrize(
    ("kind", "north_m", "external_id"),
    [
        ("banner", 5.0, "new"),  # a likely duplicate of the nearest stored banner
        ("banner", 0.0, "b-0"),  # stored already: the same natural key
        ("billboard", 3.0, "new"),  # only a removed billboard is near
        ("led_screen", 500.0, "new"),  # nothing near
    ],
)
def test_one_round_trip_finds_what_the_two_steps_find(
    engine: Engine, users: Users, kind: str, north_m: float, external_id: str
) -> None:
    lat, lon = ALMATY
    for i, metres in enumerate((0.0, 8.0, 30.0)):
        north = lat + metres / 111_195
        log_installation(
            engine,
            user=users.almaty,
            kind="banner",
            lat=north,
            lon=lon,
            installed_on="2025-03-01",
            external_id=f"b-{i}",
        )
    removed = log_installation(
        engine, user=users.almaty, kind="billboard", lat=lat, lon=lon, installed_on="2025-03-01"
    )
    change_status(engine, removed.id, "removed", user=users.almaty, on=date(2025, 4, 1))
    rows = _rows(kind, lat + north_m / 111_195, lon, external_id)
    uids = installation_uids(rows)
    with write_session(engine) as session:
        known, matches = known_or_near(session, rows, uids, 15.0, claim=True)
    with write_session(engine) as session:
        claim_places(session, rows["lat"], rows["lon"], 15.0)
        known_2, matches_2 = known_or_near(session, rows, uids, 15.0)
    assert known == known_2 == (external_id == "b-0")
    assert matches.other_id.tolist() == matches_2.other_id.tolist()
    assert matches.distance.tolist() == pytest.approx(matches_2.distance.tolist(), nan_ok=True)
    assert (matches.other_id[0] >= 0) == (kind == "banner")


def test_a_driver_error_in_the_round_trip_is_raised_as_sqlalchemy_raises_it(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("one round trip for lock and search is PostgreSQL's (pipeline mode)")
    missing: sa.Select[int] = sa.select(sa.column("id", sa.Integer)).select_from(
        sa.table("no_such_table")
    )
    with (
        pytest.raises(sa.exc.ProgrammingError, match="no_such_table"),
        write_session(engine) as session,
    ):
        lock_then_search(session, [1], missing, {})
    with write_session(engine) as session:  # the pool hands out a usable connection again
        keys = place_lock_keys(np.array([ALMATY[0]]), np.array([ALMATY[1]]), 15.0)
        assert keys is not None
        assert lock_then_search(session, keys, sa.select(sa.literal(7)), {}) == [(7,)]
