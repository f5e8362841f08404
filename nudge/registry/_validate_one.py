"""One installation checked value by value: the fast path of `validate_installations`.

Logging an installation from the app's form checks one row, and numpy's
machinery on columns of one cell costs more than the checks themselves.
`checked_row` applies the same rules, with the same value parsers, to the
values of one row and returns the same typed columns as `validate_installations`,
or None as soon as any rule fails: the caller then runs `validate_installations`,
which finds and says every problem. A refused row therefore always gets the
problems of the column-wise checks; a tested table of rows holds the two paths
to the same result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np

from nudge.geo.regions import (
    REGIONS,
    DistrictLayer,
    cities_of_points,
    city_name,
    regions_of_points,
)
from nudge.io.values import parse_bool
from nudge.registry._validate import (
    _MAX_LENGTH,
    KIND_ALIASES,
    NEEDS_INSTALL_DATE,
    Columns,
    SiteInfo,
    _date,
    _number,
    column_key,
    is_missing,
    split_themes,
)
from nudge.registry.models import STATUSES

_STATUS_LOOKUP = {s: s for s in STATUSES}


@cache
def _city_units() -> dict[str, str]:
    """Return the city of every region that is a city of its own, as `cities_of_points` does."""
    return {r.code: city_name(r.name) for r in REGIONS if r.is_city}


class _Refused(Exception):  # noqa: N818 (a signal inside this module, never raised out of it)
    """A rule failed: the row is left to `validate_installations`."""


def single_row_cells(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return the cells of one installation's fields (themes given as a list joined by commas)."""
    return {
        name: ",".join(value) if name == "themes" and isinstance(value, list | tuple) else value
        for name, value in fields.items()
    }


def _cell(cells: Mapping[str, Any], name: str) -> Any:
    value = cells.get(name)
    return None if is_missing(value) else value


def _text(value: Any) -> str | None:
    return None if value is None else (str(value).strip() or None)


def _finite(value: Any) -> float:
    """Return a present cell as a finite float, or NaN when empty (refused when not a number)."""
    if value is None:
        return math.nan
    number = _number(value)
    if number is None or not math.isfinite(number):
        raise _Refused
    return number


def _location(cells: Mapping[str, Any], sites: Mapping[str, SiteInfo]) -> tuple[float, float]:
    lat, lon = _finite(_cell(cells, "lat")), _finite(_cell(cells, "lon"))
    site = _text(_cell(cells, "site_id"))
    if site is not None and site not in sites:
        raise _Refused
    if math.isnan(lat) and math.isnan(lon) and site is not None:
        lat, lon = float(sites[site].lat), float(sites[site].lon)
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        raise _Refused  # missing, half given, or no valid degrees
    return lat, lon


def _choice(value: Any, lookup: Mapping[str, str], default: str | None = None) -> str:
    found = default if value is None else lookup.get(column_key(value))
    if found is None:
        raise _Refused
    return found


def _kind(cells: Mapping[str, Any], sites: Mapping[str, SiteInfo]) -> str:
    given = _cell(cells, "kind")
    if given is None:
        site = _text(_cell(cells, "site_id"))
        given = sites[site].kind if site is not None and site in sites else None
    return _choice(given, KIND_ALIASES)


def _details(cells: Mapping[str, Any]) -> dict[str, Any]:
    facing = _finite(_cell(cells, "facing_deg"))
    if facing < 0 or facing > 360:
        raise _Refused
    texts = {c: _text(_cell(cells, c)) for c in _MAX_LENGTH}
    texts["themes"] = split_themes(_cell(cells, "themes"))
    if any(v is not None and len(v) > _MAX_LENGTH[c] for c, v in texts.items()):
        raise _Refused
    lit = _cell(cells, "illuminated")
    illuminated = None if lit is None else parse_bool(lit)
    if lit is not None and illuminated is None:
        raise _Refused
    return {"facing_deg": 0.0 if facing == 360 else facing, "illuminated": illuminated, **texts}


def _dates_and_status(cells: Mapping[str, Any], today: date) -> dict[str, Any]:
    status = _choice(_cell(cells, "status"), _STATUS_LOOKUP, default="installed")
    days = {}
    for name in ("installed_on", "removed_on"):
        value = _cell(cells, name)
        days[name] = None if value is None else _date(value)
        if value is not None and days[name] is None:
            raise _Refused
    installed, removed = days["installed_on"], days["removed_on"]
    if (
        (status in NEEDS_INSTALL_DATE and installed is None)
        or (status == "removed" and removed is None)
        or status == "verified"
        or (installed is not None and removed is not None and removed < installed)
        or (installed is not None and installed > today + timedelta(days=1))
    ):
        raise _Refused
    return {"status": status, **days}


def _one(value: Any) -> np.ndarray:
    out = np.empty(1, dtype=object)
    out[0] = value
    return out


def checked_row(
    fields: Mapping[str, Any],
    *,
    sites: Mapping[str, SiteInfo],
    districts: DistrictLayer | None = None,
    today: date | None = None,
    row: int = 1,
) -> Columns | None:
    """Return the typed columns of one good installation, or None when any rule fails.

    The columns are those `validate_installations` returns for the same row
    (same names, order, types and values); `fields` are cells by canonical name,
    as `log_installation` takes them.
    """
    cells = single_row_cells(fields)
    try:
        lat, lon = _location(cells, sites)
        kind = _kind(cells, sites)
        details = _details(cells)
        dates = _dates_and_status(cells, today or date.today())
    except _Refused:
        return None
    region = regions_of_points([lat], [lon])
    if region[0] is None:
        return None  # outside Kazakhstan
    site = details["site_id"]
    lat_a, lon_a = np.array([lat]), np.array([lon])
    site_pk = sites[site].id if site in sites else None
    columns: Columns = {"row": np.asarray([row]), "lat": lat_a, "lon": lon_a}
    columns |= {"region_code": region, "planned_site_id": _one(site_pk), "kind": _one(kind)}
    columns["facing_deg"] = np.array([details.pop("facing_deg")])
    columns |= {name: _one(value) for name, value in (details | dates).items()}
    city = details["city"]
    unit = _city_units().get(region[0])
    if city:
        columns["city"] = _one(city_name(city))
    else:  # the city unit a point lies in, else the GeoNames city that reaches it
        columns["city"] = _one(unit) if unit else cities_of_points(lat_a, lon_a)
    columns["district"] = (
        districts.districts_of_points(lat_a, lon_a) if districts is not None else _one(None)
    )
    return columns
