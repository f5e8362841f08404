"""Sign-ins that survive a browser refresh: a signed, expiring token in the page address.

The token (`nudge.registry.session_token`) names the user and a digest of their password
hash, never the password; it expires after ``Settings.session_hours`` and stops working when
the password changes or the user is deactivated. The app keeps it in the address's
``session`` parameter, so a refresh of the same address signs the user in again, and signing
out removes it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import Engine

from nudge.registry import UserInfo, session_token, user_from_token
from nudge.settings import Settings

TOKEN_PARAM = "session"  # noqa: S105  (the name of an address parameter, not a secret)


def session_secret(settings: Settings) -> str:
    """Return the key that signs sign-in tokens: the configured one, else a kept random one."""
    if settings.session_secret:
        return settings.session_secret
    path = Path(settings.data_dir) / ".session_secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another session wrote it first
            return path.read_text("utf-8").strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text("utf-8").strip()


def remember(engine: Engine, user: UserInfo, settings: Settings) -> str:
    """Return the token that keeps `user` signed in."""
    return session_token(engine, user, secret=session_secret(settings))


def recall(engine: Engine, token: str | None, settings: Settings) -> UserInfo | None:
    """Return the user a token from the address signs in, or None."""
    if not token:
        return None
    return user_from_token(
        engine, token, secret=session_secret(settings), max_age_hours=settings.session_hours
    )
