"""Storing checked installation rows: natural keys, duplicate flags, history and audit.

Used by `log_installation` (one row) and `import_installations` (many rows),
always inside the caller's transaction. Every step works on a whole batch at
once: one query for stored keys, one for nearby installations, one insert per
table (installations, status history, flags, audit log).

Two writers storing installations near the same place must see each other, or
neither would flag the other as a likely duplicate (and two imports of one file
would both try to store its rows). `nudge.registry._places.claim_places` makes
them wait for each other: SQLite lets one writer at a time anyway (``BEGIN
IMMEDIATE``); on PostgreSQL a writer takes a transaction-level advisory lock on
every cell of a 0.001° grid within the duplicate radius of its rows before it
looks (`known_or_near` with ``claim=True`` does both).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from scipy.spatial import cKDTree
from sqlalchemy.orm import Session

from nudge._errors import RowProblem
from nudge.geo.distance import EARTH_RADIUS_M, chord_for_metres, unit_vectors
from nudge.geo.distance import distance_m as _distance_m
from nudge.registry._insert import (
    INSTALLATIONS,
    STATUS_CHANGES,
    core_connection,
    first_status,
    insert_flags,
    insert_one,
)
from nudge.registry._places import claim_places, lock_then_search, place_lock_keys
from nudge.registry._validate import SiteInfo, is_missing
from nudge.registry.audit import record_many, utcnow
from nudge.registry.auth import Actor
from nudge.registry.models import Installation, PlannedSite

DEFAULT_DUPLICATE_RADIUS_M = 15.0
SITE_KIND_TO_INSTALLATION = {"banner": "banner", "exhibition": "photo_exhibition"}
"""The installation kind a planned site's kind implies when a row gives no kind."""
_CHUNK = 900  # bound parameters per IN (...) query, below SQLite's limits

STORED_COLUMNS = (
    "uid",
    "kind",
    "status",
    "lat",
    "lon",
    "region_code",
    "city",
    "district",
    "planned_site_id",
    "content_id",
    "themes",
    "size",
    "facing_deg",
    "illuminated",
    "installed_on",
    "removed_on",
    "external_id",
    "note",
)


