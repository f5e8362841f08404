"""Alembic migrations of the registry database (run by ``nudge db upgrade``)."""
