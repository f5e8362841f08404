"""Batch imports: installations from CSV/XLSX/GeoJSON, planned sites from plan GeoJSON.

Every row is checked and all problems are reported together with their row
numbers; the good rows are stored in one transaction (all or none of them);
rows already stored (same natural key) are skipped, so importing the same file
twice adds nothing, even at the same moment: the later import waits for the
earlier one (see `claim_places`) or, after a clash on a natural key, tries
again, and reports the rows as already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nudge._errors import InputFileError, RecordError, RowProblem
from nudge.geo.regions import (
    DistrictLayer,
    cities_of_points,
    city_name,
    regions_of_points,
)
from nudge.io.tables import MAX_IMPORT_BYTES, read_table
from nudge.registry._bind import Bind, owns_transaction, reading, writing
from nudge.registry._places import claim_places
from nudge.registry._store import (
    DEFAULT_DUPLICATE_RADIUS_M,
    existing_uids,
    scope_problems,
    sites_by_id,
    store_installations,
)
from nudge.registry._validate import (
    COLUMN_ALIASES,
    Columns,
    Problems,
    canonical_columns,
    cells_of,
    dates_of,
    frame_records,
    installation_uids,
    numbers_of,
    present,
    split_themes,
    take,
    texts_of,
    validate_installations,
)
from nudge.registry.audit import record_change, record_many, snapshot, utcnow
from nudge.registry.auth import Actor, UserRef, actor_in, require
from nudge.registry.evidence import sanitise_filename
from nudge.registry.models import SITE_KINDS, ImportBatch, PlannedSite, Publication
from nudge.registry.publications import check_publication_row, new_publication

R = TypeVar("R")
ThemesOf = Callable[[str], Sequence[str]]
"""Look up the themes of a content item by its id (e.g. from the content library)."""


@dataclass
class ImportResult:
    """What an import did; `as_dict` gives the CLI's JSON shape."""

    rows: int
    stored: int
    skipped_existing: int
    errors: list[RowProblem]
    flagged_duplicates: int = 0
    ids: list[int] = field(default_factory=list)
    batch_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        """Return ``{"rows", "stored", "skipped_existing", "errors", "flagged_duplicates"}``."""
        return {
            "rows": self.rows,
            "stored": self.stored,
            "skipped_existing": self.skipped_existing,
            "errors": [{"row": p.row, "message": p.message} for p in self.errors],
            "flagged_duplicates": self.flagged_duplicates,
        }


def _canonical_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    mapping = canonical_columns([c for c in table.columns if c != "row"])
    out = table[["row", *mapping]].rename(columns=mapping)
    missing = []
    if "kind" not in out and "site_id" not in out:
        missing.append("kind")
    if not {"lat", "lon"} <= set(out) and "site_id" not in out:
        missing.append("lat + lon / site_id")
    if missing:
        shown = ("kind", "lat", "lon", "site_id")
        _raise_missing(table, name, missing, aliases=COLUMN_ALIASES, shown=shown)
    return out


def _raise_missing(
    table: pd.DataFrame,
    name: str,
    missing: list[str],
    *,
    aliases: Mapping[str, Sequence[str]],
    shown: Sequence[str],
) -> NoReturn:
    """Refuse a file without the `missing` columns, listing the accepted names of `shown`."""
    found = [str(c) for c in table.columns if c != "row"]
    expected = "; ".join(f"{c}: {', '.join(aliases[c][:4])}" for c in shown)
    where = {"name": name, "missing": ", ".join(missing), "found": ", ".join(found)}
    if len(found) == 1:
        raise InputFileError(code="import_not_split", **where)
    raise InputFileError(code="import_columns_missing", expected=expected, **where)


def _display_name(source: Path | str | bytes, filename: str | None) -> str:
    if filename is not None:
        return sanitise_filename(filename) or "upload"
    if isinstance(source, bytes | bytearray):
        msg = "Give the file name (filename=...) with uploaded content, so its format is known."
        raise InputFileError(msg)
    return Path(source).name


def _fill_themes(table: pd.DataFrame, themes_of: ThemesOf | None) -> pd.DataFrame:
    if themes_of is None or "content_id" not in table:
        return table
    cache: dict[str, str | None] = {}

    def lookup(cid: str) -> str | None:
        if cid not in cache:
            try:
                cache[cid] = split_themes(list(themes_of(cid)))
            except (KeyError, LookupError, ValueError):
                cache[cid] = None
        return cache[cid]

    given = cells_of(table, "themes")
    content = texts_of(cells_of(table, "content_id"))
    filled = [
        g if g is not None else (lookup(c) if c else None)
        for g, c in zip(given, content, strict=True)
    ]
    return table.assign(themes=pd.Series(filled, index=table.index, dtype=object))


