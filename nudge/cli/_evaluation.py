"""CLI commands of the evaluation (``nudge evaluate design``, ``survey``, ``exposure``, ``effect``).

``nudge evaluate design`` is the function of ``nudge rollout design`` (`nudge.cli._rollout`);
this module registers both groups.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from sqlalchemy.engine import Engine

from nudge import registry
from nudge._errors import InputFileError, RecordError
from nudge.cli._common import JsonOption, comma_list, emit, emit_estimates, get_settings
from nudge.cli._rollout import LangOption, db_engine, design_command, rollout_app
from nudge.content import load_library
from nudge.evaluation.analysis import (
    ANALYSIS_DESIGNS,
    Schedule,
    effect_lines,
    estimate_effects,
    panel_from_estimates,
    panel_from_file,
    schedule_from_file,
    schedule_from_plan,
)
from nudge.evaluation.exposure import exposure_by_region, rotation_cells, saved_rotation_cells
from nudge.evaluation.questionnaire import questionnaire_from_file
from nudge.evaluation.rollout_store import is_randomised, load_rollout
from nudge.evaluation.survey import (
    MIN_RESPONDENTS,
    estimate_indices,
    estimates_from_aggregates,
    survey_from_files,
)
from nudge.i18n import translator
from nudge.io.sheets import csv_bytes
from nudge.registry.indicators import POPULATION_SOURCE

evaluate_app = typer.Typer(
    help="Plan a rollout that can show whether the campaign worked; estimate the survey.",
    no_args_is_help=True,
)

evaluate_app.command("design")(design_command)

DataOption = Annotated[
    list[Path] | None, typer.Option("--data", help="Respondent file (CSV, XLSX, .sav, .dta).")
]
MapOption = Annotated[
    Path | None, typer.Option("--map", help="Questionnaire map TOML (default: the example).")
]


@evaluate_app.command("survey")
def survey_command(
    data: DataOption = None,
    questionnaire: MapOption = None,
    aggregates: Annotated[
        Path | None, typer.Option(help="Published region-level estimates instead of --data.")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Survey year of files without one.")] = None,
    by: Annotated[str, typer.Option(help="Groups: region, year, urban, age_group, sex.")] = (
        "region,year"
    ),
    min_n: Annotated[int, typer.Option(help="Suppress cells with fewer respondents.")] = (
        MIN_RESPONDENTS
    ),
    out: Annotated[Path | None, typer.Option(help="Write the estimates to this CSV.")] = None,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Estimate each index per group with design-based SEs and 95 % intervals."""
    t = translator(lang)
    if (not data) == (aggregates is None):
        msg = "Give either --data (one or more respondent files) or --aggregates, not both."
        raise RecordError(msg, code="eval_survey_source")
    if aggregates is not None:
        table = estimates_from_aggregates(aggregates, min_n=min_n, lang=t.lang)
    else:
        survey = survey_from_files(data or [], questionnaire_from_file(questionnaire), year=year)
        table = estimate_indices(survey, by=comma_list(by), min_n=min_n, lang=t.lang)
    emit_estimates(table, t, out=out, as_json=as_json)


def _rotation(path: Path | None, work_id: int | None, region: str | None) -> pd.DataFrame | None:
    if path is None and work_id is None:
        return None
    if path is not None and work_id is not None:
        msg = "Give either --rotation (a calendar file) or --rotation-id (a saved rotation)."
        raise RecordError(msg, code="rollout_rotation_source")
    library = load_library(get_settings()).frame()
    themes = dict(zip(library["id"].astype(str), library["themes"], strict=True))
    if work_id is not None:
        return saved_rotation_cells(db_engine(), work_id, themes=themes, region=region)
    return rotation_cells(path, themes=themes, region=region)  # type: ignore[arg-type]


