"""Fixtures and helpers shared by the registry tests (imported by tests/test_registry_*.py).

Every test gets its own database: a fresh SQLite file, or a fresh schema on
the shared PostgreSQL server (dropped afterwards), so tests never see each
other's rows and can run again and again.

The test modules load this file as a pytest plugin (``pytest_plugins``) after
importing its helpers, so assertion rewriting is off here: PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from PIL import Image
from sqlalchemy.engine import Engine

from nudge.registry import UserInfo, add_user, engine_from_url, upgrade_database

ALMATY = (43.2389, 76.8897)  # Republic Square area
ALMATY_2 = (43.2567, 76.9286)  # a few km away
ASTANA = (51.1282, 71.4307)
TABLES = (
    "users",
    "user_regions",
    "import_batches",
    "planned_sites",
    "installations",
    "status_changes",
    "photos",
    "installation_photos",
    "flags",
    "publications",
    "event_plan_items",
    "audit_log",
)


def schema_url(base_url: str, schema: str) -> str:
    """Return `base_url` with a PostgreSQL search_path set to `schema`."""
    url = sa.make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def registry_url(database_url: str) -> Iterator[str]:
    """Return the URL of an empty database: a new SQLite file or a new PostgreSQL schema."""
    if database_url.startswith("sqlite"):
        yield database_url
        return
    schema = f"nudge_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(database_url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use a cheap Argon2 setting so tests that create many users stay fast."""
    monkeypatch.setattr(
        "nudge.registry.auth._HASHER", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@pytest.fixture
def engine(registry_url: str, fast_hashing: None) -> Iterator[Engine]:
    """Return an engine on an upgraded, empty registry."""
    eng = engine_from_url(registry_url)
    upgrade_database(eng)
    yield eng
    eng.dispose()


class Users:
    """The users most tests need: an admin, a planner, coordinators and a viewer."""

    def __init__(self, engine: Engine) -> None:
        self.admin = add_user(engine, username="admin", password="admin-pass", role="admin")
        self.planner = self._add(engine, "planner", "planner")
        self.almaty = self._add(engine, "aigerim", "coordinator", ["ALA"])
        self.astana = self._add(engine, "nurlan", "coordinator", ["Astana"])
        self.viewer = self._add(engine, "viewer", "viewer")
        self.designer = self._add(engine, "designer", "designer")

    def _add(
        self, engine: Engine, name: str, role: str, regions: list[str] | None = None
    ) -> UserInfo:
        return add_user(
            engine, username=name, password=f"{name}-pass", role=role, regions=regions or [],
            by=self.admin,
        )  # fmt: skip


@pytest.fixture
def users(engine: Engine) -> Users:
    """Create the standard users in the test registry."""
    return Users(engine)


def table_counts(engine: Engine) -> dict[str, int]:
    """Return the number of rows of every registry table."""
    with engine.connect() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES
        }


def jpeg_bytes(
    *,
    gps: tuple[float, float] | None = None,
    taken: datetime | None = None,
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (200, 30, 30),
    trailer: bytes = b"",
) -> bytes:
    """Return a real JPEG, optionally with EXIF GPS and time, and bytes appended after it."""
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        lat, lon = gps
        ifd = exif.get_ifd(0x8825)
        ifd[1] = "N" if lat >= 0 else "S"
        ifd[2] = _dms(abs(lat))
        ifd[3] = "E" if lon >= 0 else "W"
        ifd[4] = _dms(abs(lon))
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue() + trailer


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def write_csv(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` in `encoding` and return the path."""
    path.write_bytes(text.encode(encoding))
    return path
