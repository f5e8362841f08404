"""CLI of rollout plans: ``nudge rollout design``, ``power``, ``list``, ``show`` and ``export``.

``nudge rollout design`` is the same command as ``nudge evaluate design`` (one function,
registered under both names); ``nudge rollout power`` gives the power of a design from its
size alone, without drawing a schedule. The power comes from the Hussey–Hughes model of
`nudge.evaluation.power`. ``--save NAME`` keeps a designed rollout (with its dated flights,
``--start`` and ``--flight-weeks`` or ``--flight-months``) in the database as shared state;
``nudge rollout list`` and ``show`` read it back, ``nudge evaluate effect --rollout ID`` analyses
by it and ``nudge content rotate --rollout ID`` keeps regions dark until their first flight.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from sqlalchemy.engine import Engine

from nudge import db
from nudge._errors import InputFileError, RecordError
from nudge.cli._common import LANGUAGE, JsonOption, emit, get_settings
from nudge.evaluation.power import PowerResult, design_power
from nudge.evaluation.rollout import (
    DESIGNS,
    RolloutPlan,
    dated_plan,
    flight_calendar,
    parse_locks,
    plan_rollout,
    units_from_file,
)
from nudge.evaluation.rollout_store import (
    ROLLOUT_DATASET,
    export_rollout,
    list_rollouts,
    load_rollout,
    save_rollout,
)
from nudge.i18n import Translator, format_number, translator
from nudge.io.sheets import csv_bytes

rollout_app = typer.Typer(
    help="Plan which units start the campaign in which flight, and the power of the plan.",
    no_args_is_help=True,
)

LangOption = Annotated[
    LANGUAGE,
    typer.Option("--lang", help="Language of the printed summary: kk (default), ru or en."),
]
IccOption = Annotated[float | None, typer.Option(help="Intraclass correlation of the index.")]
PerUnitOption = Annotated[int | None, typer.Option(help="Survey respondents per unit per wave.")]
BaselineOption = Annotated[
    float | None, typer.Option(help="Baseline share agreeing (binary index).")
]
SdOption = Annotated[float | None, typer.Option(help="Respondent SD (scale index).")]
ChangeOption = Annotated[float | None, typer.Option(help="Change of the index to detect.")]
AlphaOption = Annotated[float, typer.Option(help="Two-sided significance level.")]
TargetOption = Annotated[float, typer.Option(help="Power the MDC is for.")]
StepsOption = Annotated[int, typer.Option(help="Number of steps (flights).")]
DesignOption = Annotated[str, typer.Option(help=f"{' or '.join(DESIGNS)}.")]
DatasetOption = Annotated[
    str, typer.Option(help="Dataset the rollout belongs to (default: kz, the regions).")
]


def split_values(values: list[str] | None) -> list[str]:
    """Return the comma-separated values of repeated options as one list."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def plan_power(plan: RolloutPlan, options: dict[str, Any]) -> PowerResult | None:
    """Return the power of `plan` for the options given, or None when none was asked for."""
    if options["per_unit"] is None and options["icc"] is None:
        return None
    if options["per_unit"] is None or options["icc"] is None:
        msg = "Give both --per-unit and --icc (and --baseline or --sd) to compute the power."
        raise RecordError(msg, code="eval_power_options")
    return _design_power(plan, options)


def _design_power(plan: RolloutPlan, options: dict[str, Any]) -> PowerResult:
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


def power_lines(power: PowerResult, t: Translator) -> list[str]:
    """Return the printed lines of a power result."""

    def num(value: float) -> str:
        return format_number(value, t.lang, decimals=3)

    def percent(value: float, decimals: int) -> str:
        return format_number(100 * value, t.lang, decimals=decimals) + "%"

    lines = [
        t("evaluation.cli_inputs", per_unit=power.per_unit, icc=num(power.icc), waves=power.waves),
        t(
            "evaluation.cli_mdc",
            target=percent(power.target_power, 0),
            mdc=num(power.mdc),
            se=num(power.se),
        ),
    ]
    if power.power is not None and power.change is not None:
        lines.append(
            t("evaluation.cli_power", change=num(power.change), power=percent(power.power, 1))
        )
    return lines


