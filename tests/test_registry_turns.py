"""Turns of the writers of one SQLite registry file (`nudge.registry._turns`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import nudge.registry._turns as turns
from nudge.registry import engine_from_url
from nudge.registry._turns import turn_file, writer_turn


def test_only_sqlite_files_need_turns(tmp_path: Path) -> None:
    file_engine = engine_from_url(f"sqlite:///{tmp_path / 'r.sqlite'}")
    assert turn_file(file_engine) == tmp_path / "r.sqlite-writers"
    assert turn_file(engine_from_url("sqlite://")) is None
    assert turn_file(engine_from_url("sqlite:///:memory:")) is None
    postgres = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert turn_file(postgres) is None


def test_a_writer_waits_for_the_turn_of_another_and_then_goes(tmp_path: Path) -> None:
    engine = engine_from_url(f"sqlite:///{tmp_path / 'r.sqlite'}")
    events: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with writer_turn(engine):
            events.append("first in")
            holding.set()
            time.sleep(0.2)
            events.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    start = time.monotonic()
    with writer_turn(engine):
        events.append("second in")
        waited = time.monotonic() - start
    thread.join(5)
    assert events == ["first in", "first out", "second in"]
    assert 0.1 < waited < 2.0


def test_a_write_inside_a_write_does_not_wait_for_itself(tmp_path: Path) -> None:
    engine = engine_from_url(f"sqlite:///{tmp_path / 'r.sqlite'}")
    start = time.monotonic()
    with writer_turn(engine), writer_turn(engine):
        inner = time.monotonic() - start
    assert inner < 1.0
    with writer_turn(engine):  # released after the outer block: taken again at once
        assert time.monotonic() - start < 2.0


def test_a_writer_stuck_with_the_turn_does_not_hang_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turns, "SQLITE_BUSY_TIMEOUT_S", 0.1)
    engine = engine_from_url(f"sqlite:///{tmp_path / 'r.sqlite'}")
    release = threading.Event()
    holding = threading.Event()

    def stuck() -> None:
        with writer_turn(engine):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=stuck)
    thread.start()
    holding.wait(5)
    start = time.monotonic()
    with writer_turn(engine):  # goes on without its turn once the busy timeout passed
        waited = time.monotonic() - start
    release.set()
    thread.join(5)
    assert 0.09 < waited < 2.0
