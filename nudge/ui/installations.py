"""Registry steps of the Registry page: start-up, today's date, logging with a photo.

Also the two field helpers of the log form on a phone: which photo to log (the
camera's or the uploaded file) and the position the browser reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from nudge.registry.evidence import log_with_photo

__all__ = [
    "BrowserPosition",
    "browser_position",
    "engine_ready",
    "log_with_photo",
    "photo_to_log",
    "today",
]


@dataclass(frozen=True)
class BrowserPosition:
    """What the browser's geolocation answered: a position, or why there is none.

    Attributes
    ----------
    lat, lon
        The position in degrees (None when `error` is set).
    accuracy_m
        The radius of the browser's 95 % confidence, metres, when it gives one.
    error
        ``"denied"``, ``"unavailable"``, ``"timeout"`` or ``"unsupported"``; None on success.
    """

    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    error: str | None = None


_GEO_ERRORS = {1: "denied", 2: "unavailable", 3: "timeout"}


def browser_position(answer: Any) -> BrowserPosition | None:
    """Read the answer of the browser's ``navigator.geolocation`` (None: no answer yet).

    Parameters
    ----------
    answer
        The value `streamlit_js_eval.get_geolocation` returns: ``{"coords":
        {"latitude", "longitude", "accuracy", ...}, "timestamp"}``, or ``{"error":
        {"code", "message"}}`` when the user refused or the phone has no fix.

    Returns
    -------
    BrowserPosition or None
    """
    if not isinstance(answer, dict):
        return None
    coords = answer.get("coords")
    if isinstance(coords, dict):
        try:
            lat, lon = float(coords["latitude"]), float(coords["longitude"])
        except (KeyError, TypeError, ValueError):
            return BrowserPosition(error="unavailable")
        acc = coords.get("accuracy")
        accuracy = float(acc) if isinstance(acc, int | float) else None
        return BrowserPosition(round(lat, 6), round(lon, 6), accuracy)
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return BrowserPosition(error=_GEO_ERRORS.get(code, "unsupported") if code else "unsupported")


def photo_to_log(
    *,
    upload: tuple[str, bytes] | None,
    camera: bytes | None,
    now: datetime | None = None,
) -> tuple[str, bytes] | None:
    """Return the ``(file name, bytes)`` to log: the camera's photo if taken, else the upload.

    A camera photo has no file name of its own; it is named after the moment it
    was logged (``camera-20250601-143000.jpg``). Both go through the same checks
    of `log_with_photo`; a camera photo usually has no EXIF position, which raises
    the same ``photo_no_gps`` flag as any photo without one.
    """
    if camera:
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        return f"camera-{stamp}.jpg", camera
    return upload


def today() -> date:
    """Return today's date (one place, so tests can patch it)."""
    return date.today()


def engine_ready(engine: Engine) -> Engine:
    """Bring the registry schema up to date and return the engine (for the app's start-up)."""
    from nudge.registry import upgrade_database

    upgrade_database(engine)
    return engine
