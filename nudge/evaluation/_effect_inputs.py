"""Inputs of the effect analysis: the panel of survey estimates and the rollout schedule.

A *panel* is one row per unit (region) and period (survey wave), optionally per index:
``unit``, ``period``, ``estimate`` and, when known, ``n``, ``se`` and ``index``. A *schedule*
says in which period each unit first had the campaign. Both are re-exported by
`nudge.evaluation.analysis`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import InputFileError, RecordError
from nudge.evaluation.rollout import RolloutPlan
from nudge.io.tables import find_column, read_table

PANEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "region", "регион", "өңір", "code", "код"),
    "period": ("period", "year", "wave", "период", "год", "волна", "жыл", "толқын"),
    "estimate": ("estimate", "value", "mean", "оценка", "значение", "мәні"),
    "n": ("n", "respondents", "респонденты", "респонденттер"),
    "se": ("se", "standard_error", "стандартная ошибка"),
    "index": ("index", "индекс", "көрсеткіш"),
}
_NEVER = {"", "-", "never", "нет", "никогда", "жоқ", "none", "nan", "<na>"}


@dataclass(frozen=True)
class Schedule:
    """When each unit first had the campaign, and whether that order was drawn at random.

    ``starts`` maps a unit to the first period (a value of the panel's ``period``) in which it
    had the campaign, or None when it never had it within the panel. ``locked`` units were
    placed by hand, not drawn: a schedule with locked units is not fully randomised.
    """

    starts: dict[str, Any]
    randomised: bool
    design: str | None = None
    seed: int | None = None
    locked: tuple[str, ...] = ()

    @property
    def causal(self) -> bool:
        """Return whether the order was drawn at random for every unit."""
        return self.randomised and not self.locked


def _numbers(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.replace(",", ".", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce")


def _periods(column: pd.Series) -> pd.Series:
    """Return periods as integers when they are all whole numbers, else as text."""
    numbers = _numbers(column)
    if numbers.notna().all() and (numbers == numbers.round()).all():
        return numbers.astype(int)
    return column.astype(str).str.strip()


def _panel_from_table(table: pd.DataFrame, *, name: str) -> pd.DataFrame:
    found = {key: find_column(table, names) for key, names in PANEL_COLUMNS.items()}
    lacking = [k for k in ("unit", "period", "estimate") if found[k] is None]
    if lacking:
        text = ", ".join(lacking)
        msg = f"The panel {name} lacks the column(s) {text}; name them unit, period, estimate."
        raise InputFileError(msg, code="analysis_panel_columns", name=name, columns=text)
    out = pd.DataFrame({"unit": table[found["unit"]].astype(str).str.strip()})
    out["period"] = _periods(table[found["period"]]).to_numpy()
    for key in ("estimate", "n", "se"):
        column = found[key]
        out[key] = _numbers(table[column]).to_numpy() if column else np.nan
    if found["index"]:
        out["index"] = table[found["index"]].astype(str).str.strip().to_numpy()
    if "suppressed" in table:
        kept = ~table["suppressed"].astype(str).str.lower().isin(["true", "1", "yes"])
        out = out[kept.to_numpy()]
    return out.reset_index(drop=True)


def panel_from_estimates(estimates: pd.DataFrame) -> pd.DataFrame:
    """Return the panel of survey estimates (`nudge.evaluation.survey.estimate_indices`).

    ``region`` becomes ``unit`` and ``year`` ``period``; suppressed cells are left out.
    """
    return _panel_from_table(estimates, name="of survey estimates")


def panel_from_file(path: Path | str) -> pd.DataFrame:
    """Read a panel of region-period estimates from a CSV or XLSX file.

    Columns (English, Russian or Kazakh names): ``unit`` or ``region``, ``period`` or
    ``year``, ``estimate`` and optionally ``n``, ``se``, ``index`` and ``suppressed`` (as
    ``nudge evaluate survey --out`` writes them).

    Raises
    ------
    InputFileError
        When the file cannot be read or lacks a unit, period or estimate column.
    """
    table, _ = read_table(path)
    return _panel_from_table(table, name=Path(path).name)


def _order(periods: Sequence[Any]) -> list[Any]:
    return sorted(set(pd.Series(list(periods)).dropna().tolist()))


def schedule_from_steps(
    steps: Mapping[str, int | None],
    periods: Sequence[Any],
    *,
    first_period: Any = None,
    randomised: bool,
    design: str | None = None,
    seed: int | None = None,
    locked: Sequence[str] = (),
) -> Schedule:
    """Turn rollout steps (1 = first flight) into the first period each unit had the campaign.

    Step ``s`` starts in the period ``s - 1`` places after `first_period` among the sorted
    `periods` of the panel; by default `first_period` is the second period, the first being
    the baseline wave (as in `RolloutPlan.design_matrix`). A step after the last period, 0
    or None means the unit never had the campaign within the panel.
    """
    order = _order(periods)
    if len(order) < 2:
        msg = f"The panel holds {len(order)} period(s); the analysis needs at least 2."
        raise RecordError(msg, code="analysis_too_few_periods", n=len(order), min=2)
    first = order[1] if first_period is None else first_period
    if first not in order:
        shown = ", ".join(map(str, order))
        msg = f"The first campaign period {first} is not a period of the panel ({shown})."
        raise RecordError(msg, code="analysis_first_period", period=first, periods=shown)
    base = order.index(first)
    starts: dict[str, Any] = {}
    for unit, step in steps.items():
        place = None if step is None or step < 1 else base + int(step) - 1
        starts[str(unit)] = order[place] if place is not None and place < len(order) else None
    return Schedule(starts, bool(randomised), design, seed, tuple(sorted(map(str, locked))))


def schedule_from_plan(
    plan: RolloutPlan, periods: Sequence[Any], *, first_period: Any = None
) -> Schedule:
    """Return the schedule of a rollout plan on the panel's periods (see `schedule_from_steps`)."""
    steps = dict(zip(plan.schedule["unit"].astype(str), plan.schedule["step"], strict=True))
    return schedule_from_steps(
        {u: int(s) for u, s in steps.items()},
        periods,
        first_period=first_period,
        randomised=True,
        design=plan.design,
        seed=plan.seed,
        locked=list(plan.locks),
    )


def _schedule_error(name: str, problems: list[str]) -> RecordError:
    text = "; ".join(problems)
    msg = f"The rollout schedule {name} has problems: {text}."
    return RecordError(msg, code="analysis_schedule_file", name=name, problems=text)


def _json_rows(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"The rollout schedule {path.name} is not a readable JSON file ({exc})."
        raise InputFileError(msg, code="analysis_schedule_json", name=path.name) from None
    rows = payload.get("schedule") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not rows:
        raise _schedule_error(path.name, ["no 'schedule' list of units (write it with --json)"])
    return pd.DataFrame(rows), payload


def _units(table: pd.DataFrame, name: str) -> pd.Series:
    column = find_column(table, ("unit", "region", "регион", "өңір"))
    if column is None:
        raise _schedule_error(name, ["no unit column"])
    units = table[column].astype(str).str.strip()
    repeated = units[units.duplicated()].unique()
    if len(repeated):
        raise _schedule_error(name, [f"unit {u} is repeated" for u in repeated])
    return units


def _locked(table: pd.DataFrame, units: pd.Series) -> list[str]:
    column = find_column(table, ("locked",))
    if column is None:
        return []
    flags = table[column].astype(str).str.strip().str.lower().isin(["true", "1", "yes"])
    return units[flags.to_numpy()].tolist()


def _cells(table: pd.DataFrame, column: str) -> tuple[pd.Series, pd.Series]:
    """Return a column's text and a mask of the cells that mean "never"."""
    text = table[column].astype("string").str.strip().fillna("")
    return text, text.str.casefold().isin(_NEVER)


def _starts(
    table: pd.DataFrame, units: pd.Series, periods: Sequence[Any], name: str
) -> dict[str, Any]:
    text, never = _cells(table, str(find_column(table, ("start",))))
    if all(isinstance(p, int | np.integer) for p in _order(periods)):
        numbers = pd.to_numeric(text.where(~never), errors="coerce")
        bad = units[(numbers.isna() & ~never).to_numpy()]
        if len(bad):
            raise _schedule_error(name, [f"the start of {u} is not a period" for u in bad])
        values: list[Any] = [None if pd.isna(v) else int(v) for v in numbers]
    else:
        values = [None if n else v for v, n in zip(text, never, strict=True)]
    return dict(zip(units, values, strict=True))


def _steps(table: pd.DataFrame, units: pd.Series, name: str) -> dict[str, int | None]:
    column = find_column(table, ("step", "шаг", "қадам"))
    if column is None:
        raise _schedule_error(name, ["no step or start column"])
    text, never = _cells(table, column)
    numbers = pd.to_numeric(text.where(~never), errors="coerce")
    bad = units[(numbers.isna() & ~never).to_numpy()]
    if len(bad):
        raise _schedule_error(name, [f"the step of {u} is not a whole number" for u in bad])
    return {u: None if pd.isna(v) else int(v) for u, v in zip(units, numbers, strict=True)}


def schedule_from_file(
    path: Path | str,
    periods: Sequence[Any],
    *,
    first_period: Any = None,
    randomised: bool | None = None,
) -> Schedule:
    """Read a rollout schedule: JSON of ``nudge rollout design --json`` or a CSV/XLSX table.

    A table has ``unit`` and either ``step`` (as ``--out`` writes it; see
    `schedule_from_steps`) or ``start`` (the first period with the campaign; empty or
    ``never`` for units that never had it), and optionally ``locked``. The JSON records its
    seed, so its order counts as randomised; a table does not, so `randomised` must say so
    (default False).

    Raises
    ------
    InputFileError
        When the file cannot be read.
    RecordError
        When it lacks a unit or step column, repeats units or has steps that are not numbers.
    """
    file = Path(path)
    meta: dict[str, Any] = {}
    if file.suffix.lower() == ".json":
        table, meta = _json_rows(file)
    else:
        table, _ = read_table(file)
    units = _units(table, file.name)
    drawn = meta.get("seed") is not None if randomised is None else randomised
    seed = None if meta.get("seed") is None else int(meta["seed"])
    locked = _locked(table, units)
    if find_column(table, ("start",)) is not None:
        starts = _starts(table, units, periods, file.name)
        return Schedule(starts, drawn, meta.get("design"), seed, tuple(sorted(locked)))
    return schedule_from_steps(
        _steps(table, units, file.name),
        periods,
        first_period=first_period,
        randomised=drawn,
        design=meta.get("design"),
        seed=seed,
        locked=locked,
    )
