"""What a field import reports (problems per submission, figures) and its checks before writing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nudge import registry
from nudge._errors import NudgeError, RowProblem
from nudge.field.exports import FieldExport


class SubmissionProblem(RowProblem):
    """A `RowProblem` of one submission, named by its instanceID (`entry`) and its export row."""

    __slots__ = ()

    def __init__(
        self,
        submission: str,
        row: int,
        message: str = "",
        *,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        RowProblem.__init__(self, row, message, code=code, params=params, entry=submission)

    @property
    def submission(self) -> str:
        """Return the instanceID of the submission."""
        return str(self.entry)

    def as_dict(self) -> dict[str, object]:
        """Return ``{"submission", "row", "message", "code"}``."""
        return {
            "submission": self.entry,
            "row": self.row,
            "message": self.message,
            "code": self.code,
        }


@dataclass
class FieldImportResult:
    """What an import of field submissions did; `as_dict` gives the CLI's JSON shape."""

    submissions: int
    stored: int = 0
    updated: int = 0
    status_changes: int = 0
    skipped_existing: int = 0
    photos: int = 0
    flagged: int = 0
    errors: list[SubmissionProblem] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def refused(self) -> int:
        """Return how many submissions had a problem."""
        return len({p.submission for p in self.errors})

    @property
    def kept(self) -> int:
        """Return how many submissions are in the registry now (stored before or now)."""
        return self.stored + self.updated + self.status_changes + self.skipped_existing

    def as_dict(self) -> dict[str, object]:
        """Return the figures and every problem."""
        return {
            "submissions": self.submissions,
            "stored": self.stored,
            "updated": self.updated,
            "status_changes": self.status_changes,
            "skipped_existing": self.skipped_existing,
            "photos": self.photos,
            "flagged": self.flagged,
            "errors": [p.as_dict() for p in self.errors],
            "ids": self.ids,
        }


class _Problems:
    def __init__(self, ids: np.ndarray, rows: np.ndarray) -> None:
        self.ids, self.rows = ids, rows
        self.items: list[SubmissionProblem] = []
        self.bad = np.zeros(len(ids), dtype=bool)

    def add(self, i: int, message: str = "", *, code: str | None, **params: object) -> None:
        """Record the problem `code` of submission `i` (`message`: English of its own)."""
        sid = str(self.ids[i])
        params = {"submission": sid, **params}
        problem = SubmissionProblem(sid, int(self.rows[i]), message, code=code, params=params)
        self.items.append(problem)
        self.bad[i] = True

    def add_error(self, i: int, exc: NudgeError) -> None:
        self.add(i, str(exc), code=exc.code, **exc.params)


def _cells(table: pd.DataFrame, column: str) -> list[Any]:
    if column not in table:
        return [None] * len(table)
    return [None if _missing(v) else v for v in table[column]]


def _missing(value: object) -> bool:
    """Return whether a cell is empty (None, NaN or blank text)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def _known(version: object, schemas: Sequence[str]) -> bool:
    text = "" if version is None else str(version)
    return any(text == s or text.startswith(s + ".") for s in schemas)


def _check_ids_and_versions(table: pd.DataFrame, p: _Problems, schemas: Sequence[str]) -> None:
    seen: set[str] = set()
    known = ", ".join(schemas)
    for i, (instance, version) in enumerate(
        zip(_cells(table, "instance_id"), _cells(table, "form_version"), strict=True)
    ):
        if instance is None:
            p.add(i, code="field_instance_missing")
        elif instance in seen:
            p.add(i, code="field_instance_duplicate")
        seen.add(str(instance))
        if not _known(version, schemas):
            p.add(i, code="field_version_unknown", version=str(version or "—"), known=known)


def _check_accuracy(table: pd.DataFrame, p: _Problems, limit: float) -> None:
    for i, value in enumerate(_cells(table, "accuracy")):
        if value is None:
            continue
        try:
            accuracy = float(str(value).replace(",", "."))
        except ValueError:
            accuracy = float("nan")
        if not accuracy <= limit:  # NaN too
            p.add(i, code="field_accuracy", accuracy=str(value), limit=f"{limit:g}")


def _check_photos(export: FieldExport, p: _Problems, max_bytes: int) -> None:
    table = export.submissions
    for i, names in enumerate(table["photos"]):
        for name in names:
            data = export.media(name, str(p.ids[i]))
            if data is None:
                p.add(i, code="field_photo_missing", name=name)
                continue
            try:
                registry.inspect_photo(data, name=name, max_bytes=max_bytes)
            except NudgeError as exc:
                p.add_error(i, exc)
