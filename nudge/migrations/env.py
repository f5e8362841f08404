"""Alembic environment of the registry: runs on a connection given by nudge.

`nudge.db.upgrade_database` passes an open connection in
``config.attributes["connection"]``; the ``alembic`` command line works too
when ``sqlalchemy.url`` is set in its configuration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from nudge.db.engine import engine_from_url
from nudge.db.tables import METADATA
from nudge.registry.models import Base

config = context.config
target_metadata = [Base.metadata, METADATA]


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        msg = "Set sqlalchemy.url or pass a connection in config.attributes['connection']."
        raise RuntimeError(msg)
    engine = engine_from_url(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    msg = "Offline (SQL script) migrations are not supported; run `nudge db upgrade`."
    raise RuntimeError(msg)
run_migrations_online()
