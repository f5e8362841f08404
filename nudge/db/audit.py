"""Audit entries of the shared state, written to the registry's ``audit_log`` table."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from nudge.db.tables import _USERS, AUDIT_LOG


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (how the database stores times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_json(value: Any) -> Any:
    """Return `value` as plain JSON data (dates as ISO text, NaN as None, objects as text)."""
    return json.loads(json.dumps(_no_nan(value), default=str))


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nan(v) for v in value]
    return value


AuditItem = tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]


def write_audit(
    conn: sa.Connection, *, username: str, action: str, table: str, items: Sequence[AuditItem]
) -> None:
    """Add one audit entry per ``(old, new)`` pair in the transaction of `conn`.

    The entry names `username` and links to the user of that name when there is one.
    """
    if not items:
        return
    user_id = sa.select(_USERS.c.id).where(_USERS.c.username == username).scalar_subquery()
    known = conn.execute(sa.select(user_id)).scalar()
    who = {"at": utcnow(), "user_id": known, "username": username}
    what = {"action": action, "table_name": table, "record_id": None}
    rows = [
        {**who, **what, "old_values": _json_or_none(old), "new_values": _json_or_none(new)}
        for old, new in items
    ]
    conn.execute(sa.insert(AUDIT_LOG), rows)


def _json_or_none(values: Mapping[str, Any] | None) -> Any:
    return None if values is None else as_json(values)
