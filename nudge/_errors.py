"""Errors raised by nudge.

Each is a small subclass of a built-in exception and of `NudgeError`, so that
callers can catch the built-in kind they expect (``ValueError`` for bad input)
and the CLI and app can catch every nudge error in one place and show its
message, which always says what was wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class NudgeError(Exception):
    """Base of every error nudge raises on purpose."""


class InputFileError(NudgeError, ValueError):
    """A file is missing, empty, truncated, corrupt or of an unknown kind."""


class InvalidQueryError(NudgeError, ValueError):
    """A place name, bounding box or polygon cannot be used to fetch data."""


class OnlineSourceError(NudgeError, ConnectionError):
    """An online service (Nominatim, Overpass) could not be reached or refused the request."""


class EmptyDataError(NudgeError, ValueError):
    """An area or file holds none of the data that was asked for."""


class DatasetError(NudgeError, ValueError):
    """A city dataset folder is missing or incomplete."""


class ProfileError(NudgeError, ValueError):
    """A scoring profile names unknown signals or has invalid weights."""


class InfeasibleError(NudgeError, ValueError):
    """The constraints of a plan or rotation cannot all be met."""


class AccessDeniedError(NudgeError, PermissionError):
    """A user's role or region does not allow the requested change."""


class RecordError(NudgeError, ValueError):
    """A registry record is invalid or in conflict with stored records."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem found in one row of an imported batch."""

    row: int
    message: str
    column: str | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-ready mapping."""
        out: dict[str, object] = {"row": self.row, "message": self.message}
        if self.column is not None:
            out["column"] = self.column
        return out


class BatchValidationError(NudgeError, ValueError):
    """Every problem of a batch, reported together.

    Raised only when nothing in the batch could be used; otherwise the problems
    are returned next to the good rows.
    """

    def __init__(self, problems: Sequence[RowProblem], *, what: str = "batch") -> None:
        self.problems = list(problems)
        lines = [f"row {p.row}: {p.message}" for p in self.problems[:20]]
        more = len(self.problems) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        msg = f"The {what} has {len(self.problems)} problem(s):\n" + "\n".join(lines)
        super().__init__(msg)
