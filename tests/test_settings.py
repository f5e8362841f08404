from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nudge.settings import Settings, settings_from_env


def test_defaults_use_sqlite_under_data_dir() -> None:
    s = settings_from_env({})
    assert s.data_dir == Path("data/geo")
    assert s.database_url == "sqlite:///data/geo/nudge.sqlite"


def test_environment_overrides_and_postgres_driver() -> None:
    s = settings_from_env(
        {"NUDGE_DATA_DIR": "/tmp/x", "NUDGE_DATABASE_URL": "postgresql://u@h:5432/db"}
    )
    assert s.data_dir == Path("/tmp/x")
    assert s.database_url == "postgresql+psycopg://u@h:5432/db"
    assert s.dataset_dir("almaty") == Path("/tmp/x/almaty")
    assert s.cache_dir == Path("/tmp/x/_cache/osmnx")


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.data_dir = Path("elsewhere")  # type: ignore[misc]