def _chunks(values: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def sites_by_id(session: Session, site_ids: Iterable[object]) -> dict[str, SiteInfo]:
    """Return the planned sites named in `site_ids` (the latest import wins)."""
    wanted = sorted({str(s).strip() for s in site_ids if s is not None and str(s).strip()})
    out: dict[str, SiteInfo] = {}
    for chunk in _chunks(wanted):
        query = (
            sa.select(
                PlannedSite.site_id,
                PlannedSite.id,
                PlannedSite.lat,
                PlannedSite.lon,
                PlannedSite.kind,
            )
            .where(PlannedSite.site_id.in_(chunk))
            .order_by(PlannedSite.id)
        )
        for site_id, pk, lat, lon, kind in session.execute(query):
            out[site_id] = SiteInfo(pk, lat, lon, SITE_KIND_TO_INSTALLATION.get(kind))
    return out


def existing_uids(
    session: Session, uids: Iterable[str], *, column: Any = Installation.uid
) -> set[str]:
    """Return those of `uids` already stored in `column` (installations' by default)."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(uids))):
        found.update(session.scalars(sa.select(column).where(column.in_(chunk))))
    return found


def scope_problems(actor: Actor, rows: Mapping[str, np.ndarray]) -> list[RowProblem]:
    """Return a problem for every row outside the regions a coordinator may change."""
    if actor.role != "coordinator":
        return []
    allowed = set(actor.region_codes)
    mine = ", ".join(sorted(allowed))
    return [
        RowProblem(
            int(r),
            column="lat",
            code="row_outside_your_regions",
            params={"region": c, "regions": mine},
        )
        for r, c in zip(rows["row"].tolist(), rows["region_code"].tolist(), strict=True)
        if c not in allowed
    ]


def _located(flag: int) -> sa.Select:
    columns = (Installation.id, Installation.kind, Installation.lat, Installation.lon)
    return sa.select(*columns, sa.literal(flag))


def _active_near(kind: sa.ColumnElement[bool]) -> sa.Select:
    return _located(0).where(
        Installation.status != "removed",
        kind,
        Installation.lat.between(sa.bindparam("south"), sa.bindparam("north")),
        Installation.lon.between(sa.bindparam("west"), sa.bindparam("east")),
    )


# built once: a single row's search then costs little more than the query itself
_ACTIVE_NEAR = _active_near(Installation.kind.in_(sa.bindparam("kinds", expanding=True)))
_KNOWN_OR_NEAR = sa.union_all(
    _ACTIVE_NEAR, _located(1).where(Installation.uid.in_(sa.bindparam("uids", expanding=True)))
)
# one logged row: plain parameters instead of expanding lists, cheaper to run
_KNOWN_OR_NEAR_ONE = sa.union_all(
    _active_near(Installation.kind == sa.bindparam("kind")),
    _located(1).where(Installation.uid == sa.bindparam("uid")),
)


@dataclass
class DuplicateMatches:
    """For every new row: the stored or earlier new installation it likely duplicates."""

    other_id: np.ndarray  # stored installation id, or -1
    other_row: np.ndarray  # position of an earlier new row, or -1
    distance: np.ndarray  # metres, NaN when no match


def _search_box(rows: Mapping[str, np.ndarray], radius_m: float) -> dict[str, Any]:
    lat, lon = np.asarray(rows["lat"], dtype=float), np.asarray(rows["lon"], dtype=float)
    margin = max(radius_m, 0.0) / 111_000.0 * 4 + 1e-4
    return {
        "kinds": sorted(set(np.asarray(rows["kind"], dtype=object).tolist())),
        "south": float(lat.min() - margin),
        "north": float(lat.max() + margin),
        "west": float(lon.min() - 2 * margin),
        "east": float(lon.max() + 2 * margin),
    }


def find_duplicates(
    session: Session, rows: Mapping[str, np.ndarray], radius_m: float
) -> DuplicateMatches:
    """Match new rows to active installations of the same kind within `radius_m`.

    One query fetches the stored installations around the whole batch; KD-trees
    match them, and the rows of the batch among themselves.
    """
    if len(rows["lat"]) == 0 or radius_m <= 0:
        return match_duplicates(rows, [], radius_m)
    stored = core_connection(session).execute(_ACTIVE_NEAR, _search_box(rows, radius_m)).all()
    return match_duplicates(rows, stored, radius_m)


def known_or_near(
    session: Session,
    rows: Mapping[str, np.ndarray],
    uids: list[str],
    radius_m: float,
    *,
    claim: bool = False,
) -> tuple[bool, DuplicateMatches]:
    """Return whether any of `uids` is stored, and the duplicate matches of `rows`, in one query.

    Meant for a few rows (one logged installation): the natural keys are bound
    in one statement with the search around the rows. With `claim`, the places
    of the rows are claimed first (`claim_places`); for one row on PostgreSQL
    the locks and the search then go to the server in one round trip.
    """
    if len(rows["lat"]) == 0:
        return False, match_duplicates(rows, [], radius_m)
    box = _search_box(rows, radius_m)
    kinds = box.pop("kinds")
    if len(uids) == 1 and len(kinds) == 1:  # one logged row
        query, params = _KNOWN_OR_NEAR_ONE, {**box, "kind": kinds[0], "uid": uids[0]}
    else:
        query, params = _KNOWN_OR_NEAR, {**box, "kinds": kinds, "uids": uids}
    one_trip = claim and query is _KNOWN_OR_NEAR_ONE and _on_postgres(session)
    keys = place_lock_keys(rows["lat"], rows["lon"], radius_m) if one_trip else None
    found: Sequence[Sequence[Any]]
    if keys is not None:
        found = lock_then_search(session, keys, query, params)
    else:
        if claim:
            claim_places(session, rows["lat"], rows["lon"], radius_m)
        found = core_connection(session).execute(query, params).all()
    known = any(r[4] for r in found)
    return known, match_duplicates(rows, [r for r in found if not r[4]], radius_m)


def _on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def match_duplicates(
    rows: Mapping[str, np.ndarray], stored: Sequence[Sequence[Any]], radius_m: float
) -> DuplicateMatches:
    """Match new rows to `stored` ``(id, kind, lat, lon)`` rows and to each other."""
    lat, lon = np.asarray(rows["lat"], dtype=float), np.asarray(rows["lon"], dtype=float)
    n = len(lat)
    out = DuplicateMatches(np.full(n, -1), np.full(n, -1), np.full(n, np.nan))
    if n == 0 or radius_m <= 0:
        return out
    if n == 1:
        _match_one(out, rows["kind"][0], unit_vectors(lat, lon), stored, radius_m)
        return out
    kinds = np.asarray(rows["kind"], dtype=object)
    s_id = np.array([r[0] for r in stored], dtype=np.int64)
    s_kind = np.array([r[1] for r in stored], dtype=object)
    s_xyz = unit_vectors([r[2] for r in stored], [r[3] for r in stored])
    chord = chord_for_metres(radius_m)
    xyz = unit_vectors(lat, lon)
    for kind in set(kinds.tolist()):
        idx = np.flatnonzero(kinds == kind)
        mine = s_kind == kind
        _match_stored(out, ids=s_id[mine], stored_xyz=s_xyz[mine], xyz=xyz, idx=idx, chord=chord)
        _match_batch(out, xyz, idx, chord)
    return out


def _match_one(
    out: DuplicateMatches,
    kind: object,
    xyz: np.ndarray,
    stored: Sequence[Sequence[Any]],
    radius_m: float,
) -> None:
    """Match one new row to the nearest stored row of its kind (what the KD-tree would find)."""
    mine = [r for r in stored if r[1] == kind]
    if not mine:
        return
    chord = np.sqrt(((unit_vectors([r[2] for r in mine], [r[3] for r in mine]) - xyz) ** 2).sum(1))
    k = int(np.argmin(chord))
    if chord[k] < chord_for_metres(radius_m):
        out.other_id[0] = mine[k][0]
        out.distance[0] = chord[k] * EARTH_RADIUS_M


def _match_stored(
    out: DuplicateMatches,
    *,
    ids: np.ndarray,
    stored_xyz: np.ndarray,
    xyz: np.ndarray,
    idx: np.ndarray,
    chord: float,
) -> None:
    if ids.size == 0:
        return
    dist, pos = cKDTree(stored_xyz).query(xyz[idx], k=1, distance_upper_bound=chord)
    hit = np.isfinite(dist)
    out.other_id[idx[hit]] = ids[pos[hit]]
    out.distance[idx[hit]] = dist[hit] * EARTH_RADIUS_M


def _match_batch(out: DuplicateMatches, xyz: np.ndarray, idx: np.ndarray, chord: float) -> None:
    if idx.size < 2:
        return
    pairs = cKDTree(xyz[idx]).query_pairs(chord, output_type="ndarray")
    if pairs.size == 0:
        return
    first, later = idx[pairs.min(axis=1)], idx[pairs.max(axis=1)]
    free = out.other_id[later] < 0
    first, later = first[free], later[free]
    d = np.linalg.norm(xyz[first] - xyz[later], axis=1) * EARTH_RADIUS_M
    order = np.argsort(later, kind="stable")  # keep the earliest match of every later row
    later, first, d = later[order], first[order], d[order]
    _, keep = np.unique(later, return_index=True)
    out.other_row[later[keep]] = first[keep]
    out.distance[later[keep]] = d[keep]


def _plain(value: Any) -> Any:
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _records(rows: Mapping[str, np.ndarray], uids: list[str]) -> list[dict[str, Any]]:
    """Return one dict of plain Python values per row, with the columns stored."""
    n = len(uids)
    columns = {"uid": uids} | {
        name: [_plain(v) for v in rows[name].tolist()] if name in rows else [None] * n
        for name in STORED_COLUMNS
        if name != "uid"
    }
    names = list(columns)
    records = [
        dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    for rec in records:
        if rec["planned_site_id"] is not None:
            rec["planned_site_id"] = int(rec["planned_site_id"])
    return records


@dataclass
class Stored:
    """What `store_installations` wrote: ids, stored values and flags, in row order."""

    ids: list[int]
    records: list[dict[str, Any]]  # the values of `STORED_COLUMNS` and the common ones
    flags: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by installation id

    @property
    def flagged(self) -> int:
        """Return how many installations were flagged as likely duplicates."""
        return len(self.flags)


def store_installations(
    session: Session,
    actor: Actor,
    rows: Mapping[str, np.ndarray],
    uids: list[str],
    *,
    source: str,
    batch_id: int | None = None,
    radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
    matches: DuplicateMatches | None = None,
) -> Stored:
    """Insert checked rows with their first status, duplicate flags and audit entries.

    Call `claim_places` first in the same transaction, so that the duplicate
    search sees what concurrent writers stored nearby. `matches` are those of
    `known_or_near` when the caller searched already (otherwise searched here).

    Returns
    -------
    Stored
        The new installation ids and stored values in row order, and the
        likely-duplicate flags.
    """
    if not uids:
        return Stored([], [])
    if matches is None:
        matches = find_duplicates(session, rows, radius_m)
    now = utcnow()
    records = _records(rows, uids)
    meta = {
        "source": source[:200],
        "import_batch_id": batch_id,
        "created_by": actor.id,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    stored = [{**r, **meta} for r in records]
    flags = _duplicate_flags([r["kind"] for r in records], matches, now)
    if len(records) == 1 and _on_postgres(session):
        ids, by_id = insert_one(session, actor, stored[0], records[0], flags=flags, now=now)
        return Stored(ids, stored, by_id)
    stmt = sa.insert(INSTALLATIONS).returning(INSTALLATIONS.c.id, sort_by_parameter_order=True)
    conn = core_connection(session)
    ids = list(conn.execute(stmt, stored).scalars())
    pairs = zip(ids, stored, strict=True)
    steps = [{"installation_id": i, **first_status(r, actor, now)} for i, r in pairs]
    conn.execute(sa.insert(STATUS_CHANGES), steps)
    record_many(
        session,
        actor=actor,
        action="create",
        table="installations",
        items=[(i, None, r) for i, r in zip(ids, records, strict=True)],
    )
    return Stored(ids, stored, insert_flags(session, ids, flags))


def _duplicate_flags(
    kinds: list[str], matches: DuplicateMatches, now: datetime
) -> list[dict[str, Any]]:
    """Return the duplicate flags of the new rows; ``installation_id`` is the row's position.

    A row matching an earlier new row names it by position too (``other_row``),
    until the ids are known (`nudge.registry._insert.insert_flags`).
    """
    hit = np.flatnonzero((matches.other_id >= 0) | (matches.other_row >= 0))
    return [
        {
            "installation_id": int(k),
            "code": "duplicate",
            "other_installation_id": int(matches.other_id[k]),
            "other_row": int(matches.other_row[k]),
            "distance_m": float(matches.distance[k]),
            "kind": kinds[k],
            "created_at": now,
        }
        for k in hit
    ]


def distance_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points in metres."""
    return float(_distance_m(lat1, lon1, lat2, lon2))
