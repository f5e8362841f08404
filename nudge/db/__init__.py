"""The shared database: engines, transactions, schema upgrades and shared stores.

The registry, the content library and saved work all live in one database
(SQLite by default, PostgreSQL when ``NUDGE_DATABASE_URL`` is set).
"""

from __future__ import annotations

from nudge.db import survey_tables as survey_tables  # puts the survey tables on METADATA
from nudge.db.content import StaleVersionError, StoredEntry, read_entries, save_entries
from nudge.db.engine import (
    BackupResult,
    backup_database,
    engine_from_settings,
    engine_from_url,
    read_session,
    require_schema,
    schema_revision,
    upgrade_database,
    write_session,
)
from nudge.db.work import (
    WORK_KINDS,
    SavedWork,
    WorkKind,
    delete_work,
    list_work,
    load_work,
    save_work,
)

__all__ = [
    "WORK_KINDS",
    "BackupResult",
    "SavedWork",
    "StaleVersionError",
    "StoredEntry",
    "WorkKind",
    "backup_database",
    "delete_work",
    "engine_from_settings",
    "engine_from_url",
    "list_work",
    "load_work",
    "read_entries",
    "read_session",
    "require_schema",
    "save_entries",
    "save_work",
    "schema_revision",
    "upgrade_database",
    "write_session",
]
