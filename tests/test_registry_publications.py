"""Publications and events: region from location, checks, duplicates, listing, audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from registry_support import ALMATY, ASTANA, Users
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.registry import audit_entries, list_publications, log_publication

pytest_plugins = ["registry_support"]


def test_region_and_city_come_from_the_location(engine: Engine, users: Users) -> None:
    pub = log_publication(
        engine, user=users.astana, kind="open day", title="Open day at the KTZ depot",
        published_on=date(2025, 4, 2), lat=ASTANA[0], lon=ASTANA[1], reach=120,
        themes=["career", "Mastery"],
    )  # fmt: skip
    assert (pub.kind, pub.region_code, pub.city) == ("open_day", "AST", "Astana")
    assert pub.themes == ("career", "mastery")
    assert not pub.verified
    entry = audit_entries(engine, table="publications", record_id=pub.id)[0]
    assert entry.new is not None
    assert entry.new["title"] == "Open day at the KTZ depot"


def test_national_programmes_name_their_region(engine: Engine, users: Users) -> None:
    pub = log_publication(engine, user=users.designer, kind="tv_programme",
                          title="Еңбек әулеті: темір жолшылар", published_on=date(2025, 3, 1),
                          region="Астана", link="https://kaztrk.kz/x")  # fmt: skip
    assert (pub.region_code, pub.city, pub.verified) == ("AST", "Astana", True)


def test_invalid_publications_are_refused(engine: Engine, users: Users) -> None:
    def log(**kw: object) -> None:
        fields: dict = {"kind": "podcast", "title": "Әулет", "published_on": date(2025, 3, 1),
                        "region": "ALA", **kw}  # fmt: skip
        log_publication(engine, user=users.planner, **fields)

    with pytest.raises(RecordError, match="Unknown publication kind 'radio'"):
        log(kind="radio")
    with pytest.raises(RecordError, match="Give the publication's location"):
        log(region=None)
    with pytest.raises(RecordError, match=r"is in Almaty, not in the region 'AST'"):
        log(region="AST", lat=ALMATY[0], lon=ALMATY[1])
    with pytest.raises(RecordError, match="outside Kazakhstan"):
        log(region=None, lat=41.3, lon=69.24)  # Tashkent
    with pytest.raises(RecordError, match="not an http"):
        log(link="javascript:alert(1)")
    with pytest.raises(RecordError, match="negative"):
        log(reach=-5)
    with pytest.raises(RecordError, match="in the future"):
        log(published_on=date.today() + timedelta(days=10))
    with pytest.raises(RecordError, match="title of 1–300"):
        log(title="  ")
    log()
    with pytest.raises(RecordError, match="already logged"):
        log()


def test_list_filters(engine: Engine, users: Users) -> None:
    for day, region, kind in [(1, "ALA", "podcast"), (15, "AST", "news"), (28, "ALA", "post")]:
        log_publication(engine, user=users.planner, kind=kind, title=f"t{day}",
                        published_on=date(2025, 3, day), region=region)  # fmt: skip
    assert [p.title for p in list_publications(engine, regions=["ALA"])] == ["t1", "t28"]
    assert [p.kind for p in list_publications(engine, kinds=["news_article"])] == ["news_article"]
    window = list_publications(engine, date_from=date(2025, 3, 10), date_to=date(2025, 3, 20))
    assert [p.title for p in window] == ["t15"]
