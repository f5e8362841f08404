"""Plans of events (indicator 1): the republican and regional action plans and what was held.

Each item of a plan has its region (none for the republican plan), year, kind
(TV programme, podcast, photo session of a labour dynasty, social-network
challenge, «Мен профимін» contest stage, career day at a production site:
excursion, meeting or open day), title, planned date and status (planned,
held, cancelled), and the evidence that it was held: a publication of the
registry or an address. Plans come from the spreadsheets regions send
(`import_event_plan`); `nudge.registry.event_counts.event_indicator` says per
region and year whether a plan exists, how many items it holds and how many
were held or cancelled, with the ids of the records behind every figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge._errors import AccessDeniedError, RecordError, RowProblem
from nudge.io.tables import MAX_IMPORT_BYTES, read_table
from nudge.registry._batches import (
    ImportResult,
    _batch,
    _display_name,
    _finish_batch,
    _write_retrying,
)
from nudge.registry._bind import Bind, reading, writing
from nudge.registry._cells import Columns, column_key, take
from nudge.registry._event_rows import (
    EVENT_COLUMNS,
    EVENT_KIND_ALIASES,
    EVENT_STATUS_ALIASES,
    check_event_rows,
    event_table,
    one_evidence,
)
from nudge.registry.audit import (
    add_created,
    changed_values,
    jsonable,
    record_change,
    record_many,
    snapshot,
    utcnow,
)
from nudge.registry.auth import Actor, UserRef, actor_in, require
from nudge.registry.models import EVENT_KINDS, EVENT_STATUSES, EventPlanItem, Publication

__all__ = [
    "EVENT_COLUMNS",
    "EVENT_KINDS",
    "EVENT_KIND_ALIASES",
    "EVENT_STATUSES",
    "EVENT_STATUS_ALIASES",
    "EventImportResult",
    "EventPlanRecord",
    "import_event_plan",
    "list_event_items",
    "set_event_status",
]


@dataclass(frozen=True, slots=True)
class EventPlanRecord:
    """An item of a plan of events as stored (``region_code`` None: the republican plan)."""

    id: int
    external_key: str
    region_code: str | None
    year: int
    kind: str
    title: str
    planned_on: date | None
    status: str
    evidence_publication_id: int | None
    evidence_url: str | None


def _record(item: EventPlanItem) -> EventPlanRecord:
    return EventPlanRecord(
        item.id,
        item.external_key,
        item.region_code,
        item.year,
        item.kind,
        item.title,
        item.planned_on,
        item.status,
        item.evidence_publication_id,
        item.evidence_url,
    )


@dataclass
class EventImportResult(ImportResult):
    """What an import of a plan did; rows whose status or evidence changed are ``updated``."""

    updated: int = 0

    def as_dict(self) -> dict[str, object]:
        """Return the import's JSON shape with ``updated``."""
        out = {**super().as_dict(), "updated": self.updated}
        out.pop("flagged_duplicates", None)
        return out


# --- storing ------------------------------------------------------------------------------------

_FIELDS = (
    "region_code",
    "year",
    "kind",
    "title",
    "planned_on",
    "status",
    "evidence_publication_id",
    "evidence_url",
)


def _outside(actor: Actor, row: int, region: str | None) -> RowProblem:
    mine = ", ".join(actor.region_codes)
    if region is None:
        return RowProblem(
            row,
            column="region",
            code="row_event_republic_not_yours",
            params={"regions": mine},
        )
    return RowProblem(
        row,
        column="region",
        code="row_event_outside_your_regions",
        params={"region": region, "regions": mine},
    )


def _allowed(session: Session, actor: Actor, rows: Columns) -> tuple[Columns, list[RowProblem]]:
    """Keep the rows in the user's regions whose evidence publication exists there."""
    problems: list[RowProblem] = []
    if actor.role == "coordinator":
        problems += [
            _outside(actor, int(r), c)
            for r, c in zip(rows["row"], rows["region_code"], strict=True)
            if c not in actor.region_codes
        ]
    found = _publication_regions(session, rows["evidence_publication_id"])
    for r, pub, region in zip(
        rows["row"], rows["evidence_publication_id"], rows["region_code"], strict=True
    ):
        problem = _evidence_problem(pub, region, found)
        if problem is not None:
            problems.append(
                RowProblem(
                    int(r), str(problem), "evidence", code=problem.code, params=dict(problem.params)
                )
            )
    refused = {p.row for p in problems}
    keep = np.array([int(r) not in refused for r in rows["row"]], dtype=bool)
    return take(rows, keep), problems


