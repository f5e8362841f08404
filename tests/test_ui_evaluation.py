"""What the Evaluation page shows, without Streamlit: tables, map values, charts, the schedule."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from registry_support import Users
from sqlalchemy.engine import Engine

from nudge.evaluation.power import design_power
from nudge.i18n import region_name, translator
from nudge.ui import evaluation as ev
from nudge.ui import evaluation_rollout as er

NBSP = "\u00a0"
pytest_plugins = ["registry_support"]


def _survey() -> ev.SurveyEstimates:
    rows = [
        {
            "region": None,
            "year": 2024,
            "index": "work",
            "kind": "agreement",
            "n": 900,
            "estimate": 0.50,
            "se": 0.02,
            "ci_low": 0.46,
            "ci_high": 0.54,
            "suppressed": False,
            "reason": "",
        },
        {
            "region": None,
            "year": 2025,
            "index": "work",
            "kind": "agreement",
            "n": 880,
            "estimate": 0.55,
            "se": 0.02,
            "ci_low": 0.51,
            "ci_high": 0.59,
            "suppressed": False,
            "reason": "",
        },
        {
            "region": "ALA",
            "year": 2025,
            "index": "work",
            "kind": "agreement",
            "n": 300,
            "estimate": 0.61,
            "se": 0.03,
            "ci_low": 0.55,
            "ci_high": 0.67,
            "suppressed": False,
            "reason": "",
        },
        {
            "region": "KST",
            "year": 2025,
            "index": "work",
            "kind": "agreement",
            "n": 12,
            "estimate": np.nan,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "suppressed": True,
            "reason": "too few",
        },
    ]
    return ev.SurveyEstimates(pd.DataFrame(rows), {"work": "Еңбек — табыс"}, ("w.csv",))


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_labelled_tables_speak_the_users_language_and_number_style(lang: str) -> None:
    tr = translator(lang)
    frame = pd.DataFrame(
        {
            "region": ["ALA", None],
            "year": [2025, 2025],
            "population": [2_258_253, 20_159_707],
            "estimate": [0.5123, np.nan],
            "suppressed": [False, True],
            "kind": ["agreement", "mean"],
        }
    )
    shown = ev.labelled(
        frame, tr, decimals={"estimate": 3}, vocabularies={"kind": ("evaluation_page.index_kinds",)}
    )
    assert list(shown.columns) == [
        tr("columns.region_name"),
        tr("evaluation_page.col_year"),
        tr("evaluation_page.col_population"),
        tr("evaluation_page.col_estimate"),
        tr("evaluation_page.col_suppressed"),
        tr("columns.kind"),
    ]
    first, second = shown.iloc[0].tolist(), shown.iloc[1].tolist()
    assert first[:4] == [region_name("ALA", lang), "2025", f"2{NBSP}258{NBSP}253", "0,512"]
    assert second[0] == tr("evaluation_page.republic") and second[3] == "—"
    assert second[4] == tr("report.yes") and second[5] == tr("evaluation_page.index_kinds.mean")


def test_map_values_leave_suppressed_and_unsurveyed_regions_unknown() -> None:
    values = ev.estimate_values(_survey(), "work", 2025, ["ALA", "KST", "AST"])
    assert values == {"ALA": pytest.approx(0.61), "KST": None, "AST": None}
    hidden = ev.suppressed_cells(_survey(), "work", 2025)
    assert hidden.to_dict(orient="records") == [{"region": "KST", "n": 12, "reason": "too few"}]


def test_city_circles_show_the_cities_with_an_estimate() -> None:
    outlines = {"ALA": shapely.box(76.8, 43.1, 77.1, 43.4), "AST": shapely.box(71, 51, 72, 52)}
    circles = ev.city_circles({"ALA": 0.61, "AST": None}, outlines, translator("ru"))
    assert circles["name"].tolist() == [region_name("ALA", "ru")]
    assert circles.iloc[0][["lat", "lon", "value"]].tolist() == pytest.approx([43.25, 76.95, 0.61])


def test_the_time_chart_draws_each_year_with_its_interval() -> None:
    series = ev.estimate_series(_survey(), "work", None)
    spec = ev.interval_chart(series, x_title="Жыл", y_title="Еңбек", lang="kk")
    assert spec["data"]["values"] == [
        {"year": "2024", "estimate": 0.50, "low": 0.46, "high": 0.54},
        {"year": "2025", "estimate": 0.55, "low": 0.51, "high": 0.59},
    ]
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    assert ev.chart_config("en") == {}
    suppressed = ev.estimate_series(_survey(), "work", "KST")
    assert ev.interval_chart(suppressed, x_title="", y_title="")["data"]["values"] == []


def test_exposure_sits_beside_the_estimate_of_the_same_region_and_year() -> None:
    exposure = pd.DataFrame(
        {
            "region": [None, "ALA", "AST"],
            "year": 2025,
            "period": "2025",
            "population": [20_000_000, 2_000_000, 1_000_000],
            "active": [10, 6, 4],
        }
    )
    beside = ev.exposure_beside(exposure, _survey(), "work")
    assert beside["estimate"].tolist()[:2] == pytest.approx([0.55, 0.61])
    assert np.isnan(beside["estimate"].iloc[2])
    assert "estimate" not in ev.exposure_beside(exposure, None, None)


def test_the_survey_sheet_names_indices_in_the_users_language() -> None:
    sheet = ev.survey_sheet(_survey())
    assert set(sheet["index"]) == {"Еңбек — табыс"}
    assert list(sheet.columns) == list(ev.SURVEY_COLUMNS)


def test_the_power_curve_is_the_hussey_hughes_power_of_the_plan() -> None:
    plan = er.rollout(steps=4, design="stepped-wedge", seed=3, stratify=[], locks={})
    result, curve = er.power_curve(plan, per_unit=150, icc=0.03, baseline=0.4)
    expected = design_power(plan.design_matrix(), per_unit=150, icc=0.03, baseline=0.4)
    assert result.mdc == pytest.approx(expected.mdc)
    assert curve["power"].iloc[0] == pytest.approx(0.05)  # no change: the test's level
    assert curve["power"].is_monotonic_increasing and curve["power"].iloc[-1] > 0.99
    spec = er.power_chart(curve, result, x_title="x", y_title="y", mdc_text="m", lang="ru")
    assert spec["layer"][1]["data"]["values"][0]["mdc"] == pytest.approx(expected.mdc)


def test_the_schedule_reads_back_by_unit_and_step() -> None:
    plan = er.rollout(
        steps=4,
        design="stepped-wedge",
        seed=5,
        stratify=["population"],
        locks={"AST": 1},
        flight="Флайт",
    )
    table = pd.read_csv(io.BytesIO(er.schedule_csv(plan)), encoding="utf-8-sig")
    assert table.set_index("unit").loc["AST", "step"] == 1
    assert set(table["flight"]) == {f"Флайт {s}" for s in range(1, 5)}
    again = er.rollout(
        steps=4,
        design="stepped-wedge",
        seed=5,
        stratify=["population"],
        locks={"AST": 1},
        flight="Флайт",
    )
    assert er.schedule_csv(again) == er.schedule_csv(plan)
    shown = er.schedule_rows(plan, translator("kk"))
    assert "unit" not in shown.columns and len(shown) == 20


def test_the_registry_figures_on_sqlite_and_postgresql(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    from test_app_evaluation import PLAN_CSV, WAVES

    from nudge.registry import import_event_plan

    plan = tmp_path / "plan.csv"
    plan.write_text(PLAN_CSV, encoding="utf-8")
    import_event_plan(engine, plan, user=users.planner)
    tr = translator("kk")
    table = ev.indicator_one(engine)
    almaty = table[table["region"] == "ALA"].iloc[0]
    assert (almaty["planned"], almaty["held"], almaty["cancelled"]) == (3, 1, 1)
    items = ev.event_records(engine, list(almaty["planned_ids"]), tr)
    assert len(items) == 3 and tr("event_statuses.held") in set(items[tr("columns.status")])
    exposure = ev.exposure_years(engine, 2025, 2025)
    republic = exposure[exposure["region"].isna()].iloc[0]
    assert republic["events_planned"] == 2 and republic["events_held"] == 1  # dated, not cancelled
    from nudge.evaluation import store
    from nudge.evaluation.questionnaire import questionnaire_from_file

    paths = []
    for name, data in WAVES:
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    wave = store.import_wave(engine, paths, questionnaire_from_file(), name="w", user="admin")
    assert [w.id for w in ev.stored_waves(engine)] == [wave.id]
    survey = ev.survey_from_store(engine, [wave.id], lang="ru")
    assert survey.years == [2023, 2024, 2025]
    assert survey.labels["work_success"] == "Труд — путь к успеху"
    national = survey.estimates[survey.estimates["region"].isna()]
    assert len(national) == 3 * 3  # three indices, three years
    book = ev.report_file(engine, survey, lang="ru")
    assert book[:2] == b"PK"  # an XLSX workbook
