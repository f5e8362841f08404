"""Row problems of installation and plan rows carry a code and parameters for every language."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from registry_support import ALMATY

from nudge._errors import RowProblem
from nudge.i18n import load_details, placeholders, problem_text
from nudge.registry._validate import Problems, SiteInfo, validate_installations
from nudge.registry.imports import _check_plan

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
    codes = {p.row: set() for p in _problems()}
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
    assert [(p.row, p.code) for p in sorted(problems, key=lambda p: p.row)] == [
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
        "bad",
        code="row_text_too_long",
        params={"column": "note", "limit": values},
    )
    assert [(x.row, x.params) for x in p.items] == [
        (7, {"column": "note", "limit": "a"}),
        (9, {"column": "note", "limit": "c"}),
    ]
    assert p.bad.tolist() == [True, False, True]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_catalogue_row_texts_differ_from_english(lang: str) -> None:
    details = load_details()
    for code, texts in details.items():
        if code.startswith(("row_", "plan_", "point_")):
            assert texts[lang] != texts["en"], code
