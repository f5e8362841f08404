"""File input and output of content entries: YAML, CSV and XLSX, atomic writes.

Readers return raw rows (mappings) with the row number a designer sees: for a
CSV or XLSX sheet the first data row is row 2 (under the header); for YAML the
first entry is row 1. CSV and XLSX are read by nudge's one table reader
(`nudge.io.tables.csv_frame`, `xlsx_frame`). Parsing of values happens in
`nudge.content.schema`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from nudge._errors import InputFileError, Notice
from nudge.io.limits import check_size
from nudge.io.sheets import rows_csv_bytes, rows_xlsx_bytes, unquote_cell
from nudge.io.tables import csv_frame, decode_text, xlsx_frame

SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx")
MAX_CONTENT_BYTES = 2 * 1024 * 1024
"""Largest content file read: some 8,000 proverbs or 1,000 dynasty stories, checked in a few
seconds (`benchmarks/bench_content.py`); a campaign library holds hundreds."""
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when installed (about ten times faster), else PyYAML's."""


def rows_from_file(
    path: Path, *, max_bytes: int = MAX_CONTENT_BYTES
) -> tuple[list[dict[str, Any]], list[int]]:
    """Read raw entries from a YAML, CSV or XLSX file.

    Parameters
    ----------
    path
        The file.
    max_bytes
        Largest file read; a larger one is refused before it is read.

    Returns
    -------
    tuple[list[dict], list[int]]
        The rows and their row numbers.

    Raises
    ------
    InputFileError
        When the file is missing, too large, of another kind or unreadable; YAML
        aliases (``*name``) are refused, so an alias bomb never unfolds.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(code="content_file_missing", path=Path(path).name)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputFileError(code="content_file_kind", file=path.name)
    check_size(path, max_bytes=max_bytes)
    if suffix == ".csv":
        return _rows_from_csv(path)
    if suffix == ".xlsx":
        return _rows_from_xlsx(path)
    return _rows_from_yaml(path)


class _AliasRefused(yaml.YAMLError):
    pass


class _NoAliasLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """The safe YAML loader, refusing any node met twice: an alias (``*name``)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            mark = getattr(node, "start_mark", None)
            raise _AliasRefused(getattr(mark, "line", -1) + 1)
        return super().construct_object(node, deep=deep)


def _rows_from_yaml(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        data = yaml.load(decode_text(path.read_bytes()), Loader=_NoAliasLoader)  # noqa: S506
    except _AliasRefused as exc:
        line = exc.args[0]
        raise InputFileError(code="content_file_yaml_alias", path=path.name, line=line) from None
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        reasons = {
            RecursionError: Notice(code="content_yaml_reason_nested"),
            UnicodeDecodeError: Notice(code="reason_not_text"),
        }
        reason = reasons.get(type(exc)) or _yaml_reason(exc)
        raise InputFileError(
            code="content_file_bad_yaml", path=Path(path).name, reason=reason
        ) from None
    if data is None:
        return [], []
    if isinstance(data, Mapping) and len(data) == 1:
        data = next(iter(data.values()))
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        raise InputFileError(code="content_file_not_list", path=Path(path).name)
    return [dict(r) for r in data], list(range(1, len(data) + 1))


def _yaml_reason(exc: BaseException) -> str:
    """Say where a YAML file stops being YAML, in words (never PyYAML's multi-line text)."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return Notice(code="content_yaml_reason_invalid")
    line = int(mark.line) + 1
    return Notice(code="content_yaml_reason_line", line=line)


def _rows_from_csv(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    data = path.read_bytes()
    if not data.strip():
        return [], []
    try:
        table = csv_frame(data, path.name)
    except UnicodeDecodeError:
        raise InputFileError(code="content_file_encoding", path=path.name) from None
    table.columns = [str(c).strip() for c in table.columns]
    return _filled_rows(table.map(unquote_cell))


def _rows_from_xlsx(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    try:
        table = xlsx_frame(path.read_bytes(), path.name)
    except InputFileError as exc:
        if exc.code != "xlsx_unreadable":  # a bomb is said as it is
            raise
        why = exc.params["reason"]
        raise InputFileError(
            code="content_file_bad_xlsx", path=Path(path).name, reason=why
        ) from None
    named = [c for c in table.columns if str(c).strip() and not str(c).startswith("Unnamed: ")]
    table = table[named].rename(columns=lambda c: str(c).strip())
    return _filled_rows(table)


def _filled_rows(table: pd.DataFrame) -> tuple[list[dict[str, Any]], list[int]]:
    """Return the rows of `table` that hold anything, with their spreadsheet row numbers.

    The index of `table` is the spreadsheet row number minus 2 (the header is row 1).
    """
    if not len(table.columns):
        return [], []
    filled = table.apply(lambda col: col.map(lambda v: v is not None and str(v).strip() != ""))
    keep = filled.any(axis=1).to_numpy(dtype=bool)
    rows = table[keep].to_dict(orient="records")
    numbers = [int(i) + 2 for i in table.index[keep]]
    return [{str(k): v for k, v in r.items()} for r in rows], numbers


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
    raise InputFileError(code="content_file_write_kind", file=Path(path).name)


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
