"""Files for the ministry: the indicator report (XLSX or CSV) and installation exports.

The XLSX report has a ``summary`` sheet (what was counted, totals), one sheet
per breakdown, a ``records`` sheet listing every installation and publication
counted, so every figure can be checked against its records, and, once plans
of events are stored, an ``events`` sheet for indicator 1 (the plans per
region and year, with the items behind every figure). Callers above the
registry add further sheets ready-made (``extra_sheets``: the survey estimates
of indicator 3); they are translated and written like the others. The CSV
report holds the breakdowns in one long table with a ``breakdown`` column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError
from nudge.geo.regions import REGION_BY_CODE
from nudge.i18n import Translator, region_name, translator
from nudge.io.sheets import csv_bytes, xlsx_bytes
from nudge.registry.event_counts import INDICATOR_COLUMNS, event_indicator
from nudge.registry.indicators import (
    BREAKDOWNS,
    POPULATION_SOURCE,
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
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Indicator 1 per region and year (`nudge.registry.event_indicator`) of the period's years."""


def _event_years(engine: Engine, first: date | None, last: date | None) -> pd.DataFrame:
    events = event_indicator(engine)
    if first is not None:
        events = events[events["year"] >= first.year]
    if last is not None:
        events = events[events["year"] <= last.year]
    return events.reset_index(drop=True)


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
        With the plans of events (indicator 1) of every year the period touches (all years
        when it is open).
    """
    inst = installations_frame(engine, active_on=active_on, date_from=date_from, date_to=date_to)
    pubs = publications_frame(engine, date_from=date_from, date_to=date_to or active_on)
    pops = populations if populations is not None else populations_default()
    tables = {
        key: indicators_from_frames(inst, pubs, by=key.split("+"), populations=pops)
        for key in breakdowns
    }
    events = _event_years(engine, date_from, date_to or active_on)
    return Report(active_on, date_from, date_to, tables, inst, pubs, events)


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
    items.append(("population_source", POPULATION_SOURCE))
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
        raise InputFileError(code="export_format_unknown", fmt=fmt, allowed=", ".join(names))
    return fmt


def report_bytes(
    report: Report,
    fmt: str = "xlsx",
    *,
    lang: str = "kk",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """Return the report as an XLSX workbook (one sheet per breakdown) or a long CSV table.

    Parameters
    ----------
    report
        From `build_report`.
    fmt
        ``"xlsx"`` or ``"csv"``.
    lang
        Language of sheet names, headers, regions, kinds and themes: ``kk`` (default),
        ``ru`` or ``en``. The codes (``ALA``, ``banner``) stay beside the names.
    extra_sheets
        Further sheets built above the registry, by key (``survey``: the estimates of the
        values survey, indicator 3). Their names and headers are translated like the others;
        a key without a translation is used as the sheet name. XLSX only: the CSV table
        holds the breakdowns.

    Returns
    -------
    bytes
        The file's content (e.g. for a download button).
    """
    fmt = _format(fmt, REPORT_FORMATS, "a report")
    tr = translator(lang)
    if fmt == "xlsx":
        sheets = {_sheet_name("summary", tr): _localise(_summary(report), tr)}
        sheets.update(
            {_sheet_name(key, tr): _localise(_sheet(t), tr) for key, t in report.tables.items()}
        )
        sheets[_sheet_name("records", tr)] = _localise(_records(report), tr)
        if len(report.events):  # indicator 1, once any plan of events is stored
            sheets[_sheet_name("events", tr)] = _localise(_events_sheet(report.events, tr), tr)
        for key, frame in (extra_sheets or {}).items():
            sheets[_sheet_name(key, tr)] = _localise(_extra_sheet(frame, tr), tr)
        return xlsx_bytes(sheets)
    parts = [_sheet(t).assign(breakdown=_sheet_name(k, tr)) for k, t in report.tables.items()]
    long = pd.concat(parts, ignore_index=True)
    cols = ["breakdown", *[c for c in long.columns if c != "breakdown"]]
    return csv_bytes(_localise(long[cols], tr), encoding="utf-8-sig")


def _yes_no(value: object, tr: Translator) -> object:
    if isinstance(value, bool | np.bool_):
        return tr("report.yes") if value else tr("report.no")
    return value


def _events_sheet(events: pd.DataFrame, tr: Translator) -> pd.DataFrame:
    """Return indicator 1 as a sheet: the republic first, ids as text, yes/no for a plan."""
    out = events.reindex(columns=list(INDICATOR_COLUMNS)).copy()
    republic = out["region"].isna()
    out["region"] = out["region"].where(~republic, "")
    out.insert(1, "region_name", out["region"])
    out.loc[republic, "region_name"] = tr("report_sheets.republic")
    out["has_plan"] = out["has_plan"].map(lambda v: _yes_no(v, tr))
    for col in ("planned_ids", "held_ids", "cancelled_ids", "evidence_publication_ids"):
        out[col] = out[col].map(lambda ids: _ids_text(list(ids)) if ids is not None else "")
    return out


def _extra_sheet(frame: pd.DataFrame, tr: Translator) -> pd.DataFrame:
    """Return a sheet built above the registry with region names and yes/no in `tr`'s language."""
    out = frame.copy()
    if "region" in out.columns and "region_name" not in out.columns:
        names = [c if pd.notna(c) else tr("report_sheets.republic") for c in out["region"]]
        out.insert(list(out.columns).index("region") + 1, "region_name", names)
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]) or out[col].dtype == object:
            out[col] = out[col].map(lambda v: _yes_no(v, tr))
    if "kind" in out.columns:
        out["kind"] = out["kind"].map(lambda v: _word(tr, "report_sheets", f"kind_{v}"))
    return out


