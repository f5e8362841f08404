"""The Evaluation page's rollout planner, without Streamlit: schedule, seed and power curve.

A rollout over the 20 regions (`nudge.evaluation.rollout.plan_rollout`), its schedule as the
user reads it and as a CSV the analysis reads back, and the power of the design against the
change of an index by the Hussey–Hughes model (`nudge.evaluation.power`), with the smallest
change detected at 80 % power marked on a Vega-Lite chart. A plan gets dated flights
(`dated`), is saved in the shared database for the analysis, the rotation and the registry
(`save`, `saved`, `open_saved`) and goes to the registry's plans of events (`export`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from nudge.db import SavedWork
from nudge.evaluation import rollout_store
from nudge.evaluation.power import PowerResult, design_power, power_of_change
from nudge.evaluation.rollout import (
    RolloutPlan,
    dated_plan,
    flight_calendar,
    plan_rollout,
    units_from_file,
    units_from_regions,
)
from nudge.geo.regions import REGIONS
from nudge.i18n import Translator
from nudge.io.sheets import csv_bytes
from nudge.registry.auth import UserRef
from nudge.registry.events import EventImportResult
from nudge.ui.evaluation import chart_config, labelled, region_label
from nudge.ui.files import with_upload

REGION_CODES = frozenset(r.code for r in REGIONS)


def units_from_upload(name: str, data: bytes) -> pd.DataFrame:
    """Read uploaded rollout units (CSV/XLSX: unit, name, population, urban_share, baseline)."""
    units: pd.DataFrame = with_upload(name, data, units_from_file)
    return units


def unit_names(units: pd.DataFrame | None, tr: Translator) -> dict[str, str]:
    """Return each unit's name as the user reads it (regions by name in `tr`'s language)."""
    table = units_from_regions() if units is None else units
    return {
        str(u): region_label(u, tr) if u in REGION_CODES else str(n)
        for u, n in zip(table["unit"], table["name"], strict=True)
    }


def rollout(
    units: pd.DataFrame | None = None,
    *,
    steps: int,
    design: str,
    seed: int | None,
    stratify: Sequence[str],
    locks: Mapping[str, int],
    flight: str | None = None,
) -> RolloutPlan:
    """Plan a rollout of `units` (default the 20 regions; `nudge.evaluation.rollout.plan_rollout`).

    `flight` is the word flights are named with (``"Flight"`` gives ``"Flight 1"``...);
    default ``F1``, ``F2``...
    """
    return plan_rollout(
        units_from_regions() if units is None else units,
        steps=steps,
        design=design,  # type: ignore[arg-type]  # checked by plan_rollout
        seed=seed,
        stratify=stratify,
        locks=locks,
        flight_names=None if flight is None else [f"{flight} {s}" for s in range(1, steps + 1)],
    )


def schedule_rows(plan: RolloutPlan, tr: Translator) -> pd.DataFrame:
    """Return the plan's schedule in the user's language (units by name, the code kept)."""
    table = plan.schedule.copy()
    names = [
        u if u in REGION_CODES else n for u, n in zip(table["unit"], table["name"], strict=True)
    ]
    table.insert(0, "region", names)
    table = table.drop(columns=["unit", "name"])
    table["stratum"] = pd.to_numeric(table["stratum"].replace("", np.nan), errors="coerce")
    dates = {c: tr(f"rollout_flights.col_{c}") for c in ("flight_start", "flight_end")}
    dated_columns = table[[c for c in dates if c in table]].rename(columns=dates)
    table = table.drop(columns=[c for c in dates if c in table])
    out = labelled(table, tr, decimals={"urban_share": 2, "population": 0, "baseline": 3})
    return pd.concat([out, dated_columns.map(str)], axis=1)


def dated(plan: RolloutPlan, *, start: date, weeks: int) -> RolloutPlan:
    """Return `plan` with flights of `weeks` weeks from `start`, named as the plan names them."""
    names = plan.schedule.drop_duplicates("step").sort_values("step")["flight"].astype(str)
    calendar = flight_calendar(plan.steps, start=start, weeks=weeks, names=names.tolist())
    return dated_plan(plan, calendar)


def save(engine: Engine, plan: RolloutPlan, *, name: str, owner: str) -> SavedWork:
    """Save a new rollout of `owner` in the shared database (`rollout_store.save_rollout`)."""
    return rollout_store.save_rollout(engine, plan, name=name, owner=owner)


def saved(engine: Engine) -> list[SavedWork]:
    """Return the saved rollouts, everyone's, newest first."""
    return rollout_store.list_rollouts(engine)


