"""Batch imports: formats, malformed files, row problems, idempotence, atomicity, plans."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from registry_support import (
    ALMATY,
    ALMATY_2,
    ASTANA,
    Users,
    table_counts,
    write_csv,
)
from sqlalchemy.engine import Engine

from nudge._errors import AccessDeniedError, InputFileError, RecordError
from nudge.i18n import error_text, problem_text
from nudge.registry import (
    audit_entries,
    import_installations,
    import_plan,
    import_publications,
    indicator_table,
    list_installations,
    list_publications,
    log_installation,
)

GOOD_CSV = (
    "lat,lon,kind,installed_on,content_id,themes,size\n"
    f"{ALMATY[0]},{ALMATY[1]},banner,2025-03-01,proverb-001,diligence,3x6\n"
    f"{ALMATY_2[0]},{ALMATY_2[1]},billboard,2025-03-02,proverb-002,learning;mastery,6x3\n"
    "43.2700,76.9500,city-light,15.03.2025,,,\n"
)


pytest_plugins = ["registry_support"]


def test_csv_is_stored_with_regions_and_audit(engine: Engine, users: Users, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "batch.csv", GOOD_CSV)
    result = import_installations(engine, path, user=users.almaty)
    assert result.as_dict() == {
        "rows": 3, "stored": 3, "skipped_existing": 0, "errors": [], "flagged_duplicates": 0,
        "warnings": [],
    }  # fmt: skip
    recs = list_installations(engine)
    assert [r.kind for r in recs] == ["banner", "billboard", "city_light"]
    assert {r.region_code for r in recs} == {"ALA"}
    assert recs[1].themes == ("learning", "mastery")
    assert recs[2].installed_on == date(2025, 3, 15)
    assert recs[0].source == "import:batch.csv"
    created = [e for e in audit_entries(engine, table="installations") if e.action == "create"]
    assert sorted(e.record_id for e in created) == result.ids
    assert audit_entries(engine, table="import_batches")[0].new["stored"] == 3  # type: ignore[index]


def test_reimporting_the_same_file_adds_nothing(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "batch.csv", GOOD_CSV)
    import_installations(engine, path, user=users.almaty)
    before = table_counts(engine)
    again = import_installations(engine, path, user=users.almaty)
    assert (again.stored, again.skipped_existing) == (0, 3)
    after = table_counts(engine)
    assert after["installations"] == before["installations"] == 3
    assert after["flags"] == before["flags"]


def test_windows_1251_with_semicolons_and_russian_headers(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    text = (
        "Широта;Долгота;Тип;Дата установки;Город;Примечание\n"
        f"{ALMATY[0]};{ALMATY[1]};Баннер;01.03.2025;Алматы;у остановки «Абая»\n"
    )
    path = write_csv(tmp_path / "cp1251.csv", text, encoding="cp1251")
    result = import_installations(engine, path, user=users.almaty)
    assert result.errors == []
    rec = list_installations(engine)[0]
    assert (rec.kind, rec.city, rec.note) == ("banner", "Almaty", "у остановки «Абая»")


def test_rows_with_problems_are_reported_together_and_good_rows_stored(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    text = (
        "lat,lon,kind,installed_on\n"
        f"{ALMATY[0]},{ALMATY[1]},banner,2025-03-01\n"  # row 2: good
        f"north,{ALMATY[1]},banner,2025-03-01\n"  # row 3: text in a coordinate
        f"{ALMATY[0]},{ALMATY[1]},blimp,2025-13-45\n"  # row 4: bad kind and date
        "55.7558,37.6173,banner,2025-03-01\n"  # row 5: Moscow
        f"{ASTANA[0]},{ASTANA[1]},banner,2025-03-01\n"  # row 6: not her region
        f"{ALMATY_2[0]},{ALMATY_2[1]},led screen,2025-03-01\n"  # row 7: good
    )
    result = import_installations(engine, write_csv(tmp_path / "b.csv", text), user=users.almaty)
    assert result.stored == 2
    by_row = {}
    for problem in result.errors:
        by_row.setdefault(problem.row, []).append(problem.message)
    assert sorted(by_row) == [3, 4, 5, 6]
    assert by_row[3] == ["lat 'north' is not a number."]
    assert any("kind 'blimp' is unknown" in m for m in by_row[4])
    assert any("'2025-13-45' is not a date" in m for m in by_row[4])
    assert "(lat 55.755800, lon 37.617300) is outside Kazakhstan" in by_row[5][0]
    assert by_row[6][0] == "The point is in Astana, outside your regions: Almaty."
    codes = {p.row: p.code for p in result.errors if p.row in (3, 5, 6)}
    assert codes == {3: "row_not_a_number", 5: "point_outside", 6: "row_outside_your_regions"}
    mine = next(p for p in result.errors if p.row == 6)
    assert mine.params == {"region": "AST", "regions": "ALA"}
    assert problem_text(mine, "kk") == (
        "Нүкте орналасқан өңір – Астана; ол сіздің өңірлеріңізге кірмейді: Алматы."
    )


NOT_FINITE = [("nan", "76.9"), ("43.2", "NaN"), ("nan", "nan"), ("inf", "76.9"),
              ("43.2", "-Infinity"), ("1e999", "76.9")]  # fmt: skip


@pytest.mark.parametrize(("lat", "lon"), NOT_FINITE)
def test_nan_or_infinite_coordinates_are_row_problems(
    engine: Engine, users: Users, tmp_path: Path, lat: str, lon: str
) -> None:
    text = (
        "lat,lon,kind,installed_on\n"
        f"{lat},{lon},banner,2025-03-01\n"  # row 2: no place a row may hold
        f"{ALMATY[0]},{ALMATY[1]},banner,2025-03-01\n"  # row 3: good
    )
    result = import_installations(engine, write_csv(tmp_path / "b.csv", text), user=users.almaty)
    assert (result.stored, table_counts(engine)["installations"]) == (1, 1)
    assert {p.row for p in result.errors} == {2}
    assert {p.code for p in result.errors} == {"row_not_finite"}
    bad = {"lat": lat, "lon": lon}
    for problem in result.errors:
        assert problem.message == (
            f"{problem.column} {bad[str(problem.column)]!r} is not a finite number "
            "(NaN and infinity are refused); write an ordinary number."
        )
        assert "не является конечным числом" in problem_text(problem, "ru")
        assert "ақырлы сан емес" in problem_text(problem, "kk")


def test_nan_or_infinite_facing_and_plan_coordinates_are_refused(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    text = f"lat,lon,kind,installed_on,facing_deg\n{ALMATY[0]},{ALMATY[1]},banner,2025-03-01,nan\n"
    result = import_installations(engine, write_csv(tmp_path / "b.csv", text), user=users.almaty)
    assert [(p.row, p.column, p.code) for p in result.errors] == [
        (2, "facing_deg", "row_not_finite")
    ]
    with pytest.raises(RecordError) as info:
        log_installation(engine, user=users.almaty, kind="banner", lat=float("inf"),
                         lon=ALMATY[1], installed_on="2025-03-01")  # fmt: skip
    assert info.value.code == "row_not_finite"
    plan = gpd.GeoDataFrame(
        {"site_id": ["s1", "s2"], "kind": ["banner", "banner"], "score": [1.0, float("inf")]},
        geometry=gpd.points_from_xy([ALMATY[1]] * 2, [ALMATY[0], ALMATY_2[0]]),
        crs="EPSG:4326",
    )
    done = import_plan(engine, plan, user=users.planner, plan_name="p")
    assert (done.stored, [(p.row, p.code) for p in done.errors]) == (1, [(2, "row_not_finite")])


def test_missing_columns_and_wrong_delimiter_get_clear_messages(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    no_kind = write_csv(tmp_path / "a.csv", f"lat,lon,date\n{ALMATY[0]},{ALMATY[1]},2025-01-01\n")
    with pytest.raises(
        InputFileError, match=r"no column for kind\. Found columns: lat, lon"
    ) as info:
        import_installations(engine, no_kind, user=users.almaty)
    assert (info.value.code, info.value.params["missing"]) == ("import_columns_missing", "kind")
    assert error_text(info.value, "kk").startswith("a.csv файлында kind бағаны жоқ.")
    colons = write_csv(tmp_path / "b.csv", f"lat:lon:kind\n{ALMATY[0]}:{ALMATY[1]}:banner\n")
    with pytest.raises(InputFileError, match="only one column was found") as info:
        import_installations(engine, colons, user=users.almaty)
    assert info.value.code == "import_not_split"
    assert "ұяшықтар бөлінбеді" in error_text(info.value, "kk")
    assert "«,» или «;»" in error_text(info.value, "ru")
    ragged = write_csv(tmp_path / "c.csv", 'lat,lon,kind\n1,2,3\n"4,5\n')
    with pytest.raises(InputFileError, match="could not be read"):
        import_installations(engine, ragged, user=users.almaty)
    binary = tmp_path / "d.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(InputFileError, match="not a text CSV"):
        import_installations(engine, binary, user=users.almaty)
    with pytest.raises(InputFileError, match=r"use a \.csv, \.xlsx or \.geojson"):
        import_installations(engine, write_csv(tmp_path / "e.doc", "x"), user=users.almaty)
    with pytest.raises(InputFileError, match="header but no rows"):
        import_installations(engine, write_csv(tmp_path / "f.csv", "lat,lon,kind\n"),
                             user=users.almaty)  # fmt: skip
    assert table_counts(engine)["installations"] == 0


def test_a_50_mb_file_is_refused_with_a_clear_message(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    big = tmp_path / "huge.csv"
    with big.open("wb") as fh:
        fh.write(b"lat,lon,kind\n")
        fh.truncate(50 * 1024 * 1024)
    with pytest.raises(
        InputFileError, match=r"huge\.csv is 50\.0 MB; imports are limited to 20 MB"
    ):
        import_installations(engine, big, user=users.almaty)


def test_failure_mid_import_leaves_the_database_as_before(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_installations(engine, write_csv(tmp_path / "first.csv", GOOD_CSV), user=users.almaty)

    def snapshot() -> tuple[dict[str, int], list[tuple]]:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM installations ORDER BY id")).all()
        return table_counts(engine), [tuple(r) for r in rows]

    before = snapshot()
    text = "lat,lon,kind,installed_on\n" + "".join(
        f"{43.20 + i * 0.001},{76.85},banner,2025-04-01\n" for i in range(50)
    )

    def explode(*args: object, **kwargs: object) -> None:
        msg = "disk full"
        raise RuntimeError(msg)

    # installations and status rows are already inserted when the audit write fails
    monkeypatch.setattr("nudge.registry._store.record_many", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        import_installations(engine, write_csv(tmp_path / "second.csv", text), user=users.almaty)
    assert snapshot() == before


def test_duplicates_in_the_file_and_against_stored_rows_are_flagged(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    log_installation(engine, user=users.almaty, kind="banner", lat=ALMATY[0], lon=ALMATY[1],
                     installed_on="2025-01-01")  # fmt: skip
    metre = 1 / 111_195
    text = (
        "lat,lon,kind,installed_on\n"
        f"{ALMATY[0] + 5 * metre},{ALMATY[1]},banner,2025-03-01\n"  # near the stored one
        f"{ALMATY_2[0]},{ALMATY_2[1]},banner,2025-03-01\n"
        f"{ALMATY_2[0] + 8 * metre},{ALMATY_2[1]},banner,2025-03-02\n"  # near the row above
        f"{ALMATY_2[0] + 8 * metre},{ALMATY_2[1]},billboard,2025-03-02\n"  # other kind
    )
    result = import_installations(engine, write_csv(tmp_path / "d.csv", text), user=users.almaty)
    assert (result.stored, result.flagged_duplicates) == (4, 2)
    recs = {r.id: r for r in list_installations(engine, ids=result.ids)}
    first, second, third, fourth = (recs[i] for i in result.ids)
    assert first.flags[0].other_installation_id == 1
    assert second.flags == ()
    assert third.flags[0].other_installation_id == second.id
    assert fourth.flags == ()


def test_xlsx_with_excel_dates(engine: Engine, users: Users, tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "Latitude": [ALMATY[0], ALMATY_2[0]],
        "Longitude": [ALMATY[1], ALMATY_2[1]],
        "Type": ["LED screen", "фотовыставка"],
        "Install date": [datetime(2025, 3, 1), datetime(2025, 3, 2)],
        "Illuminated": ["да", "no"],
        "Facing": [90, 270.5],
    })  # fmt: skip
    path = tmp_path / "batch.xlsx"
    frame.to_excel(path, index=False)
    result = import_installations(engine, path, user=users.almaty)
    assert result.errors == []
    recs = list_installations(engine)
    assert [(r.kind, r.installed_on, r.illuminated, r.facing_deg) for r in recs] == [
        ("led_screen", date(2025, 3, 1), True, 90.0),
        ("photo_exhibition", date(2025, 3, 2), False, 270.5),
    ]


def test_geojson_points(engine: Engine, users: Users, tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature",
             "geometry": {"type": "Point", "coordinates": [ALMATY[1], ALMATY[0]]},
             "properties": {"kind": "banner", "installed_on": "2025-03-01"}},
            {"type": "Feature", "geometry": None,
             "properties": {"kind": "banner", "installed_on": "2025-03-01"}},
        ],
    }  # fmt: skip
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = import_installations(engine, path, user=users.almaty)
    assert result.stored == 1
    assert [(p.row, p.message) for p in result.errors] == [
        (2, "The location is missing: give lat and lon, or a site_id.")
    ]


def test_plan_sites_and_installations_that_refer_to_them(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    plan = gpd.GeoDataFrame(
        {"site_id": ["banner/001", "banner/002", "exhibition/003"],
         "kind": ["banner", "banner", "exhibition"], "name": ["Abay Ave", None, "Park"],
         "score": [91.5, 80.0, 75.0], "pick_order": [1, 2, 3], "district": [None] * 3},
        geometry=gpd.points_from_xy([ALMATY[1], ALMATY_2[1], 70.0], [ALMATY[0], ALMATY_2[0], 60.0]),
        crs="EPSG:4326",
    )  # fmt: skip
    path = tmp_path / "almaty_plan.geojson"
    plan.to_file(path, driver="GeoJSON")
    with pytest.raises(AccessDeniedError):
        import_plan(engine, path, user=users.almaty)
    result = import_plan(engine, path, user=users.planner)
    assert (result.stored, [p.row for p in result.errors]) == (2, [3])
    assert import_plan(engine, path, user=users.planner).skipped_existing == 2
    text = "site_id,installed_on\nbanner/002,2025-03-01\nbanner/999,2025-03-01\n"
    imported = import_installations(engine, write_csv(tmp_path / "i.csv", text), user=users.almaty)
    assert imported.stored == 1
    messages = [p.message for p in imported.errors if p.row == 3]
    assert "site_id 'banner/999' is not a planned site; import its plan first." in messages
    rec = list_installations(engine)[0]
    assert (rec.lat, rec.lon, rec.kind) == (*ALMATY_2, "banner")
    assert rec.planned_site_id is not None


def test_themes_can_come_from_the_content_library(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    library = {"proverb-001": ("diligence", "against_idleness"), "proverb-002": ("x",)}
    result = import_installations(
        engine, write_csv(tmp_path / "b.csv", GOOD_CSV.replace(",diligence,", ",,")),
        user=users.almaty, themes_of=lambda cid: library[cid],
    )  # fmt: skip
    themes = [r.themes for r in list_installations(engine, ids=result.ids)]
    # an empty cell is filled from the library; themes given in the file win; unknown ids stay
    assert themes == [("against_idleness", "diligence"), ("learning", "mastery"), ()]


def test_viewer_cannot_import(engine: Engine, users: Users, tmp_path: Path) -> None:
    with pytest.raises(AccessDeniedError, match="may not log or change installations"):
        import_installations(engine, write_csv(tmp_path / "b.csv", GOOD_CSV), user=users.viewer)
    assert table_counts(engine)["import_batches"] == 0


def test_a_larger_batch_and_drilling_into_all_its_ids(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    text = "lat,lon,kind,installed_on\n" + "".join(
        f"{43.20 + (i // 40) * 0.0005:.5f},{76.88 + (i % 40) * 0.0005:.5f},banner,2025-03-01\n"
        for i in range(1_200)
    )
    result = import_installations(engine, write_csv(tmp_path / "big.csv", text), user=users.almaty)
    assert (result.stored, result.errors, result.flagged_duplicates) == (1_200, [], 0)
    records = list_installations(engine, ids=result.ids)
    assert [r.id for r in records] == sorted(result.ids)
    assert len(list_installations(engine, ids=result.ids, limit=10)) == 10


def test_uploaded_content_is_imported_by_its_file_name(engine: Engine, users: Users) -> None:
    content = GOOD_CSV.encode("cp1251")
    result = import_installations(engine, content, user=users.almaty, filename="../up/Лист 1.csv")
    assert result.stored == 3
    assert list_installations(engine)[0].source == "import:Лист 1.csv"
    with pytest.raises(InputFileError, match="Give the file name"):
        import_installations(engine, content, user=users.almaty)
    with pytest.raises(InputFileError, match=r"is 0\.0 MB; imports are limited to 0 MB"):
        import_installations(engine, content, user=users.almaty, filename="b.csv", max_bytes=10)


# ---------------------------------------------------------------- publications in a batch

PUBLICATIONS_CSV = (
    "Тип;Название;Дата;Область;Широта;Долгота;Ссылка;Охват\n"
    "tv;«Еңбек адамы» телебағдарламасы;2025-03-03;;43.2389;76.8897;https://kaztv.kz/a;120000\n"
    "статья;Әулет туралы мақала;04.03.2025;Алматы;;;https://example.kz/b;\n"
    "open_day;Ашық есік күні;2025-03-05;ALA;;;;350\n"
    "zeppelin;Бір нәрсе;2025-03-06;ALA;;;;\n"
    "podcast;Болашақ подкасты;2099-01-01;ALA;;;;\n"
    "podcast;Ескі подкаст;2025-03-07;ALA;;;not a link;\n"
    "podcast;Шетелде;2025-03-08;;10.0;10.0;;\n"
    "news;Астанадағы жаңалық;2025-03-09;AST;;;;\n"
    "news;Қате аймақ;2025-03-10;AST;43.2389;76.8897;;\n"
    "news;Сан емес қамту;2025-03-11;ALA;;;;көп\n"
)


def test_publications_file_is_checked_row_by_row_and_stored(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "публикации.csv", PUBLICATIONS_CSV)
    result = import_publications(engine, path, user=users.almaty)
    assert (result.rows, result.stored, result.skipped_existing) == (10, 3, 0)
    codes = {p.row: p.code for p in result.errors}
    assert codes == {
        5: "publication_kind_unknown", 6: "publication_in_future", 7: "publication_link_invalid",
        8: "point_outside", 9: "row_publication_outside_your_regions",
        10: "publication_region_mismatch",
        11: "row_not_a_number",
    }  # fmt: skip
    by_row = {p.row: p for p in result.errors}
    assert "zeppelin" in problem_text(by_row[5], "kk") and "жарияланым түрі" in problem_text(
        by_row[5], "kk"
    )
    assert problem_text(by_row[9], "ru").startswith("Публикация относится к региону «Астана»")
    pubs = list_publications(engine)
    assert [p.kind for p in pubs] == ["tv_programme", "news_article", "open_day"]
    assert {p.region_code for p in pubs} == {"ALA"}
    assert {p.city for p in pubs} == {"Almaty"}  # from the location, or the city-level region
    assert pubs[0].reach == 120_000 and pubs[0].verified and not pubs[2].verified
    assert pubs[1].published_on == date(2025, 3, 4)
    created = [e for e in audit_entries(engine, table="publications") if e.action == "create"]
    assert sorted(e.record_id for e in created) == sorted(result.ids)
    again = import_publications(engine, path, user=users.almaty)
    assert (again.stored, again.skipped_existing) == (0, 3)  # the same file adds nothing
    assert len(list_publications(engine)) == 3
    table = indicator_table(engine, by=("region",))
    assert table.total["publications"] == 3 and table.total["reach"] == 120_350


def test_publications_from_xlsx_upload_and_admin_everywhere(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    frame = pd.DataFrame({
        "түрі": ["podcast", "contest"], "атауы": ["«Мен профимін» подкасты", "Байқау финалы"],
        "күні": [date(2025, 4, 1), datetime(2025, 4, 2, 18, 0)], "облыс": ["Астана", "Шымкент"],
        "сілтеме": ["https://podcast.kz/1", None],
    })  # fmt: skip
    xlsx = tmp_path / "p.xlsx"
    frame.to_excel(xlsx, index=False)
    result = import_publications(engine, xlsx.read_bytes(), filename="p.xlsx", user=users.admin)
    assert (result.stored, result.errors) == (2, [])
    assert [p.region_code for p in list_publications(engine)] == ["AST", "SHY"]
    assert [p.published_on for p in list_publications(engine)] == [date(2025, 4, 1),
                                                                  date(2025, 4, 2)]  # fmt: skip


def test_publications_file_without_needed_columns_says_which(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "p.csv", "title,date\nA,2025-03-01\n")
    with pytest.raises(
        InputFileError, match=r"no column for kind, region \(or lat and lon\)"
    ) as info:
        import_publications(engine, path, user=users.admin)
    assert info.value.code == "import_columns_missing"
    assert "p.csv файлында" in error_text(info.value, "kk")
    with pytest.raises(AccessDeniedError):
        import_publications(engine, write_csv(tmp_path / "q.csv", PUBLICATIONS_CSV),
                            user=users.viewer)  # fmt: skip
    assert list_publications(engine) == []


def test_failed_publication_import_stores_nothing(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_counts(engine)
    path = write_csv(tmp_path / "p.csv", PUBLICATIONS_CSV)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("nudge.registry.audit.record_many", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        import_publications(engine, path, user=users.admin)
    assert table_counts(engine) == before
