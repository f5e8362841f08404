"""Checks of uploaded photos by content: size, format, pixels, EXIF time and GPS, clean JPEG."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from nudge._errors import InputFileError, Notice

DEFAULT_MAX_PHOTO_BYTES = 20 * 1024 * 1024
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
    mb = f"{max_bytes / 2**20:.0f}"  # a megabyte of 1,024 x 1,024 bytes, as the limit is set
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