def _new_rows(session: Session, rows: Columns) -> tuple[Columns, list[str], int]:
    uids = installation_uids(rows)
    first = ~pd.Series(uids, dtype=object).duplicated().to_numpy()
    stored = existing_uids(session, uids)
    keep = first & np.array([u not in stored for u in uids], dtype=bool)
    kept_uids = [u for u, k in zip(uids, keep, strict=True) if k]
    return take(rows, keep), kept_uids, int((~keep).sum())


_WRITE_ATTEMPTS = 3


def _write_retrying(engine: Bind, name: str, write: Callable[[Session, int], R]) -> R:
    """Run ``write(session, attempt)`` in a writing transaction, again after a clash.

    A concurrent import that stored some of the same rows first makes the
    insert fail on a natural key (PostgreSQL checks it when the other commits);
    the next attempt sees those rows and skips them as already stored. In a
    caller's session there is one attempt: the caller's transaction has failed.
    """
    clash: IntegrityError | None = None
    for attempt in range(_WRITE_ATTEMPTS if owns_transaction(engine) else 1):
        try:
            with writing(engine) as session:
                return write(session, attempt)
        except IntegrityError as exc:
            clash = exc
    raise _concurrent_import(name) from clash


def import_installations(
    engine: Bind,
    source: Path | str | bytes,
    *,
    user: UserRef,
    filename: str | None = None,
    districts: DistrictLayer | None = None,
    duplicate_radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
    themes_of: ThemesOf | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportResult:
    """Import installations from a CSV, XLSX or GeoJSON file.

    Columns are matched by name in English, Russian or Kazakh (``lat`` /
    ``широта``, ``kind`` / ``тип``...; see `COLUMN_ALIASES`); a row needs
    lat/lon or a planned ``site_id``, and a kind (a planned site's kind implies
    one: banner → banner, exhibition → photo_exhibition); the other columns are
    those of `log_installation`.

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
        District layer to assign city districts.
    duplicate_radius_m
        Flag rows with an active installation of the same kind this close.
    themes_of
        Look up the themes of a row's ``content_id`` when its ``themes`` cell is empty.
    max_bytes
        Largest file accepted.

    Returns
    -------
    ImportResult
        Problems of refused rows are in ``errors``; the good rows are stored
        together (none are stored when anything fails while storing); rows
        stored before, or by an import running at the same moment, are counted
        in ``skipped_existing``.

    Raises
    ------
    InputFileError
        When the file cannot be read or lacks the required columns.
    AccessDeniedError
        When `user` may not log installations at all.
    """
    name = _display_name(source, filename)
    raw, digest = read_table(source, name=name, max_bytes=max_bytes)
    table = _canonical_table(raw, name)
    with reading(engine) as session:  # checks run outside the writing transaction
        require(actor_in(session, user), "edit_installations")
        sites = sites_by_id(session, table.get("site_id", []))
    table = _fill_themes(table, themes_of)
    checked = validate_installations(table, sites=sites, districts=districts)

    def write(session: Session, _attempt: int) -> ImportResult:
        actor = actor_in(session, user)
        outside = scope_problems(actor, checked.columns)
        good = take(checked.columns, ~np.isin(checked.columns["row"], [p.row for p in outside]))
        claim_places(session, good["lat"], good["lon"], duplicate_radius_m)
        rows, uids, skipped = _new_rows(session, good)
        batch = _batch(session, actor, name, digest, "installations")
        stored = store_installations(
            session,
            actor,
            rows,
            uids,
            source=f"import:{name}",
            batch_id=batch.id,
            radius_m=duplicate_radius_m,
        )
        errors = sorted(checked.problems + outside, key=lambda p: p.row)
        result = ImportResult(
            len(table), len(stored.ids), skipped, errors, stored.flagged, stored.ids, batch.id
        )
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, name, write)


def _concurrent_import(name: str) -> RecordError:
    """Say that a concurrent import won, in words: never the driver's text and DETAIL line."""
    return RecordError(code="import_concurrent", name=name)


