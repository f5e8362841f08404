"""Rollout plans that can answer "did it work": which units start the campaign in which flight.

A unit is a region (the 20 of `nudge.geo.regions` by default), a city or a district. A
**stepped-wedge** plan moves units from control to campaign in successive steps, so that every
unit has the campaign by the end and each survey wave compares units that have it with units
that do not yet. A **phased** plan puts units into flights the same way but is analysed as a
parallel comparison of the first flight with the units still waiting, at the wave after it.

Allocation is random with a recorded seed: the same units, options and seed give the same plan.
Stratification sorts the units by a variable (population, urban share, baseline survey value)
and cuts them into blocks of as many units as there are steps; the units of each block go to
different steps, so every step gets a unit of each kind (balanced allocation). Locked units
start in the step given and take that step's place in the draw.

A plan can be dated (`dated_plan`): step ``s`` is the ``s``-th flight of a calendar of flights
of some weeks or months from a start date, and every unit gets the first and last day of its
first flight (``flight_start``, ``flight_end``). `plan_from_dict` reads a plan back from its
`RolloutPlan.as_dict` (a saved rollout, `nudge.evaluation.rollout_store`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nudge._errors import InfeasibleError, InputFileError, RecordError
from nudge.evaluation.power import parallel_matrix
from nudge.geo.regions import REGIONS, region_code
from nudge.io.tables import find_column, read_table

Design = Literal["stepped-wedge", "phased"]
DESIGNS: tuple[str, ...] = ("stepped-wedge", "phased")
STRATIFIERS: tuple[str, ...] = ("population", "urban_share", "baseline")
_STRATIFIER_ALIASES = {"urban": "urban_share", "pop": "population"}
UNIT_COLUMNS = {
    "unit": ("unit", "code", "region", "id", "регион", "өңір", "код"),
    "name": ("name", "название", "атауы"),
    "population": ("population", "население", "халық саны", "халық"),
    "urban_share": ("urban_share", "urban", "доля городского населения", "қала халқының үлесі"),
    "baseline": ("baseline", "базовое значение", "бастапқы мән"),
}


@dataclass(frozen=True)
class RolloutPlan:
    """A rollout: every unit's step and flight, and everything the draw rested on.

    ``schedule`` has one row per unit: ``unit``, ``name``, ``step`` (1 = first flight),
    ``flight``, ``stratum`` (the block the unit was drawn in; empty when not stratified),
    ``locked`` and the unit's ``population``, ``urban_share`` and ``baseline``.
    """

    schedule: pd.DataFrame
    design: str
    steps: int
    seed: int
    stratify: tuple[str, ...]
    strata: dict[str, list[str]]
    locks: dict[str, int] = field(default_factory=dict)
    flights: pd.DataFrame | None = None
    """Dated flights (``step``, ``flight``, ``start``, ``end``) when the plan is dated."""

    def units_per_step(self) -> list[int]:
        """Return how many units start at each step."""
        counts = self.schedule["step"].value_counts()
        return [int(counts.get(s, 0)) for s in range(1, self.steps + 1)]

    def design_matrix(self) -> NDArray[np.float64]:
        """Return the units × survey-waves 0/1 matrix the power of this plan is computed on.

        Stepped wedge: a baseline wave, then one wave after each step. Phased: a baseline wave
        and the wave after the first flight, units of the first flight against the others.
        """
        order = self.schedule.sort_values("step")
        if self.design == "phased":
            first = int((order["step"] == 1).sum())
            return parallel_matrix(first, len(order) - first, baseline=True)
        steps = order["step"].to_numpy()
        waves = np.arange(self.steps + 1)
        return (waves[None, :] >= steps[:, None]).astype(float)

    def as_dict(self) -> dict[str, Any]:
        """Return the plan as plain values (for JSON)."""
        return {
            "design": self.design,
            "steps": self.steps,
            "seed": self.seed,
            "stratify": list(self.stratify),
            "strata": self.strata,
            "locks": self.locks,
            "units_per_step": self.units_per_step(),
            "schedule": _records(self.schedule),
            "flights": None if self.flights is None else _records(self.flights),
        }

    def region_starts(self) -> dict[str, date | int]:
        """Return each unit's first campaign day, or its step when the plan is not dated.

        This is what a rotation takes (`nudge.content.plan_rotation`'s ``region_starts``):
        a day is matched to the rotation's flights by date, a step is its flight number.
        """
        units = self.schedule["unit"].astype(str)
        if "flight_start" not in self.schedule:
            return {u: int(s) for u, s in zip(units, self.schedule["step"], strict=True)}
        pairs = zip(units, self.schedule["flight_start"], strict=True)
        return {u: _as_date(d) for u, d in pairs}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return rows as dicts with None for unknown values and dates as text (JSON)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return [
        {str(k): v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
        for row in rows
    ]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def units_from_regions(baseline: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Return the 20 regions of Kazakhstan as rollout units.

    Urban share is known here only for the three cities (1.0); give a units file to stratify
    the other regions by it. `baseline` maps region codes to a baseline survey value.
    """
    rows = [
        {
            "unit": r.code,
            "name": r.name,
            "population": float(r.population),
            "urban_share": 1.0 if r.is_city else np.nan,
            "baseline": (baseline or {}).get(r.code, np.nan),
        }
        for r in REGIONS
    ]
    return pd.DataFrame(rows)


def _numbers(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.replace(",", ".", regex=False).str.replace(" ", "")
    return pd.to_numeric(text, errors="coerce")


def units_from_file(path: Path | str) -> pd.DataFrame:
    """Read rollout units from a CSV or XLSX file (one row per unit).

    Columns (English, Russian or Kazakh names): ``unit`` (required, unique), ``name``,
    ``population``, ``urban_share`` (0–1), ``baseline``; empty cells are unknown values.

    Raises
    ------
    InputFileError
        When the file cannot be read, lacks a unit column, repeats units or has cells that
        are not numbers where numbers belong.
    """
    table, _ = read_table(path)
    name = Path(path).name
    found = {key: find_column(table, names) for key, names in UNIT_COLUMNS.items()}
    if found["unit"] is None:
        msg = f"The units file {name} has no unit column; name one 'unit'."
        raise InputFileError(msg, code="eval_units_no_column", name=name)
    units = pd.DataFrame({"unit": table[found["unit"]].astype("string").str.strip()})
    units["name"] = table[found["name"]] if found["name"] else units["unit"]
    problems = []
    for key in ("population", "urban_share", "baseline"):
        column = found[key]
        units[key] = _numbers(table[column]) if column else np.nan
        if column:
            bad = table["row"][units[key].isna() & table[column].notna()]
            problems += [f"row {r}: {key} is not a number" for r in bad]
    duplicated = units["unit"][units["unit"].duplicated() | units["unit"].isna()]
    problems += [f"unit {u!r} is missing or repeated" for u in duplicated.unique()]
    if problems:
        text = "; ".join(problems)
        msg = f"The units file {name} has problems: {text}."
        raise InputFileError(msg, code="eval_units_problems", name=name, problems=text)
    return units


def _capacities(count: int, steps: int) -> NDArray[np.int64]:
    sizes = np.full(steps, count // steps, dtype=np.int64)
    sizes[: count % steps] += 1
    return sizes


def _check_options(units: pd.DataFrame, steps: int, design: str, stratify: Sequence[str]) -> None:
    problems = []
    if design not in DESIGNS:
        problems.append(f"unknown design {design!r}; use {' or '.join(DESIGNS)}")
    if not 2 <= steps <= len(units):
        problems.append(f"steps must be between 2 and the number of units ({len(units)})")
    for key in stratify:
        if key not in STRATIFIERS:
            problems.append(f"cannot stratify by {key!r}; use {', '.join(STRATIFIERS)}")
        elif units[key].isna().any():
            missing = ", ".join(units.loc[units[key].isna(), "unit"].astype(str))
            problems.append(f"{key} is unknown for {missing}")
    if problems:
        text = "; ".join(problems)
        msg = f"Cannot plan the rollout: {text}."
        raise RecordError(msg, code="eval_rollout_options", problems=text)


def _lock_codes(units: pd.DataFrame, locks: Mapping[str, int]) -> dict[str, int]:
    """Return the locks with region names turned into the codes the units use."""
    known = set(units["unit"].astype(str))
    out = {}
    for unit, step in locks.items():
        code = str(unit)
        if code not in known:
            try:
                code = region_code(code)
            except RecordError:
                code = str(unit)
        out[code if code in known else str(unit)] = int(step)
    return out


def _check_locks(units: pd.DataFrame, locks: Mapping[str, int], sizes: NDArray[np.int64]) -> None:
    known = set(units["unit"])
    problems = [f"unit {u!r} is not among the units" for u in locks if u not in known]
    problems += [
        f"{u} cannot start in step {s}: there are {len(sizes)} steps"
        for u, s in locks.items()
        if not 1 <= s <= len(sizes)
    ]
    if problems:
        text = "; ".join(problems)
        msg = f"Cannot lock the units: {text}."
        raise RecordError(msg, code="eval_lock_invalid", problems=text)
    for step, size in enumerate(sizes, start=1):
        locked = sorted(u for u, s in locks.items() if s == step)
        if len(locked) > size:
            msg = (
                f"Step {step} holds {size} unit(s) but {len(locked)} are locked to it "
                f"({', '.join(locked)}); lock fewer units there or plan fewer steps."
            )
            raise InfeasibleError(
                msg, code="eval_lock_too_many", step=step, size=int(size), units=", ".join(locked)
            )


def _blocks(
    free: pd.DataFrame, stratify: Sequence[str], steps: int, rng: np.random.Generator
) -> list[pd.DataFrame]:
    """Cut the free units into blocks of similar units, `steps` units each."""
    if not stratify:
        shuffled = free.iloc[rng.permutation(len(free))]
        return [shuffled.iloc[i : i + steps] for i in range(0, len(free), steps)]
    *coarse, fine = stratify
    keys = [free[c] > free[c].median() for c in coarse]
    groups = free.groupby(keys, sort=True) if keys else [((), free)]
    blocks = []
    for _, group in groups:
        ordered = group.sort_values([fine, "unit"], ascending=[False, True])
        blocks += [ordered.iloc[i : i + steps] for i in range(0, len(ordered), steps)]
    return blocks


def _draw_steps(size: int, remaining: NDArray[np.int64], rng: np.random.Generator) -> list[int]:
    """Pick `size` steps for one block: distinct while possible, fullest remaining first."""
    chosen: list[int] = []
    for _ in range(size):
        open_steps = [s for s in rng.permutation(len(remaining)) if remaining[s] > 0]
        fresh = [s for s in open_steps if s not in chosen] or open_steps
        pick = max(fresh, key=lambda s: remaining[s])
        remaining[pick] -= 1
        chosen.append(int(pick))
    return [int(s) for s in rng.permutation(chosen)]


def plan_rollout(
    units: pd.DataFrame | None = None,
    *,
    steps: int,
    design: Design = "stepped-wedge",
    seed: int | None = None,
    stratify: Sequence[str] = (),
    locks: Mapping[str, int] | None = None,
    flight_names: Sequence[str] | None = None,
) -> RolloutPlan:
    """Assign every unit a step (flight) of a stepped-wedge or phased rollout.

    Parameters
    ----------
    units
        One row per unit with ``unit`` and optionally ``name``, ``population``,
        ``urban_share`` and ``baseline`` (see `units_from_file`); default the 20 regions.
    steps
        Number of steps (flights); units are spread over them as evenly as possible, earlier
        steps taking the one extra unit when the count does not divide.
    design
        ``"stepped-wedge"`` or ``"phased"``.
    seed
        Seed of the draw; when None a fresh one is drawn. Either way it is in the result.
    stratify
        Variables to balance (``population``, ``urban``/``urban_share``, ``baseline``): units
        are split at the median of every variable but the last and sorted by the last.
    locks
        Units that must start in a given step (unit -> step, 1 = first flight).
    flight_names
        Names of the flights (one per step), e.g. months; default ``"F1"``, ``"F2"``...

    Raises
    ------
    RecordError
        For an unknown design or stratifier, a stratifier with unknown values, a bad lock.
    InfeasibleError
        When more units are locked to a step than the step holds.
    """
    table = (units_from_regions() if units is None else units).reset_index(drop=True).copy()
    for key in ("name", *STRATIFIERS):
        if key not in table:
            table[key] = table["unit"] if key == "name" else np.nan
    stratify = tuple(_STRATIFIER_ALIASES.get(s, s) for s in stratify)
    locks = _lock_codes(table, locks or {})
    _check_options(table, steps, design, stratify)
    sizes = _capacities(len(table), steps)
    _check_locks(table, locks, sizes)
    seed = int(secrets.randbits(63)) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    remaining = sizes.copy()
    table["step"], table["stratum"] = 0, ""
    for unit, step in locks.items():
        table.loc[table["unit"] == unit, "step"] = step
        remaining[step - 1] -= 1
    free = table[~table["unit"].isin(list(locks))]
    strata: dict[str, list[str]] = {}
    for number, block in enumerate(_blocks(free, stratify, steps, rng), start=1):
        table.loc[block.index, "step"] = np.asarray(_draw_steps(len(block), remaining, rng)) + 1
        if stratify:
            table.loc[block.index, "stratum"] = str(number)
            strata[str(number)] = block["unit"].astype(str).tolist()
    names = list(flight_names or [f"F{s}" for s in range(1, steps + 1)])
    if len(names) != steps:
        msg = f"Give one flight name per step: {steps} names, not {len(names)}."
        raise RecordError(msg, code="eval_flight_names", steps=steps, n=len(names))
    table["flight"] = [names[s - 1] for s in table["step"]]
    table["locked"] = table["unit"].isin(list(locks))
    columns = ["unit", "name", "step", "flight", "stratum", "locked", *STRATIFIERS]
    schedule = table[columns].sort_values(["step", "unit"]).reset_index(drop=True)
    return RolloutPlan(schedule, design, steps, seed, stratify, strata, locks)


def flight_calendar(
    steps: int,
    *,
    start: date,
    weeks: int | None = None,
    months: int | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Return the dated flights of a rollout: ``step``, ``flight``, ``start``, ``end``.

    Flights follow each other without a break from `start`, each `weeks` weeks or `months`
    calendar months long (give one of the two); ``end`` is the last day of a flight.

    Raises
    ------
    RecordError
        When neither or both lengths are given, a length is below 1, or the names do not
        match the steps.
    """
    if (weeks is None) == (months is None) or min(weeks or 1, months or 1) < 1:
        msg = "Give the length of a flight as --flight-weeks or --flight-months (1 or more)."
        raise RecordError(msg, code="rollout_flight_length")
    offset = pd.DateOffset(weeks=weeks) if weeks else pd.DateOffset(months=int(months or 1))
    bounds = [(pd.Timestamp(start) + offset * k).date() for k in range(steps + 1)]
    names = list(names or [f"F{s}" for s in range(1, steps + 1)])
    if len(names) != steps:
        msg = f"Give one flight name per step: {steps} names, not {len(names)}."
        raise RecordError(msg, code="eval_flight_names", steps=steps, n=len(names))
    return pd.DataFrame(
        {
            "step": range(1, steps + 1),
            "flight": names,
            "start": bounds[:-1],
            "end": [pd.Timestamp(b).date() - pd.Timedelta(days=1) for b in bounds[1:]],
        }
    )


def dated_plan(plan: RolloutPlan, flights: pd.DataFrame) -> RolloutPlan:
    """Return `plan` with its flight calendar and each unit's first and last flight day."""
    if len(flights) != plan.steps:
        msg = f"Give one flight name per step: {plan.steps} names, not {len(flights)}."
        raise RecordError(msg, code="eval_flight_names", steps=plan.steps, n=len(flights))
    by_step = flights.set_index("step")
    schedule = plan.schedule.copy()
    schedule["flight"] = schedule["step"].map(by_step["flight"])
    schedule["flight_start"] = schedule["step"].map(by_step["start"])
    schedule["flight_end"] = schedule["step"].map(by_step["end"])
    return replace(plan, schedule=schedule, flights=flights.reset_index(drop=True))


def plan_from_dict(payload: Mapping[str, Any]) -> RolloutPlan:
    """Return the plan written by `RolloutPlan.as_dict` (a saved rollout's payload).

    Raises
    ------
    RecordError
        When the payload lacks the schedule, design, steps or seed.
    """
    try:
        schedule = pd.DataFrame(list(payload["schedule"]))
        head = (str(payload["design"]), int(payload["steps"]), int(payload["seed"]))
        schedule["step"] = schedule["step"].astype(int)
    except (KeyError, TypeError, ValueError):
        msg = "The saved rollout lacks its schedule, design, steps or seed."
        raise RecordError(msg, code="rollout_payload") from None
    for key in ("flight_start", "flight_end"):
        if key in schedule:
            schedule[key] = schedule[key].map(_as_date)
    strata = {str(k): list(v) for k, v in (payload.get("strata") or {}).items()}
    locks = {str(k): int(v) for k, v in (payload.get("locks") or {}).items()}
    plan = RolloutPlan(schedule, *head, tuple(payload.get("stratify") or ()), strata, locks)
    if payload.get("flights"):
        flights = pd.DataFrame(list(payload["flights"]))
        flights["start"], flights["end"] = (
            flights["start"].map(_as_date),
            flights["end"].map(_as_date),
        )
        plan = replace(plan, flights=flights)
    return plan


def parse_locks(items: Sequence[str]) -> dict[str, int]:
    """Turn ``["ALA=1", "Astana=2"]`` into ``{"ALA": 1, "Astana": 2}``."""
    locks: dict[str, int] = {}
    bad = []
    for item in items:
        unit, _, step = item.partition("=")
        if not unit.strip() or not step.strip().isdigit():
            bad.append(item)
            continue
        locks[unit.strip()] = int(step)
    if bad:
        text = ", ".join(bad)
        msg = f"Cannot read the lock(s) {text}; write UNIT=STEP, for example ALA=1."
        raise RecordError(msg, code="eval_lock_syntax", items=text)
    return locks


__all__ = [
    "DESIGNS",
    "STRATIFIERS",
    "RolloutPlan",
    "dated_plan",
    "flight_calendar",
    "parse_locks",
    "plan_from_dict",
    "plan_rollout",
    "units_from_file",
    "units_from_regions",
]
