"""Helpers shared by the registry's batch imports: result, file name, batch record, retries."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nudge._errors import InputFileError, Notice, RecordError, RowProblem
from nudge.registry._bind import Bind, owns_transaction, writing
from nudge.registry._photos import sanitise_filename
from nudge.registry.audit import record_change, utcnow
from nudge.registry.auth import Actor
from nudge.registry.models import ImportBatch

if TYPE_CHECKING:
    from nudge.geo.districts import DistrictLayer

R = TypeVar("R")


@dataclass
class ImportResult:
    """What an import did; `as_dict` gives the CLI's JSON shape."""

    rows: int
    stored: int
    skipped_existing: int
    errors: list[RowProblem]
    flagged_duplicates: int = 0
    ids: list[int] = field(default_factory=list)
    batch_id: int | None = None
    warnings: list[Notice] = field(default_factory=list)  # about the whole file, not a row

    def as_dict(self) -> dict[str, object]:
        """Return the counts, refused rows and warnings, as the CLI's JSON prints them."""
        return {
            "rows": self.rows,
            "stored": self.stored,
            "skipped_existing": self.skipped_existing,
            "errors": [{"row": p.row, "message": p.message} for p in self.errors],
            "flagged_duplicates": self.flagged_duplicates,
            "warnings": [str(w) for w in self.warnings],
        }


def _raise_missing(
    table: pd.DataFrame,
    name: str,
    missing: list[str],
    *,
    aliases: Mapping[str, Sequence[str]],
    shown: Sequence[str],
) -> NoReturn:
    """Refuse a file without the `missing` columns, listing the accepted names of `shown`."""
    found = [str(c) for c in table.columns if c != "row"]
    expected = "; ".join(f"{c}: {', '.join(aliases[c][:4])}" for c in shown)
    where = {"name": name, "missing": ", ".join(missing), "found": ", ".join(found)}
    if len(found) == 1:
        raise InputFileError(code="import_not_split", **where)
    raise InputFileError(code="import_columns_missing", expected=expected, **where)


def _display_name(source: Path | str | bytes, filename: str | None) -> str:
    if filename is not None:
        return sanitise_filename(filename) or "upload"
    if isinstance(source, bytes | bytearray):
        msg = "Give the file name (filename=...) with uploaded content, so its format is known."
        raise InputFileError(msg)
    return Path(source).name


_WRITE_ATTEMPTS = 3


def _write_retrying(engine: Bind, name: str, write: Callable[[Session, int], R]) -> R:
    """Run ``write(session, attempt)`` in a writing transaction, again after a clash.

    A concurrent import that stored some of the same rows first makes the
    insert fail on a natural key (PostgreSQL checks it when the other commits);
    the next attempt sees those rows and skips them as already stored. In a
    caller's session there is one attempt: the caller's transaction has failed.
    """
    clash: IntegrityError | None = None
    for attempt in range(_WRITE_ATTEMPTS if owns_transaction(engine) else 1):
        try:
            with writing(engine) as session:
                return write(session, attempt)
        except IntegrityError as exc:
            clash = exc
    raise _concurrent_import(name) from clash


def _concurrent_import(name: str) -> RecordError:
    """Say that a concurrent import won, in words: never the driver's text and DETAIL line."""
    return RecordError(code="import_concurrent", name=name)


def _batch(session: Session, actor: Actor, name: str, digest: str, what: str) -> ImportBatch:
    batch = ImportBatch(
        what=what,
        file_name=name[:200],
        file_sha256=digest,
        rows=0,
        stored=0,
        skipped_existing=0,
        errors=0,
        user_id=actor.id,
        imported_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    return batch


def _finish_batch(session: Session, actor: Actor, batch: ImportBatch, result: ImportResult) -> None:
    batch.rows, batch.stored = result.rows, result.stored
    batch.skipped_existing, batch.errors = result.skipped_existing, len(result.errors)
    record_change(
        session,
        actor=actor,
        action="import",
        table="import_batches",
        record_id=batch.id,
        new={**result.as_dict(), "file": batch.file_name, "errors": len(result.errors)},
    )


def uncovered_rows(districts: DistrictLayer | None, found: Sequence[object]) -> list[Notice]:
    """Warn when a district layer covers none of the located rows (`found`: their districts).

    The layer is then of another city, or in the wrong coordinate system; the rows are
    kept, with no district.
    """
    rows = len(found)
    if districts is None or not districts.names or rows == 0 or any(d for d in found):
        return []
    n = len(districts.names)
    return [Notice(code="registry_districts_cover_no_rows", rows=rows, districts=n)]
