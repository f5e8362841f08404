"""Publications and events: TV programmes, podcasts, challenge posts, articles, open days...

Each has a date, a title, a region (from its location when one is given, or
named), optionally a link and the reported reach. A publication counts as
verified when a link to it is recorded (the evidence anyone can open).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from nudge._errors import RecordError
from nudge.geo.regions import (
    DistrictLayer,
    cities_of_points,
    city_name,
    region_code,
    region_of_point,
)
from nudge.registry._bind import Bind, reading, writing
from nudge.registry._validate import column_key, split_themes
from nudge.registry.audit import record_change, snapshot, utcnow
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.models import PUBLICATION_KINDS, Publication

PUBLICATION_ALIASES: dict[str, str] = {
    **{k: k for k in PUBLICATION_KINDS},
    "tv": "tv_programme",
    "tv_program": "tv_programme",
    "телепередача": "tv_programme",
    "подкаст": "podcast",
    "challenge": "challenge_post",
    "post": "challenge_post",
    "челлендж": "challenge_post",
    "news": "news_article",
    "article": "news_article",
    "статья": "news_article",
    "open_house": "open_day",
    "день_открытых_дверей": "open_day",
    "contest": "contest_event",
    "конкурс": "contest_event",
}
_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PublicationRecord:
    """A publication or event as stored."""

    id: int
    kind: str
    title: str
    published_on: date
    region_code: str
    city: str | None
    district: str | None
    lat: float | None
    lon: float | None
    link: str | None
    reach: int | None
    content_id: str | None
    themes: tuple[str, ...]
    note: str | None
    created_at: datetime

    @property
    def verified(self) -> bool:
        """Return whether a link to the publication is recorded."""
        return bool(self.link)


def _record(p: Publication) -> PublicationRecord:
    return PublicationRecord(
        p.id,
        p.kind,
        p.title,
        p.published_on,
        p.region_code,
        p.city,
        p.district,
        p.lat,
        p.lon,
        p.link,
        p.reach,
        p.content_id,
        tuple(p.themes.split(",")) if p.themes else (),
        p.note,
        p.created_at,
    )


def _kind(kind: str) -> str:
    found = PUBLICATION_ALIASES.get(column_key(kind))
    if found is None:
        allowed = ", ".join(PUBLICATION_KINDS)
        raise RecordError(code="publication_kind_unknown", value=kind, allowed=allowed)
    return found


def _place(lat: float | None, lon: float | None, region: str | None) -> str:
    found = region_of_point(lat, lon) if lat is not None and lon is not None else None
    return _settle_region(lat, lon, region, found)


def _settle_region(
    lat: float | None, lon: float | None, region: str | None, found: str | None
) -> str:
    """Return the region code from the named `region` and the region `found` at the location."""
    if lat is None or lon is None or found is None:
        if lat is not None and lon is not None:
            region_of_point(lat, lon)  # raises: the point is outside Kazakhstan
        if region is None:
            raise RecordError(code="publication_place_missing")
        return region_code(region)
    if region is not None and region_code(region) != found:
        raise RecordError(
            code="publication_region_mismatch",
            lat=lat,
            lon=lon,
            found=found,
            region=region,
        )
    return found


def _check_fields(title: str, published_on: date, link: str | None, reach: int | None) -> None:
    if not title.strip() or len(title) > 300:
        raise RecordError(code="publication_title_invalid")
    if published_on > date.today() + timedelta(days=1):
        raise RecordError(code="publication_in_future", date=published_on)
    if link is not None and (len(link) > 500 or not _URL.match(link)):
        raise RecordError(code="publication_link_invalid", link=link)
    if reach is not None and reach < 0:
        raise RecordError(code="publication_reach_negative", reach=reach)


def _city_and_district(
    lat: float | None,
    lon: float | None,
    code: str,
    city: str | None,
    districts: DistrictLayer | None,
) -> tuple[str | None, str | None]:
    if lat is None or lon is None:
        found = cities_of_points([float("nan")], [float("nan")], [code])[0]
        return (city_name(city) if city else found), None
    found = cities_of_points([lat], [lon], [code])[0]
    district = districts.districts_of_points([lat], [lon])[0] if districts is not None else None
    return (city_name(city) if city else found), district


def new_publication(
    *,
    kind: str,
    title: str,
    published_on: date,
    region_code: str,
    city: str | None,
    district: str | None,
    lat: float | None,
    lon: float | None,
    link: str | None,
    reach: int | None,
    content_id: str | None,
    themes: Sequence[str] | str,
    note: str | None,
) -> Publication:
    """Return an unsaved publication of checked values, with its natural key as `uid`.

    The key is kind, title (any case), date, region and link: logging or
    importing the same publication again finds it.
    """
    key = "|".join(
        [kind, title.strip().casefold(), published_on.isoformat(), region_code, link or ""]
    )
    return Publication(
        uid="h:" + hashlib.sha256(key.encode()).hexdigest()[:40],
        kind=kind,
        title=title.strip(),
        published_on=published_on,
        region_code=region_code,
        city=city,
        district=district,
        lat=lat,
        lon=lon,
        link=link,
        reach=reach,
        content_id=content_id,
        themes=split_themes(themes),
        note=note,
    )


def check_publication_row(
    *,
    kind: str,
    title: str,
    published_on: date,
    link: str | None,
    reach: int | None,
    lat: float | None,
    lon: float | None,
    region: str | None,
    found: str | None,
) -> tuple[str, str | None, str]:
    """Check one imported row: kind, title, date, link, reach and place.

    `found` is the region at the row's location, found for the whole batch at
    once (None without a location or outside Kazakhstan).

    Returns
    -------
    kind, link, region code
        The canonical kind, the trimmed link (None when empty) and the region.

    Raises
    ------
    RecordError
        With the code and parameters of the first problem.
    """
    kind, link = _checked(kind, title, published_on, link, reach)
    return kind, link, _settle_region(lat, lon, region, found)


def _checked(
    kind: str, title: str, published_on: date, link: str | None, reach: int | None
) -> tuple[str, str | None]:
    """Return the canonical kind and trimmed link after checking the fields."""
    kind = _kind(kind)
    link = link.strip() if link and link.strip() else None
    _check_fields(title, published_on, link, reach)
    return kind, link


def log_publication(
    engine: Bind,
    *,
    user: UserRef,
    kind: str,
    title: str,
    published_on: date,
    region: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    city: str | None = None,
    link: str | None = None,
    reach: int | None = None,
    content_id: str | None = None,
    themes: Sequence[str] | str = (),
    note: str | None = None,
    districts: DistrictLayer | None = None,
) -> PublicationRecord:
    """Log a publication or event.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (the publication is
        then stored in the caller's transaction).
    user
        Who logs it: admin, planner, designer, or coordinator of its region.
    kind
        ``tv_programme``, ``podcast``, ``challenge_post``, ``news_article``,
        ``open_day`` or ``contest_event``.
    title, published_on
        Title and date (not in the future).
    region, lat, lon
        Where: a location (its region is found) or a region code or name.
    city
        City; by default found from the location (or the city-level region).
    link, reach
        Address of the publication (its evidence) and the reported reach.
    content_id, themes
        Content item featured and its themes.
    note
        Free text.
    districts
        District layer to assign the city district from the location.

    Returns
    -------
    PublicationRecord

    Raises
    ------
    RecordError
        For invalid values or when the same publication is already logged.
    AccessDeniedError
        When `user` may not log publications in that region.
    """
    kind, link = _checked(kind, title, published_on, link, reach)
    code = _place(lat, lon, region)
    city, district = _city_and_district(lat, lon, code, city, districts)
    pub = new_publication(
        kind=kind,
        title=title,
        published_on=published_on,
        region_code=code,
        city=city,
        district=district,
        lat=lat,
        lon=lon,
        link=link,
        reach=reach,
        content_id=content_id,
        themes=themes,
        note=note,
    )
    try:
        with writing(engine) as session:
            actor = actor_in(session, user)
            require(actor, "log_publications", code)
            if session.scalar(sa.select(Publication.id).where(Publication.uid == pub.uid)):
                raise RecordError(code="publication_exists", title=title.strip(), date=published_on)
            pub.created_by, pub.created_at = actor.id, utcnow()
            session.add(pub)
            session.flush()
            record_change(
                session,
                actor=actor,
                action="create",
                table="publications",
                record_id=pub.id,
                new=snapshot(pub),
            )
            return _record(pub)
    except IntegrityError as exc:
        raise RecordError(
            code="publication_concurrent", title=title.strip(), date=published_on
        ) from exc


def list_publications(
    engine: Bind,
    *,
    ids: Sequence[int] | None = None,
    regions: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[PublicationRecord]:
    """Return publications, oldest first, optionally filtered by id, region, kind or dates."""
    query = sa.select(Publication).order_by(Publication.published_on, Publication.id)
    if ids is not None:
        query = query.where(Publication.id.in_([int(i) for i in ids]))
    if regions is not None:
        query = query.where(Publication.region_code.in_(list(regions)))
    if kinds is not None:
        query = query.where(Publication.kind.in_(list(kinds)))
    if date_from is not None:
        query = query.where(Publication.published_on >= date_from)
    if date_to is not None:
        query = query.where(Publication.published_on <= date_to)
    with reading(engine) as session:
        return [_record(p) for p in session.scalars(query)]
