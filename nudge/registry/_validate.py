"""Validation of installation rows, shared by single logging and batch imports.

Both paths turn their input into a table of cells with canonical column names,
and `validate_installations` checks every rule column by column, returning
typed rows and every problem with its row number. Columns are handled as
numpy arrays (cells parsed once each, with repeated values memoised), so that
one row costs little and 10,000 rows stay fast.

The cell helpers the checks are made of (`Problems`, `cells_of`, `numbers_of`...)
are in `nudge.registry._cells`.
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
from nudge.geo.regions import (
    DistrictLayer,
    cities_of_points,
    city_name,
    regions_of_points,
)
from nudge.io.tables import LAT_NAMES, LON_NAMES
from nudge.io.values import parse_bool
from nudge.registry._cells import (
    Cells,
    Columns,
    Problems,
    Table,
    _choices,
    _date,
    _number,
    cells_of,
    column_key,
    dates_of,
    is_missing,
    numbers_of,
    present,
    row_count,
    take,
    texts_of,
)
from nudge.registry.models import INSTALLATION_KINDS, STATUSES

__all__ = [  # with the cell helpers that installations, _store and _validate_one import from here
    "COLUMN_ALIASES",
    "KIND_ALIASES",
    "KNOWN_COLUMNS",
    "NEEDS_INSTALL_DATE",
    "Checked",
    "Columns",
    "SiteInfo",
    "_date",
    "_number",
    "canonical_columns",
    "column_key",
    "installation_uids",
    "is_missing",
    "split_themes",
    "validate_installations",
]

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "lat": LAT_NAMES,
    "lon": LON_NAMES,
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
NEEDS_INSTALL_DATE = frozenset({"installed", "verified", "damaged", "replaced", "removed"})


def canonical_columns(
    columns: Sequence[object], aliases: Mapping[str, Sequence[str]] = COLUMN_ALIASES
) -> dict[object, str]:
    """Map a table's own column names to canonical ones (unknown columns are left out)."""
    lookup = {column_key(a): canon for canon, names in aliases.items() for a in names}
    out: dict[object, str] = {}
    for col in columns:
        canon = lookup.get(column_key(col))
        if canon is not None and canon not in out.values():
            out[col] = canon
    return out


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """A planned site an installation row may refer to by ``site_id``."""

    id: int
    lat: float
    lon: float
    kind: str | None = None  # the installation kind its plan kind implies


@dataclass
class Checked:
    """Typed rows that passed every check, and the problems of the others."""

    columns: Columns
    problems: list[RowProblem]

    @property
    def rows(self) -> pd.DataFrame:
        """Return the good rows as a DataFrame (object columns keep plain Python values)."""
        return pd.DataFrame({k: pd.Series(v, dtype=v.dtype) for k, v in self.columns.items()})


def _booleans(cells: Cells, p: Problems) -> Cells:
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if v is None else parse_bool(v) for v in cells]
    p.add(
        present(cells) & ~present(out),
        "illuminated",
        code="row_not_yes_no",
        params={"column": "illuminated", "value": cells},
    )
    return out


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
    if is_missing(value):
        return None
    parts = value if isinstance(value, list | tuple | set) else re.split(r"[,;|]", str(value))
    themes = sorted({str(t).strip().casefold() for t in parts if str(t).strip()})
    return ",".join(themes) or None


def _location(
    table: Table, sites: Mapping[str, SiteInfo], p: Problems
) -> tuple[np.ndarray, np.ndarray, Cells]:
    raw_lat, raw_lon = cells_of(table, "lat"), cells_of(table, "lon")
    lat, lon = numbers_of(raw_lat, "lat", p), numbers_of(raw_lon, "lon", p)
    site = texts_of(cells_of(table, "site_id"))
    known = np.array([s is None or s in sites for s in site], dtype=bool)
    p.add(
        ~known,
        "site_id",
        code="row_site_unknown",
        params={"site": site},
    )
    site_id = np.empty(len(site), dtype=object)
    site_id[:] = [sites[s].id if s in sites else None for s in site]
    from_site = np.isnan(lat) & np.isnan(lon) & present(site_id)
    for i in np.flatnonzero(from_site):
        lat[i], lon[i] = sites[site[i]].lat, sites[site[i]].lon
    has_lat, has_lon = present(raw_lat), present(raw_lon)
    p.add(
        ~has_lat & ~has_lon & ~present(site),
        "lat",
        code="row_location_missing",
    )
    p.add(has_lat ^ has_lon, "lat", code="row_lat_lon_incomplete")
    with np.errstate(invalid="ignore"):
        out_of_range = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    p.add(
        out_of_range,
        "lat",
        code="row_degrees_invalid",
        params={"lat": lat, "lon": lon},
    )
    return lat, lon, site_id


