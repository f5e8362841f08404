"""Users, roles and permission checks inside the library functions."""

from __future__ import annotations

from datetime import date
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa
from registry_support import (
    ALMATY,
    ASTANA,
    Users,
)
from sqlalchemy.engine import Engine

from nudge._errors import AccessDeniedError, RecordError
from nudge.i18n import error_text, translator
from nudge.registry import (
    add_user,
    audit_entries,
    authenticate,
    change_status,
    import_plan,
    list_users,
    log_installation,
    log_publication,
    update_installation,
    update_user,
)
from nudge.registry.auth import UserRef, require
from nudge.registry.models import User

pytest_plugins = ["registry_support"]


def test_first_user_needs_no_admin_but_later_ones_do(engine: Engine) -> None:
    first = add_user(engine, username="boss", password="long-enough", role="admin")
    assert first.role == "admin"
    with pytest.raises(AccessDeniedError, match="only an admin may add more"):
        add_user(engine, username="other", password="long-enough", role="viewer")
    add_user(engine, username="other", password="long-enough", role="viewer", by="boss")
    with pytest.raises(AccessDeniedError, match="may not manage users"):
        add_user(engine, username="third", password="long-enough", role="viewer", by="other")
    assert [u.username for u in list_users(engine)] == ["boss", "other"]


def test_passwords_are_hashed_with_argon2(engine: Engine, users: Users) -> None:
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT password_hash FROM users WHERE username = 'aigerim'")
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "aigerim-pass" not in stored
    assert authenticate(engine, "aigerim", "aigerim-pass").regions == ("ALA",)
    with pytest.raises(AccessDeniedError, match="Wrong user name or password"):
        authenticate(engine, "aigerim", "wrong-pass")
    with pytest.raises(AccessDeniedError, match="Wrong user name or password"):
        authenticate(engine, "nobody", "aigerim-pass")


def test_new_user_values_are_checked(engine: Engine, users: Users) -> None:
    with pytest.raises(RecordError, match="too short"):
        add_user(engine, username="x1", password="short", role="viewer", by=users.admin)
    with pytest.raises(RecordError, match="Unknown role 'boss'"):
        add_user(engine, username="x1", password="long-enough", role="boss", by=users.admin)
    with pytest.raises(RecordError, match="needs at least one region"):
        add_user(engine, username="x1", password="long-enough", role="coordinator", by="admin")
    with pytest.raises(RecordError, match="Only coordinators are limited"):
        add_user(
            engine,
            username="x1",
            password="long-enough",
            role="planner",
            regions=["ALA"],
            by="admin",
        )
    with pytest.raises(RecordError, match="not allowed"):
        add_user(engine, username="a b/../c", password="long-enough", role="viewer", by="admin")
    with pytest.raises(RecordError, match="already exists"):
        add_user(engine, username="aigerim", password="long-enough", role="viewer", by="admin")


def test_coordinator_of_almaty_cannot_touch_astana(engine: Engine, users: Users) -> None:
    with pytest.raises(
        AccessDeniedError, match=r"coordinates Almaty and may not change records in Astana"
    ):
        _banner(engine, users.almaty, ASTANA)
    astana = _banner(engine, users.astana, ASTANA)
    with pytest.raises(AccessDeniedError, match="may not"):
        change_status(engine, astana.id, "damaged", user=users.almaty)
    with pytest.raises(AccessDeniedError, match="may not"):
        update_installation(engine, astana.id, {"size": "3x6"}, user=users.almaty)
    with pytest.raises(AccessDeniedError, match="may not"):
        _publication(engine, users.almaty, "podcast", "Әулет")
    # moving an own installation into another region is refused too
    own = _banner(engine, users.almaty, ALMATY)
    with pytest.raises(AccessDeniedError, match="may not change records in Astana"):
        update_installation(engine, own.id, {"lat": ASTANA[0], "lon": ASTANA[1]}, user=users.almaty)
    assert update_installation(engine, astana.id, {"size": "3x6"}, user=users.planner).size == "3x6"


def test_viewer_and_designer_cannot_log_installations(engine: Engine, users: Users) -> None:
    for who in (users.viewer, users.designer):
        with pytest.raises(AccessDeniedError, match="may not log or change installations"):
            _banner(engine, who, ALMATY)
    with pytest.raises(AccessDeniedError, match="may not import or change planned sites"):
        import_plan(engine, _plan(), user=users.almaty)
    pub = _publication(engine, users.designer, "tv", "Еңбек адамы")
    assert pub.kind == "tv_programme"


def _banner(engine: Engine, user: UserRef, point: tuple[float, float]) -> Any:
    """Log a banner at `point` as `user`."""
    lat, lon = point
    return log_installation(
        engine, user=user, kind="banner", lat=lat, lon=lon, installed_on="2025-03-01"
    )


def _publication(engine: Engine, user: UserRef, kind: str, title: str) -> Any:
    """Log a publication of `kind` in Astana as `user`."""
    day = date(2025, 3, 1)
    return log_publication(
        engine, user=user, kind=kind, title=title, published_on=day, region="AST"
    )


def _plan() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["banner/1"], "kind": ["banner"]},
        geometry=gpd.points_from_xy([ALMATY[1]], [ALMATY[0]]),
        crs="EPSG:4326",
    )


def test_inactive_and_unknown_users_are_refused(engine: Engine, users: Users) -> None:
    update_user(engine, "aigerim", by=users.admin, active=False)
    with pytest.raises(AccessDeniedError, match="Unknown or inactive user 'aigerim'"):
        _banner(engine, "aigerim", ALMATY)
    with pytest.raises(AccessDeniedError, match="Wrong user name or password"):
        authenticate(engine, "aigerim", "aigerim-pass")
    with pytest.raises(AccessDeniedError, match="Unknown or inactive user 'ghost'"):
        _banner(engine, "ghost", ALMATY)


