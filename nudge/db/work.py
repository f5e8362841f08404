"""Saved plans, rotations and rollouts: kept on the server per dataset and user, with versions.

A piece of work is a JSON payload under a name, for one kind (``plan``,
``rotation`` or ``rollout``), one dataset and one owner. Saving it again names the version it
was based on; a save on a stale version (another tab or session saved it in
between) is refused with `StaleVersionError`, as for content entries.

Typical use::

    work = save_work(engine, kind="rotation", dataset="almaty", owner="aigerim",
                     name="spring", payload={...})
    listed = list_work(engine, kind="rotation", dataset="almaty", owner="aigerim")
    again = load_work(engine, listed[0].id, owner="aigerim")
    save_work(engine, ..., payload=changed, expected_version=again.version)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.db.audit import as_json, utcnow, write_audit
from nudge.db.content import StaleVersionError, when_text
from nudge.db.tables import SAVED_WORK

WorkKind = Literal["plan", "rotation", "rollout"]
WORK_KINDS: tuple[str, ...] = get_args(WorkKind)


@dataclass(frozen=True, slots=True)
class SavedWork:
    """A saved plan or rotation; `payload` is None in the lists of `list_work`."""

    id: int
    kind: str
    dataset: str
    owner: str
    name: str
    version: int
    created_at: datetime
    updated_at: datetime
    payload: dict[str, Any] | None = None


def _work(row: Any, *, payload: bool = True) -> SavedWork:
    return SavedWork(
        id=int(row.id),
        kind=row.kind,
        dataset=row.dataset,
        owner=row.owner,
        name=row.name,
        version=int(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
        payload=dict(row.payload) if payload else None,
    )


def _check_kind(kind: str) -> None:
    if kind not in WORK_KINDS:
        msg = f"Unknown kind of saved work {kind!r}; use one of {', '.join(WORK_KINDS)}."
        raise ValueError(msg)


def save_work(
    engine: Engine,
    *,
    kind: WorkKind,
    dataset: str,
    owner: str,
    name: str,
    payload: Mapping[str, Any],
    expected_version: int | None = None,
) -> SavedWork:
    """Save a plan or rotation under `name`, new or over the version it was based on.

    Parameters
    ----------
    engine
        Engine of the shared database.
    kind
        ``plan`` or ``rotation``.
    dataset, owner, name
        The dataset slug, the owner's username and the name the user gave; together
        they name the saved work.
    payload
        JSON-ready content (dates and other objects are written as text).
    expected_version
        The version the user reopened, or None to save a new piece of work.

    Returns
    -------
    SavedWork
        As stored, with its new version.

    Raises
    ------
    StaleVersionError
        When the work was saved (or, for a new one, created) by someone else since.
    """
    _check_kind(kind)
    key = {"kind": kind, "dataset": dataset, "owner": owner, "name": name}
    try:
        return _save(engine, key, as_json(dict(payload)), expected_version)
    except sa.exc.IntegrityError:  # created at the same moment in another session
        with engine.connect() as conn:
            row = conn.execute(sa.select(SAVED_WORK).filter_by(**key)).first()
        if row is None:
            raise
        raise _stale(row, name) from None


def _save(
    engine: Engine, key: dict[str, str], data: dict[str, Any], expected_version: int | None
) -> SavedWork:
    now, name, owner = utcnow(), key["name"], key["owner"]
    with engine.begin() as conn:
        current = conn.execute(sa.select(SAVED_WORK).filter_by(**key)).first()
        if current is None and expected_version is None:
            values = {**key, "payload": data, "version": 1, "created_at": now, "updated_at": now}
            conn.execute(sa.insert(SAVED_WORK).values(**values))
        elif current is None or current.version != expected_version:
            raise _stale(current, name) if current is not None else _missing(name)
        else:
            conn.execute(
                sa.update(SAVED_WORK)
                .where(SAVED_WORK.c.id == current.id, SAVED_WORK.c.version == expected_version)
                .values(payload=data, version=SAVED_WORK.c.version + 1, updated_at=now)
            )
        saved = _work(conn.execute(sa.select(SAVED_WORK).filter_by(**key)).one())
        action = "create" if saved.version == 1 else "update"
        write_audit(
            conn,
            username=owner,
            action=action,
            table="saved_work",
            items=[(None, {**key, "id": saved.id, "version": saved.version})],
        )
    return saved


def _stale(row: Any, name: str) -> StaleVersionError:
    at = when_text(row.updated_at)
    msg = (
        f"The saved work {name} was saved again at {at} (now version {row.version}) after "
        "you opened it, so your save was refused and nothing was overwritten. Reopen it, "
        "apply your change again and save, or save under another name."
    )
    return StaleVersionError(msg, code="saved_work_stale", name=name, at=at, version=row.version)


def _missing(name: str) -> RecordError:
    msg = f"There is no saved work named {name} here (it may have been deleted)."
    return RecordError(msg, code="saved_work_missing", name=name)


def list_work(
    engine: Engine, *, kind: WorkKind, dataset: str, owner: str | None = None
) -> list[SavedWork]:
    """Return the saved work of a kind and dataset (of one owner), newest first, no payloads."""
    _check_kind(kind)
    columns = [c for c in SAVED_WORK.c if c.name != "payload"]
    query = sa.select(*columns).where(SAVED_WORK.c.kind == kind, SAVED_WORK.c.dataset == dataset)
    if owner is not None:
        query = query.where(SAVED_WORK.c.owner == owner)
    query = query.order_by(SAVED_WORK.c.updated_at.desc(), SAVED_WORK.c.id.desc())
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        return [_work(row, payload=False) for row in conn.execute(query)]


def load_work(engine: Engine, work_id: int, *, owner: str | None = None) -> SavedWork:
    """Return one saved plan or rotation with its payload (only the owner's when given)."""
    query = sa.select(SAVED_WORK).where(SAVED_WORK.c.id == work_id)
    if owner is not None:
        query = query.where(SAVED_WORK.c.owner == owner)
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise _missing(str(work_id))
    return _work(row)


def delete_work(engine: Engine, work_id: int, *, owner: str, expected_version: int) -> None:
    """Delete a saved plan or rotation of `owner`, if it is still at `expected_version`."""
    table = SAVED_WORK
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(table).where(table.c.id == work_id, table.c.owner == owner)
        ).first()
        if row is None:
            raise _missing(str(work_id))
        done = conn.execute(
            sa.delete(table).where(table.c.id == work_id, table.c.version == expected_version)
        )
        if done.rowcount != 1:
            raise _stale(row, row.name)
        key = {"kind": row.kind, "dataset": row.dataset, "name": row.name, "id": row.id}
        write_audit(
            conn,
            username=owner,
            action="delete",
            table="saved_work",
            items=[({**key, "version": row.version}, None)],
        )
