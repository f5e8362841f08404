"""Photo evidence of installations.

An upload is checked by its content (a real JPEG, PNG, WebP or TIFF image,
within a size and pixel limit), re-encoded as a clean JPEG (which drops any
embedded scripts, trailing payloads and metadata), and stored once under the
photo folder by the SHA-256 of the upload: ``<photo_dir>/ab/abcdef….jpg``.
The file name the user gave is never used on the filesystem; a sanitised copy
is only kept in the database.

The EXIF time and GPS position are read before re-encoding. The installation
is flagged (never changed) when the photo has no GPS, was taken farther than
`max_distance_m` from the logged location, was taken before the install date,
or is the same photo as evidence elsewhere.

The checks of an upload (`inspect_photo`) are in `nudge.registry._photos`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nudge._errors import RecordError
from nudge.geo.districts import DistrictLayer
from nudge.registry._bind import Bind, owns_transaction, reading, writing
from nudge.registry._photos import (
    DEFAULT_MAX_PHOTO_BYTES,
    PhotoFacts,
    inspect_photo,
    sanitise_filename,
)
from nudge.registry._store import DEFAULT_DUPLICATE_RADIUS_M, distance_between
from nudge.registry.audit import record_change, utcnow
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.installations import checked_installation, log_in_session
from nudge.registry.models import Flag, Installation, InstallationPhoto, Photo
from nudge.registry.records import FlagRecord, InstallationRecord, flag_record, get_installation

__all__ = [
    "DEFAULT_MAX_PHOTO_BYTES",
    "DEFAULT_PHOTO_DISTANCE_M",
    "EvidenceResult",
    "LoggedWithPhoto",
    "PhotoFacts",
    "PhotoRecord",
    "attach_photo",
    "inspect_photo",
    "log_with_photo",
    "photos_of_installation",
    "sanitise_filename",
    "stored_name",
]

DEFAULT_PHOTO_DISTANCE_M = 100.0


def stored_name(sha256: str) -> str:
    """Return the path of a stored photo relative to the photo folder."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        msg = f"{sha256!r} is not a SHA-256 hex digest."
        raise RecordError(msg)
    return f"{sha256[:2]}/{sha256}.jpg"


def _write_once(photo_dir: Path, name: str, content: bytes) -> Path:
    target = photo_dir / name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True, slots=True)
class EvidenceResult:
    """The outcome of attaching a photo: where it is stored and the flags it raised."""

    photo_id: int
    installation_id: int
    path: Path
    reused: bool
    facts: PhotoFacts
    flags: tuple[FlagRecord, ...]


def _evidence_flags(
    inst: Installation,
    photo: Photo,
    facts: PhotoFacts,
    *,
    reused_by: list[int],
    max_distance_m: float,
) -> list[Flag]:
    now = utcnow()

    def flag(code: str, message: str, **extra: Any) -> Flag:
        return Flag(
            installation_id=inst.id,
            photo_id=photo.id,
            code=code,
            message=message,
            created_at=now,
            **extra,
        )

    flags = []
    if facts.gps_lat is None or facts.gps_lon is None:
        flags.append(flag("photo_no_gps", "The photo has no GPS position; the place is unproven."))
    else:
        d = distance_between(inst.lat, inst.lon, facts.gps_lat, facts.gps_lon)
        if d > max_distance_m:
            flags.append(
                flag(
                    "photo_far",
                    f"The photo was taken {d:,.0f} m from the logged location "
                    f"(more than {max_distance_m:,.0f} m).",
                    distance_m=d,
                )
            )
    taken = facts.taken_at.date() if facts.taken_at is not None else None
    if taken is not None and inst.installed_on is not None and taken < inst.installed_on:
        flags.append(
            flag(
                "photo_older",
                f"The photo was taken on {taken}, before the install date {inst.installed_on}.",
            )
        )
    if reused_by:
        others = ", ".join(f"#{i}" for i in reused_by)
        flags.append(
            flag(
                "photo_reused",
                f"The same photo is already evidence for installation {others}.",
                other_installation_id=reused_by[0],
            )
        )
    return flags


