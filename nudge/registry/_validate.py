"""Validation of installation rows, shared by single logging and batch imports.

Both paths turn their input into a table of text-like cells with canonical
column names, and `validate_installations` checks every rule column by column
(vectorised), returning typed rows and every problem with its row number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import RowProblem
from nudge.registry.models import INSTALLATION_KINDS, STATUSES
from nudge.registry.regions import (
    DistrictLayer,
    cities_of_points,
    city_name,
    outside_message,
    regions_of_points,
)

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lat": ("lat", "latitude", "y", "широта", "ендік"),
    "lon": ("lon", "lng", "long", "longitude", "x", "долгота", "бойлық"),
    "kind": ("kind", "type", "тип", "вид", "түрі"),
    "status": ("status", "статус", "күйі"),
    "installed_on": ("installed_on", "install_date", "installed", "date", "дата", "дата_установки"),
    "removed_on": ("removed_on", "removal_date", "removed", "дата_демонтажа"),
    "content_id": ("content_id", "content", "item", "контент"),
    "themes": ("themes", "theme", "тема", "темы"),
    "size": ("size", "размер", "өлшемі"),
    "facing_deg": ("facing_deg", "facing", "bearing", "azimuth", "направление", "азимут"),
    "illuminated": ("illuminated", "lit", "lighting", "подсветка"),
    "city": ("city", "город", "қала"),
    "site_id": ("site_id", "site", "planned_site"),
    "external_id": ("external_id", "id", "ref", "номер", "№"),
    "note": ("note", "notes", "comment", "примечание"),
}
KNOWN_COLUMNS = tuple(COLUMN_ALIASES)

KIND_ALIASES: dict[str, str] = {
    **{k: k for k in INSTALLATION_KINDS},
    "баннер": "banner",
    "растяжка": "banner",
    "билборд": "billboard",
    "щит": "billboard",
    "citylight": "city_light",
    "ситилайт": "city_light",
    "сити_лайт": "city_light",
    "exhibition": "photo_exhibition",
    "photoexhibition": "photo_exhibition",
    "фотовыставка": "photo_exhibition",
    "фотокөрме": "photo_exhibition",
    "выставка": "photo_exhibition",
    "led": "led_screen",
    "ledscreen": "led_screen",
    "led_экран": "led_screen",
    "экран": "led_screen",
}
_TRUE = {"1", "true", "yes", "y", "да", "иә", "ия", "+"}
_FALSE = {"0", "false", "no", "n", "нет", "жоқ", "-"}
NEEDS_INSTALL_DATE = frozenset({"installed", "verified", "damaged", "replaced", "removed"})


def column_key(name: object) -> str:
    """Return a header cell in the form used to match aliases."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold()).strip("_")


def canonical_columns(columns: Sequence[object]) -> dict[object, str]:
    """Map a table's own column names to canonical ones (unknown columns are left out)."""
    lookup = {column_key(a): canon for canon, aliases in COLUMN_ALIASES.items() for a in aliases}
    out: dict[object, str] = {}
    for col in columns:
        canon = lookup.get(column_key(col))
        if canon is not None and canon not in out.values():
            out[col] = canon
    return out


def is_missing(value: object) -> bool:
    """Return whether a cell is empty (None, NaN, NA or NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of `frame` as dicts of plain Python values (None for empty cells)."""
    columns = [str(c) for c in frame.columns]
    return [
        {
            c: None if is_missing(v) else (v.item() if isinstance(v, np.generic) else v)
            for c, v in zip(columns, values, strict=True)
        }
        for values in frame.itertuples(index=False, name=None)
    ]


def _text(series: pd.Series) -> pd.Series:
    """Return cells as stripped text (object dtype), with empty cells as None."""
    values = [None if is_missing(v) else (str(v).strip() or None) for v in series.tolist()]
    return pd.Series(values, index=series.index, dtype=object)


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """A planned site an installation row may refer to by ``site_id``."""

    id: int
    lat: float
    lon: float


@dataclass
class Checked:
    """Typed rows that passed every check, and the problems of the others."""

    rows: pd.DataFrame
    problems: list[RowProblem]


class _Problems:
    def __init__(self, rows: pd.Series) -> None:
        self.rows = rows
        self.items: list[RowProblem] = []
        self.bad = pd.Series(False, index=rows.index)

    def add(self, mask: pd.Series, column: str, message: object) -> None:
        mask = mask.fillna(False).astype(bool)
        for idx in mask.index[mask]:
            text = message(idx) if callable(message) else str(message)
            self.items.append(RowProblem(int(self.rows[idx]), text, column))
        self.bad |= mask