@evaluate_app.command("exposure")
def exposure_command(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    period: Annotated[str, typer.Option(help="year, quarter or month.")] = "year",
    verified: Annotated[
        bool, typer.Option("--verified", help="Count verified records only.")
    ] = False,
    rotation: Annotated[
        Path | None, typer.Option(help="Rotation calendar CSV (nudge rotate) for theme exposure.")
    ] = None,
    rotation_id: Annotated[
        int | None, typer.Option(help="Id of a rotation saved on the Content page, instead.")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Region of the rotation's sites, when it has none.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the table to this CSV.")] = None,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Count installations, publications, events and themes per region and period."""
    t = translator(lang)
    first, last = _day(start, "--from"), _day(end, "--to")
    table = exposure_by_region(
        _registry_engine(), start=first, end=last, period=period,  # type: ignore[arg-type]
        verified_only=verified, rotation=_rotation(rotation, rotation_id, region),
    )  # fmt: skip
    clean = table.astype(object).where(table.notna(), None)
    for column in ("period_start", "period_end"):
        clean[column] = table[column].map(str)
    result: dict[str, Any] = {
        "rows": len(table),
        "population_source": POPULATION_SOURCE,
        "exposure": clean.to_dict(orient="records"),
    }
    if out is not None:
        out.write_bytes(csv_bytes(table, encoding="utf-8-sig"))
        result["out"] = str(out)
    human = table.to_string(index=False) + "\n" + t("evaluation.cli_exposure", rows=len(table))
    emit(result, as_json=as_json, human=human)


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"{name} {value!r} is not a date; write YYYY-MM-DD."
        raise InputFileError(msg, code="eval_exposure_date", option=name, value=value) from None


def _panel(
    data: list[Path] | None,
    questionnaire: Path | None,
    estimates: Path | None,
    *,
    year: int | None,
    min_n: int,
) -> pd.DataFrame:
    if (not data) == (estimates is None):
        msg = (
            "Give either --data (respondent files with --map) or --estimates (a table of "
            "region-period estimates), not both."
        )
        raise RecordError(msg, code="analysis_source")
    if estimates is not None:
        return panel_from_file(estimates)
    survey = survey_from_files(data or [], questionnaire_from_file(questionnaire), year=year)
    return panel_from_estimates(estimate_indices(survey, by=["region", "year"], min_n=min_n))


def _period(value: str | None, panel: pd.DataFrame) -> object:
    if value is None or panel["period"].dtype == object:
        return value
    return int(value) if value.strip().lstrip("-").isdigit() else value


@evaluate_app.command("effect")
def effect_command(
    schedule: Annotated[
        Path | None, typer.Option(help="Rollout schedule: JSON of `rollout design --json`, or CSV.")
    ] = None,
    rollout: Annotated[
        int | None, typer.Option(help="Id of a saved rollout (rollout list), instead.")
    ] = None,
    data: DataOption = None,
    questionnaire: MapOption = None,
    estimates: Annotated[
        Path | None, typer.Option(help="Region-period estimates (CSV/XLSX) instead of --data.")
    ] = None,
    design: Annotated[str, typer.Option(help=" | ".join(ANALYSIS_DESIGNS) + ".")] = "auto",
    index: Annotated[str | None, typer.Option(help="Analyse only this index.")] = None,
    first_period: Annotated[
        str | None, typer.Option(help="Period of step 1 (default: the 2nd period).")
    ] = None,
    randomised: Annotated[
        bool | None,
        typer.Option(
            "--randomised/--not-randomised",
            help="Was the order drawn at random? (default: yes for a JSON with a seed, no for CSV)",
        ),
    ] = None,
    year: Annotated[int | None, typer.Option(help="Survey year of files without one.")] = None,
    min_n: Annotated[int, typer.Option(help="Leave out cells with fewer respondents.")] = (
        MIN_RESPONDENTS
    ),
    alpha: Annotated[float, typer.Option(help="1 - the confidence of the intervals.")] = 0.05,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Estimate the campaign's effect on each index by the design of the rollout."""
    t = translator(lang)
    panel = _panel(data, questionnaire, estimates, year=year, min_n=min_n)
    if index is not None and "index" in panel:
        panel = panel[panel["index"] == index]
    plan = _schedule(schedule, rollout, panel, first_period=first_period, randomised=randomised)
    results = estimate_effects(panel, plan, design=design, alpha=alpha)
    payload = {
        "schedule": {"randomised": plan.randomised, "seed": plan.seed, "design": plan.design},
        "results": [r.as_dict(t.lang) for r in results],
    }
    indices = questionnaire_from_file(questionnaire).indices
    labels = {i.name: i.label.get(t.lang) or i.name for i in indices}
    blocks = ["\n".join(effect_lines(r, t.lang, labels=labels)) for r in results]
    human = "\n\n".join([*blocks, t("analysis.cli_effects", n=len(results))])
    emit(payload, as_json=as_json, human=human)


def _schedule(
    path: Path | None,
    rollout: int | None,
    panel: pd.DataFrame,
    *,
    first_period: str | None,
    randomised: bool | None,
) -> Schedule:
    """Return the schedule of a file or of a saved rollout (randomised as its record says)."""
    if (path is None) == (rollout is None):
        msg = "Give either --schedule (a file) or --rollout (the id of a saved rollout)."
        raise RecordError(msg, code="rollout_schedule_source")
    first = _period(first_period, panel)
    periods = panel["period"].tolist()
    if path is not None:
        return schedule_from_file(path, periods, first_period=first, randomised=randomised)
    work, plan = load_rollout(db_engine(), rollout)  # type: ignore[arg-type]
    drawn = is_randomised(work) if randomised is None else randomised
    return replace(schedule_from_plan(plan, periods, first_period=first), randomised=drawn)


def _registry_engine() -> Engine:
    engine = registry.engine_from_settings(get_settings())
    registry.require_schema(engine)
    return engine


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.add_typer(evaluate_app, name="evaluate")
    app.add_typer(rollout_app, name="rollout")
