"""Caller-owned transactions: registry steps composed in one session are stored together or not.

Every writing function of the registry takes an engine (its own transaction)
or a session the caller owns (the caller's transaction); see
`nudge.registry._bind`. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from registry_support import ALMATY, ALMATY_2, ASTANA, Users, jpeg_bytes, table_counts
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nudge._errors import AccessDeniedError, RecordError
from nudge.registry import (
    attach_photo,
    audit_entries,
    change_status,
    get_installation,
    import_installations,
    list_installations,
    log_installation,
    log_publication,
    log_with_photo,
    update_user,
    write_session,
)

pytest_plugins = ["registry_support"]


def _banner(session: Engine | Session, users: Users, place: tuple[float, float] = ALMATY) -> int:
    rec = log_installation(
        session,
        user=users.almaty,
        kind="banner",
        lat=place[0],
        lon=place[1],
        installed_on="2025-03-01",
    )
    return rec.id


def test_two_writes_in_one_session_are_committed_together(engine: Engine, users: Users) -> None:
    with write_session(engine) as session:
        first = _banner(session, users)
        pub = log_publication(
            session,
            user=users.almaty,
            kind="podcast",
            title="Еңбек",
            published_on=date(2025, 3, 2),
            region="ALA",
        )
        assert get_installation(session, first).id == first  # the session sees its own rows
    assert [r.id for r in list_installations(engine)] == [first]
    assert {(e.table, e.record_id) for e in audit_entries(engine)} >= {
        ("installations", first),
        ("publications", pub.id),
    }


def test_a_failing_second_write_rolls_back_the_first(engine: Engine, users: Users) -> None:
    before = table_counts(engine)
    with pytest.raises(RecordError) as info, write_session(engine) as session:
        first = _banner(session, users)
        change_status(session, first, "verified", user=users.almaty)  # no photo yet: refused
    assert info.value.code == "verify_needs_photo"
    assert table_counts(engine) == before  # neither the installation nor its audit is left


def test_a_refused_second_installation_rolls_back_the_first(engine: Engine, users: Users) -> None:
    before = table_counts(engine)
    with pytest.raises(AccessDeniedError), write_session(engine) as session:
        _banner(session, users, ALMATY_2)
        _banner(session, users, ASTANA)  # outside the Almaty coordinator's region
    assert table_counts(engine) == before


def test_a_user_changed_earlier_in_the_session_is_checked_afresh(
    engine: Engine, users: Users
) -> None:
    before = table_counts(engine)
    with pytest.raises(AccessDeniedError) as info, write_session(engine) as session:
        _banner(session, users)
        update_user(session, "aigerim", by=users.admin, regions=["Astana"])
        _banner(session, users, ALMATY_2)  # no longer her region
    assert info.value.code == "denied_outside_regions"
    assert table_counts(engine) == before


def test_a_function_given_a_session_never_commits(engine: Engine, users: Users) -> None:
    before = table_counts(engine)
    with Session(engine) as session:
        _banner(session, users)
        csv = b"lat,lon,kind,installed_on\n43.25,76.90,billboard,2025-03-01\n"
        result = import_installations(session, csv, filename="one.csv", user=users.almaty)
        assert result.stored == 1
        assert len(list_installations(session)) == 2
        session.rollback()
    assert table_counts(engine) == before


def test_logging_and_attaching_in_the_callers_session(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    with write_session(engine) as session:
        first = _banner(session, users)
        photo = jpeg_bytes(gps=ALMATY, taken=datetime(2025, 3, 2, 12))
        attach_photo(session, first, photo, user=users.almaty, photo_dir=photos)
        change_status(session, first, "verified", user=users.almaty)
        done = log_with_photo(
            session,
            user=users.almaty,
            photo_dir=photos,
            fields={
                "kind": "billboard",
                "lat": ALMATY_2[0],
                "lon": ALMATY_2[1],
                "installed_on": "2025-03-01",
            },
            photo=("b.jpg", jpeg_bytes(colour=(1, 2, 3))),
        )
        assert done.evidence is not None and done.record.photo_ids == (done.evidence.photo_id,)
    assert [r.status for r in list_installations(engine)] == ["verified", "installed"]
    with engine.connect() as conn:
        attached = conn.execute(sa.text("SELECT count(*) FROM installation_photos")).scalar_one()
    assert attached == 2
