"""Cells of a table as numpy columns: parsed once each, with the problems of every row."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import RowProblem
from nudge.geo.regions import looks_swapped, outside_message


def column_key(name: object) -> str:
    """Return a header cell in the form used to match aliases."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold()).strip("_")


def is_missing(value: object) -> bool:
    """Return whether a cell is empty (None, NaN, NA or NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of `frame` as dicts of plain Python values (None for empty cells)."""
    columns = [str(c) for c in frame.columns]
    values = [frame[c].tolist() for c in frame.columns]
    return [
        {
            c: None if is_missing(v) else (v.item() if isinstance(v, np.generic) else v)
            for c, v in zip(columns, row, strict=True)
        }
        for row in zip(*values, strict=True)
    ]


Cells = np.ndarray
"""A column as a numpy object array, with None for empty cells."""

Columns = dict[str, np.ndarray]
"""Rows as one numpy array per column, all of the same length, with a ``row`` column.

Checks return typed rows in this form and storing takes them, so that one row
(a form in the app) costs little more than its values, and a batch is handled
column by column.
"""

Table = pd.DataFrame | Mapping[str, Sequence[object] | np.ndarray]
"""Cells to check: a DataFrame, or columns by name, with a ``row`` column."""


def row_count(table: Table) -> int:
    """Return the number of rows of a table or of columns."""
    if isinstance(table, pd.DataFrame):
        return len(table)
    return len(table["row"])


def take(columns: Mapping[str, np.ndarray], keep: np.ndarray) -> Columns:
    """Return the rows of `columns` selected by the boolean or integer array `keep`."""
    return {name: values[keep] for name, values in columns.items()}


def cells_of(table: Table, name: str) -> Cells:
    """Return a column's cells (None for empty ones, and for a missing column)."""
    n = row_count(table)
    if name not in table:
        return np.full(n, None, dtype=object)
    column = table[name]
    values = column.tolist() if isinstance(column, pd.Series | np.ndarray) else list(column)
    out = np.empty(n, dtype=object)
    out[:] = [None if is_missing(v) else v for v in values]
    return out


def texts_of(cells: Cells) -> Cells:
    """Return cells as stripped text, None when empty."""
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if v is None else (str(v).strip() or None) for v in cells]
    return out


def present(cells: Cells) -> np.ndarray:
    """Return which cells hold a value."""
    return np.array([v is not None for v in cells], dtype=bool)


def _param(value: object, i: int) -> object:
    if isinstance(value, np.ndarray):
        value = value[i]
    return value.item() if isinstance(value, np.generic) else value


class Problems:
    """Problems of a batch, collected per rule with the row numbers people see."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.items: list[RowProblem] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def add(
        self,
        mask: np.ndarray,
        column: str,
        *,
        code: str,
        params: Mapping[str, object] | None = None,
        written: Callable[[int], str] | None = None,
    ) -> None:
        """Record the problem `code` for every row where `mask` is true.

        `code` names the message in the details catalogue and `params` fills its
        placeholders: a value that is a numpy array holds one value per row (the
        row's own is used), any other value is the same for every row.
        `written(position)` gives an English text of its own, where the
        catalogue's would say less (a point's coordinates to 6 places).
        """
        if not np.any(mask):  # the usual case: nothing to record (cheap for one row)
            return
        given = params or {}
        for i in np.flatnonzero(mask):
            text = written(int(i)) if written is not None else ""
            values = {name: _param(value, int(i)) for name, value in given.items()}
            self.items.append(RowProblem(int(self.rows[i]), text, column, code=code, params=values))
        self.bad |= mask

    def add_outside(self, mask: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        """Record the points of `mask` as outside Kazakhstan, saying when lat/lon look swapped."""
        swapped = np.zeros(len(mask), dtype=bool)
        where = np.flatnonzero(mask)
        if where.size:
            swapped[where] = looks_swapped(lat[where], lon[where])
        lat6, lon6 = np.round(lat, 6), np.round(lon, 6)
        self.add(
            mask & ~swapped,
            "lat",
            code="point_outside",
            params={"lat": lat6, "lon": lon6},
            written=lambda i: outside_message(lat[i], lon[i], swapped=False),
        )
        self.add(
            swapped,
            "lat",
            code="point_outside_swapped",
            params={"lat": lat6, "lon": lon6},
            written=lambda i: outside_message(lat[i], lon[i], swapped=True),
        )


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.number):
        return float(value)
    try:
        return float(str(value).replace(",", ".").replace(" ", "").replace("\u00a0", ""))
    except ValueError:
        return None


def numbers_of(cells: Cells, name: str, p: Problems) -> np.ndarray:
    """Return cells as floats (NaN when empty or refused), recording cells that are not numbers.

    Text such as ``nan``, ``inf`` or ``1e999`` parses as a float but is no
    number a row may hold: it is refused as not finite.
    """
    parsed = [None if v is None else _number(v) for v in cells]
    out = np.array([np.nan if v is None else v for v in parsed], dtype=float)
    failed = np.array(
        [c is not None and v is None for c, v in zip(cells, parsed, strict=True)], dtype=bool
    )
    p.add(
        failed,
        name,
        code="row_not_a_number",
        params={"column": name, "value": cells},
    )
    infinite = present(cells) & ~failed & ~np.isfinite(out)
    p.add(
        infinite,
        name,
        code="row_not_finite",
        params={"column": name, "value": cells},
    )
    out[infinite] = np.nan
    return out


@lru_cache(maxsize=4096)
def _date_from_text(text: str) -> date | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    for fmt in ("%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _date_from_text(str(value).strip())


def dates_of(cells: Cells, name: str, p: Problems) -> Cells:
    """Return cells as dates (None when empty), recording cells that are not dates."""
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if v is None else _date(v) for v in cells]
    failed = present(cells) & ~present(out)
    p.add(
        failed,
        name,
        code="row_not_a_date",
        params={"column": name, "value": cells},
    )
    return out


def _choices(
    cells: Cells, name: str, lookup: Mapping[str, str], p: Problems, default: str | None = None
) -> Cells:
    out = np.empty(len(cells), dtype=object)
    out[:] = [default if v is None else lookup.get(column_key(v)) for v in cells]
    allowed = ", ".join(sorted(set(lookup.values())))
    p.add(
        present(cells) & ~present(out),
        name,
        code="row_unknown_value",
        params={"column": name, "value": cells, "allowed": allowed},
    )
    return out
