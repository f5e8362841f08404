"""Registry steps of the Registry page: start-up, today's date, logging with a photo."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from nudge.registry.evidence import LoggedWithPhoto
from nudge.registry.evidence import log_with_photo as registry_log_with_photo


def today() -> date:
    """Return today's date (one place, so tests can patch it)."""
    return date.today()


def engine_ready(engine: Engine) -> Engine:
    """Bring the registry schema up to date and return the engine (for the app's start-up)."""
    from nudge.registry import upgrade_database

    upgrade_database(engine)
    return engine


def log_with_photo(
    engine: Engine,
    *,
    user: Any,
    fields: Mapping[str, Any],
    photo: tuple[str, bytes] | None,
    photo_dir: Path,
    districts: Any | None = None,
) -> LoggedWithPhoto:
    """Log an installation with its evidence photo, in one transaction (both or neither).

    `districts` (a `DistrictLayer`) assigns the city district. See
    `nudge.registry.evidence.log_with_photo`.
    """
    return registry_log_with_photo(
        engine, user=user, fields=fields, photo=photo, photo_dir=photo_dir, districts=districts
    )
