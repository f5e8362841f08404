"""The audit log: who changed what, when, with the old and new values.

Every library function that changes data writes its audit entries in the same
transaction as the change, so a change without its entry (or the reverse)
cannot be committed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.db.audit import utcnow
from nudge.registry._bind import Bind, reading
from nudge.registry.models import AuditEntry, Base

AUDIT_LOG = Base.metadata.tables[AuditEntry.__tablename__]  # Core table for bulk inserts


class Who(Protocol):
    """Who makes a change: a user row, or `nudge.registry.auth.Actor`."""

    @property
    def id(self) -> int:
        """Return the user's id."""

    @property
    def username(self) -> str:
        """Return the user's name."""


def jsonable(value: Any) -> Any:
    """Return `value` in a form JSON can hold (dates as ISO text, NaN as None, numpy as Python)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):
        return jsonable(value.item())
    return str(value)


def snapshot(obj: Base, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Return the column values of a model object as a JSON-ready mapping."""
    names = list(fields) if fields is not None else [c.key for c in obj.__mapper__.column_attrs]
    return {name: jsonable(getattr(obj, name)) for name in names}


def changed_values(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return only the entries of `old` and `new` whose values differ."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}


def record_change(
    session: Session,
    *,
    actor: Who | None,
    action: str,
    table: str,
    record_id: int | None,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
) -> None:
    """Add one audit entry to the session's transaction."""
    record_many(session, actor=actor, action=action, table=table, items=[(record_id, old, new)])


def record_many(
    session: Session,
    *,
    actor: Who | None,
    action: str,
    table: str,
    items: Sequence[tuple[int | None, Mapping[str, Any] | None, Mapping[str, Any] | None]],
) -> None:
    """Add many audit entries (one per changed record) in one statement (a Core bulk insert)."""
    if not items:
        return
    now = utcnow()
    rows = [audit_row(actor, action, table, item, at=now) for item in items]
    session.execute(sa.insert(AUDIT_LOG), rows)


def add_created(session: Session, rows: Sequence[Any], *, actor: Who, table: str) -> None:
    """Add new ORM rows, flush them for their ids, and audit each as created (one statement)."""
    session.add_all(rows)
    session.flush()
    items = [(row.id, None, snapshot(row)) for row in rows]
    record_many(session, actor=actor, action="create", table=table, items=items)


def audit_row(
    actor: Who | None,
    action: str,
    table: str,
    item: tuple[int | None, Mapping[str, Any] | None, Mapping[str, Any] | None],
    *,
    at: datetime,
) -> dict[str, Any]:
    """Return the columns of one audit entry about ``item = (record id, old, new values)``."""
    record_id, old, new = item
    return {
        "at": at,
        "user_id": actor.id if actor is not None else None,
        "username": actor.username if actor is not None else "system",
        "action": action,
        "table_name": table,
        "record_id": record_id,
        "old_values": jsonable(old) if old is not None else None,
        "new_values": jsonable(new) if new is not None else None,
    }


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry, detached from the database."""

    id: int
    at: datetime
    username: str
    action: str
    table: str
    record_id: int | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None


def audit_entries(
    engine: Bind,
    *,
    table: str | None = None,
    record_id: int | None = None,
    username: str | None = None,
    limit: int | None = 500,
) -> list[AuditRecord]:
    """Return audit entries, newest first.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (its uncommitted
        changes are seen).
    table, record_id, username
        Keep only entries about this table, record or user.
    limit
        Most entries to return (None for all).

    Returns
    -------
    list of AuditRecord
    """
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if table is not None:
        query = query.where(AuditEntry.table_name == table)
    if record_id is not None:
        query = query.where(AuditEntry.record_id == record_id)
    if username is not None:
        query = query.where(AuditEntry.username == username)
    if limit is not None:
        query = query.limit(limit)
    with reading(engine) as session:
        return [
            AuditRecord(
                e.id,
                e.at,
                e.username,
                e.action,
                e.table_name,
                e.record_id,
                e.old_values,
                e.new_values,
            )
            for e in session.scalars(query)
        ]
