"""Files for the ministry: the indicator report (XLSX or CSV) and installation exports.

The XLSX report has a ``summary`` sheet (what was counted, totals), one sheet
per breakdown, and a ``records`` sheet listing every installation and
publication counted, so every figure can be checked against its records. The
CSV report holds the same breakdowns in one long table with a ``breakdown``
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError
from nudge.registry.indicators import (
    BREAKDOWNS,
    IndicatorTable,
    Populations,
    indicators_from_frames,
    installations_frame,
    populations_default,
    publications_frame,
)

EXCEL_CELL_LIMIT = 32_000


@dataclass(frozen=True)
class Report:
    """The indicators of one date or period, one table per breakdown."""

    active_on: date | None
    date_from: date | None
    date_to: date | None
    tables: dict[str, IndicatorTable]
    installations: pd.DataFrame
    publications: pd.DataFrame


def build_report(
    engine: Engine,
    *,
    breakdowns: Sequence[str] = BREAKDOWNS,
    active_on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    populations: Populations | None = None,
) -> Report:
    """Compute the indicators for every breakdown from one read of the registry.

    Parameters
    ----------
    engine
        Engine of the registry.
    breakdowns
        Breakdown keys, one table each; ``"region+month"`` gives a cross table.
    active_on, date_from, date_to
        What counts (see `indicator_table`).
    populations
        Inhabitants for per-100,000 figures; default `populations_default()`.

    Returns
    -------
    Report
    """
    inst = installations_frame(engine, active_on=active_on, date_from=date_from, date_to=date_to)
    pubs = publications_frame(engine, date_from=date_from, date_to=date_to or active_on)
    pops = populations if populations is not None else populations_default()
    tables = {
        key: indicators_from_frames(inst, pubs, by=key.split("+"), populations=pops)
        for key in breakdowns
    }
    return Report(active_on, date_from, date_to, tables, inst, pubs)


def _ids_text(ids: list[int]) -> str:
    text = ",".join(map(str, ids))
    if len(text) <= EXCEL_CELL_LIMIT:
        return text
    return text[: text.rfind(",", 0, EXCEL_CELL_LIMIT - 40)] + ",… (see the records sheet)"


def _sheet(table: IndicatorTable) -> pd.DataFrame:
    rows = table.rows.copy()
    for col in ("installation_ids", "publication_ids"):
        rows[col] = rows[col].map(_ids_text)
    total: dict[str, object] = dict.fromkeys(table.by[:1], "Total")
    total.update({k: v for k, v in table.total.items() if k in rows.columns})
    return pd.concat([rows, pd.DataFrame([total])], ignore_index=True)


def _summary(report: Report) -> pd.DataFrame:
    first = next(iter(report.tables.values()), None)
    counting = (
        f"installations in place on {report.active_on}"
        if report.active_on
        else "installations installed in the period"
    )
    items: list[tuple[str, object]] = [
        ("counted", counting),
        ("active_on", report.active_on),
        ("from", report.date_from),
        ("to", report.date_to),
        (
            "verified means",
            "installations: photo evidence and no open flag; publications: a link is recorded",
        ),
    ]
    if first is not None:
        items += list(first.total.items())
    return pd.DataFrame(items, columns=["item", "value"]).astype(str)


def _records(report: Report) -> pd.DataFrame:
    inst = report.installations.assign(record="installation")
    pubs = report.publications.assign(record="publication")
    cols = [
        "record",
        "id",
        "kind",
        "region",
        "region_name",
        "city",
        "district",
        "themes",
        "month",
        "verified",
    ]
    return pd.concat([inst.reindex(columns=cols), pubs.reindex(columns=cols)], ignore_index=True)


def write_report(report: Report, path: Path | str) -> Path:
    """Write the report as XLSX (one sheet per breakdown) or CSV (one long table).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            _summary(report).to_excel(writer, sheet_name="summary", index=False)
            for key, table in report.tables.items():
                _sheet(table).to_excel(writer, sheet_name=key[:31], index=False)
            _records(report).to_excel(writer, sheet_name="records", index=False)
        return path
    if suffix == ".csv":
        parts = [_sheet(t).assign(breakdown=k) for k, t in report.tables.items()]
        long = pd.concat(parts, ignore_index=True)
        cols = ["breakdown", *[c for c in long.columns if c != "breakdown"]]
        long[cols].to_csv(path, index=False, encoding="utf-8-sig")
        return path
    msg = f"Cannot write a report to {path.name}: use a .xlsx or .csv file name."
    raise InputFileError(msg)


def export_installations(
    engine: Engine,
    path: Path | str,
    *,
    active_on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> int:
    """Write installations as GeoJSON (points, EPSG:4326), CSV or XLSX, by file suffix.

    Returns
    -------
    int
        How many installations were written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".geojson", ".json", ".csv", ".xlsx"}:
        msg = f"Cannot export to {path.name}: use .geojson, .csv or .xlsx."
        raise InputFileError(msg)
    frame = installations_frame(engine, active_on=active_on, date_from=date_from, date_to=date_to)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in {".geojson", ".json"}:
        props = frame.drop(columns=["lat", "lon"])
        for col in ("installed_on", "removed_on"):
            props[col] = [d.isoformat() if isinstance(d, date) else None for d in props[col]]
        gdf = gpd.GeoDataFrame(
            props,
            geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
            crs="EPSG:4326",
        )
        gdf.to_file(path, driver="GeoJSON")
    elif suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        frame.to_excel(path, index=False, engine="openpyxl")
    return len(frame)
