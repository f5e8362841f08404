"""Logging installations, changing their status and details, reading them back.

An installation's life: planned → ordered → installed → verified → damaged →
replaced → removed (see `TRANSITIONS`; anything else is refused). Every
change checks the user's role and region, and writes the audit log in the
same transaction: a transaction of its own when given an engine, the caller's
when given a session (see `nudge.registry._bind`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nudge._errors import RecordError
from nudge.geo.districts import DistrictLayer
from nudge.registry._bind import Bind, reading, writing
from nudge.registry._store import (
    DEFAULT_DUPLICATE_RADIUS_M,
    known_or_near,
    sites_by_id,
    store_installations,
)
from nudge.registry._validate import (
    Columns,
    SiteInfo,
    installation_uids,
    is_missing,
    validate_installations,
)
from nudge.registry._validate_one import checked_row, single_row_cells
from nudge.registry.audit import changed_values, record_change, snapshot, utcnow
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.models import Flag, Installation, InstallationPhoto, StatusChange
from nudge.registry.records import (
    FlagRecord,
    InstallationRecord,
    flag_record,
    new_record,
    records_for,
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"ordered", "installed", "removed"}),
    "ordered": frozenset({"installed", "removed"}),
    "installed": frozenset({"verified", "damaged", "removed"}),
    "verified": frozenset({"damaged", "removed"}),
    "damaged": frozenset({"replaced", "removed"}),
    "replaced": frozenset({"verified", "damaged", "removed"}),
    "removed": frozenset(),
}
"""Allowed status changes: from a status to the statuses it may become."""

EDITABLE_FIELDS = (
    "lat",
    "lon",
    "content_id",
    "themes",
    "size",
    "facing_deg",
    "illuminated",
    "city",
    "installed_on",
    "removed_on",
    "note",
)


def _single_row(fields: Mapping[str, Any]) -> Columns:
    """Return the fields of one installation as columns of one cell each (no DataFrame)."""
    out: Columns = {"row": np.array([1])}
    for name, value in single_row_cells(fields).items():
        cell = np.empty(1, dtype=object)
        cell[0] = value
        out[name] = cell
    return out


def _check_one(
    fields: Mapping[str, Any], sites: Mapping[str, SiteInfo], districts: DistrictLayer | None
) -> Columns:
    fast = checked_row(fields, sites=sites, districts=districts)
    if fast is not None:  # a good row, checked value by value
        return fast
    checked = validate_installations(_single_row(fields), sites=sites, districts=districts)
    problems = checked.problems
    if not problems:
        return checked.columns
    if len(problems) == 1:  # the problem itself, in the user's language
        raise RecordError(problems[0].message, code=problems[0].code, **problems[0].params)
    columns = ", ".join(dict.fromkeys(p.column or "?" for p in problems))
    reasons = tuple((p.code, dict(p.params)) for p in problems)  # each said in the user's language
    raise RecordError(
        code="installation_invalid",
        n=len(problems),
        columns=columns,
        problems=tuple(problems),
        reasons=reasons,
    )


def log_installation(
    engine: Bind,
    *,
    user: UserRef,
    kind: str,
    lat: float | None = None,
    lon: float | None = None,
    site_id: str | None = None,
    installed_on: date | str | None = None,
    status: str = "installed",
    removed_on: date | str | None = None,
    content_id: str | None = None,
    themes: Sequence[str] | str = (),
    size: str | None = None,
    facing_deg: float | None = None,
    illuminated: bool | None = None,
    city: str | None = None,
    external_id: str | None = None,
    note: str | None = None,
    districts: DistrictLayer | None = None,
    duplicate_radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
) -> InstallationRecord:
    """Log one installation.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns: the installation is
        then stored in the caller's transaction, committed or rolled back by the caller.
    user
        Who logs it: a planner, admin, or coordinator of the point's region.
    kind
        ``banner``, ``billboard``, ``city_light``, ``photo_exhibition`` or
        ``led_screen`` (Russian and Kazakh names are understood too).
    lat, lon
        Location in decimal degrees; may be left out when `site_id` names a
        planned site. Points outside Kazakhstan are refused.
    site_id
        Planned site this installation realises (see `import_plan`).
    installed_on, status, removed_on
        Install date (required from ``installed`` on), first status (default
        ``installed``; never ``verified``), removal date (for ``removed``).
    content_id, themes
        Content item shown (its id in the content library) and its themes as
        given now (used by the per-theme indicators).
    size, facing_deg, illuminated, city, external_id, note
        Details; `facing_deg` is the bearing the face looks to (0–360);
        `city` overrides the city found from the location.
    districts
        District layer to assign the city district.
    duplicate_radius_m
        Flag the installation when an active one of the same kind is closer.

    Returns
    -------
    InstallationRecord
        With a ``duplicate`` flag when one was found.

    Raises
    ------
    RecordError
        When a value is invalid or the same installation is already logged.
    AccessDeniedError
        When `user` may not log installations in the point's region.
    """
    fields = {
        "kind": kind,
        "lat": lat,
        "lon": lon,
        "site_id": site_id,
        "installed_on": installed_on,
        "status": status,
        "removed_on": removed_on,
        "content_id": content_id,
        "themes": themes,
        "size": size,
        "facing_deg": facing_deg,
        "illuminated": illuminated,
        "city": city,
        "external_id": external_id,
        "note": note,
    }
    rows = checked_installation(engine, user, fields, districts)
    try:
        with writing(engine) as session:
            return log_in_session(session, user, rows, duplicate_radius_m=duplicate_radius_m)
    except IntegrityError as exc:
        raise RecordError(code="installation_concurrent") from exc


def checked_installation(
    engine: Bind,
    user: UserRef,
    fields: Mapping[str, Any],
    districts: DistrictLayer | None = None,
) -> Columns:
    """Return the checked columns of one installation to log (see `log_installation`).

    Raises
    ------
    RecordError
        When a value is invalid.
    """
    return _checked_fields(engine, user, dict(fields), districts)


def log_in_session(
    session: Session,
    user: UserRef,
    rows: Columns,
    *,
    duplicate_radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
) -> InstallationRecord:
    """Log one checked installation inside the caller's transaction; return its record.

    The caller owns the session: logging an installation together with its photo is one
    transaction (`nudge.registry.evidence.log_with_photo`), both or neither.
    """
    actor = actor_in(session, user)
    require(actor, "edit_installations", rows["region_code"][0])
    uids = installation_uids(rows)
    known, matches = known_or_near(session, rows, uids, duplicate_radius_m, claim=True)
    if known:
        _raise_existing(session, uids[0])
    stored = store_installations(
        session, actor, rows, uids, source="logged", radius_m=duplicate_radius_m, matches=matches
    )
    new_id = stored.ids[0]
    return new_record({**stored.records[0], "id": new_id}, stored.flags.get(new_id, []))


def _checked_fields(
    engine: Bind, user: UserRef, fields: Mapping[str, Any], districts: DistrictLayer | None
) -> Columns:
    """Check one installation's fields outside the writing transaction.

    The database is read first only to look up a planned site; a user who may
    not log installations at all hears that rather than what is wrong with
    the values (the writing transaction checks the user again in any case).
    """
    site_id = fields.get("site_id")
    sites: dict[str, SiteInfo] = {}
    if site_id is not None and str(site_id).strip():
        with reading(engine) as session:
            require(actor_in(session, user), "edit_installations")
            sites = sites_by_id(session, [site_id])
    try:
        return _check_one(fields, sites, districts)
    except RecordError:
        with reading(engine) as session:
            require(actor_in(session, user), "edit_installations")
        raise


def _raise_existing(session: Session, uid: str) -> None:
    found = session.scalar(sa.select(Installation.id).where(Installation.uid == uid))
    raise RecordError(code="installation_exists", id=found)


def _load_for_change(session: Session, installation_id: int) -> Installation:
    inst = session.scalar(
        sa.select(Installation).where(Installation.id == installation_id).with_for_update()
    )
    if inst is None:
        raise RecordError(code="installation_missing", id=installation_id)
    return inst


def _check_version(inst: Installation, expected_version: int | None) -> None:
    if expected_version is not None and inst.version != expected_version:
        raise RecordError(
            code="version_conflict",
            id=inst.id,
            version=inst.version,
            expected=expected_version,
        )


def change_status(
    engine: Bind,
    installation_id: int,
    status: str,
    *,
    user: UserRef,
    on: date | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> InstallationRecord:
    """Move an installation to a new status (see `TRANSITIONS`).

    ``installed`` sets the install date and ``removed`` the removal date to
    `on` (default today). ``verified`` needs at least one evidence photo and
    no open flag.

    Raises
    ------
    RecordError
        For an illegal transition, a missing photo, open flags, a date before
        the install date, or a record changed meanwhile (`expected_version`).
    AccessDeniedError
        When `user` may not change installations in its region.
    """
    when = on or date.today()
    with writing(engine) as session:
        actor = actor_in(session, user)
        inst = _load_for_change(session, installation_id)
        require(actor, "edit_installations", inst.region_code)
        _check_version(inst, expected_version)
        _check_transition(session, inst, status, when)
        old = snapshot(inst, ["status", "installed_on", "removed_on"])
        previous = inst.status
        inst.status = status
        if status == "installed" and inst.installed_on is None:
            inst.installed_on = when
        if status == "removed":
            inst.removed_on = when
        inst.updated_at = utcnow()
        session.add(
            StatusChange(
                installation_id=inst.id,
                old_status=previous,
                new_status=status,
                effective_on=when,
                changed_at=inst.updated_at,
                user_id=actor.id,
                note=note,
            )
        )
        session.flush()
        new = snapshot(inst, ["status", "installed_on", "removed_on"])
        record_change(
            session,
            actor=actor,
            action="status",
            table="installations",
            record_id=inst.id,
            old=old,
            new={**new, "note": note},
        )
        return records_for(session, [inst])[0]


def _check_transition(session: Session, inst: Installation, status: str, when: date) -> None:
    allowed = TRANSITIONS.get(inst.status, frozenset())
    if status not in allowed:
        move = {"id": inst.id, "old": inst.status, "new": status}
        if not allowed:
            raise RecordError(code="status_final", **move)
        raise RecordError(code="status_transition", options=", ".join(sorted(allowed)), **move)
    if inst.installed_on is not None and when < inst.installed_on:
        raise RecordError(
            code="status_date_before_install",
            date=when,
            id=inst.id,
            installed=inst.installed_on,
        )
    if status != "verified":
        return
    photos = session.scalar(
        sa.select(sa.func.count()).where(InstallationPhoto.installation_id == inst.id)
    )
    if not photos:
        raise RecordError(code="verify_needs_photo", id=inst.id)
    open_flags = session.scalars(
        sa.select(Flag.message).where(Flag.installation_id == inst.id, Flag.resolved_at.is_(None))
    ).all()
    if open_flags:
        raise RecordError(code="verify_open_flags", id=inst.id, n=len(open_flags))


def update_installation(
    engine: Bind,
    installation_id: int,
    changes: Mapping[str, Any],
    *,
    user: UserRef,
    districts: DistrictLayer | None = None,
    expected_version: int | None = None,
) -> InstallationRecord:
    """Change details of an installation (not its status: see `change_status`).

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (see `log_installation`).
    installation_id
        The installation to change.
    changes
        New values of any of `EDITABLE_FIELDS`; a new location re-assigns the
        region, city and district.
    user
        Who changes it; a coordinator must cover both the old and new region.
    districts
        District layer for a new location.
    expected_version
        The `InstallationRecord.version` the user edited; a record changed
        meanwhile is refused instead of overwritten.

    Returns
    -------
    InstallationRecord
    """
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise RecordError(
            code="fields_not_editable",
            fields=", ".join(unknown),
            editable=", ".join(EDITABLE_FIELDS),
        )
    with writing(engine) as session:
        actor = actor_in(session, user)
        inst = _load_for_change(session, installation_id)
        require(actor, "edit_installations", inst.region_code)
        _check_version(inst, expected_version)
        fields = _current_fields(inst)
        fields.update(changes)
        if "lat" in changes or "lon" in changes:
            fields["city"] = changes.get("city")
        row = {name: values[0] for name, values in _check_one(fields, {}, districts).items()}
        require(actor, "edit_installations", row["region_code"])
        old = snapshot(inst, [*EDITABLE_FIELDS, "region_code", "district"])
        for name in [*EDITABLE_FIELDS, "region_code"]:
            setattr(inst, name, _plain(row[name]))
        if districts is not None or "lat" in changes or "lon" in changes:
            inst.district = _plain(row["district"])
        inst.updated_at = utcnow()
        session.flush()
        before, after = changed_values(old, snapshot(inst, list(old)))
        record_change(
            session,
            actor=actor,
            action="update",
            table="installations",
            record_id=inst.id,
            old=before,
            new=after,
        )
        return records_for(session, [inst])[0]


def _current_fields(inst: Installation) -> dict[str, Any]:
    status = {"verified": "installed", "damaged": "installed", "replaced": "installed"}
    fields: dict[str, Any] = {name: getattr(inst, name) for name in EDITABLE_FIELDS}
    fields.update(kind=inst.kind, status=status.get(inst.status, inst.status))
    return fields


def _plain(value: Any) -> Any:
    if is_missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def resolve_flag(engine: Bind, flag_id: int, *, user: UserRef, note: str) -> FlagRecord:
    """Mark a flag as reviewed, with a note saying why it is not a mistake or how it was fixed."""
    if not note.strip():
        raise RecordError(code="flag_note_missing")
    with writing(engine) as session:
        actor = actor_in(session, user)
        flag = session.get(Flag, flag_id, with_for_update=True)
        if flag is None:
            raise RecordError(code="flag_missing", id=flag_id)
        inst = session.get_one(Installation, flag.installation_id)
        require(actor, "resolve_flags", inst.region_code)
        if flag.resolved_at is not None:
            raise RecordError(code="flag_resolved", id=flag_id)
        flag.resolved_at = utcnow()
        flag.resolved_by = actor.id
        flag.resolution_note = note.strip()
        record_change(
            session,
            actor=actor,
            action="resolve",
            table="flags",
            record_id=flag.id,
            old={"resolved": False},
            new={"resolved": True, "note": note.strip()},
        )
        return flag_record(flag)
