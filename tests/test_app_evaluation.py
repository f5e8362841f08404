"""The Evaluation page through AppTest: indicator 1, the survey, exposure, rollout, analysis."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest
from test_app_pages import _codes, _english_left

from nudge.evaluation.power import design_power
from nudge.evaluation.rollout import plan_rollout, units_from_regions
from nudge.evaluation.rollout_store import list_rollouts, load_rollout, save_rollout
from nudge.i18n import LANGUAGES, format_number, region_name, translator
from nudge.registry import (
    UserInfo,
    add_user,
    engine_from_url,
    import_event_plan,
    list_users,
    upgrade_database,
)
from nudge.registry.events import list_event_items
from nudge.ui import evaluation as ev
from nudge.ui import evaluation_rollout as er

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "app_pages/evaluation.py"
PASSWORD = "correct-horse-1"
PLAN_CSV = """План;№;Регион;Год;Вид;Название;Срок;Статус
ALA-2025;1;Алматы;2025;телепередача;Еңбек адамы;31.03.2025;запланировано
ALA-2025;2;Алматы;2025;Мен профимін;Байқаудың қалалық кезеңі;15.04.2025;проведено
ALA-2025;3;Алматы;2025;день открытых дверей;Зауытта ашық есік күні;20.05.2025;отменено
ҚР-2025;1;республика;2025;подкаст;Еңбек әулеттері;;запланировано
"""
REGIONS = ["ALA", "AST", "SHY", "KGD", "Қостанай облысы"]


def survey_wave(year: int, *, n: int = 600, seed: int = 1) -> bytes:
    """Return a made-up wave of the values survey as CSV (strata, PSUs and weights)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "region": rng.choice(REGIONS, n, p=[0.3, 0.3, 0.3, 0.07, 0.03]),
            "urban": rng.choice(["urban", "rural"], n),
            "age_group": rng.choice(["18-29", "30-49", "50+"], n),
            "sex": rng.choice(["m", "f"], n),
            "weight": rng.uniform(0.4, 2.5, n).round(4),
            "year": year,
            "stratum": rng.choice(["s1", "s2"], n),
        }
    )
    frame["psu"] = [
        f"{s}-{k}" for s, k in zip(frame["stratum"], rng.integers(0, 6, n), strict=True)
    ]
    for item in ("q1", "q2", "q3", "q4", "q5"):
        frame[item] = rng.choice([1, 2, 3, 4, 5, 8], n, p=[0.1, 0.15, 0.2, 0.25, 0.25, 0.05])
    return frame.to_csv(index=False).encode()


WAVES = [(f"wave{year}.csv", survey_wave(year, seed=year)) for year in (2023, 2024, 2025)]


@dataclass
class Env:
    users: dict[str, UserInfo]
    engine: Engine


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data = tmp_path_factory.mktemp("evaluation") / "geo"
    data.mkdir()
    values = {"NUDGE_DATA_DIR": str(data), "NUDGE_DATABASE_URL": f"sqlite:///{data}/nudge.sqlite"}
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    engine = engine_from_url(values["NUDGE_DATABASE_URL"])
    upgrade_database(engine)
    admin = add_user(engine, username="admin", password=PASSWORD, role="admin")
    for role in ("planner", "viewer", "designer"):
        add_user(engine, username=role, password=PASSWORD, role=role, by=admin)
    add_user(
        engine, username="coord", password=PASSWORD, role="coordinator", regions=["ALA"], by=admin
    )
    plan = data / "план.csv"
    plan.write_text(PLAN_CSV, encoding="utf-8")
    import_event_plan(engine, plan, user=admin)
    yield Env({u.role: u for u in list_users(engine)}, engine)
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    engine.dispose()


