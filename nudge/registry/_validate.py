"""Validation of installation rows, shared by single logging and batch imports.

Both paths turn their input into a table of cells with canonical column names,
and `validate_installations` checks every rule column by column, returning
typed rows and every problem with its row number. Columns are handled as
numpy arrays (cells parsed once each, with repeated values memoised), so that
one row costs little and 10,000 rows stay fast.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from nudge._errors import RowProblem
from nudge.geo.regions import (
    DistrictLayer,
    cities_of_points,
    city_name,
    looks_swapped,
    outside_message,
    regions_of_points,
)
from nudge.io.tables import LAT_NAMES, LON_NAMES
from nudge.io.values import parse_bool
from nudge.registry.models import INSTALLATION_KINDS, STATUSES

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


def column_key(name: object) -> str:
    """Return a header cell in the form used to match aliases."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().casefold()).strip("_")


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


def is_missing(value: object) -> bool:
    """Return whether a cell is empty (None, NaN, NA or NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of `frame` as dicts of plain Python values (None for empty cells)."""
    columns = [str(c) for c in frame.columns]
    values = [frame[c].tolist() for c in frame.columns]
    return [
        {
            c: None if is_missing(v) else (v.item() if isinstance(v, np.generic) else v)
            for c, v in zip(columns, row, strict=True)
        }
        for row in zip(*values, strict=True)
    ]


Cells = np.ndarray
"""A column as a numpy object array, with None for empty cells."""

Columns = dict[str, np.ndarray]
"""Rows as one numpy array per column, all of the same length, with a ``row`` column.

Checks return typed rows in this form and storing takes them, so that one row
(a form in the app) costs little more than its values, and a batch is handled
column by column.
"""

Table = pd.DataFrame | Mapping[str, Sequence[object] | np.ndarray]
"""Cells to check: a DataFrame, or columns by name, with a ``row`` column."""


def row_count(table: Table) -> int:
    """Return the number of rows of a table or of columns."""
    if isinstance(table, pd.DataFrame):
        return len(table)
    return len(table["row"])


def take(columns: Mapping[str, np.ndarray], keep: np.ndarray) -> Columns:
    """Return the rows of `columns` selected by the boolean or integer array `keep`."""
    return {name: values[keep] for name, values in columns.items()}


def cells_of(table: Table, name: str) -> Cells:
    """Return a column's cells (None for empty ones, and for a missing column)."""
    n = row_count(table)
    if name not in table:
        return np.full(n, None, dtype=object)
    column = table[name]
    values = column.tolist() if isinstance(column, pd.Series | np.ndarray) else list(column)
    out = np.empty(n, dtype=object)
    out[:] = [None if is_missing(v) else v for v in values]
    return out


def texts_of(cells: Cells) -> Cells:
    """Return cells as stripped text, None when empty."""
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if v is None else (str(v).strip() or None) for v in cells]
    return out


def present(cells: Cells) -> np.ndarray:
    """Return which cells hold a value."""
    return np.array([v is not None for v in cells], dtype=bool)


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


def _param(value: object, i: int) -> object:
    if isinstance(value, np.ndarray):
        value = value[i]
    return value.item() if isinstance(value, np.generic) else value


class Problems:
    """Problems of a batch, collected per rule with the row numbers people see."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.items: list[RowProblem] = []
        self.bad = np.zeros(len(rows), dtype=bool)

    def add(
        self,
        mask: np.ndarray,
        column: str,
        *,
        code: str,
        params: Mapping[str, object] | None = None,
        written: Callable[[int], str] | None = None,
    ) -> None:
        """Record the problem `code` for every row where `mask` is true.

        `code` names the message in the details catalogue and `params` fills its
        placeholders: a value that is a numpy array holds one value per row (the
        row's own is used), any other value is the same for every row.
        `written(position)` gives an English text of its own, where the
        catalogue's would say less (a point's coordinates to 6 places).
        """
        if not np.any(mask):  # the usual case: nothing to record (cheap for one row)
            return
        given = params or {}
        for i in np.flatnonzero(mask):
            text = written(int(i)) if written is not None else ""
            values = {name: _param(value, int(i)) for name, value in given.items()}
            self.items.append(RowProblem(int(self.rows[i]), text, column, code=code, params=values))
        self.bad |= mask

    def add_outside(self, mask: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        """Record the points of `mask` as outside Kazakhstan, saying when lat/lon look swapped."""
        swapped = np.zeros(len(mask), dtype=bool)
        where = np.flatnonzero(mask)
        if where.size:
            swapped[where] = looks_swapped(lat[where], lon[where])
        lat6, lon6 = np.round(lat, 6), np.round(lon, 6)
        self.add(
            mask & ~swapped,
            "lat",
            code="point_outside",
            params={"lat": lat6, "lon": lon6},
            written=lambda i: outside_message(lat[i], lon[i], swapped=False),
        )
        self.add(
            swapped,
            "lat",
            code="point_outside_swapped",
            params={"lat": lat6, "lon": lon6},
            written=lambda i: outside_message(lat[i], lon[i], swapped=True),
        )


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.number):
        return float(value)
    try:
        return float(str(value).replace(",", ".").replace(" ", "").replace("\u00a0", ""))
    except ValueError:
        return None


def numbers_of(cells: Cells, name: str, p: Problems) -> np.ndarray:
    """Return cells as floats (NaN when empty or refused), recording cells that are not numbers.

    Text such as ``nan``, ``inf`` or ``1e999`` parses as a float but is no
    number a row may hold: it is refused as not finite.
    """
    parsed = [None if v is None else _number(v) for v in cells]
    out = np.array([np.nan if v is None else v for v in parsed], dtype=float)
    failed = np.array(
        [c is not None and v is None for c, v in zip(cells, parsed, strict=True)], dtype=bool
    )
    p.add(
        failed,
        name,
        code="row_not_a_number",
        params={"column": name, "value": cells},
    )
    infinite = present(cells) & ~failed & ~np.isfinite(out)
    p.add(
        infinite,
        name,
        code="row_not_finite",
        params={"column": name, "value": cells},
    )
    out[infinite] = np.nan
    return out


@lru_cache(maxsize=4096)
def _date_from_text(text: str) -> date | None:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    for fmt in ("%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _date_from_text(str(value).strip())


def dates_of(cells: Cells, name: str, p: Problems) -> Cells:
    """Return cells as dates (None when empty), recording cells that are not dates."""
    out = np.empty(len(cells), dtype=object)
    out[:] = [None if v is None else _date(v) for v in cells]
    failed = present(cells) & ~present(out)
    p.add(
        failed,
        name,
        code="row_not_a_date",
        params={"column": name, "value": cells},
    )
    return out


def _choices(
    cells: Cells, name: str, lookup: Mapping[str, str], p: Problems, default: str | None = None
) -> Cells:
    out = np.empty(len(cells), dtype=object)
    out[:] = [default if v is None else lookup.get(column_key(v)) for v in cells]
    allowed = ", ".join(sorted(set(lookup.values())))
    p.add(
        present(cells) & ~present(out),
        name,
        code="row_unknown_value",
        params={"column": name, "value": cells, "allowed": allowed},
    )
    return out


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