def open_saved(engine: Engine, work_id: int) -> tuple[SavedWork, RolloutPlan]:
    """Return a saved rollout and its plan."""
    return rollout_store.load_rollout(engine, work_id)


def saved_label(work: SavedWork, tr: Translator) -> str:
    """Return how a saved rollout is offered in a list."""
    when = work.updated_at.strftime("%Y-%m-%d %H:%M")
    return tr(
        "rollout_flights.saved_option",
        id=work.id,
        name=work.name,
        owner=work.owner,
        updated_at=when,
    )


def export(engine: Engine, work_id: int, *, user: UserRef, lang: str) -> EventImportResult:
    """Put a saved rollout's regional starts into the registry's plans of events."""
    return rollout_store.export_rollout(engine, work_id, user=user, lang=lang)


def schedule_csv(plan: RolloutPlan) -> bytes:
    """Return the schedule as the CLI writes it (codes, one row per unit), with design and seed.

    The file reads back as a schedule (``unit`` and ``step``) for the analysis.
    """
    table = plan.schedule.assign(design=plan.design, seed=plan.seed)
    return csv_bytes(table, encoding="utf-8-sig")


def power_curve(
    plan: RolloutPlan,
    *,
    per_unit: int,
    icc: float,
    baseline: float | None = None,
    sd: float | None = None,
    points: int = 41,
) -> tuple[PowerResult, pd.DataFrame]:
    """Return the plan's power (Hussey–Hughes) and power against the change, 0 to 2.5 × MDC."""
    result = design_power(
        plan.design_matrix(),
        per_unit=per_unit,
        icc=icc,
        baseline=baseline,
        sd=sd,
        name=plan.design,
    )
    changes = np.linspace(0.0, 2.5 * result.mdc, points)
    power = [power_of_change(c, result.variance, alpha=result.alpha) for c in changes]
    return result, pd.DataFrame({"change": changes, "power": power})


def power_chart(
    curve: pd.DataFrame,
    result: PowerResult,
    *,
    x_title: str,
    y_title: str,
    mdc_text: str,
    lang: str = "en",
) -> dict[str, Any]:
    """Return a Vega-Lite chart of power against change with the MDC at the target marked."""
    values = [{"change": float(c), "power": float(p)} for c, p in curve.itertuples(index=False)]
    mark = {"mdc": result.mdc, "target": result.target_power, "text": mdc_text}
    return {
        "config": chart_config(lang),
        "layer": [
            {
                "data": {"values": values},
                "mark": {"type": "line"},
                "encoding": {
                    "x": {"field": "change", "type": "quantitative", "title": x_title},
                    "y": {
                        "field": "power",
                        "type": "quantitative",
                        "title": y_title,
                        "scale": {"domain": [0, 1]},
                    },
                },
            },
            {
                "data": {"values": [mark]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#c0392b"},
                "encoding": {"x": {"field": "mdc", "type": "quantitative"}},
            },
            {
                "data": {"values": [mark]},
                "mark": {"type": "rule", "strokeDash": [2, 2], "color": "#7f8c8d"},
                "encoding": {"y": {"field": "target", "type": "quantitative"}},
            },
            {
                "data": {"values": [mark]},
                "mark": {"type": "text", "align": "left", "dx": 6, "dy": -8},
                "encoding": {
                    "x": {"field": "mdc", "type": "quantitative"},
                    "y": {"field": "target", "type": "quantitative"},
                    "text": {"field": "text"},
                },
            },
        ],
    }
