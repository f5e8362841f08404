"""Plans of events (indicator 1): import, status, evidence and the indicator per region and year."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import typer
from registry_support import Users, write_csv
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from nudge._errors import AccessDeniedError, InputFileError, RecordError
from nudge.cli import _registry
from nudge.i18n import error_text, problem_text
from nudge.registry import (
    audit_entries,
    event_indicator,
    import_event_plan,
    list_event_items,
    log_publication,
    set_event_status,
)

pytest_plugins = ["registry_support"]

KK_HEADER = ["Жоспар", "Тармақ", "Облыс", "Жыл", "Түрі", "Атауы", "Мерзімі", "Күйі"]
KK_ROWS = [
    ["ALA-2025", 1, "Алматы", 2025, "телебағдарлама", "Еңбек адамы", "31.03.2025",
     "жоспарланған"],
    ["ALA-2025", 2, "Алматы", 2025, "«Мен профимін»", "Байқаудың қалалық кезеңі", "15.04.2025",
     "өткізілді"],
    ["ALA-2025", 3, "Алматы", 2025, "ашық есік күні", "Зауытта ашық есік күні", "20.05.2025",
     "болдырылмады"],
    ["ҚР-2025", 1, "", 2025, "подкаст", "Еңбек әулеттері", None, "жоспарланған"],
]  # fmt: skip
RU_CSV = """План;№;Регион;Год;Вид;Название;Срок;Статус
ALA-2025;1;Алматы;2025;телепередача;Еңбек адамы;31.03.2025;запланировано
ALA-2025;2;Алматы;2025;Мен профимін;Байқаудың қалалық кезеңі;15.04.2025;проведено
ALA-2025;3;Алматы;2025;день открытых дверей;Зауытта ашық есік күні;20.05.2025;отменено
ҚР-2025;1;республика;2025;подкаст;Еңбек әулеттері;;запланировано
"""


def _xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _facts(engine: Engine) -> list[tuple]:
    return [
        (i.region_code, i.year, i.kind, i.title, i.planned_on, i.status, i.external_key)
        for i in list_event_items(engine)
    ]


def test_kazakh_xlsx_and_russian_csv_import_the_same(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    xlsx = _xlsx(tmp_path / "жоспар.xlsx", KK_HEADER, KK_ROWS)
    result = import_event_plan(engine, xlsx, user=users.planner)
    assert (result.rows, result.stored, result.updated, result.errors) == (4, 4, 0, [])
    facts = _facts(engine)
    assert sorted((f[:6] for f in facts), key=str) == sorted([
        ("ALA", 2025, "tv_programme", "Еңбек адамы", date(2025, 3, 31), "planned"),
        ("ALA", 2025, "contest_stage", "Байқаудың қалалық кезеңі", date(2025, 4, 15), "held"),
        ("ALA", 2025, "career_day_open_day", "Зауытта ашық есік күні", date(2025, 5, 20),
         "cancelled"),
        (None, 2025, "podcast", "Еңбек әулеттері", None, "planned"),
    ], key=str)  # fmt: skip
    csv = write_csv(tmp_path / "план.csv", RU_CSV)
    again = import_event_plan(engine, csv, user=users.planner)
    assert (again.stored, again.updated, again.skipped_existing, again.errors) == (0, 0, 4, [])
    assert _facts(engine) == facts  # the Russian file names the very same items


def test_the_same_file_twice_adds_nothing_and_a_changed_status_updates(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "plan.csv", RU_CSV)
    first = import_event_plan(engine, csv, user=users.planner)
    assert first.stored == 4
    second = import_event_plan(engine, csv, user=users.planner)
    assert (second.stored, second.updated, second.skipped_existing) == (0, 0, 4)
    assert len(list_event_items(engine)) == 4
    changed = write_csv(
        tmp_path / "plan2.csv", RU_CSV.replace("31.03.2025;запланировано", "31.03.2025;проведено")
    )
    third = import_event_plan(engine, changed, user=users.planner)
    assert (third.stored, third.updated, third.skipped_existing) == (0, 1, 3)
    item = next(i for i in list_event_items(engine) if i.kind == "tv_programme")
    assert item.status == "held"
    updates = audit_entries(engine, table="event_plan_items", record_id=item.id)
    assert [e.action for e in updates] == ["update", "create"]
    assert updates[0].old == {"status": "planned"} and updates[0].new == {"status": "held"}


def test_bad_rows_are_reported_by_row_and_the_good_rows_stored(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    csv = write_csv(
        tmp_path / "bad.csv",
        "document,item,region,year,kind,title,date,status\n"
        "P,1,ALA,2025,podcast,Good one,2025-02-01,planned\n"
        "P,2,ALA,2025,concert,Unknown kind,2025-02-01,planned\n"
        "P,3,ALA,2025,podcast,Bad date,31.02.2025,planned\n"
        "P,4,Astana,2025,podcast,Not my region,2025-02-01,planned\n"
        "P,5,ALA,2025,podcast,,2025-02-01,planned\n"
        "P,6,,2025,podcast,Republican item,2025-02-01,planned\n"
        "P,7,ALA,2025,tv,Another good one,,held\n"
        "P,8,ALA,2024,tv,Wrong year,2025-02-01,planned\n"
        "P,1,ALA,2025,podcast,Same item again,2025-02-01,planned\n"
        "P,9,ALA,1999,podcast,Too old,,planned\n",
    )
    result = import_event_plan(engine, csv, user=users.almaty)
    codes = {(p.row, p.code) for p in result.errors}
    assert codes == {
        (3, "row_unknown_value"),
        (4, "row_not_a_date"),
        (5, "row_event_outside_your_regions"),
        (6, "row_value_missing"),
        (7, "row_event_republic_not_yours"),
        (9, "row_event_year_mismatch"),
        (10, "row_event_item_repeated"),
        (11, "row_event_year_invalid"),
    }
    assert result.stored == 2
    assert sorted(i.title for i in list_event_items(engine)) == ["Another good one", "Good one"]
    by_row = {p.row: p for p in result.errors}
    assert problem_text(by_row[5], "kk") == (
        "Тармақ «Астана» өңіріне жатады; ол сіздің өңірлеріңізге кірмейді: Алматы."
    )
    assert problem_text(by_row[3], "ru").startswith("Значение «concert» в столбце kind")


def test_a_file_without_the_needed_columns_is_refused(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "x.csv", "region,date\nALA,2025-01-01\n")
    with pytest.raises(InputFileError, match="no column for kind, title") as info:
        import_event_plan(engine, csv, user=users.planner)
    assert info.value.code == "import_columns_missing"
    with pytest.raises(AccessDeniedError):
        import_event_plan(engine, write_csv(tmp_path / "p.csv", RU_CSV), user=users.viewer)


def test_status_update_with_a_publication_as_evidence(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    import_event_plan(engine, write_csv(tmp_path / "p.csv", RU_CSV), user=users.planner)
    items = {i.kind: i for i in list_event_items(engine)}
    pub = log_publication(
        engine, user=users.almaty, kind="tv_programme", title="Еңбек адамы",
        published_on=date(2025, 3, 31), region="ALA", link="https://example.kz/tv/1",
    )  # fmt: skip
    rec = set_event_status(
        engine, items["tv_programme"].id, "проведено", user=users.almaty, evidence=pub.id
    )
    assert (rec.status, rec.evidence_publication_id) == ("held", pub.id)
    entry = audit_entries(engine, table="event_plan_items", record_id=rec.id)[0]
    assert entry.new == {"status": "held", "evidence_publication_id": pub.id}
    url = set_event_status(engine, items["podcast"].id, "held", user=users.planner,
                           evidence="https://example.kz/podcast")  # fmt: skip
    assert url.evidence_url == "https://example.kz/podcast"
    with pytest.raises(RecordError) as unknown:
        set_event_status(engine, items["tv_programme"].id, "held", user=users.planner,
                         evidence=pub.id + 100)  # fmt: skip
    assert unknown.value.code == "event_evidence_unknown"
    with pytest.raises(RecordError) as elsewhere:
        set_event_status(engine, items["podcast"].id, "held", user=users.planner,
                         evidence="nonsense")  # fmt: skip
    assert elsewhere.value.code == "event_evidence_invalid"
    with pytest.raises(AccessDeniedError) as republic:
        set_event_status(engine, items["podcast"].id, "cancelled", user=users.almaty)
    assert republic.value.code == "denied_republic_plan"
    assert "республикалық жоспарды" in error_text(republic.value, "kk")
    with pytest.raises(AccessDeniedError):
        set_event_status(engine, items["tv_programme"].id, "held", user=users.astana)
    with pytest.raises(RecordError, match="Unknown status"):
        set_event_status(engine, items["tv_programme"].id, "maybe", user=users.planner)


def test_a_publication_in_the_file_links_the_evidence(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    pub = log_publication(engine, user=users.planner, kind="podcast", title="Әулет",
                          published_on=date(2025, 3, 1), region="ALA")  # fmt: skip
    other = log_publication(engine, user=users.planner, kind="podcast", title="Әулет",
                            published_on=date(2025, 3, 1), region="AST")  # fmt: skip
    csv = write_csv(
        tmp_path / "e.csv",
        "document;item;region;year;kind;title;status;evidence\n"
        f"P;1;ALA;2025;podcast;With a publication;held;{pub.id}\n"
        "P;2;ALA;2025;podcast;With an address;held;https://example.kz/a\n"
        f"P;3;ALA;2025;podcast;Publication elsewhere;held;#{other.id}\n"
        "P;4;ALA;2025;podcast;Not evidence;held;see the folder\n",
    )
    result = import_event_plan(engine, csv, user=users.planner)
    assert {(p.row, p.code) for p in result.errors} == {
        (4, "event_evidence_other_region"),
        (5, "row_event_evidence_invalid"),
    }
    stored = {i.title: i for i in list_event_items(engine)}
    assert stored["With a publication"].evidence_publication_id == pub.id
    assert stored["With an address"].evidence_url == "https://example.kz/a"


def test_indicator_per_region_and_year_with_the_records_behind(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    import_event_plan(engine, write_csv(tmp_path / "p.csv", RU_CSV), user=users.planner)
    ids = {i.kind: i.id for i in list_event_items(engine)}
    pub = log_publication(engine, user=users.planner, kind="contest_event", title="Байқау",
                          published_on=date(2025, 4, 15), region="ALA")  # fmt: skip
    set_event_status(engine, ids["contest_stage"], "held", user=users.planner, evidence=pub.id)
    table = event_indicator(engine, year=2025)
    assert len(table) == 21  # the republic and 20 regions, with or without a plan
    ala = table[table["region"] == "ALA"].iloc[0]
    assert bool(ala["has_plan"]) is True
    assert (ala["planned"], ala["held"], ala["cancelled"], ala["pending"]) == (3, 1, 1, 1)
    assert ala["held_with_evidence"] == 1
    assert sorted(ala["planned_ids"]) == sorted(
        [ids["tv_programme"], ids["contest_stage"], ids["career_day_open_day"]]
    )
    assert ala["held_ids"] == [ids["contest_stage"]]
    assert ala["cancelled_ids"] == [ids["career_day_open_day"]]
    assert ala["evidence_publication_ids"] == [pub.id]
    republic = table[table["region"].isna()].iloc[0]
    assert (bool(republic["has_plan"]), republic["planned"]) == (True, 1)
    astana = table[table["region"] == "AST"].iloc[0]
    assert (bool(astana["has_plan"]), astana["planned"], astana["planned_ids"]) == (False, 0, [])
    assert event_indicator(engine, year=2024)["has_plan"].sum() == 0
    assert set(event_indicator(engine)["year"]) == {2025}


def test_items_are_stored_with_who_and_when(engine: Engine, users: Users, tmp_path: Path) -> None:
    result = import_event_plan(engine, write_csv(tmp_path / "p.csv", RU_CSV), user=users.planner)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT created_by, updated_by, import_batch_id FROM event_plan_items")
        ).all()
    assert {tuple(r) for r in rows} == {(users.planner.id, users.planner.id, result.batch_id)}
    created = audit_entries(engine, table="event_plan_items")
    assert len(created) == 4 and {e.action for e in created} == {"create"}


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer(pretty_exceptions_enable=False)
    _registry.register(cli)
    return cli


def test_cli_imports_events_with_the_import_exit_codes(
    app: typer.Typer, engine: Engine, users: Users, registry_url: str, tmp_path: Path
) -> None:
    env = {"NUDGE_DATABASE_URL": registry_url, "NUDGE_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    good = write_csv(tmp_path / "p.csv", RU_CSV)
    ok = runner.invoke(app, ["registry", "import-events", str(good), "--as", "planner", "--json"],
                       env=env)  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {
        "rows": 4, "stored": 4, "skipped_existing": 0, "errors": [], "updated": 0,
        "warnings": [],
    }  # fmt: skip
    again = runner.invoke(app, ["registry", "import-events", str(good), "--as", "planner"], env=env)
    assert again.exit_code == 0 and "unchanged (already stored): 4" in again.stdout
    partly = write_csv(tmp_path / "b.csv", RU_CSV + "X;1;ALA;2025;концерт;Нет;;\n")
    some = runner.invoke(app, ["registry", "import-events", str(partly), "--as", "planner",
                               "--json"], env=env)  # fmt: skip
    assert some.exit_code == 1
    assert json.loads(some.stdout)["errors"][0]["row"] == 6
    table = runner.invoke(app, ["registry", "events", "--year", "2025", "--json"], env=env)
    assert table.exit_code == 0, table.output
    rows = {r["region"]: r for r in json.loads(table.stdout)["rows"]}
    assert (rows["ALA"]["planned"], rows["ALA"]["held"], rows["ALA"]["cancelled"]) == (3, 1, 1)
    human = runner.invoke(app, ["registry", "events"], env=env)
    assert human.exit_code == 0 and "KZ (republic)" in human.stdout