def open_page(env: Env, lang: str = "kk", role: str = "admin", *, upload: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["lang"] = lang
    at.session_state["user"] = env.users[role]
    at.run()
    at.switch_page(PAGE).run()
    if upload and at.radio(key="eval_source").value == "upload":
        at.file_uploader(key="eval_survey_files").set_value(
            [(name, data, "text/csv") for name, data in WAVES]
        )
        at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []


def _frames(at: AppTest) -> list[pd.DataFrame]:
    return [f.value for f in at.dataframe]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_tab_renders_with_data_in_every_language(env: Env, lang: str) -> None:
    tr = translator(lang)
    at = open_page(env, lang)
    assert_clean(at)
    assert at.title[0].value == tr("evaluation_page.title")
    labels = [t.label for t in at.tabs]
    wanted = ["events", "survey", "exposure", "rollout", "analysis"]
    assert labels == [tr(f"evaluation_page.tab_{n}") for n in wanted]
    frames = _frames(at)
    # indicator 1: Almaty has a plan of 3 items, 1 held, 1 cancelled; the republic 1 planned
    first = frames[0]
    region, planned = tr("columns.region_name"), tr("evaluation_page.col_planned")
    row = first[first[region] == region_name("ALA", lang)].iloc[0]
    assert row[planned] == "3" and row[tr("evaluation_page.col_cancelled")] == "1"
    assert row[tr("evaluation_page.col_has_plan")] == tr("report.yes")
    republic = first[first[region] == tr("evaluation_page.republic")].iloc[0]
    assert republic[planned] == "1"
    # the survey: two years on the time chart, suppressed small cells with their reason
    assert at.get("vega_lite_chart"), "no chart drawn"
    assert any(tr("evaluation_page.col_reason") in f.columns for f in frames)
    warnings = " ".join(w.value for w in at.warning)
    assert tr("evaluation_page.suppressed", n=1).split(":")[0] in warnings
    # exposure beside the survey, the rollout's schedule of the 20 regions
    assert any(tr("evaluation_page.col_active_per_100k") in f.columns for f in frames)
    schedule = next(f for f in frames if tr("evaluation_page.col_step") in f.columns)
    assert len(schedule) == 20
    if lang != "en":
        left = _english_left(at, _codes(), set())
        assert left == [], left


def test_indicator_one_drills_down_to_the_plan_items(env: Env) -> None:
    tr = translator("kk")
    at = open_page(env, "kk", upload=False)
    labels = at.selectbox(key="eval_events_region").options
    at.selectbox(key="eval_events_region").set_value(labels.index(region_name("ALA", "kk")))
    at.run()
    assert_clean(at)
    items = next(f for f in _frames(at) if tr("columns.title") in f.columns)
    assert len(items) == 3
    assert tr("event_kinds.tv_programme") in set(items[tr("columns.kind")])
    assert tr("event_statuses.cancelled") in set(items[tr("columns.status")])
    at.selectbox(key="eval_events_figure").set_value("held").run()
    items = next(f for f in _frames(at) if tr("columns.title") in f.columns)
    assert list(items[tr("columns.title")]) == ["Байқаудың қалалық кезеңі"]


def _schedule(at: AppTest) -> pd.DataFrame:
    step = translator("kk")("evaluation_page.col_step")
    return next(f for f in _frames(at) if step in f.columns)


def _schedule_in(at: AppTest, lang: str) -> pd.DataFrame:
    step = translator(lang)("evaluation_page.col_step")
    return next(f for f in _frames(at) if step in f.columns)


def test_a_rollout_with_a_fixed_seed_gives_the_same_schedule_twice(env: Env) -> None:
    at = open_page(env, "kk", upload=False)
    at.number_input(key="eval_seed").set_value(7).run()
    at.multiselect(key="eval_stratify").set_value(["population"]).run()
    first = _schedule(at)
    at.run()
    again = _schedule(at)
    pd.testing.assert_frame_equal(first, again)
    expected = plan_rollout(units_from_regions(), steps=4, seed=7, stratify=["population"])
    shown = first[translator("kk")("columns.region_name")].tolist()
    assert shown == [region_name(u, "kk") for u in expected.schedule["unit"]]
    assert "7" in at.success[0].value  # the seed is shown with the plan
    at.number_input(key="eval_seed").set_value(8).run()
    assert not _schedule(at).equals(first)


def test_the_power_curve_marks_the_hussey_hughes_mdc(env: Env) -> None:
    at = open_page(env, "ru", upload=False)
    at.number_input(key="eval_per_unit").set_value(200)
    at.number_input(key="eval_icc").set_value(0.05).run()
    assert_clean(at)
    plan = plan_rollout(units_from_regions(), steps=4, seed=2026)
    mdc = design_power(plan.design_matrix(), per_unit=200, icc=0.05, baseline=0.5).mdc
    tr = translator("ru")
    metric = next(m for m in at.metric if m.label == tr("evaluation_page.mdc", target="80"))
    assert metric.value == format_number(mdc, "ru", decimals=3)
    spec = json.loads(at.get("vega_lite_chart")[-1].proto.spec)
    marks = [layer["data"]["values"][0] for layer in spec["layer"][1:]]
    assert marks[0]["mdc"] == pytest.approx(mdc) and marks[0]["target"] == 0.8
    curve = spec["layer"][0]["data"]["values"]
    at_mdc = min(curve, key=lambda point: abs(point["change"] - mdc))
    assert at_mdc["power"] == pytest.approx(0.8, abs=0.03)  # the curve crosses 80 % at the MDC
    assert spec["config"]["locale"]["number"]["decimal"] == ","  # 0,05 in Russian


def test_the_schedule_downloads_as_csv_with_its_seed(env: Env) -> None:
    plan = er.rollout(steps=3, design="phased", seed=11, stratify=[], locks={"ALA": 1})
    table = pd.read_csv(io.BytesIO(er.schedule_csv(plan)), encoding="utf-8-sig")
    assert set(table["seed"]) == {11} and set(table["design"]) == {"phased"}
    assert table.set_index("unit").loc["ALA", "step"] == 1
    assert sorted(table["step"].value_counts()) == [6, 7, 7]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_too_many_locked_regions_show_a_translated_error(env: Env, lang: str) -> None:
    tr = translator(lang)
    at = open_page(env, lang, upload=False)
    codes = ["ALA", "AST", "SHY", "ABY", "AKM", "AKT"]  # a step of 4 over 20 holds 5
    at.multiselect(key="eval_locked").set_value(codes).run()
    assert [e.value for e in at.exception] == []
    shown = " ".join(e.value for e in at.error)
    assert tr("errors.InfeasibleError") in shown
    assert "Step 1" not in shown  # the explanation is in the user's language


def test_a_survey_file_without_the_mapped_columns_shows_a_translated_error(env: Env) -> None:
    tr = translator("kk")
    at = open_page(env, "kk", upload=False)
    at.file_uploader(key="eval_survey_files").set_value(
        [("wave.csv", b"region,weight\nALA,1\n", "text/csv")]
    )
    at.run()
    assert [e.value for e in at.exception] == []
    shown = at.error[0].value
    assert tr("errors.InputFileError") in shown and "wave.csv" in shown
    assert "lacks" not in shown


def test_the_page_is_in_the_menu_of_every_role(env: Env) -> None:
    for role in ("admin", "planner", "coordinator", "viewer"):
        at = open_page(env, "en", role, upload=False)
        assert_clean(at)
        assert at.title[0].value == translator("en")("evaluation_page.title")


def test_the_report_download_holds_indicator_one_and_three(env: Env) -> None:
    at = open_page(env, "kk")
    assert_clean(at)
    assert at.get("download_button")  # the report is offered on the page
    survey = ev.survey_from_uploads(WAVES, None, lang="kk")
    book = openpyxl.load_workbook(io.BytesIO(ev.report_file(env.engine, survey, lang="kk")))
    tr = translator("kk")
    assert tr("report_sheets.sheet_events") in book.sheetnames
    sheet = book[tr("report_sheets.sheet_survey")]
    header = [c.value for c in sheet[1]]
    assert tr("report_sheets.col_estimate") in header
    column = header.index(tr("report_sheets.col_index"))
    names = {row[column] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "Еңбек — табысқа жету жолы" in names
    republic = [
        r
        for r in sheet.iter_rows(min_row=2, values_only=True)
        if r[header.index(tr("report.col_region_name"))] == tr("report_sheets.republic")
    ]
    assert len(republic) == 3 * 3  # three indices in three years for the whole republic
    plain = openpyxl.load_workbook(io.BytesIO(ev.report_file(env.engine, None, lang="kk")))
    assert tr("report_sheets.sheet_survey") not in plain.sheetnames


def test_a_schedule_not_drawn_at_random_says_association_not_proof(env: Env) -> None:
    tr = translator("kk")
    at = open_page(env, "kk")
    at.radio(key="eval_schedule_source").set_value("file").run()
    steps = "unit,step\nALA,1\nAST,2\nSHY,1\nKGD,2\nKST,3\n"
    at.file_uploader(key="eval_schedule_file").set_value(
        [("order.csv", steps.encode(), "text/csv")]
    )
    at.run()
    assert_clean(at)
    caveat = tr("analysis.association_not_proof")
    assert caveat in [w.value for w in at.warning]
    captions = " ".join(c.value for c in at.caption)  # Kostanay: every cell suppressed
    assert tr("evaluation_page_notes.left_out", regions=region_name("KST", "kk")) in captions
    effects = next(f for f in _frames(at) if tr("evaluation_page.col_effect") in f.columns)
    assert set(effects[tr("evaluation_page.col_randomised")]) == {tr("report.no")}
    assert "Еңбек — табысқа жету жолы" in set(effects[tr("evaluation_page.col_index")])
    at.checkbox(key="eval_randomised").check().run()
    assert caveat not in [w.value for w in at.warning]


@pytest.fixture
def stored_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """A registry of its own holding one stored survey wave."""
    from nudge.evaluation import store
    from nudge.evaluation.questionnaire import questionnaire_from_file

    url = f"sqlite:///{tmp_path}/nudge.sqlite"
    monkeypatch.setenv("NUDGE_DATABASE_URL", url)
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path))
    engine = engine_from_url(url)
    upgrade_database(engine)
    add_user(engine, username="viewer", password=PASSWORD, role="viewer")
    paths = []
    for name, data in WAVES:
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    store.import_wave(engine, paths, questionnaire_from_file(), name="2023–2025", user="admin")
    return Env({u.role: u for u in list_users(engine)}, engine)