def _batch(session: Session, actor: Actor, name: str, digest: str, what: str) -> ImportBatch:
    batch = ImportBatch(
        what=what,
        file_name=name[:200],
        file_sha256=digest,
        rows=0,
        stored=0,
        skipped_existing=0,
        errors=0,
        user_id=actor.id,
        imported_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    return batch


def _finish_batch(session: Session, actor: Actor, batch: ImportBatch, result: ImportResult) -> None:
    batch.rows, batch.stored = result.rows, result.stored
    batch.skipped_existing, batch.errors = result.skipped_existing, len(result.errors)
    record_change(
        session,
        actor=actor,
        action="import",
        table="import_batches",
        record_id=batch.id,
        new={**result.as_dict(), "file": batch.file_name, "errors": len(result.errors)},
    )


def _plan_table(source: Path | str | pd.DataFrame) -> tuple[pd.DataFrame, str, str]:
    if isinstance(source, pd.DataFrame):
        frame = pd.DataFrame(source.drop(columns="geometry", errors="ignore"), dtype=object)
        if "geometry" in source:
            points = source.geometry.representative_point()
            frame = frame.assign(lat=points.y.to_numpy(), lon=points.x.to_numpy())
        if "site_id" not in frame and source.index.name:
            frame = frame.reset_index().rename(columns={source.index.name: "site_id"})
        else:
            frame = frame.reset_index(drop=True)
        frame.insert(0, "row", range(1, len(frame) + 1))
        digest = str(pd.util.hash_pandas_object(frame.astype(str), index=False).sum())
        return frame, "plan", digest
    path = Path(source)
    table, digest = read_table(path)
    return table, path.stem, digest


def _check_plan(table: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem]]:
    table = table.reset_index(drop=True)
    p = Problems(np.asarray(table["row"].tolist()))
    site = texts_of(cells_of(table, "site_id"))
    p.add(~present(site), "site_id", code="plan_site_id_missing")
    kind = texts_of(cells_of(table, "kind"))
    allowed = ", ".join(SITE_KINDS)
    p.add(
        np.array([k not in SITE_KINDS for k in kind], dtype=bool),
        "kind",
        code="plan_kind_unknown",
        params={"value": kind, "allowed": allowed},
    )
    lat = numbers_of(cells_of(table, "lat"), "lat", p)
    lon = numbers_of(cells_of(table, "lon"), "lon", p)
    p.add(
        np.isnan(lat) | np.isnan(lon),
        "lat",
        code="plan_site_no_point",
    )
    region = regions_of_points(lat, lon)
    p.add_outside(~np.isnan(lat) & ~np.isnan(lon) & ~present(region), lat, lon)
    out = pd.DataFrame(
        {
            "row": p.rows,
            "site_id": site,
            "kind": kind,
            "lat": lat,
            "lon": lon,
            "region_code": region,
            "name": texts_of(cells_of(table, "name")),
            "score": numbers_of(cells_of(table, "score"), "score", p),
            "pick_order": numbers_of(cells_of(table, "pick_order"), "pick_order", p),
            "district": texts_of(cells_of(table, "district")),
        }
    )
    return out[~p.bad].reset_index(drop=True), p.items


def import_plan(
    engine: Bind,
    source: Path | str | pd.DataFrame,
    *,
    user: UserRef,
    plan_name: str | None = None,
) -> ImportResult:
    """Store the sites of a plan (GeoJSON file or GeoDataFrame) as planned sites.

    The plan has the columns of nudge's plan output (``site_id``, ``kind``,
    ``name``, ``score``, ``pick_order``, ``district``, point geometry).
    Installations refer to a planned site by its ``site_id``. Sites already
    stored under the same plan name are skipped.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (the rows are then
        stored in the caller's transaction, and a clash is not retried).
    source
        Plan GeoJSON file, or a GeoDataFrame in EPSG:4326.
    user
        A planner or admin.
    plan_name
        Name of the plan; by default the file name without extension.

    Returns
    -------
    ImportResult
    """
    table, default_name, digest = _plan_table(source)
    name = (plan_name or default_name).strip()[:120]
    sites, problems = _check_plan(table)

    def write(session: Session, _attempt: int) -> ImportResult:
        actor = actor_in(session, user)
        require(actor, "edit_plans")
        stored = set(
            session.scalars(sa.select(PlannedSite.site_id).where(PlannedSite.plan_name == name))
        )
        fresh = sites[~sites["site_id"].isin(stored) & ~sites["site_id"].duplicated()]
        batch = _batch(session, actor, name, digest, "plan")
        now = utcnow()
        meta = {"plan_name": name, "import_batch_id": batch.id, "created_at": now}
        records = [{**rec, **meta} for rec in frame_records(fresh.drop(columns="row"))]
        cities = cities_of_points(fresh["lat"], fresh["lon"], fresh["region_code"])
        for rec, city in zip(records, cities, strict=True):
            rec["city"] = city
            if rec["pick_order"] is not None:
                rec["pick_order"] = int(rec["pick_order"])
        stmt = sa.insert(PlannedSite).returning(PlannedSite.id, sort_by_parameter_order=True)
        ids = list(session.scalars(stmt, records)) if records else []
        record_many(
            session,
            actor=actor,
            action="create",
            table="planned_sites",
            items=[(i, None, r) for i, r in zip(ids, records, strict=True)],
        )
        result = ImportResult(
            len(table), len(ids), len(sites) - len(fresh), problems, 0, ids, batch.id
        )
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, name, write)


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
        session.add_all(fresh)
        session.flush()
        record_many(
            session,
            actor=actor,
            action="create",
            table="publications",
            items=[(pub.id, None, snapshot(pub)) for pub in fresh],
        )
        errors = sorted(problems, key=lambda q: q.row)
        ids = [pub.id for pub in fresh]
        result = ImportResult(len(table), len(ids), skipped, errors, 0, ids, batch.id)
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
