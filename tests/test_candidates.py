from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nudge._errors import InputFileError
from nudge.i18n import error_text, problem_text
from nudge.placement.candidates import (
    candidates_from_dataset,
    candidates_from_file,
    mark_exclusions,
    street_points,
)


def test_banner_candidates_along_streets_intersections_and_stops(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city(size=400, block=100, places=[("transit_stop", "", 150, 200, "Аялдама")])
    c = candidates_from_dataset(city, kind="banner", spacing=50)
    assert c.index.is_unique
    assert c.index.name == "candidate_id"
    by_source = c["source"].value_counts()
    assert by_source["transit"] == 1
    # the primary street (y = 200) is 400 m long: 8 points every 50 m
    street = c.loc[c["source"] == "street"]
    assert len(street) == 8
    assert set(street["highway"]) == {"primary"}
    assert street["bearing"].isin([90.0, 270.0]).all()
    # intersections where >= 3 primary edges meet: none (only one primary street)
    assert "intersection" not in by_source
    c_all = candidates_from_dataset(city, kind="banner", classes=("primary", "residential"))
    # 3 x 3 interior crossings (4 edges) and 12 T-junctions on the sides (3 edges); corners have 2
    assert (c_all["source"] == "intersection").sum() == 9 + 12


def test_street_points_spacing(at) -> None:  # type: ignore[no-untyped-def]
    streets = gpd.GeoDataFrame(
        {"highway": ["primary"], "name": ["A"]},
        geometry=[shapely.LineString([at(0, 0), at(1000, 0)])],
        crs=4326,
    )
    pts = street_points(streets, spacing=100, classes=("primary",))
    assert len(pts) == 10
    metric = pts.geometry.to_crs(pts.geometry.estimate_utm_crs())
    gaps = np.diff(np.sort(metric.x.to_numpy()))
    assert gaps == pytest.approx(100, rel=0.02)


def test_exhibition_and_career_candidates(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city(
        places=[
            ("park", "", 300, 300, "Саябақ"),
            ("mall", "", 500, 500, "Керуен"),
            ("production", "", 900, 900, "Зауыт"),
            ("education", "", 100, 100, "Мектеп"),
        ]
    )
    ex = candidates_from_dataset(city, kind="exhibition")
    assert sorted(ex["name"]) == ["Керуен", "Саябақ"]
    assert ex.index.str.startswith("exhibition/node/").all()
    career = candidates_from_dataset(city, kind="career")
    assert career["name"].tolist() == ["Зауыт"]
    with pytest.raises(ValueError, match="Unknown kind"):
        candidates_from_dataset(city, kind="poster")


def test_exclusions_are_marked_with_reason_not_dropped(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city(
        size=400,
        places=[("worship", "", 200, 230, "Мешіт"), ("transit_stop", "", 0, 0, "Far stop")],
    )
    c = candidates_from_dataset(city, kind="banner", exclusion_buffer=50)
    excluded = c.loc[c["excluded"]]
    assert len(excluded) >= 2
    assert (
        excluded["exclusion_reason"].str.contains("within 50 m of place of worship 'Мешіт'").all()
    )
    assert not c.loc[c["name"] == "Far stop", "excluded"].any()
    wider = candidates_from_dataset(city, kind="banner", exclusion_buffer=150)
    assert wider["excluded"].sum() > len(excluded)


def test_user_exclusion_zone(make_city, at) -> None:  # type: ignore[no-untyped-def]
    city = make_city(size=400)
    c = candidates_from_dataset(city, kind="banner")
    zone = gpd.GeoDataFrame(
        {"name": ["Кіреберіс"]},
        geometry=[shapely.box(*at(-10, 190), *at(110, 210))],
        crs=4326,
    )
    marked = mark_exclusions(c, None, buffer=0, user_zones=zone)
    hit = marked.loc[marked["excluded"]]
    assert len(hit) == 2  # the points at x = 25 and 75 m
    assert hit["exclusion_reason"].str.contains("user exclusion zone 'Кіреберіс'").all()


def test_user_candidates_file_row_by_row(tmp_path: Path, make_city, at) -> None:  # type: ignore[no-untyped-def]
    city = make_city(size=400, places=[("worship", "", 0, 0, "Шіркеу")])
    lon, lat = at(10, 10)
    path = tmp_path / "sites.csv"
    path.write_text(
        "id;name;lat;lon;kind\n"
        f"a;Existing billboard;{lat};{lon};\n"
        "b;Bad;forty-three;76.9;banner\n"
        f"c;Odd kind;{lat};{lon};poster\n"
        f"d;Proposed;{at(300, 300)[1]};{at(300, 300)[0]};exhibition\n",
        encoding="utf-8",
    )
    cands, problems = candidates_from_file(path, kind="banner", features=city.features)
    assert cands.index.tolist() == ["user/a", "user/d"]
    assert cands["kind"].tolist() == ["banner", "exhibition"]
    assert cands.loc["user/a", "excluded"]
    assert [(p.row, p.message) for p in problems] == [
        (3, "Missing or invalid coordinates."),
        (4, "Unknown kind 'poster'; use one of banner, exhibition, career."),
    ]


def test_user_candidates_without_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("name,address\nA,Abay 1\n", encoding="utf-8")
    with pytest.raises(
        InputFileError, match=r"needs latitude and longitude columns .* name, address"
    ):
        candidates_from_file(path, kind="banner")


def test_helsinki_candidates(helsinki_dataset) -> None:  # type: ignore[no-untyped-def]
    city = helsinki_dataset
    banner = candidates_from_dataset(city, kind="banner")
    assert banner.index.is_unique
    assert {"street", "transit", "intersection"} <= set(banner["source"])
    assert 0 < banner["excluded"].sum() < len(banner) / 4
    ex = candidates_from_dataset(city, kind="exhibition")
    assert (ex["area_m2"] > 1000).sum() > 10


def test_stops_face_the_nearest_road(make_city) -> None:  # type: ignore[no-untyped-def]
    # a stop 10 m north of the primary street (y = 200) of a 400 m grid
    city = make_city(size=400, places=[("transit_stop", "", 150, 210, "Аялдама")])
    c = candidates_from_dataset(city, kind="banner")
    stop = c.loc[c["source"] == "transit"].iloc[0]
    assert stop["highway"] == "primary"
    assert stop["bearing"] in (pytest.approx(90, abs=1), pytest.approx(270, abs=1))


def test_user_candidate_row_problems_in_the_users_language(tmp_path: Path, at) -> None:  # type: ignore[no-untyped-def]
    lon, lat = at(10, 10)
    path = tmp_path / "sites.csv"
    path.write_text(
        "id;lat;lon;kind\n"
        f"a;{lat};{lon};\n"
        "b;;76.9;banner\n"
        f"c;{lat};{lon};poster\n"
        f"a;{lat};{lon};banner\n",
        encoding="utf-8",
    )
    _, problems = candidates_from_file(path, kind="banner")
    assert [(p.row, p.code, p.params) for p in problems] == [
        (0, "candidates_duplicate_id", {"id": "user/a"}),
        (3, "placement_bad_coordinates", {}),
        (4, "candidates_unknown_kind", {"kind": "poster", "kinds": "banner, exhibition, career"}),
    ]
    assert [problem_text(p, "kk") for p in problems] == [
        "user/a идентификаторы қайталанады; бірінші жол қалдырылды.",
        "Координаттар жоқ немесе қате.",
        "«poster» түрі белгісіз; мыналардың бірін қолданыңыз: banner, exhibition, career.",
    ]


def test_missing_candidates_file_is_coded(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist") as info:
        candidates_from_file(tmp_path / "sites.gpkg", kind="banner")
    assert (info.value.code, info.value.params) == (
        "candidates_file_missing",
        {"file": "sites.gpkg"},
    )
    assert error_text(info.value, "kk") == "sites.gpkg үміткер орындар файлы жоқ; жолын тексеріңіз."
