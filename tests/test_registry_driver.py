"""The one-row write paths that hand their SQL to psycopg: same rows, same errors as SQLAlchemy.

Logging one installation on PostgreSQL looks up the user and inserts the installation through
psycopg itself (`nudge.registry._driver`); everything it stores must read exactly as what the
SQLAlchemy paths store (an import, or SQLite), and its errors must be SQLAlchemy's.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from registry_support import ALMATY, Users
from sqlalchemy.engine import Engine

from nudge._errors import AccessDeniedError
from nudge.registry import import_installations, list_installations, log_installation, write_session
from nudge.registry._driver import driver_errors, driver_sql

ASTANA = (51.128, 71.430)
pytest_plugins = ["registry_support"]


def _audit(engine: Engine) -> list[tuple[int, bool, str | None, dict]]:
    query = sa.text(
        "SELECT record_id, old_values IS NULL, username, new_values FROM audit_log "
        "WHERE table_name = 'installations' AND action = 'create' ORDER BY record_id"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    # SQLite hands JSON back as text, psycopg as parsed values
    return [(r[0], r[1], r[2], json.loads(r[3]) if isinstance(r[3], str) else r[3]) for r in rows]


def test_a_logged_installation_is_stored_and_audited_as_an_imported_one(
    engine: Engine, users: Users
) -> None:
    logged = log_installation(
        engine,
        user=users.almaty,
        kind="banner",
        lat=ALMATY[0],
        lon=ALMATY[1],
        installed_on=date(2025, 3, 1),
        themes=("diligence",),
        external_id="one",
    )
    row = f"{ALMATY[0] + 0.01},{ALMATY[1]},banner,2025-03-01,diligence,two"
    csv = f"lat,lon,kind,installed_on,themes,external_id\n{row}\n"
    imported = import_installations(engine, csv.encode(), filename="two.csv", user=users.almaty)
    assert imported.stored == 1
    (one, one_null, one_user, one_new), (two, two_null, two_user, two_new) = _audit(engine)
    assert one == logged.id and two == imported.ids[0]
    assert (one_null, one_user) == (two_null, two_user) == (False, "aigerim")  # JSON null both
    assert one_new.keys() == two_new.keys()
    assert (one_new["themes"], one_new["installed_on"]) == (two_new["themes"], "2025-03-01")
    first, second = list_installations(engine, ids=[one, two])
    assert (
        (first.themes, first.region_code)
        == (second.themes, second.region_code)
        == (
            ("diligence",),
            "ALA",
        )
    )


def test_the_user_looked_up_by_the_driver_keeps_roles_and_regions(
    engine: Engine, users: Users
) -> None:
    with pytest.raises(AccessDeniedError):  # an Almaty coordinator in Astana
        log_installation(
            engine,
            user=users.almaty,
            kind="banner",
            lat=ASTANA[0],
            lon=ASTANA[1],
            installed_on=date(2025, 3, 1),
        )
    with pytest.raises(AccessDeniedError):
        log_installation(engine, user="nobody", kind="banner", lat=ALMATY[0], lon=ALMATY[1])
    rec = log_installation(
        engine,
        user=users.astana,
        kind="banner",
        lat=ASTANA[0],
        lon=ASTANA[1],
        installed_on=date(2025, 3, 1),
    )
    assert rec.region_code == "AST"


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQL goes to the driver itself only on PostgreSQL (psycopg)")
    insert = sa.text("INSERT INTO once (k) VALUES (:k)")
    with pytest.raises(sa.exc.IntegrityError), write_session(engine) as session:
        conn = session.connection()
        conn.execute(sa.text("CREATE TEMPORARY TABLE once (k integer PRIMARY KEY)"))
        sql, fixed = driver_sql(insert, conn.dialect)
        driver = conn.connection.driver_connection
        for _ in range(2):
            with driver_errors(conn, sql, {**fixed, "k": 1}):
                driver.execute(sql, {**fixed, "k": 1})  # type: ignore[union-attr]
