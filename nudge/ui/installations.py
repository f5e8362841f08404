"""Registry steps of the Registry page: start-up, today's date, logging with a photo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine


def today() -> date:
    """Return today's date (one place, so tests can patch it)."""
    return date.today()


def engine_ready(engine: Engine) -> Engine:
    """Bring the registry schema up to date and return the engine (for the app's start-up)."""
    from nudge.registry import upgrade_database

    upgrade_database(engine)
    return engine


@dataclass(frozen=True)
class LoggedInstallation:
    """An installation just logged, and what attaching its photo raised."""

    record: Any
    evidence: Any | None


def log_with_photo(
    engine: Engine,
    *,
    user: Any,
    fields: Mapping[str, Any],
    photo: tuple[str, bytes] | None,
    photo_dir: Path,
    districts: Any | None = None,
) -> LoggedInstallation:
    """Log an installation, then attach its evidence photo (when one was uploaded).

    `districts` (a registry `DistrictLayer`) assigns the city district.
    """
    from nudge.registry import attach_photo, get_installation, log_installation

    record = log_installation(engine, user=user, districts=districts, **fields)
    evidence = None
    if photo is not None:
        name, data = photo
        evidence = attach_photo(
            engine, record.id, data, user=user, photo_dir=photo_dir, filename=name
        )
        record = get_installation(engine, record.id)
    return LoggedInstallation(record, evidence)
