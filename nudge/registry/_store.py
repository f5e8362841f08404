"""Storing checked installation rows: natural keys, duplicate flags, history and audit.

Used by `log_installation` (one row) and `import_installations` (many rows),
always inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.spatial import cKDTree
from sqlalchemy.orm import Session

from nudge._errors import RowProblem
from nudge.geo.regions import (
    EARTH_RADIUS_M,
    REGION_BY_CODE,
    chord_for_metres,
    unit_vectors,
)
from nudge.geo.regions import distance_m as _distance_m
from nudge.registry._validate import SiteInfo, frame_records
from nudge.registry.audit import record_many, utcnow
from nudge.registry.models import Flag, Installation, PlannedSite, StatusChange, User

DEFAULT_DUPLICATE_RADIUS_M = 15.0
SITE_KIND_TO_INSTALLATION = {"banner": "banner", "exhibition": "photo_exhibition"}
"""The installation kind a planned site's kind implies when a row gives no kind."""
_CHUNK = 900  # bound parameters per IN (...) query, below SQLite's limits

STORED_COLUMNS = (
    "uid", "kind", "status", "lat", "lon", "region_code", "city", "district",
    "planned_site_id", "content_id", "themes", "size", "facing_deg", "illuminated",
    "installed_on", "removed_on", "external_id", "note",
)  # fmt: skip


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


def scope_problems(actor: User, rows: pd.DataFrame) -> list[RowProblem]:
    """Return a problem for every row outside the regions a coordinator may change."""
    if actor.role != "coordinator":
        return []
    allowed = set(actor.region_codes)
    outside = rows[~rows["region_code"].isin(allowed)]
    mine = ", ".join(sorted(allowed))
    return [
        RowProblem(
            int(r),
            f"the point is in {REGION_BY_CODE[c].name} ({c}), outside your regions {mine}",
            "lat",
            code="row_outside_your_regions",
            params={"region": c, "regions": mine},
        )
        for r, c in zip(outside["row"], outside["region_code"], strict=True)
    ]


@dataclass
class DuplicateMatches:
    """For every new row: the stored or earlier new installation it likely duplicates."""

    other_id: np.ndarray  # stored installation id, or -1
    other_row: np.ndarray  # position of an earlier new row, or -1
    distance: np.ndarray  # metres, NaN when no match


def find_duplicates(session: Session, rows: pd.DataFrame, radius_m: float) -> DuplicateMatches:
    """Match new rows to active installations of the same kind within `radius_m`."""
    n = len(rows)
    out = DuplicateMatches(np.full(n, -1), np.full(n, -1), np.full(n, np.nan))
    if n == 0 or radius_m <= 0:
        return out
    margin = radius_m / 111_000.0 * 4 + 1e-4
    lat, lon = rows["lat"].to_numpy(float), rows["lon"].to_numpy(float)
    kinds = np.asarray(rows["kind"].tolist(), dtype=object)
    query = sa.select(Installation.id, Installation.kind, Installation.lat, Installation.lon).where(
        Installation.status != "removed",
        Installation.kind.in_(sorted(set(kinds.tolist()))),
        Installation.lat.between(lat.min() - margin, lat.max() + margin),
        Installation.lon.between(lon.min() - 2 * margin, lon.max() + 2 * margin),
    )
    stored = session.execute(query).all()
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


def _records(rows: pd.DataFrame, uids: list[str]) -> list[dict[str, Any]]:
    records = frame_records(rows.assign(uid=uids).reindex(columns=list(STORED_COLUMNS)))
    for rec in records:
        if rec["planned_site_id"] is not None:
            rec["planned_site_id"] = int(rec["planned_site_id"])
    return records


def store_installations(
    session: Session,
    actor: User,
    rows: pd.DataFrame,
    uids: list[str],
    *,
    source: str,
    batch_id: int | None = None,
    radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
) -> tuple[list[int], int]:
    """Insert checked rows with their first status, duplicate flags and audit entries.

    Returns
    -------
    ids, flagged
        The new installation ids in row order, and how many were flagged as
        likely duplicates.
    """
    if rows.empty:
        return [], 0
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
    stmt = sa.insert(Installation).returning(Installation.id, sort_by_parameter_order=True)
    ids = list(session.scalars(stmt, [{**r, **meta} for r in records]))
    session.execute(
        sa.insert(StatusChange),
        [
            {
                "installation_id": i,
                "old_status": None,
                "new_status": r["status"],
                "effective_on": r["installed_on"],
                "changed_at": now,
                "user_id": actor.id,
                "note": source[:200],
            }
            for i, r in zip(ids, records, strict=True)
        ],
    )
    flagged = _flag_duplicates(session, ids, rows["kind"].tolist(), matches, now)
    record_many(
        session,
        actor=actor,
        action="create",
        table="installations",
        items=[(i, None, r) for i, r in zip(ids, records, strict=True)],
    )
    return ids, flagged


def _flag_duplicates(
    session: Session, ids: list[int], kinds: list[str], matches: DuplicateMatches, now: object
) -> int:
    id_arr = np.asarray(ids)
    other = np.where(
        matches.other_id >= 0,
        matches.other_id,
        np.where(matches.other_row >= 0, id_arr[np.maximum(matches.other_row, 0)], -1),
    )
    hit = np.flatnonzero(other >= 0)
    flags = [
        {
            "installation_id": int(id_arr[k]),
            "code": "duplicate",
            "message": (
                f"Likely duplicate: installation #{int(other[k])} ({kinds[k]}) is "
                f"{matches.distance[k]:.1f} m away."
            ),
            "other_installation_id": int(other[k]),
            "distance_m": float(matches.distance[k]),
            "created_at": now,
        }
        for k in hit
    ]
    if flags:
        session.execute(sa.insert(Flag), flags)
    return len(flags)


def distance_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points in metres."""
    return float(_distance_m(lat1, lon1, lat2, lon2))
