"""Errors raised by nudge.

Each is a small subclass of a built-in exception and of `NudgeError`, so that
callers can catch the built-in kind they expect (``ValueError`` for bad input)
and the CLI and app can catch every nudge error in one place and show its
message, which always says what was wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class NudgeError(Exception):
    """Base of every error nudge raises on purpose.

    The message is English (the CLI and logs show it). `code` names the same
    message in the details catalogue (``nudge/locales/details/*.toml``) and
    `params` fills its placeholders, so the app can say it in the user's
    language; see `nudge.i18n.error_text`.
    """

    def __init__(self, message: str = "", *, code: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, object] = params

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self.code, self.params))


def _rebuild(
    cls: type[NudgeError], message: str, code: str | None, params: dict[str, object]
) -> NudgeError:
    exc = cls.__new__(cls)
    NudgeError.__init__(exc, message, code=code, **params)
    return exc


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


class Notice(str):
    """A warning the library returns next to a result: an English text with a code.

    It is a plain `str` (the CLI and JSON show the English text); `code` and
    `params` let the app say it in the user's language, as for errors.
    """

    code: str | None
    params: dict[str, object]

    def __new__(cls, message: str, *, code: str | None = None, **params: object) -> Notice:
        """Return the notice `message`, with its detail code and placeholder values."""
        obj = super().__new__(cls, message)
        obj.code = code
        obj.params = params
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_notice, (str(self), self.code, self.params))


def _rebuild_notice(message: str, code: str | None, params: dict[str, object]) -> Notice:
    return Notice(message, code=code, **params)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem found in one row of an imported batch."""

    row: int
    message: str
    column: str | None = None
    code: str | None = None
    params: dict[str, object] = field(default_factory=dict, compare=False)

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
        self.what = what
        lines = [f"row {p.row}: {p.message}" for p in self.problems[:20]]
        more = len(self.problems) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        msg = f"The {what} has {len(self.problems)} problem(s):\n" + "\n".join(lines)
        super().__init__(msg, code="batch_problems", n=len(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_batch, (self.problems, self.what))


def _rebuild_batch(problems: list[RowProblem], what: str) -> BatchValidationError:
    return BatchValidationError(problems, what=what)
