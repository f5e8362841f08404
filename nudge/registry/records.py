"""Installations as read back from the registry: records, lists, status history.

Records are plain frozen dataclasses detached from the database, safe to keep
in an app session and to show; every list comes with photos and flags loaded
in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge._errors import RecordError
from nudge.geo.regions import REGION_BY_CODE
from nudge.registry._bind import Bind, reading
from nudge.registry.models import Flag, Installation, InstallationPhoto, StatusChange


@dataclass(frozen=True, slots=True)
class FlagRecord:
    """A possible mistake on an installation, shown to people until resolved."""

    id: int
    code: str
    message: str
    photo_id: int | None
    other_installation_id: int | None
    distance_m: float | None
    created_at: datetime
    resolved: bool


@dataclass(frozen=True, slots=True)
class InstallationRecord:
    """An installation as stored, with its evidence photos and flags."""

    id: int
    uid: str
    kind: str
    status: str
    lat: float
    lon: float
    region_code: str
    city: str | None
    district: str | None
    planned_site_id: int | None
    content_id: str | None
    themes: tuple[str, ...]
    size: str | None
    facing_deg: float | None
    illuminated: bool | None
    installed_on: date | None
    removed_on: date | None
    note: str | None
    source: str
    version: int
    created_at: datetime
    updated_at: datetime
    photo_ids: tuple[int, ...]
    flags: tuple[FlagRecord, ...]

    @property
    def region_name(self) -> str:
        """Return the English name of the installation's region."""
        return REGION_BY_CODE[self.region_code].name

    @property
    def open_flags(self) -> tuple[FlagRecord, ...]:
        """Return the flags nobody has resolved yet."""
        return tuple(f for f in self.flags if not f.resolved)

    @property
    def verified(self) -> bool:
        """Return whether the installation has photo evidence and no open flag."""
        return bool(self.photo_ids) and not self.open_flags


_STORED = tuple(f.name for f in fields(InstallationRecord) if f.name not in ("photo_ids", "flags"))
"""The fields of an `InstallationRecord` stored as columns of an installation."""
_FLAG_FIELDS = tuple(f.name for f in fields(FlagRecord) if f.name != "resolved")


def flag_record(f: Flag) -> FlagRecord:
    """Return a detached record of a flag."""
    return FlagRecord(
        f.id,
        f.code,
        f.message,
        f.photo_id,
        f.other_installation_id,
        f.distance_m,
        f.created_at,
        f.resolved_at is not None,
    )


_CHUNK = 900


def _photos_and_flags(
    session: Session, ids: list[int]
) -> tuple[dict[int, list[int]], dict[int, list[FlagRecord]]]:
    photos: dict[int, list[int]] = {}
    flags: dict[int, list[FlagRecord]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for inst_id, photo_id in session.execute(
            sa.select(InstallationPhoto.installation_id, InstallationPhoto.photo_id)
            .where(InstallationPhoto.installation_id.in_(chunk))
            .order_by(InstallationPhoto.id)
        ):
            photos.setdefault(inst_id, []).append(photo_id)
        for flag in session.scalars(
            sa.select(Flag).where(Flag.installation_id.in_(chunk)).order_by(Flag.id)
        ):
            flags.setdefault(flag.installation_id, []).append(flag_record(flag))
    return photos, flags


def records_for(
    session: Session, installations: Sequence[Installation]
) -> list[InstallationRecord]:
    """Return detached records of `installations`, with photos and flags loaded in bulk."""
    photos, flags = _photos_and_flags(session, [i.id for i in installations])
    return [
        _record({n: getattr(i, n) for n in _STORED}, photos.get(i.id, ()), flags.get(i.id, ()))
        for i in installations
    ]


def new_record(
    values: Mapping[str, Any], flags: Sequence[Mapping[str, Any]] = ()
) -> InstallationRecord:
    """Return the record of an installation just stored, from the values written.

    `values` holds the stored columns (with ``id``); `flags` the flags written
    with it. No photo can be attached yet, so reading it back would add nothing.
    """
    return _record(values, (), map(_new_flag, flags))


def _new_flag(flag: Mapping[str, Any]) -> FlagRecord:
    cells: dict[str, Any] = {n: flag.get(n) for n in _FLAG_FIELDS}
    return FlagRecord(**cells, resolved=False)


def _record(
    values: Mapping[str, Any], photo_ids: Iterable[int], flags: Iterable[FlagRecord]
) -> InstallationRecord:
    """Return the record of stored `values` (themes as text), its photos and flags."""
    themes = values["themes"]
    split = tuple(themes.split(",")) if themes else ()
    plain = {n: values[n] for n in _STORED if n != "themes"}
    return InstallationRecord(**plain, themes=split, photo_ids=tuple(photo_ids), flags=tuple(flags))


def list_installations(
    engine: Bind,
    *,
    ids: Sequence[int] | None = None,
    regions: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    active_on: date | None = None,
    limit: int | None = None,
) -> list[InstallationRecord]:
    """Return installations, oldest first, optionally filtered.

    Parameters
    ----------
    engine
        Engine of the registry, or a session (which sees its own uncommitted changes).
    ids
        Only these installations (e.g. the records behind an indicator).
    regions, kinds, statuses
        Only these region codes, kinds or statuses.
    active_on
        Only installations in place on this date (installed on or before it,
        not removed by then).
    limit
        Most records to return.

    Returns
    -------
    list of InstallationRecord
    """
    query = sa.select(Installation).order_by(Installation.id)
    if regions is not None:
        query = query.where(Installation.region_code.in_(list(regions)))
    if kinds is not None:
        query = query.where(Installation.kind.in_(list(kinds)))
    if statuses is not None:
        query = query.where(Installation.status.in_(list(statuses)))
    if active_on is not None:
        query = query.where(
            Installation.installed_on <= active_on,
            sa.or_(Installation.removed_on.is_(None), Installation.removed_on > active_on),
        )
    with reading(engine) as session:
        if ids is None:
            found = list(session.scalars(query.limit(limit)))
        else:  # in chunks: a drill-down may list more ids than one statement may bind
            wanted = sorted({int(i) for i in ids})
            found = [
                inst
                for start in range(0, len(wanted), _CHUNK)
                for inst in session.scalars(
                    query.where(Installation.id.in_(wanted[start : start + _CHUNK]))
                )
            ][:limit]
        return records_for(session, found)


def get_installation(engine: Bind, installation_id: int) -> InstallationRecord:
    """Return one installation with its photos and flags."""
    found = list_installations(engine, ids=[installation_id])
    if not found:
        raise RecordError(code="installation_missing", id=installation_id)
    return found[0]


@dataclass(frozen=True, slots=True)
class StatusStep:
    """One status change of an installation."""

    old_status: str | None
    new_status: str
    effective_on: date | None
    changed_at: datetime
    user_id: int
    note: str | None


def status_history(engine: Bind, installation_id: int) -> list[StatusStep]:
    """Return the status changes of an installation, oldest first."""
    with reading(engine) as session:
        steps = session.scalars(
            sa.select(StatusChange)
            .where(StatusChange.installation_id == installation_id)
            .order_by(StatusChange.id)
        )
        return [
            StatusStep(s.old_status, s.new_status, s.effective_on, s.changed_at, s.user_id, s.note)
            for s in steps
        ]
