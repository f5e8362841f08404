"""SQL handed to psycopg itself on the one-row write paths, where SQLAlchemy costs the most.

Logging one installation on PostgreSQL runs three statements; SQLAlchemy's execution around
each costs more than the statement. These helpers compile a statement once per driver and
raise the driver's errors as SQLAlchemy does, so callers keep catching `IntegrityError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

_COMPILED: dict[tuple[sa.ClauseElement, type, str], tuple[str, dict[str, Any]]] = {}


def driver_sql(statement: sa.ClauseElement, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """Return `statement` as the driver's SQL and its fixed parameters, compiled once per driver.

    For the one-row paths on PostgreSQL, which hand the SQL to psycopg themselves: SQLAlchemy's
    own execution costs more than the statement there.
    """
    key = (statement, type(dialect), dialect.paramstyle)
    if key not in _COMPILED:
        compiled = statement.compile(dialect=dialect)
        _COMPILED[key] = (compiled.string, dict(compiled.params))
    return _COMPILED[key]


@contextmanager
def driver_errors(conn: sa.Connection, sql: str, values: Mapping[str, Any]) -> Iterator[None]:
    """Raise a driver's error as SQLAlchemy raises it (an `IntegrityError` stays one)."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise sa.exc.DBAPIError.instance(sql, dict(values), exc, dbapi_error) from exc


def fetch_rows(
    conn: sa.Connection,
    statement: sa.ClauseElement,
    params: Mapping[str, Any],
    *,
    json: Iterable[str] = (),
) -> list[tuple[Any, ...]]:
    """Run `statement` and return its rows as tuples: through psycopg itself on PostgreSQL.

    `json` names the parameters bound to JSON columns: psycopg gets them wrapped as
    SQLAlchemy would send them (None as JSON ``null``). Other drivers go through SQLAlchemy.
    """
    if conn.dialect.driver != "psycopg":
        return [tuple(row) for row in conn.execute(cast(sa.Executable, statement), dict(params))]
    from psycopg.types.json import Json

    sql, fixed = driver_sql(statement, conn.dialect)
    values = fixed | dict(params)
    for name in json:
        values[name] = Json(values[name])
    driver: Any = conn.connection.driver_connection
    with driver_errors(conn, sql, values):
        return list(driver.execute(sql, values).fetchall())
