"""Where a registry function works: in a transaction of its own, or in the caller's.

Every registry function that changes data takes as its first argument either
an `Engine` or a `Session` the caller owns:

- given an engine, it opens one writing transaction, commits it when it
  succeeds and rolls it back when it fails (what the CLI and the app do);
- given a session, it works inside the caller's transaction and neither
  commits nor rolls back: the caller does, so several steps are stored
  together or not at all::

      with write_session(engine) as session:  # one transaction: both or neither
          rec = log_installation(session, user=me, kind="banner", lat=43.24, lon=76.89,
                                 installed_on="2025-03-01")
          attach_photo(session, rec.id, upload, user=me, photo_dir=photo_dir)

Reading functions accept either too; given a session they see its uncommitted
changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nudge.registry._turns import writer_turn
from nudge.registry.db import read_session, write_session

Bind = Engine | Session
"""An engine (the function opens its own transaction) or a session the caller owns."""


@contextmanager
def writing(bind: Bind) -> Iterator[Session]:
    """Yield the caller's session as it is, or a new one in a writing transaction of `bind`.

    On a SQLite file the new transaction waits for its writer's turn first
    (see `nudge.registry._turns`).
    """
    if isinstance(bind, Session):
        yield bind
        return
    with writer_turn(bind), write_session(bind) as session:
        yield session


@contextmanager
def reading(bind: Bind) -> Iterator[Session]:
    """Yield the caller's session as it is, or a new one reading from `bind`."""
    if isinstance(bind, Session):
        yield bind
        return
    with read_session(bind) as session:
        yield session


def owns_transaction(bind: Bind) -> bool:
    """Return whether a function given `bind` runs its own transaction (and may retry it)."""
    return not isinstance(bind, Session)
