"""Registry steps of the Registry page: start-up, today's date, logging with a photo."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from nudge.registry.evidence import log_with_photo

__all__ = ["engine_ready", "log_with_photo", "today"]


def today() -> date:
    """Return today's date (one place, so tests can patch it)."""
    return date.today()


def engine_ready(engine: Engine) -> Engine:
    """Bring the registry schema up to date and return the engine (for the app's start-up)."""
    from nudge.registry import upgrade_database

    upgrade_database(engine)
    return engine
