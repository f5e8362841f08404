"""Import of publications and events (TV, podcasts, articles...) from CSV/XLSX/GeoJSON files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from nudge._errors import RecordError, RowProblem
from nudge.geo.regions import (
    DistrictLayer,
    cities_of_points,
    city_name,
    regions_of_points,
)
from nudge.io.tables import MAX_IMPORT_BYTES, read_table
from nudge.registry._batches import (
    ImportResult,
    _batch,
    _display_name,
    _finish_batch,
    _raise_missing,
    _write_retrying,
    uncovered_rows,
)
from nudge.registry._bind import Bind, reading
from nudge.registry._cells import Problems, cells_of, dates_of, numbers_of, present, texts_of
from nudge.registry._store import existing_uids
from nudge.registry._validate import COLUMN_ALIASES, canonical_columns
from nudge.registry.audit import add_created, utcnow
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.models import Publication
from nudge.registry.publications import check_publication_row, new_publication

PUBLICATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("kind", "type", "тип", "вид", "түрі"),
    "title": ("title", "name", "название", "заголовок", "атауы", "тақырыбы"),
    "published_on": ("published_on", "date", "published", "дата", "күні", "дата_публикации"),
    "region": ("region", "region_code", "область", "регион", "облыс"),
    "lat": COLUMN_ALIASES["lat"],
    "lon": COLUMN_ALIASES["lon"],
    "city": COLUMN_ALIASES["city"],
    "link": ("link", "url", "address", "ссылка", "сілтеме"),
    "reach": ("reach", "views", "audience", "охват", "просмотры", "қамту"),
    "content_id": COLUMN_ALIASES["content_id"],
    "themes": COLUMN_ALIASES["themes"],
    "note": COLUMN_ALIASES["note"],
}
"""Accepted column names of a publications file, in English, Russian and Kazakh."""


def _publication_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    mapping = canonical_columns([c for c in table.columns if c != "row"], PUBLICATION_COLUMNS)
    out = table[["row", *mapping]].rename(columns=mapping)
    missing = [c for c in ("kind", "title", "published_on") if c not in out]
    if not {"lat", "lon"} <= set(out) and "region" not in out:
        missing.append("region (or lat and lon)")
    if missing:
        shown = ("kind", "title", "published_on", "region", "lat", "lon")
        _raise_missing(table, name, missing, aliases=PUBLICATION_COLUMNS, shown=shown)
    return out


def _check_publications(
    table: pd.DataFrame, districts: DistrictLayer | None
) -> tuple[list[Publication], np.ndarray, list[RowProblem]]:
    """Return the publications of the good rows, their row numbers, and every row's problems."""
    table = table.reset_index(drop=True)
    p = Problems(np.asarray(table["row"].tolist()))
    cell = {c: texts_of(cells_of(table, c)) for c in PUBLICATION_COLUMNS if c not in _TYPED}
    published = dates_of(cells_of(table, "published_on"), "published_on", p)
    lat, lon, reach = (numbers_of(cells_of(table, c), c, p) for c in ("lat", "lon", "reach"))
    for column, values in (("kind", cell["kind"]), ("published_on", published)):
        p.add(~present(values), column, code="row_value_missing", params={"column": column})
    located = ~np.isnan(lat) & ~np.isnan(lon)
    found = np.full(len(table), None, dtype=object)
    found[located] = regions_of_points(lat[located], lon[located])  # all rows at once
    checked: list[tuple[int, str, str | None, str]] = []
    for i in np.flatnonzero(~p.bad):  # each row gets the checks of log_publication
        try:
            kind, link, code = check_publication_row(
                kind=str(cell["kind"][i]),
                title=str(cell["title"][i] or ""),
                published_on=published[i],
                link=cell["link"][i],
                reach=None if np.isnan(reach[i]) else int(reach[i]),
                lat=float(lat[i]) if located[i] else None,
                lon=float(lon[i]) if located[i] else None,
                region=cell["region"][i],
                found=found[i],
            )
        except RecordError as exc:
            p.items.append(
                RowProblem(
                    int(p.rows[i]),
                    str(exc),
                    _COLUMN_OF_CODE.get(exc.code or "", "kind"),
                    code=exc.code,
                    params=dict(exc.params),
                )
            )
            continue
        checked.append((int(i), kind, link, code))
    good = np.asarray([c[0] for c in checked], dtype=np.int64)
    codes = np.asarray([c[3] for c in checked], dtype=object)
    cities = cities_of_points(
        np.where(located, lat, np.nan)[good], np.where(located, lon, np.nan)[good], codes
    )
    district = np.full(len(good), None, dtype=object)
    if districts is not None and located[good].any():
        where = located[good]
        district[where] = districts.districts_of_points(lat[good][where], lon[good][where])
    pubs = [
        new_publication(
            kind=kind,
            title=str(cell["title"][i]),
            published_on=published[i],
            region_code=code,
            city=city_name(cell["city"][i]) if cell["city"][i] else cities[n],
            district=district[n],
            lat=float(lat[i]) if located[i] else None,
            lon=float(lon[i]) if located[i] else None,
            link=link,
            reach=None if np.isnan(reach[i]) else int(reach[i]),
            content_id=cell["content_id"][i],
            themes=cell["themes"][i] or "",
            note=cell["note"][i],
        )
        for n, (i, kind, link, code) in enumerate(checked)
    ]
    return pubs, p.rows[good], sorted(p.items, key=lambda q: q.row)