def _numbers(col: pd.Series, name: str, problems: _Problems) -> pd.Series:
    text = _text(col).map(
        lambda v: v.replace(",", ".").replace(" ", "") if isinstance(v, str) else v
    )
    values = pd.to_numeric(text, errors="coerce")
    problems.add(text.notna() & values.isna(), name, lambda i: f"{name} {col[i]!r} is not a number")
    return values


def _dates(col: pd.Series, name: str, problems: _Problems) -> pd.Series:
    raw = col.where(col.notna(), None)
    is_date = raw.map(lambda v: isinstance(v, date))
    text = _text(raw.where(~is_date, None))
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    dotted = pd.to_datetime(text, errors="coerce", format="%d.%m.%Y")
    parsed = parsed.fillna(dotted)
    out = parsed.map(lambda t: None if pd.isna(t) else t.date()).astype(object)
    out[is_date] = raw[is_date].map(lambda v: v.date() if hasattr(v, "date") else v)
    problems.add(
        text.notna() & parsed.isna(),
        name,
        lambda i: f"{name} {col[i]!r} is not a date; write it as 2025-03-31 or 31.03.2025",
    )
    return out


def _choices(
    col: pd.Series,
    name: str,
    lookup: Mapping[str, str],
    problems: _Problems,
    default: str | None = None,
) -> pd.Series:
    text = _text(col)
    out = text.map(lambda v: lookup.get(column_key(v)) if isinstance(v, str) else default)
    allowed = ", ".join(sorted(set(lookup.values())))
    problems.add(
        text.notna() & out.isna(), name, lambda i: f"{name} {col[i]!r} is unknown; use {allowed}"
    )
    return out


def _booleans(col: pd.Series, problems: _Problems) -> pd.Series:
    text = _text(col).map(lambda v: v.casefold() if isinstance(v, str) else None)
    out = text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
    out = out.astype(object).where(out.notna(), None)
    problems.add(
        text.notna() & out.isna(),
        "illuminated",
        lambda i: f"illuminated {col[i]!r} is not yes/no",
    )
    return out.astype(object)


_MAX_LENGTH = {
    "content_id": 120,
    "themes": 400,
    "size": 40,
    "city": 80,
    "site_id": 80,
    "external_id": 80,
    "note": 4000,
}


