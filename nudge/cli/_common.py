"""Shared pieces of the CLI: JSON output, warnings on stderr, error handling."""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from nudge._errors import BatchValidationError, NudgeError
from nudge.settings import Settings, settings_from_env

if TYPE_CHECKING:
    import pandas as pd

    from nudge.i18n import Translator

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON object with the result on stdout.")
]
AsUser = Annotated[str, typer.Option("--as", help="Registry user to act for.")]
GroupsOption = Annotated[str, typer.Option(help="Groups: region, year, urban, age_group, sex.")]
MinRespondentsOption = Annotated[int, typer.Option(help="Suppress cells with fewer respondents.")]
EstimatesOutOption = Annotated[Path | None, typer.Option(help="Write the estimates to this CSV.")]


LANGUAGE = Literal["kk", "ru", "en"]
"""The type of every ``--lang`` option: an unknown language is a usage error, not English."""
_LANGUAGE_VARIABLES = ("NUDGE_LANG", "LC_ALL", "LC_MESSAGES", "LANG")


def message_language(environ: Mapping[str, str] | None = None) -> str:
    """Return the language of the CLI's messages: ``kk``, ``ru`` or ``en``.

    The first of ``NUDGE_LANG``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is
    set decides (``kk_KZ.UTF-8`` means Kazakh); English when it names another
    language or none is set. Errors, refused rows and warnings are said in it;
    the labels of a command's output and its JSON stay English.
    """
    from nudge.i18n import LANGUAGES

    env = os.environ if environ is None else environ
    for name in _LANGUAGE_VARIABLES:
        value = (env.get(name) or "").strip()
        if value:
            code = value.split(".")[0].split("_")[0].split("-")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def said(item: object) -> str:
    """Return an error, a refused row's problem or a warning in the CLI's message language.

    An error about a whole batch says its headline, then each of its first 20
    problems on a line of its own, as its English message does.
    """
    from nudge.i18n import coded_text

    lang = message_language()
    if lang == "en":  # the English every error, problem and warning carries
        return str(item)
    if isinstance(item, BatchValidationError):
        head = coded_text(item, lang, str(item).split("\n", 1)[0])
        lines = [f"row {p.row}: {coded_text(p, lang, p.message)}" for p in item.problems[:20]]
        if len(item.problems) > len(lines):
            lines.append(f"... +{len(item.problems) - len(lines)}")
        return "\n".join([head, *lines])
    return coded_text(item, lang, str(item))


def get_settings() -> Settings:
    """Return the settings of this CLI process, from the environment."""
    return settings_from_env()


def dataset_folder(name: str) -> Path:
    """Return the folder of a dataset given as a path or as a name in the data dir."""
    folder = Path(name)
    return folder if folder.is_dir() else get_settings().dataset_dir(name)


def _default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    msg = f"Object of type {type(value).__name__} is not JSON serialisable."
    raise TypeError(msg)


def emit(result: Mapping[str, Any], *, as_json: bool, human: str | None = None) -> None:
    """Print a command's result: one JSON object, or a readable summary.

    Parameters
    ----------
    result
        The figures of the command.
    as_json
        Print `result` as one JSON object on stdout.
    human
        Text to print instead when `as_json` is false; by default one
        ``key: value`` line per figure.
    """
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, default=_default))
        return
    if human is None:
        human = "\n".join(f"{k}: {_short(v)}" for k, v in result.items())
    typer.echo(human)


def record_dict(record: object, fields: str) -> dict[str, Any]:
    """Return the named attributes of `record` as a dict, in the order given.

    Parameters
    ----------
    record
        Any object, typically a frozen dataclass of the library.
    fields
        Space-separated keys; ``key=path`` takes the key's value from the
        attribute `path` (dotted for nested attributes), a bare ``key`` from
        the attribute of that name.

    Returns
    -------
    dict
        One item per key, ready for :func:`emit`.
    """
    pairs = (field.partition("=") for field in fields.split())
    return {key: attrgetter(path or key)(record) for key, _, path in pairs}


def comma_list(text: str) -> list[str]:
    """Return the items of a comma-separated option, stripped, without empty ones."""
    return [item.strip() for item in text.split(",") if item.strip()]


def emit_estimates(
    table: pd.DataFrame,
    t: Translator,
    *,
    out: Path | None,
    as_json: bool,
    head: Mapping[str, Any] | None = None,
) -> None:
    """Print a table of survey estimates and write it to `out` as CSV when given.

    Parameters
    ----------
    table
        One row per index and group, with a ``suppressed`` column.
    t
        Translator of the summary line printed under the table.
    out
        CSV file to write (UTF-8 with a byte-order mark, for spreadsheets).
    as_json
        Print one JSON object: `head`, the counts and every estimate as a record.
    head
        Figures printed before the counts in the JSON object.
    """
    from nudge.io.sheets import csv_bytes

    result: dict[str, Any] = {
        **(head or {}),
        "rows": len(table),
        "suppressed": int(table["suppressed"].sum()),
        "estimates": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
    }
    if out is not None:
        out.write_bytes(csv_bytes(table, encoding="utf-8-sig"))
        result["out"] = str(out)
    summary = t("evaluation.cli_survey", rows=result["rows"], suppressed=result["suppressed"])
    emit(result, as_json=as_json, human=table.to_string(index=False) + "\n" + summary)


IMPORT_ALL_KEPT, IMPORT_SOME_REFUSED, IMPORT_NOTHING_KEPT = 0, 1, 2


def import_exit_code(*, kept: int, refused: int) -> int:
    """Return the exit code of an import, the same for every import command.

    Parameters
    ----------
    kept
        Rows stored by this import or already stored before it.
    refused
        Rows refused because of their problems.

    Returns
    -------
    int
        0 when every row is stored or already there, 1 when some rows were
        refused and the rest kept, 2 when no row was kept (a file that cannot
        be read at all ends with 2 too, as every nudge error does).
    """
    if kept == 0:
        return IMPORT_NOTHING_KEPT
    return IMPORT_SOME_REFUSED if refused else IMPORT_ALL_KEPT


def finish_import(name: str, *, kept: int, refused: int) -> None:
    """End an import command with its exit code, saying on stderr why it is not 0."""
    code = import_exit_code(kept=kept, refused=refused)
    if code == IMPORT_NOTHING_KEPT:
        why = f"all {refused} row(s) were refused" if refused else "it holds no rows"
        sys.stderr.write(f"error: nothing from {name} was stored: {why}.\n")
    elif code == IMPORT_SOME_REFUSED:
        sys.stderr.write(
            f"warning: {refused} row(s) of {name} were refused; the other {kept} are stored "
            "or were already there.\n"
        )
    if code:
        raise typer.Exit(code)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=_default)
    return text if len(text) <= 200 else text[:197] + "..."


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(f"warning: {message}\n")


def run_app(app: typer.Typer) -> None:
    """Run `app` and exit with its code, turning nudge errors into one message and code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    warnings.showwarning = _show_warning
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(code) comes back here
    except NudgeError as exc:
        sys.stderr.write(f"error: {said(exc)}\n")
        raise SystemExit(2) from None
    except typer.Abort:
        sys.stderr.write("aborted\n")
        raise SystemExit(1) from None
    except Exception as exc:  # click's own usage errors carry an exit code
        usage_code = getattr(exc, "exit_code", None)
        show = getattr(exc, "show", None)
        if usage_code is not None and show is not None:
            show()
            raise SystemExit(usage_code) from None
        raise
    if isinstance(code, int) and code:
        raise SystemExit(code)
