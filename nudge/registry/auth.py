"""Users, roles and permission checks of the registry.

Roles and what they may change:

========== ===========================================================
admin      everything, including users
planner    planned sites, installations and publications everywhere
designer   publications (programmes, podcasts, posts) everywhere
coordinator installations and publications in its own regions only
viewer     nothing (reads only)
========== ===========================================================

The checks live in the library functions that change data (`require`), not
only in the app. Passwords are hashed with Argon2id (argon2-cffi).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from nudge._errors import AccessDeniedError, RecordError
from nudge.geo.regions import region_code
from nudge.registry._bind import Bind, reading, writing
from nudge.registry._driver import fetch_rows
from nudge.registry.audit import record_change, utcnow
from nudge.registry.models import ROLES, User, UserRegion

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")
# Argon2id with the OWASP baseline (19 MiB, 2 passes, 1 lane): about 50 ms per hash here.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"manage_users", "edit_plans", "edit_installations", "log_publications", "resolve_flags"}
    ),
    "planner": frozenset({"edit_plans", "edit_installations", "log_publications", "resolve_flags"}),
    "designer": frozenset({"log_publications"}),
    "coordinator": frozenset({"edit_installations", "log_publications", "resolve_flags"}),
    "viewer": frozenset(),
}


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A registry user, detached from the database (safe to keep in an app session)."""

    id: int
    username: str
    role: str
    regions: tuple[str, ...]
    active: bool

    def can(self, action: str, region: str | None = None) -> bool:
        """Return whether this user may do `action` (in `region`, for coordinators)."""
        if not self.active or action not in PERMISSIONS.get(self.role, frozenset()):
            return False
        return self.role != "coordinator" or region is None or region in self.regions


UserRef = UserInfo | str
"""A user given by `UserInfo` or by user name; looked up afresh in every change."""


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.role, user.region_codes, user.active)


@dataclass(frozen=True, slots=True)
class Actor:
    """The user making a change, as read once in the change's transaction."""

    id: int
    username: str
    role: str
    region_codes: tuple[str, ...]


class _ActorRow(NamedTuple):
    id: int
    username: str
    role: str
    active: bool
    region_code: str | None


_ACTOR_KEY = "nudge.registry.actor"
_ACTOR_QUERY = (
    sa.select(User.id, User.username, User.role, User.active, UserRegion.region_code)
    .outerjoin(UserRegion, UserRegion.user_id == User.id)
    .where(User.username == sa.bindparam("name"))
)


def actor_in(session: Session, user: UserRef) -> Actor:
    """Return the active user `user` as seen inside `session`'s transaction.

    The user and its regions are read in one query, once per transaction: the
    steps of a caller's transaction share the lookup.

    Raises
    ------
    AccessDeniedError
        When no such active user exists.
    """
    name = user.username if isinstance(user, UserInfo) else str(user)
    cached = session.info.get(_ACTOR_KEY)
    if cached is not None and cached[0] is session.get_transaction() and cached[1] == name:
        return cached[2]
    session.flush()  # a user added or changed earlier in the transaction counts
    found_rows = fetch_rows(session.connection(), _ACTOR_QUERY, {"name": name})
    rows = [_ActorRow(*row) for row in found_rows]
    if not rows or not rows[0].active:
        raise AccessDeniedError(code="user_unknown_or_inactive", user=name)
    regions = tuple(sorted(r.region_code for r in rows if r.region_code is not None))
    found = Actor(rows[0].id, rows[0].username, rows[0].role, regions)
    session.info[_ACTOR_KEY] = (session.get_transaction(), name, found)
    return found


def require(actor: Actor, action: str, region: str | None = None) -> None:
    """Check that `actor` may do `action`, in `region` when the action is regional.

    Raises
    ------
    AccessDeniedError
        With the user, role, action and region in the message.
    """
    if action not in PERMISSIONS.get(actor.role, frozenset()):
        raise _denied(action, actor.username, actor.role)
    if actor.role == "coordinator" and region is not None and region not in actor.region_codes:
        raise AccessDeniedError(
            code="denied_outside_regions",
            user=actor.username,
            regions=", ".join(actor.region_codes) or "—",
            region=region,
        )


def _denied(action: str, user: str, role: str) -> AccessDeniedError:
    """Return the error for a role lacking `action`, with a code per action."""
    match action:
        case "manage_users":
            return AccessDeniedError(code="denied_manage_users", user=user, role=role)
        case "edit_plans":
            return AccessDeniedError(code="denied_edit_plans", user=user, role=role)
        case "edit_installations":
            return AccessDeniedError(code="denied_edit_installations", user=user, role=role)
        case "log_publications":
            return AccessDeniedError(code="denied_log_publications", user=user, role=role)
        case "resolve_flags":
            return AccessDeniedError(code="denied_resolve_flags", user=user, role=role)
        case _:
            return AccessDeniedError(code="denied_action", user=user, role=role)


def _check_new_user(username: str, password: str, role: str) -> None:
    if not _USERNAME.match(username):
        raise RecordError(code="username_invalid", user=username)
    if role not in ROLES:
        raise RecordError(code="role_unknown", role=role, roles=", ".join(ROLES))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RecordError(code="password_too_short", min=MIN_PASSWORD_LENGTH)