def _dates_and_status(table: Table, p: Problems, today: date) -> dict[str, Cells]:
    statuses = {s: s for s in STATUSES}
    status = _choices(cells_of(table, "status"), "status", statuses, p, default="installed")
    installed = dates_of(cells_of(table, "installed_on"), "installed_on", p)
    removed = dates_of(cells_of(table, "removed_on"), "removed_on", p)
    needs = np.array([s in NEEDS_INSTALL_DATE for s in status], dtype=bool)
    p.add(
        needs & ~present(installed),
        "installed_on",
        code="row_install_date_needed",
        params={"status": status},
    )
    p.add(
        (status == "removed") & ~present(removed),
        "removed_on",
        code="row_removal_date_needed",
    )
    p.add(
        status == "verified",
        "status",
        code="row_cannot_start_verified",
    )
    before = np.array(
        [
            a is not None and b is not None and b < a
            for a, b in zip(installed, removed, strict=True)
        ],
        dtype=bool,
    )
    p.add(
        before,
        "removed_on",
        code="row_removed_before_installed",
        params={"removed": removed, "installed": installed},
    )
    latest = today + timedelta(days=1)
    future = np.array([d is not None and d > latest for d in installed], dtype=bool)
    p.add(
        future,
        "installed_on",
        code="row_installed_in_future",
        params={"date": installed},
    )
    return {"status": status, "installed_on": installed, "removed_on": removed}


def _kinds(table: Table, sites: Mapping[str, SiteInfo], p: Problems) -> Cells:
    given = cells_of(table, "kind")
    site = texts_of(cells_of(table, "site_id"))
    implied = [sites[s].kind if s in sites else None for s in site]
    cells = np.empty(len(given), dtype=object)
    cells[:] = [g if g is not None else k for g, k in zip(given, implied, strict=True)]
    kind = _choices(cells, "kind", KIND_ALIASES, p)
    p.add(~present(cells), "kind", code="row_kind_missing")
    return kind


def _details(table: Table, p: Problems) -> dict[str, Any]:
    facing = numbers_of(cells_of(table, "facing_deg"), "facing_deg", p)
    with np.errstate(invalid="ignore"):
        p.add(
            (facing < 0) | (facing > 360),
            "facing_deg",
            code="row_facing_invalid",
            params={"value": facing},
        )
    texts: dict[str, Any] = {c: texts_of(cells_of(table, c)) for c in _MAX_LENGTH}
    themes = np.empty(row_count(table), dtype=object)
    themes[:] = [split_themes(v) for v in cells_of(table, "themes")]
    texts["themes"] = themes
    for column, limit in _MAX_LENGTH.items():
        values = texts[column]
        too_long = np.array([v is not None and len(v) > limit for v in values], dtype=bool)
        p.add(
            too_long,
            column,
            code="row_text_too_long",
            params={"column": column, "limit": limit},
        )
    return {
        "facing_deg": np.where(facing == 360, 0.0, facing),
        "illuminated": _booleans(cells_of(table, "illuminated"), p),
        **texts,
    }


def validate_installations(
    table: Table,
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
        missing) and a ``row`` column with the row number shown to people:
        a DataFrame, or columns by name (cheaper for a single row).
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
        ``themes`` and the text columns; every ``lat`` and ``lon`` is finite.
    """
    if isinstance(table, pd.DataFrame):
        table = table.reset_index(drop=True)
    p = Problems(np.asarray(list(table["row"])))
    lat, lon, site_id = _location(table, sites, p)
    region = regions_of_points(lat, lon)
    with np.errstate(invalid="ignore"):
        located = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    p.add_outside(located & ~present(region), lat, lon)
    columns: dict[str, Any] = {
        "row": p.rows,
        "lat": lat,
        "lon": lon,
        "region_code": region,
        "planned_site_id": site_id,
        "kind": _kinds(table, sites, p),
        **_details(table, p),
        **_dates_and_status(table, p, today or date.today()),
    }
    p.add(  # every other reason was said above; this keeps a row without a place out for sure
        ~p.bad & ~(np.isfinite(lat) & np.isfinite(lon)),
        "lat",
        code="row_location_missing",
    )
    good = take(columns, ~p.bad)
    n = len(good["row"])
    explicit = np.empty(n, dtype=object)
    explicit[:] = [city_name(c) if c else None for c in good["city"]]
    found = cities_of_points(good["lat"], good["lon"], good["region_code"])
    good["city"] = np.where(present(explicit), explicit, found)
    good["district"] = (
        districts.districts_of_points(good["lat"], good["lon"])
        if districts is not None
        else np.full(n, None, dtype=object)
    )
    problems = sorted(p.items, key=lambda x: (x.row, x.column or ""))
    return Checked(good, problems)


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


def installation_uids(rows: Mapping[str, Any]) -> list[str]:
    """Return the natural key of every row: a hash of the fields that identify it.

    The same installation given again (same kind, place to about 1 cm, date,
    content, size, facing, site and external id) gets the same key, so a
    re-imported file adds nothing. `rows` are `Columns` or a DataFrame.
    """
    cols = [
        [f"{v:.7f}" for v in np.asarray(rows[c], dtype=float)]
        if c in ("lat", "lon")
        else ["" if is_missing(v) else str(v) for v in list(rows[c])]
        for c in _UID_FIELDS
    ]
    joined = ["|".join(parts) for parts in zip(*cols, strict=True)]
    return ["h:" + hashlib.sha256(j.encode("utf-8")).hexdigest()[:40] for j in joined]
