"""CLI of rollout plans: ``nudge rollout design`` and ``nudge rollout power``.

``nudge rollout design`` is the same command as ``nudge evaluate design`` (one function,
registered under both names); ``nudge rollout power`` gives the power of a design from its
size alone, without drawing a schedule. The power comes from the Hussey–Hughes model of
`nudge.evaluation.power`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from nudge._errors import RecordError
from nudge.cli._common import JsonOption, emit
from nudge.evaluation.power import PowerResult, design_power
from nudge.evaluation.rollout import (
    DESIGNS,
    RolloutPlan,
    parse_locks,
    plan_rollout,
    units_from_file,
)
from nudge.i18n import Translator, format_number, translator
from nudge.io.sheets import csv_bytes

rollout_app = typer.Typer(
    help="Plan which units start the campaign in which flight, and the power of the plan.",
    no_args_is_help=True,
)

LangOption = Annotated[
    str, typer.Option("--lang", help="Language of the printed summary: kk (default), ru or en.")
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
    return "\n".join(lines + ([] if power is None else power_lines(power, t)))


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
    emit(result, as_json=as_json, human=_design_text(plan, power, translator(lang)))


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