def test_stored_survey_waves_are_shown_without_an_upload(stored_env: Env) -> None:
    tr = translator("ru")
    at = open_page(stored_env, "ru", "viewer", upload=False)
    assert_clean(at)
    assert at.radio(key="eval_source").value == "stored"
    assert at.multiselect(key="eval_waves").value  # every stored wave, by default
    table = next(f for f in _frames(at) if tr("evaluation_page.col_estimate") in f.columns)
    assert "Труд — путь к успеху" in set(table[tr("evaluation_page.col_index")])
    assert {"2023", "2024", "2025"} <= set(table[tr("evaluation_page.col_year")])
    stored_env.engine.dispose()


def test_a_units_file_replaces_the_regions(env: Env) -> None:
    tr = translator("kk")
    at = open_page(env, "kk", upload=False)
    units = "unit,name,population\nd1,Алмалы,200000\nd2,Әуезов,300000\nd3,Бостандық,350000\n"
    units += "d4,Жетісу,180000\nd5,Медеу,220000\nd6,Түрксіб,240000\n"
    at.file_uploader(key="eval_units_file").set_value([("units.csv", units.encode(), "text/csv")])
    at.run()
    at.multiselect(key="eval_locked").set_value(["d2"]).run()
    assert_clean(at)
    schedule = _schedule(at)
    assert sorted(schedule[tr("columns.region_name")]) == sorted(
        ["Алмалы", "Әуезов", "Бостандық", "Жетісу", "Медеу", "Түрксіб"]
    )
    row = schedule[schedule[tr("columns.region_name")] == "Әуезов"].iloc[0]
    assert row[tr("evaluation_page.col_step")] == "1"
    assert row[tr("evaluation_page.col_locked")] == tr("report.yes")


