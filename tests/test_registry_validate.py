"""Row problems of installation and plan rows carry a code and parameters for every language."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from registry_support import ALMATY

from nudge._errors import RowProblem
from nudge.geo.regions import district_layer_from_file
from nudge.i18n import load_details, placeholders, problem_text
from nudge.registry._cells import Problems
from nudge.registry._validate import SiteInfo, validate_installations
from nudge.registry._validate_one import checked_row
from nudge.registry.installations import _single_row
from nudge.registry.plan_imports import _check_plan

LAT, LON = ALMATY
OK = {"kind": "banner", "lat": LAT, "lon": LON, "installed_on": "2025-03-01"}
# One row per rule (row number, cells) and the code it must raise.
ROWS: list[tuple[dict[str, object], str]] = [
    ({**OK, "lat": "north"}, "row_not_a_number"),
    ({**OK, "installed_on": "yesterday"}, "row_not_a_date"),
    ({**OK, "kind": "blimp"}, "row_unknown_value"),
    ({**OK, "illuminated": "maybe"}, "row_not_yes_no"),
    ({"kind": "banner", "site_id": "S-404", "installed_on": "2025-03-01"}, "row_site_unknown"),
    ({"kind": "banner", "installed_on": "2025-03-01"}, "row_location_missing"),
    ({**OK, "lon": None}, "row_lat_lon_incomplete"),
    ({**OK, "lat": 100.0}, "row_degrees_invalid"),
    ({**OK, "installed_on": None}, "row_install_date_needed"),
    ({**OK, "status": "removed"}, "row_removal_date_needed"),
    ({**OK, "status": "verified"}, "row_cannot_start_verified"),
    ({**OK, "removed_on": "2025-01-01"}, "row_removed_before_installed"),
    ({**OK, "installed_on": "2099-01-01"}, "row_installed_in_future"),
    ({**OK, "kind": None}, "row_kind_missing"),
    ({**OK, "facing_deg": 400}, "row_facing_invalid"),
    ({**OK, "size": "x" * 41}, "row_text_too_long"),
    ({**OK, "lat": 55.7558, "lon": 37.6173}, "point_outside"),
    ({**OK, "lat": LON, "lon": LAT}, "point_outside_swapped"),
]


def _problems() -> list[RowProblem]:
    table = pd.DataFrame(
        [{"row": i, **cells} for i, (cells, _) in enumerate(ROWS, 2)], dtype=object
    )
    checked = validate_installations(table, sites={}, today=date(2025, 6, 1))
    assert checked.rows.empty
    return checked.problems


def _assert_translated(problem: RowProblem) -> None:
    texts = load_details()[str(problem.code)]
    assert placeholders(texts["en"]) <= set(problem.params), problem
    kk, ru, en = (problem_text(problem, lang) for lang in ("kk", "ru", "en"))
    assert "{" not in kk and "{" not in ru, problem
    assert kk != en and ru != en and kk != problem.message, problem


def test_every_row_rule_has_its_code() -> None:
    codes: dict[object, set[object]] = {p.row: set() for p in _problems()}
    for p in _problems():
        codes[p.row].add(p.code)
    for row, (_, code) in enumerate(ROWS, 2):
        assert code in codes.get(row, set()), (row, code, codes.get(row))


def test_every_row_problem_is_said_in_kazakh_and_russian() -> None:
    problems = _problems()
    assert all(p.code for p in problems)
    for problem in problems:
        _assert_translated(problem)


def test_row_problem_texts_fill_the_rows_own_values() -> None:
    by_code = {p.code: p for p in _problems()}
    number = by_code["row_not_a_number"]
    assert number.params == {"column": "lat", "value": "north"}
    assert problem_text(number, "kk") == "lat бағанындағы «north» мәні сан емес."
    assert problem_text(number, "ru") == "Значение «north» в столбце lat не является числом."
    outside = by_code["point_outside"]
    assert outside.params == {"lat": 55.7558, "lon": 37.6173}
    assert "Қазақстаннан тыс" in problem_text(outside, "kk")
    assert "outside Kazakhstan" in outside.message
    swapped = by_code["point_outside_swapped"]
    assert "ауысып кеткен" in problem_text(swapped, "kk")
    assert "look swapped" in swapped.message
    future = by_code["row_installed_in_future"]
    assert problem_text(future, "kk") == "Орнатылған күні (2099-01-01) әлі келген жоқ."


def test_site_rows_and_plan_rows_have_codes() -> None:
    sites = {"S-1": SiteInfo(1, LAT, LON, "banner")}
    table = pd.DataFrame([{"row": 2, "site_id": "S-1", "installed_on": "2025-03-01"}], dtype=object)
    assert validate_installations(table, sites=sites).problems == []
    plan = pd.DataFrame(
        [
            {"row": 2, "site_id": None, "kind": "banner", "lat": LAT, "lon": LON},
            {"row": 3, "site_id": "b", "kind": "tent", "lat": LAT, "lon": LON},
            {"row": 4, "site_id": "c", "kind": "banner", "lat": None, "lon": None},
            {"row": 5, "site_id": "d", "kind": "banner", "lat": 55.7558, "lon": 37.6173},
            {"row": 6, "site_id": "e", "kind": "banner", "lat": LAT, "lon": LON, "score": "x"},
        ],
        dtype=object,
    )
    _, problems = _check_plan(plan)
    assert [(p.row, p.code) for p in sorted(problems, key=lambda p: p.row or 0)] == [
        (2, "plan_site_id_missing"),
        (3, "plan_kind_unknown"),
        (4, "plan_site_no_point"),
        (5, "point_outside"),
        (6, "row_not_a_number"),
    ]
    for problem in problems:
        _assert_translated(problem)


def test_problems_take_fixed_or_per_row_params() -> None:
    p = Problems(np.array([7, 8, 9]))
    values = np.array(["a", "b", "c"], dtype=object)
    p.add(
        np.array([True, False, True]),
        "note",
        code="row_text_too_long",
        params={"column": "note", "limit": values},
    )
    assert [(x.row, x.params) for x in p.items] == [
        (7, {"column": "note", "limit": "a"}),
        (9, {"column": "note", "limit": "c"}),
    ]
    assert p.items[1].message == "note is longer than c characters."  # the catalogue's English
    assert p.bad.tolist() == [True, False, True]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_catalogue_row_texts_differ_from_english(lang: str) -> None:
    details = load_details()
    for code, texts in details.items():
        if code.startswith(("row_", "plan_", "point_")):
            assert texts[lang] != texts["en"], code


# The fast path of one row (`checked_row`) against the column-wise checks: the same
# typed columns for every good row, None (left to the column-wise checks) for every bad one.
SITES = {
    "S-1": SiteInfo(1, LAT, LON, "banner"),
    "S-2": SiteInfo(2, 51.1282, 71.4306, None),  # Astana, a plan kind that implies none
    "S-3": SiteInfo(3, 49.8047, 73.1094, "photo_exhibition"),  # Karaganda
}
TODAY = date(2025, 6, 1)
GOOD_ROWS: list[dict[str, object]] = [
    OK,
    {**OK, "kind": "Баннер", "status": "planned", "installed_on": None},
    {**OK, "kind": " ситилайт ", "status": "ORDERED"},
    {**OK, "kind": "LED", "lat": "43,2389", "lon": "76.889\u00a07"},
    {**OK, "lat": np.float64(LAT), "lon": np.float32(LON), "facing_deg": 360},
    {**OK, "facing_deg": "90,5", "illuminated": "да", "size": " 3x6 ", "note": "  "},
    {**OK, "facing_deg": 0, "illuminated": True, "external_id": 123},
    {**OK, "illuminated": "1.0", "themes": ["Diligence", "learning", "diligence"]},
    {**OK, "themes": "a; B|c", "content_id": " kk-0017 ", "city": "Алматы"},
    {**OK, "themes": ("x",), "city": "   ", "illuminated": np.bool_(False)},
    {**OK, "installed_on": date(2025, 3, 1), "status": "removed", "removed_on": "31.05.2025"},
    {**OK, "installed_on": datetime(2025, 3, 1, 9, 30), "removed_on": "2025-03-01T10:00"},
    {**OK, "installed_on": "01.03.25", "status": "damaged"},
    {**OK, "installed_on": "2025-06-02"},  # tomorrow is allowed (time zones)
    {"site_id": "S-1", "installed_on": "2025-03-01"},
    {"site_id": " S-3 ", "lat": float("nan"), "lon": None, "installed_on": "2025-03-01"},
    {"site_id": "S-2", "kind": "billboard", "installed_on": "2025-03-01"},
    {"site_id": "S-1", "kind": "billboard", "lat": 43.25, "lon": 76.95, "status": "planned"},
    {**OK, "lat": 51.1282, "lon": 71.4306},  # Astana, a city of its own
    {**OK, "lat": 42.3417, "lon": 69.5901},  # Shymkent
    {**OK, "lat": 49.8047, "lon": 73.1094},  # Karaganda, a city inside a region
    {**OK, "lat": 48.0, "lon": 67.0},  # the steppe, in no city
    {**OK, "note": "x" * 4000, "size": "y" * 40},
]
BAD_ROWS: list[dict[str, object]] = [cells for cells, _ in ROWS] + [
    {**OK, "lat": "nan"},
    {**OK, "lon": float("inf")},
    {**OK, "lat": True},
    {**OK, "facing_deg": "inf"},
    {**OK, "facing_deg": -1},
    {**OK, "facing_deg": "north-east"},
    {**OK, "site_id": "S-404"},
    {**OK, "lon": float("nan")},
    {"lat": LAT, "site_id": "S-1", "installed_on": "2025-03-01"},
    {**OK, "status": "VERIFIED"},
    {**OK, "status": "lost"},
    {**OK, "themes": "t" * 401},
    {**OK, "note": "n" * 4001},
    {**OK, "removed_on": "soon"},
    {**OK, "installed_on": "2025-06-03"},
    {"site_id": "S-2", "installed_on": "2025-03-01"},  # no kind given, none implied
    {**OK, "lat": -43.2389},
    {**OK, "lat": 0.0, "lon": 0.0},
]


def _same_columns(fast: dict[str, np.ndarray], slow: dict[str, np.ndarray]) -> None:
    assert list(fast) == list(slow)
    for name, values in slow.items():
        mine = fast[name]
        assert mine.dtype == values.dtype and mine.shape == values.shape, name
        for a, b in zip(mine.tolist(), values.tolist(), strict=True):
            assert type(a) is type(b), (name, a, b)
            assert a == b or (a != a and b != b), (name, a, b)  # NaN equals NaN here


@pytest.mark.parametrize("cells", GOOD_ROWS, ids=range(len(GOOD_ROWS)))
@pytest.mark.parametrize("with_districts", [False, True])
def test_one_good_row_checked_value_by_value_equals_the_column_checks(
    cells: dict[str, object], with_districts: bool, shared_data: Path
) -> None:
    districts = (
        district_layer_from_file(shared_data / "osm/almaty/almaty_districts_osm_2019.geojson")
        if with_districts
        else None
    )
    slow = validate_installations(_single_row(cells), sites=SITES, districts=districts, today=TODAY)
    assert slow.problems == []
    fast = checked_row(cells, sites=SITES, districts=districts, today=TODAY)
    assert fast is not None
    _same_columns(fast, slow.columns)


@pytest.mark.parametrize("cells", BAD_ROWS, ids=range(len(BAD_ROWS)))
def test_one_bad_row_is_left_to_the_column_checks(cells: dict[str, object]) -> None:
    slow = validate_installations(_single_row(cells), sites=SITES, today=TODAY)
    assert slow.problems, cells
    assert checked_row(cells, sites=SITES, today=TODAY) is None


def test_a_district_is_found_on_the_fast_path(shared_data: Path) -> None:
    layer = district_layer_from_file(shared_data / "osm/almaty/almaty_districts_osm_2019.geojson")
    fast = checked_row(OK, sites={}, districts=layer, today=TODAY)
    assert fast is not None and fast["district"][0] and fast["city"][0] == "Almaty"
    assert fast["region_code"][0] == "ALA" and fast["kind"][0] == "banner"
