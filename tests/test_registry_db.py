"""Registry database: migrations, engine settings, schema checks, backups."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from registry_support import (
    ALMATY,
    TABLES,
    Users,
    table_counts,
)
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError, RecordError
from nudge.db.tables import METADATA as SHARED_METADATA
from nudge.i18n import error_text
from nudge.registry import (
    backup_database,
    engine_from_settings,
    engine_from_url,
    log_installation,
    require_schema,
    schema_revision,
    upgrade_database,
)
from nudge.registry.db import _pg_dump_command
from nudge.registry.models import Base
from nudge.settings import Settings

pytest_plugins = ["registry_support"]


def test_upgrade_creates_every_table_and_is_repeatable(registry_url: str) -> None:
    eng = engine_from_url(registry_url)
    assert schema_revision(eng) is None
    with pytest.raises(RecordError, match="nudge db upgrade") as info:
        require_schema(eng)
    assert error_text(info.value, "kk") == (
        "Тізілім дерекқорында әлі кестелер жоқ; алдымен `nudge db upgrade` командасын орындаңыз."
    )
    assert upgrade_database(registry_url) == "0005"
    assert upgrade_database(eng) == "0005"  # a second run changes nothing
    names = set(sa.inspect(eng).get_table_names())
    assert set(TABLES) <= names
    eng.dispose()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, [Base.metadata, SHARED_METADATA])  # type: ignore[arg-type]
    assert diff == []


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    eng = engine_from_url(f"sqlite:///{tmp_path / 'sub' / 'r.sqlite'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    eng.dispose()
    assert (tmp_path / "sub" / "r.sqlite").exists()


def test_foreign_keys_are_enforced(engine: Engine, users: Users) -> None:
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO user_regions (user_id, region_code) VALUES (9999, 'ALA')")
        )


def test_engine_from_settings_defaults_to_sqlite_in_data_dir(settings: Settings) -> None:
    eng = engine_from_settings(settings)
    assert eng.dialect.name == "sqlite"
    assert eng.url.database == str(settings.data_dir / "nudge.sqlite")
    eng.dispose()


def test_plain_postgresql_url_uses_psycopg() -> None:
    eng = engine_from_url("postgresql://postgres@127.0.0.1:5432/test")
    assert eng.url.drivername == "postgresql+psycopg"
    eng.dispose()


def test_backup_copies_a_consistent_sqlite_file(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite online backup")
    log_installation(engine, user=users.almaty, kind="banner", lat=ALMATY[0], lon=ALMATY[1],
                     installed_on="2025-03-01")  # fmt: skip
    target = tmp_path / "backup.sqlite"
    result = backup_database(engine, target)
    assert result.done
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM installations").fetchone() == (1,)
    with pytest.raises(InputFileError, match="already exists") as info:
        backup_database(engine, target)
    assert (info.value.code, info.value.params) == ("backup_exists", {"path": str(target)})
    assert "сақтық көшірме файлы бұрыннан бар" in error_text(info.value, "kk")


def test_postgres_backup_runs_pg_dump_or_says_how(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL backup")
    cmd, _ = _pg_dump_command(engine, tmp_path / "b.dump")
    assert cmd[0] == "pg_dump"
    assert any(c.startswith("--schema=nudge_test_") for c in cmd)
    result = backup_database(engine, tmp_path / "b.dump")
    if result.done:
        assert (tmp_path / "b.dump").stat().st_size > 0
    else:
        assert "pg_dump" in result.message


def test_table_counts_start_empty(engine: Engine) -> None:
    assert set(table_counts(engine).values()) == {0}