def test_user_changes_are_audited(engine: Engine, users: Users) -> None:
    updated = update_user(engine, "nurlan", by=users.admin, regions=["AST", "Akmola Region"])
    assert updated.regions == ("AKM", "AST")
    entry = audit_entries(engine, table="users", record_id=updated.id, limit=1)[0]
    assert entry.username == "admin"
    assert entry.old == {"role": "coordinator", "regions": ["AST"], "active": True}
    assert entry.new is not None
    assert entry.new["regions"] == ["AKM", "AST"]
    assert "password_hash" not in str(audit_entries(engine, table="users"))


def test_refusals_carry_codes_and_are_said_in_kazakh(engine: Engine, users: Users) -> None:
    with pytest.raises(AccessDeniedError) as info:
        authenticate(engine, "aigerim", "wrong-pass")
    assert info.value.code == "sign_in_failed"
    assert error_text(info.value, "kk") == "Пайдаланушы аты немесе құпиясөз қате."
    assert error_text(info.value, "ru") == "Неверное имя пользователя или пароль."
    with pytest.raises(AccessDeniedError, match="may not log or change installations") as info:
        _banner(engine, users.viewer, ALMATY)
    assert (info.value.code, info.value.params) == (
        "denied_edit_installations",
        {"user": "viewer", "role": "viewer"},
    )
    assert error_text(info.value, "kk") == (
        "«viewer» пайдаланушысы (бақылаушы) орнатуларды тіркей немесе өзгерте алмайды."
    )
    with pytest.raises(AccessDeniedError, match="may not change records in Astana") as info:
        _banner(engine, users.almaty, ASTANA)
    assert info.value.code == "denied_outside_regions"
    assert info.value.params == {"user": "aigerim", "regions": "ALA", "region": "AST"}
    assert error_text(info.value, "kk") == (
        "«aigerim» пайдаланушысы мына өңірлерді үйлестіреді: Алматы; "
        "«Астана» өңірінде өзгеріс енгізе алмайды."
    )
    with pytest.raises(RecordError, match="too short") as info:
        add_user(engine, username="x1", password="short", role="viewer", by=users.admin)
    assert error_text(info.value, "kk") == "Құпиясөз тым қысқа; кемінде 8 таңба болуы керек."


@pytest.mark.parametrize(
    ("role", "action", "code"),
    [
        ("planner", "manage_users", "denied_manage_users"),
        ("designer", "edit_plans", "denied_edit_plans"),
        ("viewer", "log_publications", "denied_log_publications"),
        ("designer", "resolve_flags", "denied_resolve_flags"),
        ("viewer", "fly", "denied_action"),
    ],
)
def test_every_refused_action_has_its_own_text(role: str, action: str, code: str) -> None:
    with pytest.raises(AccessDeniedError, match=f"'bob' \\({role}\\) may not") as info:
        require(User(username="bob", role=role, active=True), action)
    assert (info.value.code, info.value.params) == (code, {"user": "bob", "role": role})
    kk = error_text(info.value, "kk")
    role_kk = translator("kk")(f"roles.{role}")  # the role is named in Kazakh too
    assert kk.startswith(f"«bob» пайдаланушысы ({role_kk}) ") and "{" not in kk
    assert kk != error_text(info.value, "en")


def test_session_tokens_keep_a_sign_in_until_expiry_password_change_or_deactivation(
    engine: Engine, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from nudge.registry import session_token, user_from_token

    secret = "test-secret-not-for-production"
    token = session_token(engine, users.viewer, secret=secret)
    assert "viewer-pass" not in token and "argon2" not in token  # never the password
    assert user_from_token(engine, token, secret=secret) == users.viewer
    assert user_from_token(engine, token, secret="another-key") is None  # forged
    assert user_from_token(engine, token[:-2] + "xx", secret=secret) is None  # tampered
    later = time.time() + 13 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    assert user_from_token(engine, token, secret=secret, max_age_hours=12) is None  # expired
    monkeypatch.undo()
    update_user(engine, "viewer", by=users.admin, password="a-new-long-pass")
    assert user_from_token(engine, token, secret=secret) is None  # password changed
    fresh = session_token(engine, users.viewer, secret=secret)
    update_user(engine, "viewer", by=users.admin, active=False)
    assert user_from_token(engine, fresh, secret=secret) is None  # deactivated


class _UndoError(Exception):
    """Raised to roll a test's transaction back."""


def test_reads_take_a_session_and_see_its_uncommitted_changes(engine: Engine, users: Users) -> None:
    from nudge.registry import session_token, user_from_token, write_session

    secret = "test-secret-not-for-production"
    with pytest.raises(_UndoError), write_session(engine) as session:
        new = add_user(
            session, username="newbie", password="long-enough", role="viewer", by="admin"
        )
        assert "newbie" in [u.username for u in list_users(session)]
        assert authenticate(session, "newbie", "long-enough") == new
        token = session_token(session, new, secret=secret)
        assert user_from_token(session, token, secret=secret) == new
        (entry,) = audit_entries(session, table="users", record_id=new.id)
        assert (entry.action, entry.username, entry.new["role"]) == ("create", "admin", "viewer")
        raise _UndoError
    assert "newbie" not in [u.username for u in list_users(engine)]  # rolled back with the caller
    assert audit_entries(engine, table="users", record_id=new.id) == []
    with pytest.raises(AccessDeniedError, match="Wrong user name or password"):
        authenticate(engine, "newbie", "long-enough")
    assert user_from_token(engine, token, secret=secret) is None
