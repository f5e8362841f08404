"""CLI commands of stored survey waves and plans of events: ``nudge survey``, ``nudge plans``.

``nudge survey import`` checks every row of the files and stores them as one wave in the
shared database (``NUDGE_DATABASE_URL``, else ``<data dir>/nudge.sqlite``); the same file is
never stored twice. ``nudge survey estimate`` estimates the indices of stored waves.
``nudge plans`` is the issue's name for the register of plans of events; its commands are those
of ``nudge registry import-events``, ``events`` and ``event-status``.
"""

from __future__ import annotations

import getpass
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError
from nudge.cli._common import (
    LANGUAGE,
    EstimatesOutOption,
    GroupsOption,
    JsonOption,
    MinRespondentsOption,
    comma_list,
    emit,
    emit_estimates,
    get_settings,
)
from nudge.cli._registry import registry_event_status, registry_events, registry_import_events
from nudge.db import engine_from_settings, require_schema
from nudge.evaluation.questionnaire import questionnaire_from_file
from nudge.evaluation.store import (
    SurveyWave,
    delete_wave,
    estimate_waves,
    import_aggregates,
    import_wave,
    list_waves,
    require_survey_tables,
)
from nudge.evaluation.survey import MIN_RESPONDENTS
from nudge.i18n import Translator, translator

survey_app = typer.Typer(
    help="Survey waves stored in the database: import, list, estimate, delete.",
    no_args_is_help=True,
)
plans_app = typer.Typer(
    help="Plans of events (indicator 1): import a plan, show what was held, mark an item.",
    no_args_is_help=True,
)

LangOption = Annotated[
    LANGUAGE,
    typer.Option("--lang", help="Language of the printed summary: kk (default), ru or en."),
]
MapOption = Annotated[
    Path | None,
    typer.Option("--questionnaire", "--map", help="Questionnaire map TOML (default: the example)."),
]
plans_app.command("import")(registry_import_events)
plans_app.command("list")(registry_events)
plans_app.command("status")(registry_event_status)

UserOption = Annotated[
    str | None, typer.Option("--as", help="Who imports or deletes (default: your login name).")
]


def _engine() -> Engine:
    engine = engine_from_settings(get_settings())
    require_schema(engine)
    require_survey_tables(engine)
    return engine


def _user(user: str | None) -> str:
    return user or getpass.getuser()


def _map_text(path: Path | None) -> str:
    if path is not None:
        return path.read_text(encoding="utf-8")
    shipped = resources.files("nudge.evaluation").joinpath("data/questionnaire.toml")
    return shipped.read_text(encoding="utf-8")


def _wave_line(wave: SurveyWave, t: Translator) -> str:
    year = "-" if wave.year is None else wave.year
    return t(
        "survey_cli.wave",
        id=wave.id,
        name=wave.name,
        year=year,
        kind=t(f"survey_store.kind_{wave.kind}"),
        rows=wave.rows,
        at=wave.imported_at.strftime("%Y-%m-%d %H:%M"),
        user=wave.imported_by,
        files=", ".join(wave.sources),
    )


@survey_app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="Respondent files (CSV, XLSX, .sav, .dta) of one wave.")
    ],
    name: Annotated[
        str | None, typer.Option(help="Name of the wave (default: the first file's name).")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Survey year of files without one.")] = None,
    questionnaire: MapOption = None,
    aggregates: Annotated[
        bool, typer.Option("--aggregates", help="The file holds published region-level estimates.")
    ] = False,
    user: UserOption = None,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Check every row of a wave's files and store them; a file already stored is refused."""
    engine = _engine()
    label = name or files[0].stem
    if aggregates:
        if len(files) != 1:
            msg = f"--aggregates takes one published table, not {len(files)} files."
            raise InputFileError(msg, code="survey_cli_one_table", n=len(files))
        wave = import_aggregates(engine, files[0], name=label, user=_user(user), year=year)
    else:
        wave = import_wave(
            engine,
            files,
            questionnaire_from_file(questionnaire),
            name=label,
            user=_user(user),
            year=year,
            questionnaire_text=_map_text(questionnaire),
        )
    human = translator(lang)("survey_cli.imported") + "\n" + _wave_line(wave, translator(lang))
    emit(wave.as_dict(), as_json=as_json, human=human)


@survey_app.command("waves")
def waves_command(lang: LangOption = "kk", as_json: JsonOption = False) -> None:
    """List the stored survey waves, newest first."""
    t = translator(lang)
    waves = list_waves(_engine())
    human = "\n".join(_wave_line(w, t) for w in waves) or t("survey_cli.no_waves")
    emit({"waves": [w.as_dict() for w in waves]}, as_json=as_json, human=human)


@survey_app.command("estimate")
def estimate_command(
    wave: Annotated[
        list[int] | None, typer.Option("--wave", help="Wave id; repeat for several (default all).")
    ] = None,
    by: GroupsOption = "region,year",
    questionnaire: Annotated[
        Path | None,
        typer.Option(
            "--questionnaire", "--map", help="Score the stored answers with this map instead."
        ),
    ] = None,
    min_n: MinRespondentsOption = MIN_RESPONDENTS,
    out: EstimatesOutOption = None,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Estimate each index of stored waves per group with design-based SEs and 95 % intervals."""
    t = translator(lang)
    table = estimate_waves(
        _engine(),
        wave or None,
        by=comma_list(by),
        min_n=min_n,
        lang=t.lang,
        questionnaire=None if questionnaire is None else questionnaire_from_file(questionnaire),
    )
    emit_estimates(table, t, out=out, as_json=as_json, head={"waves": wave or []})


@survey_app.command("delete")
def delete_command(
    wave_id: Annotated[int, typer.Argument(help="Wave id (see `nudge survey waves`).")],
    user: UserOption = None,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Delete a stored wave with its respondents (written to the audit log)."""
    wave = delete_wave(_engine(), wave_id, user=_user(user))
    t = translator(lang)
    human = t("survey_cli.deleted") + "\n" + _wave_line(wave, t)
    emit({"deleted": wave.as_dict()}, as_json=as_json, human=human)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.add_typer(survey_app, name="survey")
    app.add_typer(plans_app, name="plans")