def test_a_units_file_without_a_unit_column_shows_a_translated_error(env: Env) -> None:
    tr = translator("ru")
    at = open_page(env, "ru", upload=False)
    at.file_uploader(key="eval_units_file").set_value([("u.csv", b"x,y\n1,2\n", "text/csv")])
    at.run()
    assert [e.value for e in at.exception] == []
    assert tr("errors.InputFileError") in at.error[0].value and "u.csv" in at.error[0].value


# --- saved rollouts: shared state for the analysis, the rotation and the registry ---------------


@pytest.fixture
def own_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """A registry of its own with an admin and a viewer (saved rollouts and exports change it)."""
    url = f"sqlite:///{tmp_path}/nudge.sqlite"
    monkeypatch.setenv("NUDGE_DATABASE_URL", url)
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path))
    engine = engine_from_url(url)
    upgrade_database(engine)
    admin = add_user(engine, username="admin", password=PASSWORD, role="admin")
    add_user(engine, username="viewer", password=PASSWORD, role="viewer", by=admin)
    yield Env({u.role: u for u in list_users(engine)}, engine)
    engine.dispose()


def test_a_dated_rollout_is_saved_and_exported_to_the_plans_of_events(own_env: Env) -> None:
    tr = translator("ru")
    at = open_page(own_env, "ru", upload=False)
    at.number_input(key="eval_seed").set_value(5).run()
    at.date_input(key="eval_flight_start").set_value(date(2027, 1, 4)).run()
    at.number_input(key="eval_weeks").set_value(6).run()
    table = _schedule_in(at, "ru")
    firsts = set(table[tr("rollout_flights.col_flight_start")])
    assert firsts == {"2027-01-04", "2027-02-15", "2027-03-29", "2027-05-10"}
    at.text_input(key="eval_rollout_name").input("весна").run()
    at.button(key="eval_rollout_save").click().run()
    assert_clean(at)
    [work] = list_rollouts(own_env.engine)
    assert work.name == "весна" and work.owner == "admin"
    assert tr("rollout_flights.saved", id=work.id, name="весна", version=1) in [
        s.value for s in at.success
    ]
    _, plan = load_rollout(own_env.engine, work.id)
    assert plan.seed == 5 and min(plan.region_starts().values()) == date(2027, 1, 4)
    for _ in range(2):  # a second export adds nothing
        at.button(key="eval_rollout_export").click().run()
        assert_clean(at)
    items = list_event_items(own_env.engine)
    assert len(items) == 20 and {i.kind for i in items} == {"campaign_flight"}
    exported = tr("rollout_export.exported", stored=0, updated=0, unchanged=20)
    assert exported in [s.value for s in at.success]


def test_the_analysis_reads_a_saved_rollout_randomised_as_recorded(own_env: Env) -> None:
    tr = translator("en")
    at = open_page(own_env, "en")
    at.radio(key="eval_schedule_source").set_value("saved").run()
    assert tr("rollout_flights.no_saved") in [i.value for i in at.info]
    plan = plan_rollout(steps=4, seed=2026)
    save_rollout(own_env.engine, plan, name="drawn", owner="admin")
    save_rollout(own_env.engine, plan, name="by hand", owner="admin", randomised=False)
    at.run()
    assert_clean(at)
    picked = at.selectbox(key="eval_saved_rollout")
    assert "by hand" in picked.options[0] and "drawn" in picked.options[1]  # newest first
    caveat = tr("analysis.association_not_proof")
    assert caveat in [w.value for w in at.warning]
    drawn = next(w.id for w in list_rollouts(own_env.engine) if w.name == "drawn")
    picked.set_value(drawn).run()
    assert_clean(at)
    assert caveat not in [w.value for w in at.warning]
    effects = next(f for f in _frames(at) if tr("evaluation_page.col_effect") in f.columns)
    assert set(effects[tr("evaluation_page.col_randomised")]) == {tr("report.yes")}