def add_user(
    engine: Bind,
    *,
    username: str,
    password: str,
    role: str,
    regions: Iterable[str] = (),
    by: UserRef | None = None,
) -> UserInfo:
    """Create a user.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns.
    username, password
        Login name (2–80 plain characters) and password (at least 8 characters).
    role
        One of ``admin``, ``planner``, ``designer``, ``coordinator``, ``viewer``.
    regions
        Region codes or names a coordinator is responsible for (required for
        coordinators, refused for other roles).
    by
        The admin creating the user; may be None only while the registry has no
        user at all (the first admin).

    Returns
    -------
    UserInfo
    """
    _check_new_user(username, password, role)
    codes = sorted({region_code(r) for r in regions})
    if role == "coordinator" and not codes:
        raise RecordError(code="coordinator_needs_region", user=username)
    if role != "coordinator" and codes:
        raise RecordError(code="regions_only_for_coordinators", user=username, role=role)
    with writing(engine) as session:
        actor = _creator(session, by)
        if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            raise RecordError(code="user_exists", user=username)
        user = User(
            username=username,
            password_hash=_HASHER.hash(password),
            role=role,
            active=True,
            created_at=utcnow(),
            regions=[UserRegion(region_code=c) for c in codes],
        )
        session.add(user)
        session.flush()
        new = {"username": username, "role": role, "regions": codes, "active": True}
        record_change(
            session, actor=actor or user, action="create", table="users", record_id=user.id, new=new
        )
        return _info(user)


def _creator(session: Session, by: UserRef | None) -> Actor | None:
    if by is None:
        if session.scalar(sa.select(sa.func.count()).select_from(User)):
            raise AccessDeniedError(code="users_exist_admin_needed")
        return None
    actor = actor_in(session, by)
    require(actor, "manage_users")
    return actor


def authenticate(engine: Bind, username: str, password: str) -> UserInfo:
    """Check a user's password and return the user.

    `engine` is the registry's engine, or a session the caller owns (a
    password hash in an outdated form is renewed in it).

    Raises
    ------
    AccessDeniedError
        When the user is unknown, inactive, or the password is wrong (one
        message for all three).
    """
    with writing(engine) as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None or not user.active:
            _HASHER.hash(password)  # spend the same time as for a known user
            raise AccessDeniedError(code="sign_in_failed")
        try:
            _HASHER.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise AccessDeniedError(code="sign_in_failed") from None
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = _HASHER.hash(password)
        return _info(user)


def update_user(
    engine: Bind,
    username: str,
    *,
    by: UserRef,
    role: str | None = None,
    regions: Iterable[str] | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> UserInfo:
    """Change a user's role, regions, active flag or password (admins only).

    `engine` is the registry's engine, or a session the caller owns.
    """
    with writing(engine) as session:
        actor = actor_in(session, by)
        require(actor, "manage_users")
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise RecordError(code="user_unknown", user=username)
        old = {"role": user.role, "regions": list(user.region_codes), "active": user.active}
        new_role = role or user.role
        codes = sorted({region_code(r) for r in regions}) if regions is not None else None
        _check_new_user(username, password or "x" * MIN_PASSWORD_LENGTH, new_role)
        user.role = new_role
        if codes is not None:
            user.regions = [UserRegion(region_code=c) for c in codes]
        if active is not None:
            user.active = active
        if password is not None:
            user.password_hash = _HASHER.hash(password)
        session.info.pop(_ACTOR_KEY, None)  # the next check reads the changed user afresh
        if user.role == "coordinator" and not user.region_codes:
            raise RecordError(code="coordinator_needs_region", user=username)
        new = {"role": user.role, "regions": list(user.region_codes), "active": user.active}
        if password is not None:
            new["password"] = "changed"  # noqa: S105 (a note, not a password)
        record_change(
            session,
            actor=actor,
            action="update",
            table="users",
            record_id=user.id,
            old=old,
            new=new,
        )
        return _info(user)


def list_users(engine: Bind) -> list[UserInfo]:
    """Return every user, sorted by name (`engine`: an engine, or a session the caller owns)."""
    with reading(engine) as session:
        users = session.scalars(sa.select(User).order_by(User.username))
        return [_info(u) for u in users]


SESSION_SALT = "nudge.session"
DEFAULT_SESSION_HOURS = 12.0


def _fingerprint(user: User) -> str:
    """Return a short digest of the password hash: a new password ends older sign-ins."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def session_token(engine: Bind, user: UserInfo, *, secret: str) -> str:
    """Return a signed token that keeps `user` signed in (never the password).

    The token names the user and a digest of their password hash, signed with `secret`
    (itsdangerous); `user_from_token` accepts it until it expires, the password changes or
    the user is deactivated. `engine` is an engine, or a session the caller owns.
    """
    from itsdangerous import URLSafeTimedSerializer

    with reading(engine) as session:
        found = actor_in(session, user)
        payload = {"u": found.username, "f": _fingerprint(session.get_one(User, found.id))}
    return URLSafeTimedSerializer(secret, salt=SESSION_SALT).dumps(payload)


def user_from_token(
    engine: Bind, token: str, *, secret: str, max_age_hours: float = DEFAULT_SESSION_HOURS
) -> UserInfo | None:
    """Return the user a session token signs in, or None when it is invalid or expired.

    `engine` is an engine, or a session the caller owns.
    """
    from itsdangerous import BadSignature, URLSafeTimedSerializer

    try:
        payload = URLSafeTimedSerializer(secret, salt=SESSION_SALT).loads(
            token, max_age=int(max_age_hours * 3600)
        )
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict):
        return None
    with reading(engine) as session:
        user = session.scalar(sa.select(User).where(User.username == str(payload.get("u"))))
        if user is None or not user.active or payload.get("f") != _fingerprint(user):
            return None
        return _info(user)
