"""The content library's entries in the shared database, saved with optimistic versions.

Each entry is one row of ``content_entries``: its fields as JSON, its status and
a version that every change raises by one. A save names the version it was
based on; when someone else has changed the entry since, the save is refused
with `StaleVersionError` (who changed it and when), nothing is overwritten, and
the refusal is written to the audit log next to the accepted changes.

Typical use::

    entries = read_entries(engine)
    save_entries(engine, "proverbs", [(entry, entries[0].version)], by="aigerim", action="update")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.db.audit import AuditItem, as_json, utcnow, write_audit
from nudge.db.tables import CONTENT_ENTRIES

TABLE = "content_entries"
STALE_ACTION = "stale_refused"
Change = tuple[Mapping[str, Any], int | None]


class StaleVersionError(RecordError):
    """A save based on a version that someone else has changed since it was loaded."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One stored content entry with its version and its last change."""

    id: str
    collection: str
    entry: dict[str, Any]
    status: str
    version: int
    updated_at: datetime
    updated_by: str


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(
        id=str(row.id),
        collection=row.collection,
        entry=dict(row.entry),
        status=row.status,
        version=int(row.version),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def read_entries(engine: Engine) -> list[StoredEntry]:
    """Return every stored entry, by collection in the order they were added."""
    query = sa.select(CONTENT_ENTRIES).order_by(
        CONTENT_ENTRIES.c.collection, CONTENT_ENTRIES.c.position, CONTENT_ENTRIES.c.id
    )
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        return [_stored(row) for row in conn.execute(query)]


def stored_versions(engine: Engine, ids: Sequence[str]) -> dict[str, int]:
    """Return the stored version of each of `ids` that is stored."""
    if not ids:
        return {}
    table = CONTENT_ENTRIES
    query = sa.select(table.c.id, table.c.version).where(table.c.id.in_(list(ids)))
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        return {row.id: row.version for row in conn.execute(query)}


class _StaleError(Exception):
    def __init__(self, current: StoredEntry, entry: Mapping[str, Any], expected: int | None):
        super().__init__(current.id)
        self.current, self.entry, self.expected = current, entry, expected


def save_entries(
    engine: Engine, collection: str, changes: Sequence[Change], *, by: str, action: str
) -> list[StoredEntry]:
    """Store entries in one transaction, each only if it is still at its expected version.

    Parameters
    ----------
    engine
        Engine of the shared database.
    collection
        ``proverbs``, ``dynasties`` or ``winners``.
    changes
        ``(entry, expected_version)`` pairs; the entry's ``id`` names it, and an
        expected version of None means a new entry.
    by
        Username of the person saving (written to the entry and the audit log).
    action
        Audit action: ``create``, ``update``, ``retire``, ``restore`` or ``import``.

    Returns
    -------
    list of StoredEntry
        The entries as stored, with their new versions.

    Raises
    ------
    StaleVersionError
        When an entry was changed (or created) by someone else since its expected
        version; nothing of the batch is stored and the refusal is audited.
    """
    try:
        with engine.begin() as conn:
            return _apply(conn, collection, changes, by=by, action=action)
    except _StaleError as stale:
        raise _refusal(engine, stale, by=by, action=action) from None
    except sa.exc.IntegrityError:  # a new id created at the same time by someone else
        meanwhile = _created_meanwhile(engine, changes)
        if meanwhile is None:
            raise
        raise _refusal(engine, meanwhile, by=by, action=action) from None


def _created_meanwhile(engine: Engine, changes: Sequence[Change]) -> _StaleError | None:
    new = {str(entry["id"]): entry for entry, expected in changes if expected is None}
    for stored in read_entries(engine):
        if stored.id in new:
            return _StaleError(stored, new[stored.id], None)
    return None


def _apply(
    conn: sa.Connection, collection: str, changes: Sequence[Change], *, by: str, action: str
) -> list[StoredEntry]:
    ids = [str(entry["id"]) for entry, _ in changes]
    query = sa.select(CONTENT_ENTRIES).where(CONTENT_ENTRIES.c.id.in_(ids))
    current = {row.id: _stored(row) for row in conn.execute(query)}
    position = conn.execute(sa.select(sa.func.max(CONTENT_ENTRIES.c.position))).scalar() or 0
    now, stored, audit, new_rows = utcnow(), [], list[AuditItem](), []
    for entry, expected in changes:
        data = as_json(dict(entry))
        old = current.get(str(data["id"]))
        if old is None and expected is None:
            position += 1
            new_rows.append(_new_row(collection, data, position, by=by, now=now))
            stored.append(StoredEntry(str(data["id"]), collection, data, _status(data), 1, now, by))
            audit.append((None, {"collection": collection, "version": 1, **data}))
            continue
        if old is None:
            msg = f"No content entry has id {data['id']!r}; see `nudge content list` for the ids."
            raise RecordError(msg, code="content_entry_missing", id=data["id"])
        if expected != old.version or not _update(conn, data, expected, by=by, now=now):
            raise _StaleError(_reread(conn, old.id) or old, data, expected)
        updated = StoredEntry(old.id, old.collection, data, _status(data), old.version + 1, now, by)
        stored.append(updated)
        audit.append(_changed(old, data))
    if new_rows:  # one insert of many rows: an import of thousands of entries is one statement
        conn.execute(sa.insert(CONTENT_ENTRIES), new_rows)
    write_audit(conn, username=by, action=action, table=TABLE, items=audit)
    return stored


def _status(entry: Mapping[str, Any]) -> str:
    return str(entry.get("status") or "active")


def _new_row(
    collection: str, data: dict[str, Any], position: int, *, by: str, now: datetime
) -> dict[str, Any]:
    """Return the columns of a new entry at version 1."""
    return {
        "id": str(data["id"]),
        "collection": collection,
        "position": position,
        "entry": data,
        "status": _status(data),
        "version": 1,
        "created_at": now,
        "created_by": by,
        "updated_at": now,
        "updated_by": by,
    }


def _update(
    conn: sa.Connection, data: dict[str, Any], expected: int | None, *, by: str, now: datetime
) -> bool:
    table = CONTENT_ENTRIES
    result = conn.execute(
        sa.update(table)
        .where(table.c.id == str(data["id"]), table.c.version == expected)
        .values(entry=data, status=_status(data), version=table.c.version + 1)
        .values(updated_at=now, updated_by=by)
    )
    return result.rowcount == 1


def _reread(conn: sa.Connection, item_id: str) -> StoredEntry | None:
    row = conn.execute(sa.select(CONTENT_ENTRIES).where(CONTENT_ENTRIES.c.id == item_id)).first()
    return None if row is None else _stored(row)


def _changed(old: StoredEntry, new: Mapping[str, Any]) -> AuditItem:
    keys = sorted(k for k in {*old.entry, *new} if old.entry.get(k) != new.get(k))
    head = {"id": old.id, "collection": old.collection}
    return (
        {**head, "version": old.version, **{k: old.entry.get(k) for k in keys}},
        {**head, "version": old.version + 1, **{k: new.get(k) for k in keys}},
    )


def when_text(at: datetime) -> str:
    """Return a stored (UTC) time as people read it: ``2026-11-26 13:05 UTC``."""
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _refusal(engine: Engine, stale: _StaleError, *, by: str, action: str) -> StaleVersionError:
    """Audit a refused save (in its own transaction) and return the error to raise."""
    current = stale.current
    attempt = {
        "id": current.id,
        "collection": current.collection,
        "action": action,
        "expected_version": stale.expected,
        "current_version": current.version,
        "entry": dict(stale.entry),
    }
    last = {"id": current.id, "updated_by": current.updated_by, "updated_at": current.updated_at}
    with engine.begin() as conn:
        write_audit(conn, username=by, action=STALE_ACTION, table=TABLE, items=[(last, attempt)])
    at = when_text(current.updated_at)
    msg = (
        f"The entry {current.id} was changed by {current.updated_by} at {at} (now version "
        f"{current.version}) after you opened it, so your save was refused and nothing was "
        "overwritten. Reload the entry, apply your change again and save."
    )
    return StaleVersionError(
        msg,
        code="content_entry_stale",
        id=current.id,
        by=current.updated_by,
        at=at,
        version=current.version,
    )
