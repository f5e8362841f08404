"""Tables and files of a rotation: calendar, schedule, exposure, print orders.

`rotation_tables` turns the solver's site x flight array into the tables of
`nudge.content.rotation.RotationResult`; `write_rotation` writes them as CSV
files and one XLSX workbook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nudge.content._io import write_bytes_atomic, write_xlsx_atomic
from nudge.content._solver import RotationProblem
from nudge.content.matching import MatchResult
from nudge.io.sheets import csv_bytes

if TYPE_CHECKING:
    from nudge.content.rotation import RotationResult


def rotation_tables(
    plan: pd.DataFrame,
    match: MatchResult,
    problem: RotationProblem,
    assign: np.ndarray,
    flights: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Return the calendar, schedule, exposure and print-order tables of an assignment."""
    item_ids = np.asarray(match.items.index, dtype=object)
    labels = list(flights["label"])
    ids = np.where(assign >= 0, item_ids[np.maximum(assign, 0)], "")
    calendar = pd.DataFrame(ids, index=plan.index, columns=labels)
    return {
        "calendar": calendar,
        "schedule": _schedule(plan, match, problem, assign, flights),
        "exposure": _exposure(match, problem, assign),
        "print_orders": _print_orders(match, assign, flights, plan.index),
    }


def _schedule(
    plan: pd.DataFrame,
    match: MatchResult,
    problem: RotationProblem,
    assign: np.ndarray,
    flights: pd.DataFrame,
) -> pd.DataFrame:
    n, n_flights = assign.shape
    site_pos = np.repeat(np.arange(n), n_flights)
    flight_pos = np.tile(np.arange(n_flights), n)
    cell = assign.ravel()
    placed = cell >= 0
    items = match.items
    item_ids = np.asarray(items.index, dtype=object)

    def item_col(column: str) -> np.ndarray:
        values = np.asarray(items[column], dtype=object)
        picked = values[np.maximum(cell, 0)]
        picked[~placed] = None
        return picked

    suit = problem.suitability[site_pos, np.maximum(cell, 0)]
    return pd.DataFrame(
        {
            "site_id": plan.index.to_numpy()[site_pos],
            "name": _column(plan, "name")[site_pos],
            "kind": _column(plan, "kind")[site_pos],
            "format": match.site_format.to_numpy()[site_pos],
            "region": _column(plan, "district", "region")[site_pos],
            "flight": flight_pos + 1,
            "start": flights["start"].to_numpy()[flight_pos],
            "end": flights["end"].to_numpy()[flight_pos],
            "item_id": np.where(placed, item_ids[np.maximum(cell, 0)], None),
            "item_kind": item_col("kind"),
            "text_kk": item_col("text_kk"),
            "text_ru": item_col("text_ru"),
            "suitability": np.where(placed, np.round(suit, 3), np.nan),
            "locked": problem.locked.ravel() >= 0,
        }
    )


def _column(plan: pd.DataFrame, *names: str) -> np.ndarray:
    for name in names:
        if name in plan.columns:
            values = plan[name].astype(object).where(plan[name].notna(), None)
            return np.asarray(values, dtype=object)
    return np.full(len(plan), None, dtype=object)


def _exposure(match: MatchResult, problem: RotationProblem, assign: np.ndarray) -> pd.DataFrame:
    m = len(match.items)
    cells = assign >= 0
    flat = assign[cells]
    weights = np.broadcast_to(problem.weight[:, None], assign.shape)[cells]
    placements = np.bincount(flat, minlength=m)
    exposure = np.bincount(flat, weights=weights, minlength=m)
    site_item = np.unique(np.nonzero(cells)[0] * m + flat)
    sites = np.bincount(site_item % m, minlength=m) if m else np.zeros(0, int)
    fair = problem.fair
    ratio = np.divide(exposure, fair, out=np.full(m, np.nan), where=fair > 0)
    items = match.items
    return pd.DataFrame(
        {
            "item_id": items.index,
            "kind": items["kind"].to_numpy(),
            "themes": [";".join(t or ()) for t in items["themes"]],
            "status": items["status"].to_numpy(),
            "placeable": fair > 0,
            "placements": placements,
            "sites": sites,
            "exposure": np.round(exposure, 4),
            "fair_share": np.round(fair, 4),
            "ratio": np.round(ratio, 4),
            "never_placed_because": [match.unusable.get(i) for i in items.index],
        }
    )


def _print_orders(
    match: MatchResult, assign: np.ndarray, flights: pd.DataFrame, site_ids: pd.Index
) -> pd.DataFrame:
    item_ids = np.asarray(match.items.index, dtype=object)
    formats = match.site_format.reindex(site_ids).to_numpy()
    rows, cols = np.nonzero(assign >= 0)
    long = pd.DataFrame(
        {
            "flight": cols + 1,
            "format": formats[rows],
            "item_id": item_ids[assign[rows, cols]],
        }
    )
    sizes = long.groupby(["flight", "format", "item_id"], dropna=False).size()
    orders = pd.DataFrame(sizes.rename("copies")).reset_index()
    starts = dict(zip(flights["flight"], flights["start"], strict=True))
    orders.insert(1, "start", orders["flight"].map(starts))
    texts = match.items["text_kk"]
    orders["text_kk"] = orders["item_id"].map(texts)
    return orders.sort_values(["flight", "format", "copies"], ascending=[True, True, False])


def write_rotation(result: RotationResult, path: Path) -> dict[str, Path]:
    """Write a rotation as CSV files and one XLSX workbook.

    `path` names the calendar; its siblings get the other tables:
    ``<stem>_schedule.csv``, ``<stem>_exposure.csv``, ``<stem>_print_orders.csv``,
    ``<stem>_violations.csv`` and ``<stem>.xlsx`` with one sheet each.

    Returns
    -------
    dict[str, Path]
        The file written for each table (and ``xlsx``).
    """
    path = Path(path)
    stem = path.with_suffix("")
    tables = _output_tables(result)
    written: dict[str, Path] = {}
    for name, frame in tables.items():
        target = path.with_suffix(".csv") if name == "calendar" else Path(f"{stem}_{name}.csv")
        write_bytes_atomic(target, csv_bytes(frame))
        written[name] = target
    xlsx = path.with_suffix(".xlsx")
    write_xlsx_atomic(xlsx, {name: _sheet(frame) for name, frame in tables.items()})
    written["xlsx"] = xlsx
    return written


def _output_tables(result: RotationResult) -> dict[str, pd.DataFrame]:
    calendar = result.calendar.reset_index()
    schedule = result.schedule
    info = schedule.drop_duplicates("site_id").set_index("site_id")[["name", "kind", "format"]]
    calendar.insert(1, "name", calendar["site_id"].map(info["name"]))
    calendar.insert(2, "format", calendar["site_id"].map(info["format"]))
    violations = pd.DataFrame(
        [v.as_dict() for v in result.violations],
        columns=["rule", "site_id", "flight", "item_id", "message"],
    )
    return {
        "calendar": calendar,
        "schedule": schedule,
        "exposure": result.exposure,
        "print_orders": result.print_orders,
        "violations": violations,
    }


def _sheet(frame: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    clean = frame.astype(object).where(frame.notna(), None)
    rows = [[_cell(v) for v in row] for row in clean.itertuples(index=False, name=None)]
    return [str(c) for c in frame.columns], rows


def _cell(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return value