def _photo_row(
    session: Session, facts: PhotoFacts, actor_id: int, original_name: str | None
) -> tuple[Photo, bool]:
    """Return the stored photo of `facts` (stored first when new) and whether it was there before.

    The row is inserted with ``ON CONFLICT DO NOTHING`` and then read: when the
    same new photo is attached elsewhere at the same moment, one attach stores
    it and the others find it stored (PostgreSQL makes them wait for the first
    to commit), so "already stored" is a re-use, never an error.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {
        "sha256": facts.sha256,
        "stored_name": stored_name(facts.sha256),
        "original_name": original_name,
        "format": facts.format,
        "bytes": facts.bytes,
        "width": facts.width,
        "height": facts.height,
        "taken_at": facts.taken_at,
        "gps_lat": facts.gps_lat,
        "gps_lon": facts.gps_lon,
        "uploaded_by": actor_id,
        "uploaded_at": utcnow(),
    }
    stmt = insert(Photo).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
    stored = session.scalar(stmt.returning(Photo.id)) is not None
    photo = session.scalars(sa.select(Photo).where(Photo.sha256 == facts.sha256)).one()
    return photo, not stored


def attach_photo(
    engine: Bind,
    installation_id: int,
    photo: bytes | Path | str,
    *,
    user: UserRef,
    photo_dir: Path,
    filename: str | None = None,
    max_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
    max_distance_m: float = DEFAULT_PHOTO_DISTANCE_M,
) -> EvidenceResult:
    """Check a photo, store it once by SHA-256, and attach it as evidence.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (the photo is then
        attached in the caller's transaction; its file is written at once and
        stays, unused, if the caller rolls back).
    installation_id
        The installation the photo shows.
    photo
        The uploaded bytes, or a file.
    user
        Who attaches it (same rights as changing the installation).
    photo_dir
        Folder of stored photos (`Settings.photo_dir`).
    filename
        Name the user gave the file; kept (sanitised) for display only.
    max_bytes
        Largest upload accepted.
    max_distance_m
        Flag the installation when the photo's GPS is farther than this.

    Returns
    -------
    EvidenceResult
        With the flags raised (no GPS, far, older than the install date,
        reused); the installation itself is not changed.
    """
    name = sanitise_filename(
        filename or (None if isinstance(photo, bytes | bytearray) else str(photo))
    )
    facts, clean = inspect_photo(photo, max_bytes=max_bytes, name=name)
    try:
        with writing(engine) as session:
            return _attach(
                session,
                installation_id,
                facts,
                clean,
                user=user,
                name=name,
                photo_dir=Path(photo_dir),
                max_distance_m=max_distance_m,
            )
    except IntegrityError as exc:  # attached to the same installation, or it changed, at once
        raise _attach_conflict(engine, installation_id, facts.sha256) from exc


@dataclass(frozen=True)
class LoggedWithPhoto:
    """An installation logged together with its evidence photo, in one transaction."""

    record: InstallationRecord
    evidence: EvidenceResult | None


def log_with_photo(
    engine: Bind,
    *,
    user: UserRef,
    fields: Mapping[str, Any],
    photo: tuple[str, bytes] | None,
    photo_dir: Path,
    districts: DistrictLayer | None = None,
    duplicate_radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
    max_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
    max_distance_m: float = DEFAULT_PHOTO_DISTANCE_M,
) -> LoggedWithPhoto:
    """Log an installation and attach its photo in one transaction: both are stored, or neither.

    The photo is checked before anything is written; a photo that cannot be stored or
    attached rolls the installation back too, so no installation is left without the
    evidence it was logged with.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (both steps then run in
        the caller's transaction).
    fields
        The keyword arguments of `nudge.registry.log_installation` (``kind``, ``lat``...).
    photo
        ``(file name, bytes)`` of the uploaded photo, or None to log without one.
    """
    rows = checked_installation(engine, user, fields, districts)
    checked = None
    if photo is not None:
        name = sanitise_filename(photo[0])
        checked = (name, *inspect_photo(photo[1], max_bytes=max_bytes, name=name))
    try:
        with writing(engine) as session:
            record = log_in_session(session, user, rows, duplicate_radius_m=duplicate_radius_m)
            evidence = None
            if checked is not None:
                name, facts, clean = checked
                evidence = _attach(
                    session,
                    record.id,
                    facts,
                    clean,
                    user=user,
                    name=name,
                    photo_dir=Path(photo_dir),
                    max_distance_m=max_distance_m,
                )
    except IntegrityError as exc:
        raise RecordError(code="installation_concurrent") from exc
    if evidence is not None:
        record = get_installation(engine, record.id)
    return LoggedWithPhoto(record, evidence)


def _attach_conflict(engine: Bind, installation_id: int, sha256: str) -> RecordError:
    if not owns_transaction(engine):  # the caller's transaction failed: it can read no more
        return _changed_meanwhile(installation_id)
    query = (
        sa.select(InstallationPhoto.id)
        .join(Photo, Photo.id == InstallationPhoto.photo_id)
        .where(InstallationPhoto.installation_id == installation_id, Photo.sha256 == sha256)
    )
    with reading(engine) as session:
        if session.scalar(query) is not None:
            return RecordError(code="photo_already_attached", id=installation_id)
    return _changed_meanwhile(installation_id)


def _changed_meanwhile(installation_id: int) -> RecordError:
    return RecordError(code="photo_attach_concurrent", id=installation_id)


def _attach(
    session: Session,
    installation_id: int,
    facts: PhotoFacts,
    clean: bytes,
    *,
    user: UserRef,
    name: str | None,
    photo_dir: Path,
    max_distance_m: float,
) -> EvidenceResult:
    actor = actor_in(session, user)
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise RecordError(code="installation_missing", id=installation_id)
    require(actor, "edit_installations", inst.region_code)
    row, reused = _photo_row(session, facts, actor.id, name)
    attached = _attached_to(session, row.id)
    if installation_id in attached:
        raise RecordError(code="photo_already_attached", id=installation_id)
    path = _write_once(photo_dir, row.stored_name, clean)
    session.add(
        InstallationPhoto(
            installation_id=inst.id, photo_id=row.id, attached_by=actor.id, attached_at=utcnow()
        )
    )
    flags = _evidence_flags(inst, row, facts, reused_by=attached, max_distance_m=max_distance_m)
    session.add_all(flags)
    session.flush()
    new = {"photo_id": row.id, "sha256": row.sha256, "flags": [f.code for f in flags]}
    record_change(
        session,
        actor=actor,
        action="attach_photo",
        table="installations",
        record_id=inst.id,
        new=new,
    )
    records = tuple(flag_record(f) for f in flags)
    return EvidenceResult(row.id, inst.id, path, reused, facts, records)


def _attached_to(session: Session, photo_id: int) -> list[int]:
    query = sa.select(InstallationPhoto.installation_id).where(
        InstallationPhoto.photo_id == photo_id
    )
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class PhotoRecord:
    """A stored evidence photo."""

    id: int
    path: Path
    original_name: str | None
    taken_at: datetime | None
    gps_lat: float | None
    gps_lon: float | None
    width: int
    height: int


def photos_of_installation(
    engine: Bind, installation_id: int, *, photo_dir: Path
) -> list[PhotoRecord]:
    """Return the evidence photos of an installation, in the order attached."""
    query = (
        sa.select(Photo)
        .join(InstallationPhoto, InstallationPhoto.photo_id == Photo.id)
        .where(InstallationPhoto.installation_id == installation_id)
        .order_by(InstallationPhoto.id)
    )
    with reading(engine) as session:
        return [
            PhotoRecord(
                p.id,
                Path(photo_dir) / p.stored_name,
                p.original_name,
                p.taken_at,
                p.gps_lat,
                p.gps_lon,
                p.width,
                p.height,
            )
            for p in session.scalars(query)
        ]
