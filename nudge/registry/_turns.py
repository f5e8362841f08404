"""Turns of the processes writing to one SQLite registry file.

SQLite lets one writer at a time: a writing transaction starts with ``BEGIN
IMMEDIATE``, and a writer that finds the file busy sleeps in SQLite's busy
handler, for 1, 2, 5, 10 and then up to 100 ms between tries. With several
writers the file then often stands free while all of them sleep: 8 processes
logging one installation each at a time store fewer rows together than one
alone. The registry's writers therefore first take a turn: an exclusive
``flock`` on a file beside the database (``<database>-writers``). A writer
waiting for its turn tries again within `_MAX_PAUSE_S`, so the next one starts
as soon as the previous one commits.

The turn only orders writers that use it; SQLite's own lock still guards the
file for every writer. A writer that waits longer than the busy timeout goes on
without its turn (and SQLite's lock decides), so a stuck writer makes the
others fail as before instead of hanging. Nothing changes on PostgreSQL, for
in-memory databases, or where ``fcntl`` is missing (Windows).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from nudge.registry.db import SQLITE_BUSY_TIMEOUT_S

try:
    import fcntl
except ImportError:  # Windows: writers rely on SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

_FIRST_PAUSE_S = 0.0002
_MAX_PAUSE_S = 0.002
_held = threading.local()  # the lock files this thread holds a turn on (turns nest)


def turn_file(engine: Engine) -> Path | None:
    """Return the file whose lock gives a writer its turn, or None when writers need no turn."""
    if fcntl is None or engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).absolute()
    return path.with_name(path.name + "-writers")


def _take(fd: int, deadline: float) -> bool:
    """Lock `fd` exclusively, trying again after short pauses until `deadline`."""
    pause = _FIRST_PAUSE_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE_S)
        else:
            return True


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """Wait for this writer's turn on `engine`'s SQLite file and hold it until the block ends.

    Wrap the whole writing transaction, commit included. A thread that holds
    the turn already (a write inside a write) does not wait for itself.
    """
    path = turn_file(engine)
    held: set[Path] = _held.__dict__.setdefault("paths", set())
    if path is None or path in held:
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # a read-only folder: SQLite's busy timeout alone orders the writers
        yield
        return
    try:
        if _take(fd, time.monotonic() + SQLITE_BUSY_TIMEOUT_S):
            held.add(path)
        yield
    finally:
        held.discard(path)
        os.close(fd)  # closing the file releases the lock
