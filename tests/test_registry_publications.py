"""Publications and events: region from location, checks, duplicates, listing, audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from registry_support import ALMATY, ASTANA, Users
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.i18n import error_text
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


def test_publication_refusals_have_codes_and_kazakh_texts(engine: Engine, users: Users) -> None:
    def refusal(**kw: object) -> RecordError:
        fields: dict = {"kind": "podcast", "title": "Әулет", "published_on": date(2025, 3, 1),
                        "region": "ALA", **kw}  # fmt: skip
        with pytest.raises(RecordError) as info:
            log_publication(engine, user=users.planner, **fields)
        return info.value

    cases = {
        "publication_kind_unknown": refusal(kind="radio"),
        "publication_place_missing": refusal(region=None),
        "publication_region_mismatch": refusal(region="AST", lat=ALMATY[0], lon=ALMATY[1]),
        "point_outside": refusal(region=None, lat=41.3, lon=69.24),
        "publication_link_invalid": refusal(link="javascript:alert(1)"),
        "publication_reach_negative": refusal(reach=-5),
        "publication_in_future": refusal(published_on=date(2099, 1, 1)),
        "publication_title_invalid": refusal(title="  "),
    }
    for code, exc in cases.items():
        assert exc.code == code
        kk, en = error_text(exc, "kk"), error_text(exc, "en")
        assert "{" not in kk and kk != en, code
    mismatch = cases["publication_region_mismatch"]
    assert mismatch.params == {"lat": ALMATY[0], "lon": ALMATY[1], "found": "ALA", "region": "AST"}
    assert error_text(mismatch, "kk").endswith(
        "«Алматы» өңірінде, көрсетілген «AST» өңірінде емес."
    )
    assert error_text(cases["publication_in_future"], "kk") == (
        "2099-01-01 күні әлі келген жоқ; жарияланымдарды жарыққа шыққаннан кейін тіркеңіз."
    )
    log_publication(engine, user=users.planner, kind="podcast", title="Әулет",
                    published_on=date(2025, 3, 1), region="ALA")  # fmt: skip
    again = refusal()
    assert error_text(again, "kk") == "Бұл жарияланым («Әулет», 2025-03-01) бұрыннан тіркелген."