def _sheet_name(key: str, tr: Translator) -> str:
    return "+".join(
        str(_word(tr, "report", f"sheet_{part}"))
        if tr.has(f"report.sheet_{part}")
        else str(_word(tr, "report_sheets", f"sheet_{part}")).removeprefix("sheet_")
        for part in key.split("+")
    )


def _header(tr: Translator, column: object) -> object:
    for section in ("report", "report_sheets"):
        if tr.has(f"{section}.col_{column}"):
            return tr(f"{section}.col_{column}")
    return column


def _word(tr: Translator, section: str, value: object) -> object:
    if isinstance(value, str) and tr.has(f"{section}.{value}"):
        return tr(f"{section}.{value}")
    return value


def _localise(frame: pd.DataFrame, tr: Translator) -> pd.DataFrame:
    """Return a report table with headers, regions, kinds, themes and totals in `tr`'s language."""
    out = frame.copy()
    if "region" in out.columns and "region_name" in out.columns:
        out["region_name"] = [
            region_name(c, tr.lang) if isinstance(c, str) and c in REGION_BY_CODE else n
            for c, n in zip(out["region"], out["region_name"], strict=True)
        ]
    for col, section in (("kind", "kinds"), ("theme", "themes"), ("record", "report")):
        if col in out.columns:
            out[col] = out[col].map(lambda v, s=section: _word(tr, s, v))
    if "kind" in out.columns:
        out["kind"] = out["kind"].map(lambda v: _word(tr, "publication_kinds", v))
    if "themes" in out.columns:
        out["themes"] = out["themes"].map(
            lambda v: (
                ", ".join(str(_word(tr, "themes", t)) for t in str(v).split(","))
                if isinstance(v, str)
                else v
            )
        )
    if "item" in out.columns:
        out["item"] = out["item"].map(lambda v: _word(tr, "report", f"item_{v}"))
    if "verified" in out.columns:
        out["verified"] = out["verified"].map(
            lambda v: tr("report.yes") if v is True else tr("report.no") if v is False else v
        )
    for col in out.columns[:2]:
        out[col] = out[col].map(
            lambda v: (
                tr("report.total") if v == "Total" else tr("report.none") if v == "(none)" else v
            )
        )
    return out.rename(columns={c: _header(tr, c) for c in out.columns})


def write_report(
    report: Report,
    path: Path | str,
    *,
    lang: str = "kk",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the report to a .xlsx or .csv file (see `report_bytes`) and return its path."""
    path = Path(path)
    content = report_bytes(report, path.suffix or path.name, lang=lang, extra_sheets=extra_sheets)
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
        engine,
        path.suffix or path.name,
        active_on=active_on,
        date_from=date_from,
        date_to=date_to,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return count