_TYPED = frozenset({"published_on", "lat", "lon", "reach"})
_COLUMN_OF_CODE = {
    "publication_title_invalid": "title",
    "publication_in_future": "published_on",
    "publication_link_invalid": "link",
    "publication_reach_negative": "reach",
    "publication_place_missing": "region",
    "publication_region_mismatch": "region",
    "region_unknown": "region",
    "point_outside": "lat",
    "point_outside_swapped": "lat",
}


def import_publications(
    engine: Bind,
    source: Path | str | bytes,
    *,
    user: UserRef,
    filename: str | None = None,
    districts: DistrictLayer | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportResult:
    """Import publications and events from a CSV, XLSX or GeoJSON file.

    Columns are matched by name in English, Russian or Kazakh (see
    `PUBLICATION_COLUMNS`): ``kind``, ``title``, ``published_on`` and a place
    (``lat``/``lon`` or ``region``) are needed; ``city``, ``link``, ``reach``,
    ``content_id``, ``themes`` and ``note`` are optional. Each row gets the
    checks of `log_publication`; problems are reported with row numbers, the
    good rows are stored in one transaction, and publications already stored
    (same kind, title, date, region and link) are skipped, so importing the
    same file twice adds nothing.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (the rows are then
        stored in the caller's transaction, and a clash is not retried).
    source
        The file, or its content (an upload).
    user
        Who imports; coordinators' rows outside their regions are refused.
    filename
        Name of the file (its extension tells the format); needed with content.
    districts
        District layer to assign city districts from locations.
    max_bytes
        Largest file accepted.

    Returns
    -------
    ImportResult

    Raises
    ------
    InputFileError
        When the file cannot be read or lacks the required columns.
    AccessDeniedError
        When `user` may not log publications at all.
    """
    name = _display_name(source, filename)
    raw, digest = read_table(source, name=name, max_bytes=max_bytes)
    table = _publication_table(raw, name)
    with reading(engine) as session:
        require(actor_in(session, user), "log_publications")
    checked = _check_publications(table, districts)
    located = [pub.district for pub in checked[0] if pub.lat is not None]
    warnings = uncovered_rows(districts, located)

    def write(session: Session, attempt: int) -> ImportResult:
        # a new attempt gets new publication objects: the failed ones belonged to the old session
        pubs, rows, problems = checked if attempt == 0 else _check_publications(table, districts)
        actor = actor_in(session, user)
        if actor.role == "coordinator":
            mine = set(actor.region_codes)
            problems = problems + [
                _outside_your_regions(int(r), pub.region_code, mine)
                for pub, r in zip(pubs, rows, strict=True)
                if pub.region_code not in mine
            ]
            pubs = [pub for pub in pubs if pub.region_code in mine]
        fresh, skipped = _new_publications(session, pubs)
        batch = _batch(session, actor, name, digest, "publications")
        now = utcnow()
        for pub in fresh:
            pub.created_by, pub.created_at = actor.id, now
        add_created(session, fresh, actor=actor, table="publications")
        errors = sorted(problems, key=lambda q: q.row)
        ids = [pub.id for pub in fresh]
        result = ImportResult(len(table), len(ids), skipped, errors, 0, ids, batch.id, warnings)
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, name, write)


def _outside_your_regions(row: int, code: str, mine: set[str]) -> RowProblem:
    regions = ", ".join(sorted(mine))
    return RowProblem(
        row,
        column="region",
        code="row_publication_outside_your_regions",
        params={"region": code, "regions": regions},
    )


def _new_publications(session: Session, pubs: list[Publication]) -> tuple[list[Publication], int]:
    """Return the publications not stored yet (nor earlier in the same file), and how many not."""
    seen = existing_uids(session, [pub.uid for pub in pubs], column=Publication.uid)
    fresh = []
    for pub in pubs:
        if pub.uid not in seen:
            fresh.append(pub)
            seen.add(pub.uid)
    return fresh, len(pubs) - len(fresh)
