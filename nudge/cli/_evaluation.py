"""CLI commands of the evaluation (``nudge evaluate design``, ``survey``, ``exposure``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from sqlalchemy.engine import Engine

from nudge import registry
from nudge._errors import InputFileError, RecordError
from nudge.cli._common import JsonOption, emit, get_settings
from nudge.content import load_library
from nudge.evaluation.exposure import exposure_by_region, rotation_cells
from nudge.evaluation.power import PowerResult, design_power
from nudge.evaluation.questionnaire import questionnaire_from_file
from nudge.evaluation.rollout import (
    DESIGNS,
    RolloutPlan,
    parse_locks,
    plan_rollout,
    units_from_file,
)
from nudge.evaluation.survey import (
    MIN_RESPONDENTS,
    estimate_indices,
    estimates_from_aggregates,
    survey_from_files,
)
from nudge.i18n import Translator, format_number, translator
from nudge.io.sheets import csv_bytes
from nudge.registry.indicators import POPULATION_SOURCE

evaluate_app = typer.Typer(
    help="Plan a rollout that can show whether the campaign worked; estimate the survey.",
    no_args_is_help=True,
)

LangOption = Annotated[
    str, typer.Option("--lang", help="Language of the printed summary: kk (default), ru or en.")
]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def _power(plan: RolloutPlan, options: dict[str, Any]) -> PowerResult | None:
    if options["per_unit"] is None and options["icc"] is None:
        return None
    if options["per_unit"] is None or options["icc"] is None:
        msg = "Give both --per-unit and --icc (and --baseline or --sd) to compute the power."
        raise RecordError(msg, code="eval_power_options")
    return design_power(
        plan.design_matrix(),
        per_unit=options["per_unit"],
        icc=options["icc"],
        baseline=options["baseline"],
        sd=options["sd"],
        change=options["change"],
        alpha=options["alpha"],
        target_power=options["target_power"],
        name=plan.design,
    )


def _power_lines(power: PowerResult, t: Translator) -> list[str]:
    def num(value: float) -> str:
        return format_number(value, t.lang, decimals=3)

    lines = [
        t("evaluation.cli_inputs", per_unit=power.per_unit, icc=num(power.icc), waves=power.waves),
        t("evaluation.cli_mdc", target=f"{power.target_power:.0%}", mdc=num(power.mdc),
          se=num(power.se)),
    ]  # fmt: skip
    if power.power is not None and power.change is not None:
        lines.append(
            t("evaluation.cli_power", change=num(power.change), power=f"{power.power:.1%}")
        )
    return lines


def _design_text(plan: RolloutPlan, power: PowerResult | None, t: Translator) -> str:
    lines = [
        t("evaluation.cli_design", design=plan.design, units=len(plan.schedule),
          steps=plan.steps, seed=plan.seed)
    ]  # fmt: skip
    for step, group in plan.schedule.groupby("step"):
        units = ", ".join(group["unit"].astype(str))
        lines.append(
            t("evaluation.cli_step", step=step, flight=group["flight"].iloc[0], units=units)
        )
    return "\n".join(lines + ([] if power is None else _power_lines(power, t)))


@evaluate_app.command("design")
def design_command(
    units: Annotated[
        Path | None, typer.Argument(help="Units CSV/XLSX (default: the 20 regions).")
    ] = None,
    steps: Annotated[int, typer.Option(help="Number of steps (flights).")] = 4,
    design: Annotated[str, typer.Option(help=f"{' or '.join(DESIGNS)}.")] = "stepped-wedge",
    seed: Annotated[int | None, typer.Option(help="Seed of the draw (default: new).")] = None,
    lock: Annotated[
        list[str] | None, typer.Option(help="UNIT=STEP: a unit that must start in a step.")
    ] = None,
    stratify: Annotated[
        list[str] | None, typer.Option(help="population, urban or baseline (comma-separated).")
    ] = None,
    flights: Annotated[
        str | None, typer.Option(help="Flight names, one per step, comma-separated.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the schedule to this CSV.")] = None,
    icc: Annotated[float | None, typer.Option(help="Intraclass correlation of the index.")] = None,
    per_unit: Annotated[
        int | None, typer.Option(help="Survey respondents per unit per wave.")
    ] = None,
    baseline: Annotated[
        float | None, typer.Option(help="Baseline share agreeing (binary index).")
    ] = None,
    sd: Annotated[float | None, typer.Option(help="Respondent SD (scale index).")] = None,
    change: Annotated[float | None, typer.Option(help="Change of the index to detect.")] = None,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    target_power: Annotated[float, typer.Option(help="Power the MDC is for.")] = 0.8,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Assign units to flights (stepped wedge or phased); print the power and the MDC."""
    plan = plan_rollout(
        None if units is None else units_from_file(units),
        steps=steps,
        design=design,  # type: ignore[arg-type]  # checked by plan_rollout
        seed=seed,
        stratify=_split(stratify),
        locks=parse_locks(lock or []),
        flight_names=_split([flights]) if flights else None,
    )
    options = {
        "per_unit": per_unit, "icc": icc, "baseline": baseline, "sd": sd, "change": change,
        "alpha": alpha, "target_power": target_power,
    }  # fmt: skip
    power = _power(plan, options)
    result = plan.as_dict()
    result["power"] = None if power is None else power.as_dict()
    if out is not None:
        out.write_bytes(csv_bytes(plan.schedule, encoding="utf-8-sig"))
        result["out"] = str(out)
    emit(result, as_json=as_json, human=_design_text(plan, power, translator(lang)))


@evaluate_app.command("survey")
def survey_command(
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="Respondent file (CSV, XLSX, .sav, .dta).")
    ] = None,
    questionnaire: Annotated[
        Path | None, typer.Option("--map", help="Questionnaire map TOML (default: the example).")
    ] = None,
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
        keys = [k.strip() for k in by.split(",") if k.strip()]
        table = estimate_indices(survey, by=keys, min_n=min_n, lang=t.lang)
    result: dict[str, Any] = {
        "rows": len(table),
        "suppressed": int(table["suppressed"].sum()),
        "estimates": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
    }
    if out is not None:
        out.write_bytes(csv_bytes(table, encoding="utf-8-sig"))
        result["out"] = str(out)
    human = (
        table.to_string(index=False)
        + "\n"
        + t("evaluation.cli_survey", rows=result["rows"], suppressed=result["suppressed"])
    )
    emit(result, as_json=as_json, human=human)


def _rotation(path: Path | None, region: str | None) -> pd.DataFrame | None:
    if path is None:
        return None
    library = load_library(get_settings()).frame()
    themes = dict(zip(library["id"].astype(str), library["themes"], strict=True))
    return rotation_cells(path, themes=themes, region=region)


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
        verified_only=verified, rotation=_rotation(rotation, region),
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


def _registry_engine() -> Engine:
    engine = registry.engine_from_settings(get_settings())
    registry.require_schema(engine)
    return engine


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.add_typer(evaluate_app, name="evaluate")
