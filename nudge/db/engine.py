"""Database engines, transactions, schema upgrades and backups of the shared database.

The registry, the content library and saved work share one database.

SQLite (the default) runs in WAL mode with foreign keys on; every writing
transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers wait
for each other (up to the busy timeout) instead of failing half-way. Reading
helpers use deferred transactions. PostgreSQL is reached through psycopg 3;
a ``search_path`` may be given in the URL (``?options=-csearch_path%3Dname``).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nudge._errors import InputFileError, RecordError
from nudge.settings import Settings

if TYPE_CHECKING:  # Alembic is imported only when a schema is created or upgraded
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_S = 60.0
_MIGRATION_LOCK_KEY = 72_616_001  # PostgreSQL advisory lock held while migrating


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, see _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


IDLE_PING_S = 30.0
"""A pooled PostgreSQL connection idle longer than this is pinged before use."""


def _postgres_engine(url: sa.URL, *, echo: bool) -> Engine:
    """Create a PostgreSQL engine that pings a pooled connection only after it sat idle.

    ``pool_pre_ping`` would cost a round trip on every checkout (one of the seven a
    logged installation makes); a connection used within the last `IDLE_PING_S`
    seconds is taken as alive, and one the server dropped since fails once, after
    which the pool reconnects.
    """
    engine = sa.create_engine(url, echo=echo, pool_recycle=3600)

    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("nudge_checked_in")
        if last is not None and time.monotonic() - last < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError from exc

    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["nudge_checked_in"] = time.monotonic()

    sa.event.listen(engine, "checkout", _on_checkout)
    sa.event.listen(engine, "checkin", _on_checkin)
    return engine


def engine_from_url(url: str, *, echo: bool = False) -> Engine:
    """Create the engine of a registry database.

    Parameters
    ----------
    url
        SQLAlchemy URL; ``sqlite:///path`` (the folder is created) or
        ``postgresql://...`` (normalised to the psycopg 3 driver).
    echo
        Log every SQL statement.

    Returns
    -------
    Engine
        SQLite engines use WAL, foreign keys and ``BEGIN IMMEDIATE`` writes.
    """
    parsed = sa.make_url(_normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        return _postgres_engine(parsed, echo=echo)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def engine_from_settings(settings: Settings, *, echo: bool = False) -> Engine:
    """Create the engine named by `settings.database_url` (default ``<data_dir>/nudge.sqlite``)."""
    url = settings.database_url or f"sqlite:///{(settings.data_dir / 'nudge.sqlite').as_posix()}"
    return engine_from_url(url, echo=echo)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """Open a session in one writing transaction, committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """Open a session for reading (a deferred transaction on SQLite)."""
    reader = engine.execution_options(sqlite_begin="DEFERRED")
    with Session(reader, expire_on_commit=False) as session, session.begin():
        yield session


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(
    url_or_engine: str | Engine, *, revision: str = "head", content_dir: Path | None = None
) -> str | None:
    """Create or upgrade the database schema with the migrations shipped in nudge.

    Safe to call at every start-up and from several processes at once: on
    PostgreSQL an advisory lock serialises the upgrades; on SQLite the
    immediate transaction does. A database already at the newest shipped
    revision is told by one query, without loading Alembic.

    Parameters
    ----------
    url_or_engine
        Database URL or engine (from `engine_from_url`).
    revision
        Alembic revision to reach.
    content_dir
        Folder of an existing YAML content library that the migration creating the
        content tables imports (default ``<data_dir>/content`` of the environment's
        settings; the shipped library when it holds no YAML files).

    Returns
    -------
    str or None
        The schema revision after the upgrade.
    """
    engine = engine_from_url(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        if revision == "head" and _shipped_head() is not None:
            rev = schema_revision(engine)
            if rev == _shipped_head():
                return rev
        return _upgrade(engine, revision, content_dir)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def _upgrade(engine: Engine, revision: str, content_dir: Path | None) -> str | None:
    from alembic import command

    config = _alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = conn
        config.attributes["content_dir"] = content_dir
        command.upgrade(config, revision)
    return schema_revision(engine)


@cache
def _shipped_head() -> str | None:
    """Return the newest revision of the shipped migrations, read from their files.

    None when the files do not tell one head plainly (Alembic then decides).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision\b[^=\n]*=\s*[\"']([^\"']+)[\"']\s*$", text, re.MULTILINE)
        down = re.search(r"^down_revision\b[^=\n]*=(.*)$", text, re.MULTILINE)
        if rev is None or down is None:
            if path.name != "__init__.py":
                return None
            continue
        revisions.add(rev.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def schema_revision(engine: Engine) -> str | None:
    """Return the Alembic revision of the database, or None when it has no schema."""
    with engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:  # reads only
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) <= 1:
            return str(rows[0]) if rows else None
        from alembic.runtime.migration import MigrationContext  # it explains several heads

        return MigrationContext.configure(conn).get_current_revision()


def require_schema(engine: Engine) -> None:
    """Raise `RecordError` when the database has no registry schema yet."""
    if schema_revision(engine) is None:
        msg = (
            f"The registry database {engine.url.render_as_string()} has no tables yet; "
            "run `nudge db upgrade` (or call upgrade_database) first."
        )
        raise RecordError(msg, code="registry_schema_missing")


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What `backup_database` did: the method, the file, or the command to run."""

    backend: str
    done: bool
    path: Path
    method: str
    message: str

    def as_dict(self) -> dict[str, object]:
        """Return the result as a JSON-ready mapping."""
        return {
            "backend": self.backend,
            "done": self.done,
            "path": str(self.path),
            "method": self.method,
            "message": self.message,
        }


def backup_database(engine: Engine, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the registry into `target` while it stays in use.

    SQLite uses its online backup API (a consistent copy even during writes).
    PostgreSQL uses ``pg_dump --format=custom`` when it is installed; otherwise
    the result says which command to run.

    Parameters
    ----------
    engine
        Engine of the registry.
    target
        File to write.
    overwrite
        Replace `target` when it exists (refused otherwise).

    Returns
    -------
    BackupResult
    """
    target = Path(target)
    if target.exists() and not overwrite:
        msg = f"The backup file {target} already exists; choose another name or allow overwrite."
        raise InputFileError(msg, code="backup_exists", path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        return _backup_sqlite(engine, target)
    return _backup_postgres(engine, target)


def _backup_sqlite(engine: Engine, target: Path) -> BackupResult:
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        msg = "An in-memory SQLite database cannot be backed up; use a file database."
        raise InputFileError(msg, code="backup_in_memory")
    tmp = target.with_name(target.name + ".part")
    src = sqlite3.connect(source_path, timeout=SQLITE_BUSY_TIMEOUT_S)
    dst = sqlite3.connect(tmp)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
    tmp.replace(target)
    return BackupResult("sqlite", True, target, "sqlite online backup", f"Copied to {target}.")


def _pg_dump_command(engine: Engine, target: Path) -> tuple[list[str], dict[str, str]]:
    url = engine.url
    options = str(url.query.get("options", ""))
    plain = url.set(drivername="postgresql", password=None, query={})
    cmd = ["pg_dump", "--format=custom", f"--file={target}"]
    match = re.search(r"search_path\s*=\s*([A-Za-z0-9_]+)", options)
    if match:
        cmd.append(f"--schema={match.group(1)}")
    cmd.append(f"--dbname={plain.render_as_string(hide_password=False)}")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return cmd, env


def _backup_postgres(engine: Engine, target: Path) -> BackupResult:
    cmd, env = _pg_dump_command(engine, target)
    shown = " ".join(cmd)
    if shutil.which("pg_dump") is None:
        msg = f"pg_dump is not installed here; on the database server run: {shown}"
        return BackupResult("postgresql", False, target, "pg_dump guidance", msg)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        msg = (
            f"pg_dump failed ({proc.stderr.strip()[:300]}); run it on the database server: {shown}"
        )
        return BackupResult("postgresql", False, target, "pg_dump guidance", msg)
    return BackupResult("postgresql", True, target, "pg_dump", f"Dumped to {target}.")