def _publication_regions(session: Session, ids: Iterable[object]) -> dict[int, str]:
    """Return the region of each stored publication among `ids`."""
    wanted = sorted({int(str(i)) for i in ids if i is not None})
    if not wanted:
        return {}
    query = sa.select(Publication.id, Publication.region_code).where(Publication.id.in_(wanted))
    return {int(i): str(code) for i, code in session.execute(query)}


def _evidence_problem(
    pub: int | None, region: str | None, found: Mapping[int, str]
) -> RecordError | None:
    if pub is None:
        return None
    if pub not in found:
        return RecordError(code="event_evidence_unknown", id=pub)
    if region is not None and found[pub] != region:
        return RecordError(
            code="event_evidence_other_region", id=pub, found=found[pub], region=region
        )
    return None


def _stored(session: Session, keys: Sequence[str]) -> dict[str, EventPlanItem]:
    out: dict[str, EventPlanItem] = {}
    for start in range(0, len(keys), 900):
        chunk = list(keys[start : start + 900])
        query = sa.select(EventPlanItem).where(EventPlanItem.external_key.in_(chunk))
        out.update({item.external_key: item for item in session.scalars(query)})
    return out


def _store(
    session: Session, actor: Actor, rows: Columns, batch_id: int | None
) -> tuple[list[int], int, int]:
    """Insert new items and update changed ones; return new ids, updated and unchanged counts."""
    stored = _stored(session, list(rows["external_key"]))
    now, fresh, changes = utcnow(), [], []
    for i, key in enumerate(rows["external_key"]):
        values = {f: _plain(rows[f][i]) for f in _FIELDS}
        item = stored.get(key)
        if item is None:
            fresh.append(
                EventPlanItem(
                    external_key=key,
                    import_batch_id=batch_id,
                    created_by=actor.id,
                    created_at=now,
                    updated_by=actor.id,
                    updated_at=now,
                    **values,
                )
            )
            continue
        if values["evidence_publication_id"] is None and values["evidence_url"] is None:
            values["evidence_publication_id"] = item.evidence_publication_id  # an empty cell
            values["evidence_url"] = item.evidence_url  # keeps the evidence stored
        old, new = changed_values(snapshot(item, _FIELDS), jsonable(values))
        if new:
            for name in new:
                setattr(item, name, values[name])
            item.updated_by, item.updated_at = actor.id, now
            changes.append((item.id, old, new))
    add_created(session, fresh, actor=actor, table="event_plan_items")
    record_many(session, actor=actor, action="update", table="event_plan_items", items=changes)
    unchanged = len(rows["external_key"]) - len(fresh) - len(changes)
    return [item.id for item in fresh], len(changes), unchanged


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def import_event_plan(
    engine: Bind,
    source: Path | str | bytes,
    *,
    user: UserRef,
    filename: str | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> EventImportResult:
    """Import the items of a republican or regional plan of events from a CSV or XLSX file.

    Columns are matched by name in English, Russian or Kazakh (see
    `EVENT_COLUMNS`): ``kind``, ``title`` and ``year`` (or ``planned_on``) are
    needed; ``region`` (empty: the republican plan), ``document`` and
    ``item_no`` (the external key of an item), ``status`` (planned by default)
    and ``evidence`` (a publication id or an http(s) address) are optional.
    Every row is checked and problems are reported with row numbers; the good
    rows are stored in one transaction. An item already stored (same region,
    year, plan document and item number; without an item number, same kind,
    title and date) is updated when its status, date or evidence changed, so
    importing the same file twice adds nothing.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns.
    source
        The file, or its content (an upload).
    user
        Who imports: coordinators only items of their regions.
    filename
        Name of the file (its extension tells the format); needed with content.
    max_bytes
        Largest file accepted.

    Returns
    -------
    EventImportResult

    Raises
    ------
    InputFileError
        When the file cannot be read or lacks the required columns.
    AccessDeniedError
        When `user` may not log publications and events at all.
    """
    name = _display_name(source, filename)
    raw, digest = read_table(source, name=name, max_bytes=max_bytes)
    table = event_table(raw, name)
    with reading(engine) as session:
        require(actor_in(session, user), "log_publications")
    checked, problems = check_event_rows(table)

    def write(session: Session, _attempt: int) -> EventImportResult:
        actor = actor_in(session, user)
        rows, refused = _allowed(session, actor, checked)
        batch = _batch(session, actor, name, digest, "event_plan")
        ids, updated, unchanged = _store(session, actor, rows, batch.id)
        errors = sorted(problems + refused, key=lambda q: q.row)
        result = EventImportResult(
            len(table), len(ids), unchanged, errors, 0, ids, batch.id, updated=updated
        )
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, name, write)


# --- one item's status, and indicator 1 -----------------------------------------------------


