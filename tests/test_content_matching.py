"""Suitability of entries for sites, from surroundings, with reasons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from nudge._errors import InputFileError, ProfileError
from nudge.content import campaign_from_file, match_content
from nudge.content.library import ContentLibrary
from nudge.content.matching import plan_from_frame, rules_from_file, rules_from_mapping
from nudge.content.schema import item_from_raw
from nudge.i18n import error_text, notice_text

LON, LAT = 76.95, 43.25
M = 1 / 111_000  # about a metre in degrees of latitude


def library_of(**collections: list[dict]) -> ContentLibrary:
    library = ContentLibrary()
    for name, rows in collections.items():
        library.entries(name).extend(item_from_raw(name, r)[0] for r in rows)
    return library


def proverb(ident: str, text: str, themes: str, **extra: object) -> dict[str, object]:
    return {
        "id": ident,
        "kind": "proverb",
        "text_kk": text,
        "themes": themes,
        "source": "T",
        **extra,
    }


def site_plan(offsets_m: list[tuple[float, float]], kinds: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": [f"s{i}" for i in range(len(kinds))],
            "kind": kinds,
            "score": np.linspace(10, 20, len(kinds)),
        },
        geometry=[Point(LON + dx * M * 1.37, LAT + dy * M) for dx, dy in offsets_m],
        crs="EPSG:4326",
    )


def features_at(rows: list[tuple[str, str, float, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "osm_id": [f"node/{i}" for i in range(len(rows))],
            "category": [r[0] for r in rows],
            "subcategory": [r[1] for r in rows],
        },
        geometry=[Point(LON + r[2] * M * 1.37, LAT + r[3] * M) for r in rows],
        crs="EPSG:4326",
    )


@pytest.fixture
def library() -> ContentLibrary:
    return library_of(
        proverbs=[
            proverb("learn", "Оқу – білім бұлағы.", "learning"),
            proverb("craft", "Шебер қол шет қалмайды.", "mastery"),
            proverb("long", "Еңбек " * 12, "diligence"),
            proverb("old", "Ер дәулеті – еңбек.", "diligence", status="retired"),
        ],
        dynasties=[
            {
                "id": "rail",
                "family_name": "Example railway family",
                "field": "Railway",
                "region": "Almaty",
                "city": "Алматы",
                "generations": 3,
                "story_kk": "Әулет.",
                "consent": True,
                "is_example": True,
            },
            {
                "id": "secret",
                "family_name": "Example hidden family",
                "field": "railway",
                "region": "Almaty",
                "generations": 3,
                "story_kk": "Әулет.",
                "consent": False,
                "is_example": True,
            },
        ],
    )


def test_school_nearby_favours_learning_and_reason_is_shown(library) -> None:
    plan = site_plan([(0, 0), (5000, 0)], ["banner", "banner"])
    features = features_at([("education", "school", 100, 0), ("education", "college", -150, 50)])
    result = match_content(plan, library, campaign=campaign_from_file(), features=features)
    assert result.counts.loc["s0", "education"] == 2
    assert result.counts.loc["s1", "education"] == 0
    assert result.scores.loc["s0", "learn"] > result.scores.loc["s0", "craft"]
    assert result.scores.loc["s1", "learn"] == pytest.approx(result.scores.loc["s1", "craft"])
    reasons = result.explain("s0", "learn")
    assert any("2 schools, colleges or universities within 400 m" in r for r in reasons)
    assert result.best_items("s0", n=1)["item_id"].tolist() == ["learn"]
    # The same reasons in the designer's language, from the rules file.
    kk = result.explain("s0", "learn", "kk")
    assert any("400 м радиуста 2 мектеп, колледж не жоғары оқу орны бар" in r for r in kk)
    ru = result.best_items("s0", n=1, lang="ru")["reasons"].iloc[0]
    assert "2 школ, колледжей или вузов в радиусе 400 м" in ru
    assert notice_text(result.explain("s1", "craft", "kk")[0], "kk").startswith("пішімге сай")


def test_eligibility_excludes_retired_no_consent_long_text_and_wrong_format(library) -> None:
    plan = site_plan([(0, 0), (100, 0), (200, 0)], ["banner", "citylight", "exhibition"])
    result = match_content(plan, library, campaign=campaign_from_file(), include_examples=True)
    eligible = result.eligible
    assert not eligible["old"].any()
    assert not eligible["secret"].any()
    assert eligible.loc["s0"].tolist() == [True, True, False, False, False, False]
    assert bool(eligible.loc["s1", "long"])  # 12 words fit a city-light
    assert eligible.loc["s2"].tolist() == [False, False, False, False, True, False]
    assert "no consent" in result.explain("s2", "secret")[0]
    assert "status is retired" in result.explain("s0", "old")[0]
    assert "12 words" in result.explain("s0", "long")[0]
    # Why an entry is never shown, in Russian and Kazakh (nested reasons translated too).
    assert notice_text(result.explain("s2", "secret")[0], "ru") == (
        "не размещается: нет согласия на публикацию"
    )
    assert notice_text(result.explain("s0", "old")[0], "kk") == (
        "орналастырылмайды: жазба белсенді емес (күйі: retired)"
    )
    long_kk = notice_text(result.explain("s0", "long")[0], "kk")
    assert long_kk.startswith("banner_6x3 пішіміне келмейді: text_kk өрісінде 12 сөз")
    assert result.site_format.tolist() == ["banner_6x3", "citylight", "exhibition_caption"]


def test_examples_are_kept_out_unless_asked(library) -> None:
    plan = site_plan([(0, 0)], ["exhibition"])
    result = match_content(plan, library, campaign=campaign_from_file())
    assert not result.eligible.loc["s0", "rail"]
    assert "fictional example" in result.explain("s0", "rail")[0]


def test_railway_dynasty_near_station_in_home_city(library) -> None:
    plan = site_plan([(0, 0), (8000, 0)], ["exhibition", "exhibition"])
    features = features_at([("transit_station", "railway_station", 120, 0)])
    result = match_content(
        plan,
        library,
        campaign=campaign_from_file(),
        features=features,
        city="Almaty",
        include_examples=True,
    )
    near, far = result.scores.loc["s0", "rail"], result.scores.loc["s1", "rail"]
    assert near > far > 0
    reasons = result.explain("s0", "rail")
    assert any("railway dynasty" in r for r in reasons)
    assert any("comes from this city" in r for r in reasons)
    assert result.home.loc["s1", "rail"] == pytest.approx(2.0)


def test_transit_favours_short_texts(library) -> None:
    plan = site_plan([(0, 0)], ["citylight"])
    features = features_at([("transit_stop", "bus_stop", 30, 0)] * 3)
    result = match_content(plan, library, campaign=campaign_from_file(), features=features)
    assert result.scores.loc["s0", "craft"] > result.scores.loc["s0", "long"]


def test_rules_file_and_errors(tmp_path) -> None:
    rules = rules_from_file()
    assert rules.radius_m == 400
    assert {r.key for r in rules.rules} >= {"education", "railway-field", "transit-short"}
    assert rules.place_key("Алматы") == rules.place_key("Almaty") == "almaty"
    with pytest.raises(ProfileError, match=r"rules are invalid \(x\)"):
        rules_from_mapping({"rule": [{"key": "x", "categories": ["market"], "colour": 1}]})
    with pytest.raises(InputFileError, match="Cannot read the matching rules"):
        rules_from_file(tmp_path / "none.toml")


def test_plan_checks() -> None:
    plan = site_plan([(0, 0), (1, 1)], ["banner", "banner"])
    plan.loc[1, "site_id"] = "s0"
    with pytest.raises(InputFileError, match="duplicated site ids"):
        plan_from_frame(plan)


def test_matching_errors_carry_their_code() -> None:
    with pytest.raises(ProfileError) as info:
        rules_from_mapping({"rule": [{"key": "x", "categories": ["market"], "colour": 1}]})
    assert (info.value.code, info.value.params) == ("content_rules_invalid", {"rules": "x"})
    assert error_text(info.value, "kk").startswith("Сәйкестендіру ережелері дұрыс емес (x)")
    plan = site_plan([(0, 0), (1, 1)], ["banner", "banner"])
    plan.loc[1, "site_id"] = "s0"
    with pytest.raises(InputFileError) as dup:
        plan_from_frame(plan)
    assert error_text(dup.value, "ru") == "В плане повторяются идентификаторы мест, например s0."
