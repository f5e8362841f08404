"""Inserting new installations with their first status, audit entries and flags.

Used by `nudge.registry._store.store_installations` inside the caller's
transaction. Many rows go in one bulk insert per table; one row on PostgreSQL
goes in one statement (the four inserts as data-modifying CTEs), so that
logging an installation costs one round trip to the server, not four.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge.registry._driver import fetch_rows
from nudge.registry.audit import AUDIT_LOG, audit_row
from nudge.registry.auth import Actor
from nudge.registry.models import Base, Flag, Installation, StatusChange

# Core tables: a bulk insert of plain dicts skips the ORM's unit of work
INSTALLATIONS = Base.metadata.tables[Installation.__tablename__]
STATUS_CHANGES = Base.metadata.tables[StatusChange.__tablename__]
FLAGS = Base.metadata.tables[Flag.__tablename__]


def core_connection(session: Session) -> sa.Connection:
    """Return the connection of the session's transaction, its pending changes flushed.

    Core statements run on it directly skip the session's own execution
    machinery, which costs more than the statement on a one-row path.
    """
    session.flush()
    return session.connection()


def first_status(record: Mapping[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    """Return the columns of a new installation's first status change (its id aside)."""
    return {
        "old_status": None,
        "new_status": record["status"],
        "effective_on": record["installed_on"],
        "changed_at": now,
        "user_id": actor.id,
        "note": record["source"],
    }


def insert_one(
    session: Session,
    actor: Actor,
    record: Mapping[str, Any],
    audited: Mapping[str, Any],
    *,
    flags: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[int], dict[int, list[dict[str, Any]]]]:
    """Insert one installation, its first status, audit entry and flag in one statement.

    On PostgreSQL the four inserts are data-modifying CTEs of one query: one
    round trip to the server instead of four.
    """
    status = first_status(record, actor, now)
    audit = audit_row(actor, "create", "installations", (None, None, audited), at=now)
    del audit["record_id"]
    rows = [flag_row(f, [-1]) for f in flags]  # one row: a match is always a stored one
    flag = {k: v for k, v in rows[0].items() if k != "installation_id"} if rows else None
    parts = (("i", record), ("s", status), ("a", audit), ("f", flag or {}))
    query = _one_row_query(*(tuple(values) for _, values in parts), flagged=flag is not None)
    params = {f"{p}_{name}": value for p, values in parts for name, value in values.items()}
    json = ("a_old_values", "a_new_values")
    [(new_id, *flag_id)] = fetch_rows(core_connection(session), query, params, json=json)
    if flag is None:
        return [new_id], {}
    return [new_id], {new_id: [{**flag, "installation_id": new_id, "id": flag_id[0]}]}


@functools.cache
def _one_row_query(
    record: tuple[str, ...],
    status: tuple[str, ...],
    audit: tuple[str, ...],
    flag: tuple[str, ...],
    *,
    flagged: bool,
) -> sa.Select:
    """Return the query of `_insert_one` for these columns, built once (cheap to run again)."""
    values = {c: sa.bindparam(f"i_{c}", type_=INSTALLATIONS.c[c].type) for c in record}
    new = sa.insert(INSTALLATIONS).values(values).returning(INSTALLATIONS.c.id).cte("new")
    steps = [
        _from_new(STATUS_CHANGES, "installation_id", ("s", status), new).cte("status"),
        _from_new(AUDIT_LOG, "record_id", ("a", audit), new).cte("audit"),
    ]
    if not flagged:
        return sa.select(new.c.id).add_cte(*steps)
    insert = _from_new(FLAGS, "installation_id", ("f", flag), new).returning(FLAGS.c.id)
    stored = insert.cte("flag")
    return sa.select(new.c.id, stored.c.id).join_from(new, stored, sa.true()).add_cte(*steps)


def _from_new(
    table: sa.Table, key: str, columns: tuple[str, tuple[str, ...]], new: sa.CTE
) -> sa.Insert:
    """Return an INSERT of one row whose column `key` is the new installation's id.

    The other columns take the parameters named ``<prefix>_<column>``.
    """
    prefix, names = columns
    params = [sa.bindparam(f"{prefix}_{n}", type_=table.c[n].type) for n in names]
    return sa.insert(table).from_select([key, *names], sa.select(new.c.id, *params))


def insert_flags(
    session: Session, ids: list[int], flags: list[dict[str, Any]]
) -> dict[int, list[dict[str, Any]]]:
    """Insert duplicate flags naming rows by position, once the new rows' `ids` are known.

    Returns the stored flags by installation id.
    """
    if not flags:
        return {}
    rows = [flag_row(f, ids) for f in flags]
    stmt = sa.insert(FLAGS).returning(FLAGS.c.id, sort_by_parameter_order=True)
    out: dict[int, list[dict[str, Any]]] = {}
    stored = core_connection(session).execute(stmt, rows).scalars()
    for flag_id, flag in zip(stored, rows, strict=True):
        out.setdefault(flag["installation_id"], []).append({**flag, "id": flag_id})
    return out


def flag_row(flag: Mapping[str, Any], ids: Sequence[int]) -> dict[str, Any]:
    """Return the stored columns of a duplicate flag, with ids for row positions."""
    other = flag["other_installation_id"]
    if other < 0:
        other = ids[flag["other_row"]]
    message = (
        f"Likely duplicate: installation #{other} ({flag['kind']}) is "
        f"{flag['distance_m']:.1f} m away."
    )
    return {
        "installation_id": ids[flag["installation_id"]],
        "code": "duplicate",
        "message": message,
        "other_installation_id": other,
        "distance_m": flag["distance_m"],
        "created_at": flag["created_at"],
    }