def set_event_status(
    engine: Bind,
    item_id: int,
    status: str,
    *,
    user: UserRef,
    evidence: int | str | None = None,
) -> EventPlanRecord:
    """Mark an item of a plan planned, held or cancelled, with the evidence that it was held.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns.
    item_id
        Id of the plan item.
    status
        ``planned``, ``held`` or ``cancelled`` (or their Russian or Kazakh names).
    user
        Who changes it: coordinators only items of their regions.
    evidence
        Id of a publication of the registry in the item's region, or an http(s)
        address; None keeps the evidence stored.

    Returns
    -------
    EventPlanRecord

    Raises
    ------
    RecordError
        For an unknown item, status or publication, or evidence that is neither.
    AccessDeniedError
        When `user` may not change the item.
    """
    canonical = EVENT_STATUS_ALIASES.get(column_key(status))
    if canonical is None:
        allowed = ", ".join(EVENT_STATUSES)
        raise RecordError(code="event_status_unknown", value=status, allowed=allowed)
    pub, url = one_evidence(evidence)
    with writing(engine) as session:
        actor = actor_in(session, user)
        item = session.get(EventPlanItem, int(item_id))
        if item is None:
            raise RecordError(code="event_item_unknown", id=item_id)
        _require_item(actor, item)
        if pub is not None:
            found = _publication_regions(session, [pub])
            problem = _evidence_problem(pub, item.region_code, found)
            if problem is not None:
                raise problem
        old = snapshot(item, _FIELDS)
        item.status = canonical
        if pub is not None or url is not None:
            item.evidence_publication_id, item.evidence_url = pub, url
        item.updated_by, item.updated_at = actor.id, utcnow()
        session.flush()
        before, after = changed_values(old, snapshot(item, _FIELDS))
        record_change(
            session,
            actor=actor,
            action="update",
            table="event_plan_items",
            record_id=item.id,
            old=before,
            new=after,
        )
        return _record(item)


def _require_item(actor: Actor, item: EventPlanItem) -> None:
    require(actor, "log_publications", item.region_code)
    if actor.role == "coordinator" and item.region_code is None:
        raise AccessDeniedError(code="denied_republic_plan", user=actor.username, id=item.id)


def list_event_items(
    engine: Bind, *, year: int | None = None, ids: Sequence[int] | None = None
) -> list[EventPlanRecord]:
    """Return the items of the plans of events (of one year, or these ids), by region and date."""
    query = sa.select(EventPlanItem).order_by(
        EventPlanItem.year, EventPlanItem.region_code, EventPlanItem.planned_on, EventPlanItem.id
    )
    if year is not None:
        query = query.where(EventPlanItem.year == int(year))
    if ids is not None:
        query = query.where(EventPlanItem.id.in_([int(i) for i in ids]))
    with reading(engine) as session:
        return [_record(item) for item in session.scalars(query)]


# --- items planned by nudge itself (a rollout's flights) ----------------------------------------


def store_planned_items(
    engine: Bind, items: pd.DataFrame, *, user: UserRef, source: str, digest: str
) -> EventImportResult:
    """Store plan items that nudge planned (a rollout's flights), one per external key.

    `items` has ``external_key``, ``region_code``, ``year``, ``kind``, ``title`` and
    ``planned_on``. An item already stored keeps its status and evidence (a flight marked
    held stays held) and changes only when its date or title did, so storing the same items
    twice adds nothing. Coordinators store only the items of their regions; the others are
    returned as errors. `source` and `digest` name the import batch (the rollout).
    """
    table = items.reset_index(drop=True)
    with reading(engine) as session:
        require(actor_in(session, user), "log_publications")

    def write(session: Session, _attempt: int) -> EventImportResult:
        actor = actor_in(session, user)
        keys = [str(k) for k in table["external_key"]]
        stored = _stored(session, keys)
        fields = ("external_key", "region_code", "year", "kind", "title", "planned_on")
        rows = {f: table[f].to_numpy(dtype=object) for f in fields}
        rows["row"] = np.arange(1, len(table) + 1)
        rows["status"] = np.array([stored[k].status if k in stored else "planned" for k in keys])
        rows["evidence_publication_id"] = np.full(len(table), None, dtype=object)
        rows["evidence_url"] = np.full(len(table), None, dtype=object)
        kept, refused = _allowed(session, actor, rows)
        batch = _batch(session, actor, source, digest, "event_plan")
        ids, updated, unchanged = _store(session, actor, kept, batch.id)
        errors = sorted(refused, key=lambda q: q.row)
        result = EventImportResult(
            len(table), len(ids), unchanged, errors, 0, ids, batch.id, updated=updated
        )
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, source, write)
