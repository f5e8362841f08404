"""Errors raised by nudge.

Each is a small subclass of a built-in exception and of `NudgeError`, so that
callers can catch the built-in kind they expect (``ValueError`` for bad input)
and the CLI and app can catch every nudge error in one place and show its
message, which always says what was wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from nudge._catalogue import english

Severity = Literal["error", "warning"]


class NudgeError(Exception):
    """Base of every error nudge raises on purpose.

    The message is English (the CLI and logs show it). `code` names the same
    message in the details catalogue (``nudge/locales/details/*.toml``) and
    `params` fills its placeholders, so the app can say it in the user's
    language; see `nudge.i18n.error_text`. An error raised with a code and no
    message has the catalogue's English text as its message.
    """

    def __init__(self, message: str = "", /, *, code: str | None = None, **params: object) -> None:
        super().__init__(message or english(code, params) or code or "")
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


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, said by a code of the details catalogue and its placeholder values.

    Its English text (`message`) comes from the catalogue; `nudge.i18n.problem_text`
    says it in the user's language. The other fields say where it is, when that
    is known: a `row` of an imported batch (numbered as the user sees it), a
    `column` or field, a content `entry` and its `collection`, a rotation's
    `site` and `flight`. `written` is an English text a caller wrote itself, for
    codes the catalogue does not hold yet.
    """

    code: str | None
    params: Mapping[str, object] = field(default_factory=dict, compare=False)
    _: KW_ONLY
    row: int | None = None
    column: str | None = None
    entry: str | None = None
    collection: str | None = None
    site: str | None = None
    flight: int | None = None
    severity: Severity = "error"
    written: str | None = None

    @property
    def message(self) -> str:
        """Return the English text: the one written, else the catalogue's, else the code."""
        return self.written or english(self.code, self.params) or self.code or ""

    @property
    def id(self) -> str | None:
        """Return the content entry the problem concerns (`entry`)."""
        return self.entry

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-ready mapping: where it is, its code and its message."""
        where = {
            "row": self.row,
            "column": self.column,
            "id": self.entry,
            "collection": self.collection,
            "site_id": self.site,
            "flight": self.flight,
        }
        out: dict[str, object] = {k: v for k, v in where.items() if v is not None}
        return out | {"code": self.code, "severity": self.severity, "message": self.message}


class RowProblem(Problem):
    """A `Problem` in one row of a batch (its `row` always known).

    Made as ``RowProblem(row, code=..., params=..., column=...)`` and any other
    field of `Problem` by keyword; a positional English `message` is kept as
    `written`, for callers whose codes the catalogue does not hold yet.
    """

    __slots__ = ()
    row: int

    def __init__(
        self,
        row: int,
        message: str = "",
        column: str | None = None,
        *,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
        **where: Any,
    ) -> None:
        written = where.pop("written", None) or message or None
        Problem.__init__(self, code, params or {}, row=row, column=column, written=written, **where)


class Notice(str):
    """A warning the library returns next to a result: its English text, with its code.

    It is a plain `str` (the CLI and JSON show the English text, from the
    catalogue unless a `message` is written); `code` and `params` let the app
    say it in the user's language, as for errors, and `problem` is the same
    warning as a `Problem`.
    """

    code: str | None
    params: dict[str, object]

    def __new__(cls, message: str = "", /, *, code: str | None = None, **params: object) -> Notice:
        """Return the notice of `code` (or the written `message`), with its placeholder values."""
        obj = super().__new__(cls, message or english(code, params) or code or "")
        obj.code = code
        obj.params = params
        return obj

    @property
    def problem(self) -> Problem:
        """Return this warning as a `Problem`."""
        return Problem(self.code, self.params, severity="warning", written=str(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_notice, (str(self), self.code, self.params))


def _rebuild_notice(message: str, code: str | None, params: dict[str, object]) -> Notice:
    return Notice(message, code=code, **params)


class BatchValidationError(NudgeError, ValueError):
    """Every problem of a batch, reported together.

    Raised only when nothing in the batch could be used; otherwise the problems
    are returned next to the good rows. The headline is `code` (``batch_problems``
    unless a caller names its own, filled from `params` and ``n``); each problem
    follows on its own line.
    """

    def __init__(
        self,
        problems: Sequence[RowProblem],
        *,
        what: str = "batch",
        code: str = "batch_problems",
        **params: object,
    ) -> None:
        self.problems = list(problems)
        self.what = what
        lines = [f"row {p.row}: {p.message}" for p in self.problems[:20]]
        more = len(self.problems) - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        params = {"n": len(self.problems), **params}
        head = english(code, params) if code != "batch_problems" else None
        head = head or f"The {what} has {len(self.problems)} problem(s):"
        super().__init__(head + "\n" + "\n".join(lines), code=code, **params)

    def __reduce__(self) -> tuple[Any, ...]:
        params = {k: v for k, v in self.params.items() if k != "n"}
        return (_rebuild_batch, (type(self), self.problems, self.what, self.code, params))


def _rebuild_batch(
    cls: type[BatchValidationError],
    problems: list[RowProblem],
    what: str,
    code: str,
    params: dict[str, object],
) -> BatchValidationError:
    return cls(problems, what=what, code=code, **params)


class RecordBatchError(BatchValidationError, RecordError):
    """Every problem of a batch of records (a survey file's rows), reported together."""
