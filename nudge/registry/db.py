"""Database engines, transactions, schema upgrades and backups (moved to `nudge.db.engine`).

The registry keeps importing them from here; the code lives in the shared
database layer because the content library and saved work use it too.
"""

from __future__ import annotations

from nudge.db.engine import (
    MIGRATIONS_DIR,
    SQLITE_BUSY_TIMEOUT_S,
    BackupResult,
    _pg_dump_command,
    backup_database,
    engine_from_settings,
    engine_from_url,
    read_session,
    require_schema,
    schema_revision,
    upgrade_database,
    write_session,
)

__all__ = [
    "MIGRATIONS_DIR",
    "SQLITE_BUSY_TIMEOUT_S",
    "BackupResult",
    "_pg_dump_command",
    "backup_database",
    "engine_from_settings",
    "engine_from_url",
    "read_session",
    "require_schema",
    "schema_revision",
    "upgrade_database",
    "write_session",
]
