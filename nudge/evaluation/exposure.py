"""Exposure per region and period: what the campaign put in front of each region, and when.

`exposure_by_region` counts, for the same regions (the 20 of `nudge.geo.regions`
plus the republic) and periods as the survey estimates, the installations
installed and active (all, and verified ones), per 100,000 inhabitants, the
publications, the events of the plans of events, and, from a saved rotation,
the site-flights of each content theme. Exposure is what was put up, not how
many people saw it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError, RecordError
from nudge.db import load_work
from nudge.geo.regions import REGIONS, region_code
from nudge.io.tables import read_table
from nudge.registry import (
    Populations,
    installations_frame,
    list_event_items,
    populations_default,
    publications_frame,
)

Period = Literal["year", "quarter", "month"]
PERIODS: tuple[str, ...] = ("year", "quarter", "month")
_FREQ = {"year": "Y", "quarter": "Q", "month": "M"}
_COUNTS = (
    "installed", "installed_verified", "active", "active_verified",
    "publications", "publications_verified", "events_planned", "events_held",
)  # fmt: skip
EXPOSURE_COLUMNS = (
    "region", "year", "period", "period_start", "period_end", "population",
    *_COUNTS, "active_per_100k", "active_verified_per_100k",
)  # fmt: skip
"""Columns of `exposure_by_region` (then one ``flights_<theme>`` column per rotation theme)."""
_LABEL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def period_table(start: date, end: date, period: Period = "year") -> pd.DataFrame:
    """Return the periods of `start`–`end`: ``period``, ``year``, first and last day (clipped)."""
    if period not in _FREQ:
        msg = f"Unknown period {period!r}; use year, quarter or month."
        raise RecordError(msg, code="eval_exposure_period", period=period)
    if end < start:
        msg = f"The period ends ({end}) before it starts ({start})."
        raise RecordError(msg, code="eval_exposure_dates", start=start, end=end)
    spans = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq=_FREQ[period])
    return pd.DataFrame(
        {
            "period": [str(p) for p in spans],
            "year": [p.year for p in spans],
            "period_start": [max(p.start_time.date(), start) for p in spans],
            "period_end": [min(p.end_time.date(), end) for p in spans],
        }
    )


def _period_of(dates: pd.Series, periods: pd.DataFrame) -> pd.Series:
    """Return the period label of each date (None outside every period), vectorised."""
    values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    starts = pd.to_datetime(periods["period_start"]).to_numpy(dtype="datetime64[ns]")
    ends = pd.to_datetime(periods["period_end"]).to_numpy(dtype="datetime64[ns]")
    pos = np.searchsorted(starts, values, side="right") - 1
    safe = np.clip(pos, 0, len(starts) - 1)
    inside = (pos >= 0) & ~np.isnat(values) & (values <= ends[safe])
    labels = np.asarray(periods["period"], dtype=object)[safe]
    picked: list[Any] = [label if ok else None for label, ok in zip(labels, inside, strict=True)]
    return pd.Series(picked, index=dates.index, dtype="object")


def _installation_counts(engine: Engine, periods: pd.DataFrame) -> pd.DataFrame:
    start, end = periods["period_start"].min(), periods["period_end"].max()
    frame = installations_frame(engine, date_to=end)
    removed = pd.to_datetime(frame["removed_on"])
    frame = frame[removed.isna() | (removed > pd.Timestamp(start))]
    pairs = frame[["region", "installed_on", "removed_on", "verified"]].merge(periods, how="cross")
    installed = pd.to_datetime(pairs["installed_on"])
    first, last = pd.to_datetime(pairs["period_start"]), pd.to_datetime(pairs["period_end"])
    gone = pd.to_datetime(pairs["removed_on"])
    verified = pairs["verified"].astype(bool)
    pairs["installed"] = (installed >= first) & (installed <= last)
    pairs["active"] = (installed <= last) & (gone.isna() | (gone > first))
    pairs["installed_verified"] = pairs["installed"] & verified
    pairs["active_verified"] = pairs["active"] & verified
    columns = ["installed", "installed_verified", "active", "active_verified"]
    return pairs.groupby(["region", "period"])[columns].sum().astype(int)


def _publication_counts(engine: Engine, periods: pd.DataFrame) -> pd.DataFrame:
    start, end = periods["period_start"].min(), periods["period_end"].max()
    frame = publications_frame(engine, date_from=start, date_to=end)
    frame = frame.assign(period=_period_of(frame["published_on"], periods))
    frame = frame[frame["period"].notna()]
    frame = frame.assign(publications=1, publications_verified=frame["verified"].astype(int))
    columns = ["publications", "publications_verified"]
    return frame.groupby(["region", "period"])[columns].sum().astype(int)


def _event_counts(engine: Engine, periods: pd.DataFrame) -> pd.DataFrame:
    items = [i for y in sorted(set(periods["year"])) for i in list_event_items(engine, year=y)]
    frame = pd.DataFrame(
        {
            "region": [i.region_code or "" for i in items],
            "planned_on": [i.planned_on for i in items],
            "status": [i.status for i in items],
        }
    )
    frame["period"] = _period_of(frame["planned_on"], periods) if items else None
    frame = frame[frame["period"].notna() & (frame["status"] != "cancelled")]
    frame = frame.assign(events_planned=1, events_held=(frame["status"] == "held").astype(int))
    return frame.groupby(["region", "period"])[["events_planned", "events_held"]].sum()


def _grid(periods: pd.DataFrame, populations: Populations) -> pd.DataFrame:
    codes = ["", *(r.code for r in REGIONS)]
    grid = pd.DataFrame({"region": codes}).merge(periods, how="cross")
    known = {c: populations.regions.get(c) for c in codes[1:]}
    total = sum(v for v in known.values() if v) if all(known.values()) else None
    grid["population"] = grid["region"].map({**known, "": total})
    return grid


def exposure_by_region(
    engine: Engine,
    *,
    start: date,
    end: date,
    period: Period = "year",
    verified_only: bool = False,
    rotation: pd.DataFrame | None = None,
    populations: Populations | None = None,
) -> pd.DataFrame:
    """Return the campaign's exposure per region and period, beside the survey estimates.

    Parameters
    ----------
    engine
        The registry database.
    start, end
        First and last day counted (periods are clipped to them).
    period
        ``year``, ``quarter`` or ``month``.
    verified_only
        Count only verified installations and publications (``active``,
        ``installed`` and ``publications`` then equal their ``*_verified``).
    rotation
        Site-flights of a rotation (`rotation_cells`): ``region``, ``start``,
        ``themes``; adds one ``flights_<theme>`` column per theme.
    populations
        Inhabitants per region (default `nudge.registry.populations_default`,
        see `nudge.registry.POPULATION_SOURCE`).

    Returns
    -------
    pandas.DataFrame
        One row per region (``region`` None: the republic, the sum of the
        regions plus the items of the republican plan of events) and period:
        `EXPOSURE_COLUMNS`. ``active`` counts installations in place on any
        day of the period (installed by its end, not removed before its start).
    """
    periods = period_table(start, end, period)
    grid = _grid(periods, populations or populations_default())
    parts: list[pd.DataFrame | pd.Series] = [
        _installation_counts(engine, periods),
        _publication_counts(engine, periods),
        _event_counts(engine, periods),
    ]
    if rotation is not None:
        parts.append(_theme_counts(rotation, periods))
    table = grid.set_index(["region", "period"]).join(parts).reset_index()
    extra = [c for c in table.columns if c not in EXPOSURE_COLUMNS]
    table[[*_COUNTS, *extra]] = table[[*_COUNTS, *extra]].fillna(0).astype(int)
    table = _with_republic(table, [*_COUNTS, *extra])
    if verified_only:
        for column in ("installed", "active", "publications"):
            table[column] = table[f"{column}_verified"]
    for column in ("active", "active_verified"):
        rate = table[column] / table["population"].astype(float) * 100_000
        table[f"{column}_per_100k"] = rate.round(3)
    table["region"] = table["region"].replace({"": None})
    return table[[*EXPOSURE_COLUMNS, *extra]].reset_index(drop=True)


def _with_republic(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    regional = table[table["region"] != ""].groupby("period")[columns].sum()
    own = table[table["region"] == ""].set_index("period")
    own[columns] = own[columns] + regional.reindex(own.index).fillna(0).astype(int)
    republic = own.reset_index()
    order = {p: k for k, p in enumerate(dict.fromkeys(table["period"]))}
    out = pd.concat([republic, table[table["region"] != ""]], ignore_index=True)
    out["_order"] = out["period"].map(order)
    return out.sort_values(["_order"], kind="stable").drop(columns="_order")


def _theme_counts(rotation: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    cells = rotation.assign(period=_period_of(rotation["start"], periods))
    cells = cells[cells["period"].notna()].explode("themes")
    cells = cells[cells["themes"].notna() & (cells["themes"] != "")]
    counts = cells.groupby(["region", "period", "themes"]).size().unstack("themes", fill_value=0)
    return counts.rename(columns=lambda t: f"flights_{t}")


def rotation_cells(
    source: Path | str | Mapping[str, Any],
    *,
    themes: Mapping[str, Sequence[str]],
    region: str | None = None,
) -> pd.DataFrame:
    """Return the site-flights of a rotation.

    Columns: ``site_id``, ``region``, ``start`` (of the flight), ``item_id``, ``themes``.

    Parameters
    ----------
    source
        A rotation calendar CSV written by ``nudge rotate`` (flight columns
        labelled ``F01 2027-01-04``...), or the payload of a saved rotation
        (`nudge.db.load_work`).
    themes
        The themes of each content item, by item id (e.g. from the content library).
    region
        The region of sites without a ``region`` column or property (code or name).
    """
    is_payload = isinstance(source, Mapping)
    cells = _payload_cells(source) if is_payload else _calendar_cells(Path(source))  # type: ignore[arg-type]
    if "region" not in cells.columns or cells["region"].isna().any():
        if region is None:
            msg = "The rotation does not say which region its sites are in; give the region."
            raise RecordError(msg, code="eval_rotation_region")
        fallback = region_code(region)
        column = cells["region"] if "region" in cells.columns else pd.Series(None, cells.index)
        cells["region"] = column.where(column.notna(), fallback)
    codes = {r: region_code(str(r)) for r in cells["region"].unique()}
    cells["region"] = cells["region"].map(codes)
    cells["themes"] = cells["item_id"].map(lambda i: tuple(themes.get(str(i), ())))
    return cells[["site_id", "region", "start", "item_id", "themes"]].reset_index(drop=True)


def saved_rotation_cells(
    engine: Engine,
    work_id: int,
    *,
    themes: Mapping[str, Sequence[str]],
    region: str | None = None,
) -> pd.DataFrame:
    """Return the site-flights of a rotation saved in the database (see `rotation_cells`).

    Raises
    ------
    RecordError
        When there is no saved work with this id, or it is not a rotation.
    """
    work = load_work(engine, int(work_id))
    if work.kind != "rotation":
        msg = f"Saved work #{work_id} is a {work.kind}, not a rotation; give a rotation's id."
        raise RecordError(msg, code="eval_not_a_rotation", id=work_id, kind=work.kind)
    return rotation_cells(work.payload or {}, themes=themes, region=region)


def _calendar_cells(path: Path) -> pd.DataFrame:
    table, _ = read_table(path)
    flights = {c: _LABEL_DATE.search(str(c)) for c in table.columns}
    dated = {c: date.fromisoformat(m.group()) for c, m in flights.items() if m}
    if "site_id" not in table.columns or not dated:
        msg = f"{path.name} is not a rotation calendar (site_id and flight columns F01 YYYY-MM-DD)."
        raise InputFileError(msg, code="eval_rotation_calendar", name=path.name)
    keep = ["site_id", *(["region"] if "region" in table.columns else [])]
    long = table.melt(id_vars=keep, value_vars=list(dated), var_name="flight", value_name="item_id")
    long["start"] = long["flight"].map(dated)
    blank = long["item_id"].isna() | (long["item_id"].astype(str).str.strip() == "")
    return long[~blank].astype({"item_id": str})


def _payload_cells(payload: Mapping[str, Any]) -> pd.DataFrame:
    try:
        cells = pd.DataFrame(payload["cells"], columns=["site_id", "flight", "item_id"])
        first = date.fromisoformat(str(payload["start"]))
        weeks = int(payload["flight_weeks"])
    except (KeyError, TypeError, ValueError):
        msg = "The saved rotation lacks its cells, start or flight weeks."
        raise RecordError(msg, code="eval_rotation_payload") from None
    offsets = pd.to_timedelta((cells["flight"].astype(int) - 1) * weeks * 7, unit="D")
    cells["start"] = (pd.Timestamp(first) + offsets).dt.date
    features = (payload.get("sites") or {}).get("features") or []
    regions = {str(f["properties"].get("site_id", f.get("id"))): f["properties"].get("region")
               for f in features if f.get("properties")}  # fmt: skip
    cells["region"] = cells["site_id"].astype(str).map(regions)
    return cells.astype({"item_id": str})
