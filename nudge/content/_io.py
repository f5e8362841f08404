"""File input and output of content entries: YAML, CSV and XLSX, atomic writes.

Readers return raw rows (mappings) with the row number a designer sees: for a
CSV or XLSX sheet the first data row is row 2 (under the header); for YAML the
first entry is row 1. Parsing of values happens in `nudge.content.schema`.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import yaml

from nudge._errors import InputFileError
from nudge.io.sheets import rows_csv_bytes, rows_xlsx_bytes, unquote_cell

SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx")


def rows_from_file(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """Read raw entries from a YAML, CSV or XLSX file.

    Returns
    -------
    tuple[list[dict], list[int]]
        The rows and their row numbers.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"The file {path} does not exist; check the path."
        raise InputFileError(msg, code="content_file_missing", path=Path(path).name)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _rows_from_yaml(path)
    if suffix == ".csv":
        return _rows_from_csv(path)
    if suffix == ".xlsx":
        return _rows_from_xlsx(path)
    msg = f"Cannot read {path.name}: use a .yaml, .yml, .csv or .xlsx file."
    raise InputFileError(msg, code="content_file_kind", file=path.name)


def _rows_from_yaml(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        msg = f"The file {path} is not valid UTF-8 YAML: {exc}"
        raise InputFileError(
            msg, code="content_file_bad_yaml", path=Path(path).name, reason=str(exc)
        ) from None
    if data is None:
        return [], []
    if isinstance(data, Mapping) and len(data) == 1:
        data = next(iter(data.values()))
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        msg = f"The file {path} must hold a YAML list of entries (mappings)."
        raise InputFileError(msg, code="content_file_not_list", path=Path(path).name)
    return [dict(r) for r in data], list(range(1, len(data) + 1))


def _rows_from_csv(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1251 decodes every byte
        msg = f"The file {path} is neither UTF-8 nor Windows-1251 text."
        raise InputFileError(msg, code="content_file_encoding", path=Path(path).name)
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") and "\t" not in sample else ","
    if sample.count("\t") > max(sample.count(","), sample.count(";")):
        delimiter = "\t"
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows, numbers = [], []
    for number, row in enumerate(reader, start=2):
        clean = {str(k).strip(): unquote_cell(v) for k, v in row.items() if k is not None}
        if any(str(v or "").strip() for v in clean.values()):
            rows.append(clean)
            numbers.append(number)
    return rows, numbers


def _rows_from_xlsx(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        msg = f"The file {path} is not a readable XLSX workbook: {exc}"
        raise InputFileError(
            msg, code="content_file_bad_xlsx", path=Path(path).name, reason=str(exc)
        ) from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        return [], []
    names = [str(h).strip() if h is not None else "" for h in header]
    rows, numbers = [], []
    for number, cells in enumerate(values, start=2):
        row = {n: c for n, c in zip(names, cells, strict=False) if n}
        if any(c is not None and str(c).strip() for c in row.values()):
            rows.append(row)
            numbers.append(number)
    book.close()
    return rows, numbers


def cell_text(value: Any) -> Any:
    """Return a value as one spreadsheet cell: lists joined by ``;``, members as text."""
    if isinstance(value, list | tuple):
        parts = []
        for v in value:
            if isinstance(v, Mapping):
                parts.append("|".join(str(v.get(k) or "") for k in ("name", "role", "years")))
            else:
                parts.append(str(v))
        return ";".join(parts)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def write_rows(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Write entries to a CSV, XLSX or YAML file by its suffix, atomically."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        write_yaml_atomic(Path(path), [dict(r) for r in rows])
        return
    table = [[cell_text(r.get(c)) for c in columns] for r in rows]
    if suffix == ".csv":
        write_bytes_atomic(Path(path), rows_csv_bytes(columns, table))
        return
    if suffix == ".xlsx":
        write_xlsx_atomic(Path(path), {"entries": (list(columns), table)})
        return
    msg = f"Cannot write {Path(path).name}: use a .yaml, .csv or .xlsx file."
    raise InputFileError(msg, code="content_file_write_kind", file=Path(path).name)


def write_yaml_atomic(path: Path, data: Any) -> None:
    """Write `data` as readable UTF-8 YAML to `path` through a temporary file."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` via a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_xlsx_atomic(
    path: Path, sheets: Mapping[str, tuple[list[str], Iterable[Sequence[Any]]]]
) -> None:
    """Write sheets (name -> header and rows) to an XLSX workbook, atomically."""
    write_bytes_atomic(path, rows_xlsx_bytes(sheets))