def _design_text(plan: RolloutPlan, power: PowerResult | None, t: Translator) -> str:
    head = {"design": plan.design, "units": len(plan.schedule), "steps": plan.steps}
    lines = [t("evaluation.cli_design", seed=plan.seed, **head)]
    for step, group in plan.schedule.groupby("step"):
        units = ", ".join(group["unit"].astype(str))
        lines.append(
            t("evaluation.cli_step", step=step, flight=group["flight"].iloc[0], units=units)
        )
    flights = [] if plan.flights is None else plan.flights.to_dict(orient="records")
    for flight in flights:
        dates = {"start": str(flight["start"]), "end": str(flight["end"])}
        lines.append(t("rollout_flights.cli_flight", flight=flight["flight"], **dates))
    return "\n".join(lines + ([] if power is None else power_lines(power, t)))


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"--start {value!r} is not a date; write YYYY-MM-DD."
        raise InputFileError(
            msg, code="eval_exposure_date", option="--start", value=value
        ) from None


def _dated(
    plan: RolloutPlan, start: str | None, weeks: int | None, months: int | None
) -> RolloutPlan:
    """Return `plan` dated from --start, or as it is when no calendar was asked for."""
    first = _day(start)
    if first is None and weeks is None and months is None:
        return plan
    if first is None:
        msg = "Give --start (the first day of flight 1) with --flight-weeks or --flight-months."
        raise RecordError(msg, code="rollout_start_missing")
    names = plan.schedule.drop_duplicates("step").sort_values("step")["flight"].astype(str)
    calendar = flight_calendar(
        plan.steps, start=first, weeks=weeks, months=months, names=names.tolist()
    )
    return dated_plan(plan, calendar)


def db_engine() -> Engine:
    """Return the engine of the shared database, which must have its schema."""
    engine = db.engine_from_settings(get_settings())
    db.require_schema(engine)
    return engine


def _save(plan: RolloutPlan, name: str, owner: str | None, dataset: str) -> dict[str, Any]:
    if owner is None:
        msg = "Give --as USER with --save: the saved rollout records who saved it."
        raise RecordError(msg, code="rollout_owner_missing")
    work = save_rollout(db_engine(), plan, name=name, owner=owner, dataset=dataset)
    return {"id": work.id, "name": work.name, "version": work.version, "owner": work.owner}


