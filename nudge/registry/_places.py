"""Place locks: writers storing installations near the same places wait for each other.

Two writers storing installations near the same place must see each other, or
neither would flag the other as a likely duplicate. On PostgreSQL a writer
takes a transaction-level advisory lock on every cell of a 0.001° grid within
the duplicate radius of its rows (`claim_places`) and only then looks for
stored rows nearby, in a statement of its own: that statement sees what a
writer that held a lock committed. For one logged installation the locks and
the search go to the server together, in psycopg's pipeline mode
(`lock_then_search`): the server takes the locks and runs the search at once,
and the writer waits for one round trip instead of two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.geo.distance import EARTH_RADIUS_M
from nudge.registry._driver import driver_errors, driver_sql
from nudge.registry._insert import core_connection

_CELL_DEG = 0.001  # grid of the place locks: about 111 m north-south, 81 m east-west at 43° N
_MAX_CELLS = 128  # a writer needing more cell locks locks every place instead
_METRES_PER_DEGREE = EARTH_RADIUS_M * np.pi / 180.0
_LOCK_SPACE = 0x6E75 << 40  # the registry's advisory-lock keys on PostgreSQL ("nu")
_ALL_PLACES = _LOCK_SPACE | ((1 << 40) - 1)  # above every cell key
_LAT_CELLS, _LON_CELLS = 90_000, 180_000  # cells from the equator, from Greenwich

LOCK_CELLS_SQL = sa.text(
    "SELECT CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(k) "
    "ELSE pg_advisory_xact_lock(k) END "
    "FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS t(k, n)"
)
"""Lock ``keys[0]`` ("every place") shared, then the cells of the other keys exclusively."""


def place_lock_keys(lat: np.ndarray, lon: np.ndarray, radius_m: float) -> list[int] | None:
    """Return the lock keys of the grid cells within `radius_m` of the points, ascending.

    Two points closer than `radius_m` always share a key (the cell of either
    lies within the radius of the other). Returns None when more than
    `_MAX_CELLS` cells are touched: the writer then locks every place.
    """
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if lat.size == 0:
        return []
    if lat.size == 1:  # one installation logged: the same cells, without numpy's overhead
        return _keys_of_one(float(lat[0]), float(lon[0]), radius_m)
    dlat = max(radius_m, 0.0) / _METRES_PER_DEGREE + 1e-9
    dlon = dlat / np.cos(np.radians(np.minimum(np.abs(lat) + dlat, 89.0)))
    i0, i1 = (np.floor((lat + d) / _CELL_DEG).astype(np.int64) for d in (-dlat, dlat))
    j0, j1 = (np.floor((lon + d) / _CELL_DEG).astype(np.int64) for d in (-dlon, dlon))
    keys: set[int] = set()
    for a in range(int((i1 - i0).max()) + 1):
        for b in range(int((j1 - j0).max()) + 1):
            ii, jj = np.minimum(i0 + a, i1), np.minimum(j0 + b, j1)
            cell = (ii + _LAT_CELLS) * (2 * _LON_CELLS + 1) + (jj + _LON_CELLS)
            keys.update((cell + _LOCK_SPACE).tolist())
            if len(keys) > _MAX_CELLS:
                return None
    return sorted(keys)


def _keys_of_one(lat: float, lon: float, radius_m: float) -> list[int] | None:
    """Return `place_lock_keys` of one point."""
    dlat = max(radius_m, 0.0) / _METRES_PER_DEGREE + 1e-9
    dlon = dlat / math.cos(math.radians(min(abs(lat) + dlat, 89.0)))
    i0, i1 = math.floor((lat - dlat) / _CELL_DEG), math.floor((lat + dlat) / _CELL_DEG)
    j0, j1 = math.floor((lon - dlon) / _CELL_DEG), math.floor((lon + dlon) / _CELL_DEG)
    if (i1 - i0 + 1) * (j1 - j0 + 1) > _MAX_CELLS:
        return None
    return [
        (i + _LAT_CELLS) * (2 * _LON_CELLS + 1) + (j + _LON_CELLS) + _LOCK_SPACE
        for i in range(i0, i1 + 1)
        for j in range(j0, j1 + 1)
    ]


def claim_places(session: Session, lat: np.ndarray, lon: np.ndarray, radius_m: float) -> None:
    """Make writers storing installations near the same places wait for each other.

    On PostgreSQL, take transaction-level advisory locks (released at commit
    or rollback): "every place" shared, then the cells of `place_lock_keys`
    exclusively, in ascending order; a writer touching more cells takes
    "every place" exclusively. All writers lock in this one order, so none
    deadlocks. Call it before looking for stored keys and nearby installations:
    what a writer that held a lock committed is then visible. SQLite needs
    nothing: its writers already take turns (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name != "postgresql" or len(lat) == 0:
        return
    keys = place_lock_keys(lat, lon, radius_m)
    if keys is None:
        core_connection(session).execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ALL_PLACES}
        )
        return
    core_connection(session).execute(LOCK_CELLS_SQL, {"keys": [_ALL_PLACES, *keys]}).all()


def lock_then_search(
    session: Session, keys: list[int], search: sa.ClauseElement, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Lock the cells of `keys` as `claim_places` does, then run `search`, in one round trip.

    PostgreSQL only (psycopg's pipeline mode); returns the rows of `search`.
    A driver error is raised as SQLAlchemy raises it.
    """
    conn = core_connection(session)
    sql, fixed = driver_sql(search, conn.dialect)
    lock_sql, _ = driver_sql(LOCK_CELLS_SQL, conn.dialect)
    driver: Any = conn.connection.driver_connection
    values = {**fixed, **params}
    with driver_errors(conn, sql, values), driver.pipeline():
        driver.execute(lock_sql, {"keys": [_ALL_PLACES, *keys]})
        cursor = driver.execute(sql, values)
    return list(cursor.fetchall())
