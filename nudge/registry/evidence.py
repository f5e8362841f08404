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
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nudge._errors import InputFileError, Notice, RecordError
from nudge.geo.districts import DistrictLayer
from nudge.registry._bind import Bind, owns_transaction, reading, writing
from nudge.registry._store import DEFAULT_DUPLICATE_RADIUS_M, distance_between
from nudge.registry.audit import record_change, utcnow
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.installations import checked_installation, log_in_session
from nudge.registry.models import Flag, Installation, InstallationPhoto, Photo
from nudge.registry.records import FlagRecord, InstallationRecord, flag_record, get_installation

DEFAULT_MAX_PHOTO_BYTES = 20 * 1024 * 1024
DEFAULT_PHOTO_DISTANCE_M = 100.0
MAX_PIXELS = 80_000_000
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "TIFF"})
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED, _DATETIME = 36867, 36868, 306


@dataclass(frozen=True, slots=True)
class PhotoFacts:
    """What was learnt from an uploaded photo."""

    sha256: str
    format: str
    width: int
    height: int
    bytes: int
    taken_at: datetime | None
    gps_lat: float | None
    gps_lon: float | None


def sanitise_filename(name: str | None) -> str | None:
    """Return a harmless display form of an uploaded file's name (no folders, no controls)."""
    if not name:
        return None
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"[<>:\"|?*]", "_", base).strip(" .")
    return base[:200] or None


def _too_large(max_bytes: int) -> InputFileError:
    mb = f"{max_bytes / 1e6:.0f}"
    return InputFileError(code="photo_too_large", mb=mb)


def _read_bytes(photo: bytes | Path | str, max_bytes: int) -> bytes:
    if isinstance(photo, bytes | bytearray):
        data = bytes(photo)
    else:
        path = Path(photo)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputFileError(
                code="photo_unreadable_file", name=path.name, reason=str(exc.strerror)
            ) from exc
        if size > max_bytes:
            raise _too_large(max_bytes)
        data = path.read_bytes()
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    if not data:
        raise InputFileError(code="photo_empty")
    return data


_KINDS = "JPEG, PNG, WebP or TIFF"


def _not_a_photo(exc: Exception, name: str | None) -> InputFileError:
    """Say in words why an upload is no photo, naming the file (never PIL's own text)."""
    if isinstance(exc, Image.DecompressionBombError):
        why = Notice(code="photo_reason_too_many_pixels")
    elif isinstance(exc, UnidentifiedImageError):
        why = Notice(code="photo_reason_not_image")
    else:
        why = Notice(code="photo_reason_damaged")
    if name is None:
        return InputFileError(code="photo_not_image", reason=why)
    return InputFileError(code="photo_unreadable_named", name=name, reason=why)


_UNREADABLE = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)


def _probe(data: bytes, name: str | None) -> tuple[str, int, int]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt, (width, height) = probe.format or "", probe.size
            probe.verify()
    except _UNREADABLE as exc:
        raise _not_a_photo(exc, name) from exc
    return fmt, width, height


def _open_checked(data: bytes, name: str | None) -> Image.Image:
    fmt, width, height = _probe(data, name)
    if fmt not in ALLOWED_FORMATS:
        raise InputFileError(code="photo_format", format=fmt or "?")
    if width * height > MAX_PIXELS:
        raise InputFileError(
            code="photo_too_many_pixels",
            width=width,
            height=height,
            megapixels=f"{MAX_PIXELS / 1e6:g}",
        )
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except _UNREADABLE as exc:
        raise _not_a_photo(exc, name) from exc
    return image


def _rational(value: Any) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]) / float(value[1])
    return float(value)


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    try:
        lat = sum(_rational(v) / 60**i for i, v in enumerate(gps[2]))
        lon = sum(_rational(v) / 60**i for i, v in enumerate(gps[4]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def _taken_at(exif: Image.Exif) -> datetime | None:
    sub = exif.get_ifd(_EXIF_IFD)
    raw = sub.get(_DATETIME_ORIGINAL) or sub.get(_DATETIME_DIGITIZED) or exif.get(_DATETIME)
    if not raw:
        return None
    try:
        return datetime.strptime(str(raw).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _clean_jpeg(image: Image.Image) -> bytes:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, optimize=True)
    return out.getvalue()


def inspect_photo(
    photo: bytes | Path | str,
    *,
    max_bytes: int = DEFAULT_MAX_PHOTO_BYTES,
    name: str | None = None,
) -> tuple[PhotoFacts, bytes]:
    """Check an uploaded photo and return its facts and a clean JPEG copy.

    Parameters
    ----------
    photo
        The uploaded bytes, or a file.
    max_bytes
        Largest upload accepted.
    name
        Name of the file for messages; by default the file's name (none for bytes).

    Raises
    ------
    InputFileError
        When the upload is too large, empty, not an image, or of a kind not accepted.
    """
    if name is None and not isinstance(photo, bytes | bytearray):
        name = Path(photo).name
    data = _read_bytes(photo, max_bytes)
    image = _open_checked(data, name)
    exif = image.getexif()
    lat, lon = _gps(exif)
    facts = PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        format=str(image.format),
        width=image.width,
        height=image.height,
        bytes=len(data),
        taken_at=_taken_at(exif),
        gps_lat=lat,
        gps_lon=lon,
    )
    return facts, _clean_jpeg(image)


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