def design_command(
    units: Annotated[
        Path | None, typer.Argument(help="Units CSV/XLSX (default: the 20 regions).")
    ] = None,
    steps: StepsOption = 4,
    design: DesignOption = "stepped-wedge",
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
    start: Annotated[
        str | None, typer.Option(help="First day of flight 1 (YYYY-MM-DD): dates the flights.")
    ] = None,
    flight_weeks: Annotated[int | None, typer.Option(help="Weeks per flight.")] = None,
    flight_months: Annotated[int | None, typer.Option(help="Months per flight.")] = None,
    save: Annotated[
        str | None, typer.Option(help="Save the rollout in the database under this name.")
    ] = None,
    owner: Annotated[str | None, typer.Option("--as", help="User saving the rollout.")] = None,
    dataset: DatasetOption = ROLLOUT_DATASET,
    icc: IccOption = None,
    per_unit: PerUnitOption = None,
    baseline: BaselineOption = None,
    sd: SdOption = None,
    change: ChangeOption = None,
    alpha: AlphaOption = 0.05,
    target_power: TargetOption = 0.8,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Assign units to flights (stepped wedge or phased); print the power and the MDC."""
    plan = plan_rollout(
        None if units is None else units_from_file(units),
        steps=steps,
        design=design,  # type: ignore[arg-type]  # checked by plan_rollout
        seed=seed,
        stratify=split_values(stratify),
        locks=parse_locks(lock or []),
        flight_names=split_values([flights]) if flights else None,
    )
    plan = _dated(plan, start, flight_weeks, flight_months)
    options = {
        "per_unit": per_unit,
        "icc": icc,
        "baseline": baseline,
        "sd": sd,
        "change": change,
        "alpha": alpha,
        "target_power": target_power,
    }
    power = plan_power(plan, options)
    result = plan.as_dict()
    result["power"] = None if power is None else power.as_dict()
    if out is not None:
        out.write_bytes(csv_bytes(plan.schedule, encoding="utf-8-sig"))
        result["out"] = str(out)
    t = translator(lang)
    human = _design_text(plan, power, t)
    if save is not None:
        result["saved"] = _save(plan, save, owner, dataset)
        human += "\n" + t("rollout_flights.cli_saved", **result["saved"])
    emit(result, as_json=as_json, human=human)


rollout_app.command("design")(design_command)


def _shape(units: int, steps: int, design: str) -> RolloutPlan:
    """Return a plan of `units` anonymous units: its design matrix is the design's shape."""
    names = pd.DataFrame({"unit": [f"U{i + 1}" for i in range(max(units, 0))]})
    return plan_rollout(names, steps=steps, design=design, seed=0)  # type: ignore[arg-type]


@rollout_app.command("power")
def power_command(
    units: Annotated[int, typer.Option(help="Number of units (regions).")] = 20,
    steps: StepsOption = 4,
    design: DesignOption = "stepped-wedge",
    per_unit: Annotated[int, typer.Option(help="Survey respondents per unit per wave.")] = 200,
    icc: Annotated[float, typer.Option(help="Intraclass correlation of the index.")] = 0.05,
    baseline: BaselineOption = None,
    sd: SdOption = None,
    change: ChangeOption = None,
    alpha: AlphaOption = 0.05,
    target_power: TargetOption = 0.8,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Print the power (with --change) and the smallest detectable change of a design.

    Units are spread over the steps as `rollout design` spreads them; a stepped wedge has a
    baseline wave and one wave after each step, a phased design a baseline wave and the wave
    after the first flight. Give --baseline for an agreement index or --sd for a scale.
    """
    plan = _shape(units, steps, design)
    options = {
        "per_unit": per_unit,
        "icc": icc,
        "baseline": baseline,
        "sd": sd,
        "change": change,
        "alpha": alpha,
        "target_power": target_power,
    }
    power = _design_power(plan, options)
    t = translator(lang)
    shape = {"design": design, "units": units, "steps": steps}
    result = {**shape, "units_per_step": plan.units_per_step(), "power": power.as_dict()}
    head = t("analysis.cli_power_design", waves=power.waves, **shape)
    emit(result, as_json=as_json, human="\n".join([head, *power_lines(power, t)]))


def _work_dict(work: db.SavedWork) -> dict[str, Any]:
    return {
        "id": work.id,
        "name": work.name,
        "owner": work.owner,
        "dataset": work.dataset,
        "version": work.version,
        "updated_at": work.updated_at.isoformat(timespec="seconds"),
    }


@rollout_app.command("list")
def list_command(
    dataset: DatasetOption = ROLLOUT_DATASET,
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """List the saved rollouts of a dataset, newest first."""
    rows = [_work_dict(w) for w in list_rollouts(db_engine(), dataset=dataset)]
    t = translator(lang)
    lines = [t("rollout_flights.cli_list_row", **row) for row in rows]
    human = "\n".join([*lines, t("rollout_flights.cli_list", n=len(rows))])
    emit({"rollouts": rows}, as_json=as_json, human=human)


@rollout_app.command("show")
def show_command(
    work_id: Annotated[int, typer.Argument(help="Id of the saved rollout (rollout list).")],
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Print a saved rollout: its units per flight, seed and flight dates."""
    work, plan = load_rollout(db_engine(), work_id)
    result = {**_work_dict(work), **(work.payload or {})}
    t = translator(lang)
    human = t("rollout_flights.cli_list_row", **_work_dict(work)) + "\n"
    emit(result, as_json=as_json, human=human + _design_text(plan, None, t))


@rollout_app.command("export")
def export_command(
    work_id: Annotated[int, typer.Argument(help="Id of the saved rollout (rollout list).")],
    user: Annotated[str, typer.Option("--as", help="Registry user to act for.")],
    to: Annotated[str, typer.Option("--to", help="Where to: registry (its plans of events).")] = (
        "registry"
    ),
    lang: LangOption = "kk",
    as_json: JsonOption = False,
) -> None:
    """Put a dated rollout into the registry: when the campaign starts in each region.

    Every region gets one item of its plan of events (kind campaign_flight) on the first day
    of its first flight. Exporting again updates those items and adds none.
    """
    if to != "registry":
        msg = f"Cannot export a rollout to {to!r}; use --to registry."
        raise RecordError(msg, code="rollout_export_target", target=to)
    result = export_rollout(db_engine(), work_id, user=user, lang=lang)
    t = translator(lang)
    figures = {"stored": result.stored, "updated": result.updated}
    human = t("rollout_export.cli_exported", unchanged=result.skipped_existing, **figures)
    emit(result.as_dict(), as_json=as_json, human=human)
