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
from nudge.io.sheets import csv_bytes, xlsx_bytes
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


REPORT_FORMATS = ("xlsx", "csv")
EXPORT_FORMATS = ("geojson", "csv", "xlsx")


def _format(name: str, allowed: tuple[str, ...], what: str) -> str:
    fmt = name.lower().lstrip(".")
    fmt = {"json": "geojson"}.get(fmt, fmt)
    if fmt not in allowed:
        names = [f".{a}" for a in allowed]
        choices = ", ".join(names[:-1]) + f" or {names[-1]}"
        msg = f"Cannot write {what} as a .{fmt} file: use {choices}."
        raise InputFileError(msg, code="export_format_unknown", fmt=fmt, allowed=", ".join(names))
    return fmt


def report_bytes(report: Report, fmt: str = "xlsx") -> bytes:
    """Return the report as an XLSX workbook (one sheet per breakdown) or a long CSV table.

    Parameters
    ----------
    report
        From `build_report`.
    fmt
        ``"xlsx"`` or ``"csv"``.

    Returns
    -------
    bytes
        The file's content (e.g. for a download button).
    """
    fmt = _format(fmt, REPORT_FORMATS, "a report")
    if fmt == "xlsx":
        sheets = {"summary": _summary(report)}
        sheets.update({key: _sheet(table) for key, table in report.tables.items()})
        sheets["records"] = _records(report)
        return xlsx_bytes(sheets)
    parts = [_sheet(t).assign(breakdown=k) for k, t in report.tables.items()]
    long = pd.concat(parts, ignore_index=True)
    cols = ["breakdown", *[c for c in long.columns if c != "breakdown"]]
    return csv_bytes(long[cols], encoding="utf-8-sig")


def write_report(report: Report, path: Path | str) -> Path:
    """Write the report to a .xlsx or .csv file (see `report_bytes`) and return its path."""
    path = Path(path)
    content = report_bytes(report, path.suffix or path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def installations_bytes(
    engine: Engine,
    fmt: str = "geojson",
    *,
    active_on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> tuple[bytes, int]:
    """Return installations as GeoJSON (points, EPSG:4326), CSV or XLSX, and their number.

    The installations counted are those of `installations_frame` for the same
    date or period.
    """
    fmt = _format(fmt, EXPORT_FORMATS, "installations")
    frame = installations_frame(engine, active_on=active_on, date_from=date_from, date_to=date_to)
    if fmt == "csv":
        return csv_bytes(frame, encoding="utf-8-sig"), len(frame)
    if fmt == "xlsx":
        return xlsx_bytes({"installations": frame}), len(frame)
    props = frame.drop(columns=["lat", "lon"])
    for col in ("installed_on", "removed_on"):
        props[col] = [d.isoformat() if isinstance(d, date) else None for d in props[col]]
    points = gpd.points_from_xy(frame["lon"], frame["lat"])
    gdf = gpd.GeoDataFrame(props, geometry=points, crs="EPSG:4326")
    return gdf.to_json(drop_id=True, ensure_ascii=False).encode("utf-8"), len(frame)


def export_installations(
    engine: Engine,
    path: Path | str,
    *,
    active_on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> int:
    """Write installations to a .geojson, .csv or .xlsx file; return how many were written."""
    path = Path(path)
    content, count = installations_bytes(
        engine, path.suffix or path.name, active_on=active_on, date_from=date_from,
        date_to=date_to,
    )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return count