def split_themes(value: object) -> str | None:
    """Return themes as one sorted, comma-separated, lower-case text (None when empty)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    parts = value if isinstance(value, list | tuple | set) else re.split(r"[,;|]", str(value))
    themes = sorted({str(t).strip().casefold() for t in parts if str(t).strip()})
    return ",".join(themes) or None


def _location(
    table: pd.DataFrame, sites: Mapping[str, SiteInfo], p: _Problems
) -> tuple[pd.Series, pd.Series, pd.Series]:
    lat = _numbers(table["lat"], "lat", p)
    lon = _numbers(table["lon"], "lon", p)
    site = _text(table["site_id"])
    known = site.map(lambda s: not isinstance(s, str) or s in sites)
    p.add(
        ~known,
        "site_id",
        lambda i: f"site_id {site[i]!r} is not a planned site; import its plan first",
    )
    site_id = site.map(lambda s: sites[s].id if s in sites else None).astype(object)
    lat = lat.fillna(site.map(lambda s: sites[s].lat if s in sites else np.nan))
    lon = lon.fillna(site.map(lambda s: sites[s].lon if s in sites else np.nan))
    given = table["lat"].notna() | table["lon"].notna()
    p.add(~given & site.isna(), "lat", "the location is missing: give lat and lon, or a site_id")
    p.add(
        given & (_text(table["lat"]).isna() ^ _text(table["lon"]).isna()),
        "lat",
        "give both lat and lon",
    )
    out_of_range = ~lat.between(-90, 90) | ~lon.between(-180, 180)
    p.add(
        lat.notna() & lon.notna() & out_of_range,
        "lat",
        lambda i: f"lat {lat[i]} / lon {lon[i]} are not valid decimal degrees",
    )
    return lat, lon, site_id


def _dates_and_status(table: pd.DataFrame, p: _Problems, today: date) -> pd.DataFrame:
    status = _choices(table["status"], "status", {s: s for s in STATUSES}, p, default="installed")
    installed = _dates(table["installed_on"], "installed_on", p)
    removed = _dates(table["removed_on"], "removed_on", p)
    p.add(
        status.isin(NEEDS_INSTALL_DATE) & installed.isna(),
        "installed_on",
        lambda i: f"status {status[i]} needs an install date (installed_on)",
    )
    p.add(
        (status == "removed") & removed.isna(),
        "removed_on",
        "status removed needs a removal date (removed_on)",
    )
    p.add(
        status == "verified",
        "status",
        "a new installation cannot start as verified: log it as installed, attach photo "
        "evidence, then change its status to verified",
    )
    both = installed.notna() & removed.notna()
    p.add(
        both & (removed.where(both, date.min) < installed.where(both, date.min)),
        "removed_on",
        lambda i: f"removed_on {removed[i]} is before installed_on {installed[i]}",
    )
    latest = today + timedelta(days=1)
    p.add(
        installed.map(lambda d: isinstance(d, date) and d > latest),
        "installed_on",
        lambda i: f"installed_on {installed[i]} is in the future",
    )
    return pd.DataFrame({"status": status, "installed_on": installed, "removed_on": removed})


def validate_installations(
    table: pd.DataFrame,
    *,
    sites: Mapping[str, SiteInfo],
    districts: DistrictLayer | None = None,
    today: date | None = None,
) -> Checked:
    """Check installation rows and return the typed good rows and every problem.

    Parameters
    ----------
    table
        One row per installation with canonical column names (any may be
        missing) and a ``row`` column with the row number shown to people.
    sites
        Planned sites by ``site_id``; a row may give a site instead of lat/lon.
    districts
        City districts to assign the rows to.
    today
        Date used to refuse install dates in the future.

    Returns
    -------
    Checked
        Good rows with columns ``row``, ``kind``, ``status``, ``lat``, ``lon``,
        ``region_code``, ``city``, ``district``, ``planned_site_id``,
        ``installed_on``, ``removed_on``, ``facing_deg``, ``illuminated``,
        ``themes`` and the text columns.
    """
    table = table.reindex(columns=["row", *KNOWN_COLUMNS]).reset_index(drop=True)
    p = _Problems(table["row"])
    kind = _choices(table["kind"], "kind", KIND_ALIASES, p)
    p.add(_text(table["kind"]).isna(), "kind", "kind is missing")
    lat, lon, site_id = _location(table, sites, p)
    region = pd.Series(regions_of_points(lat.to_numpy(), lon.to_numpy()), index=table.index)
    located = lat.between(-90, 90) & lon.between(-180, 180)
    p.add(located & region.isna(), "lat", lambda i: outside_message(lat[i], lon[i]))
    facing = _numbers(table["facing_deg"], "facing_deg", p)
    p.add(
        facing.notna() & ~facing.between(0, 360),
        "facing_deg",
        lambda i: f"facing_deg {facing[i]} is not a bearing between 0 and 360",
    )
    out = _dates_and_status(table, p, today or date.today())
    texts = {c: _text(table[c]) for c in _MAX_LENGTH}
    texts["themes"] = table["themes"].map(split_themes)
    for column, limit in _MAX_LENGTH.items():
        p.add(
            texts[column].map(lambda v, n=limit: isinstance(v, str) and len(v) > n),
            column,
            f"{column} is longer than {limit} characters",
        )
    out = out.assign(
        row=table["row"],
        kind=kind,
        lat=lat,
        lon=lon,
        region_code=region,
        planned_site_id=site_id,
        facing_deg=facing.mask(facing == 360, 0.0),
        illuminated=_booleans(table["illuminated"], p),
        **texts,
    )
    good = out[~p.bad].copy()
    explicit_city = good["city"].map(lambda c: city_name(c) if isinstance(c, str) else None)
    found_city = cities_of_points(good["lat"], good["lon"], good["region_code"])
    good["city"] = explicit_city.where(explicit_city.notna(), found_city)
    good["district"] = (
        districts.districts_of_points(good["lat"], good["lon"]) if districts else None
    )
    problems = sorted(p.items, key=lambda x: (x.row, x.column or ""))
    return Checked(good.reset_index(drop=True), problems)


_UID_FIELDS = (
    "kind",
    "lat",
    "lon",
    "installed_on",
    "content_id",
    "size",
    "facing_deg",
    "site_id",
    "external_id",
)


def installation_uids(rows: pd.DataFrame) -> list[str]:
    """Return the natural key of every row: a hash of the fields that identify it.

    The same installation given again (same kind, place to about 1 cm, date,
    content, size, facing, site and external id) gets the same key, so a
    re-imported file adds nothing.
    """
    lat = rows["lat"].round(7).map("{:.7f}".format)
    lon = rows["lon"].round(7).map("{:.7f}".format)
    cols = [rows[c].map(lambda v: "" if is_missing(v) else str(v)) for c in _UID_FIELDS]
    cols[1], cols[2] = lat, lon
    joined = ["|".join(parts) for parts in zip(*cols, strict=True)]
    return ["h:" + hashlib.sha256(j.encode("utf-8")).hexdigest()[:40] for j in joined]
