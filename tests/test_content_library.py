"""The stored library: seeding, saving, editing, import and export."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
import yaml

from nudge._errors import BatchValidationError, InputFileError, RecordError
from nudge.content import campaign_from_file, export_items, import_items, load_library
from nudge.content.library import ContentLibrary, library_dir, shipped_data_path
from nudge.content.schema import FIELDS, THEMES
from nudge.content.validation import validate_items
from nudge.db.content import StaleVersionError
from nudge.i18n import error_text, problem_text


@pytest.fixture
def campaign():
    return campaign_from_file()


TEST_PROVERB = {
    "id": "t-1",
    "kind": "proverb",
    "text_kk": "Тест мәтіні еңбек.",
    "themes": ["diligence"],
    "source": "Test",
}


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


PROVERB_HEADER = ["id", "kind", "text_kk", "text_ru", "text_ru_kind", "themes", "source"]


def test_first_load_seeds_the_database_and_changes_are_stored_at_once(settings) -> None:
    library = load_library(settings)
    assert not library_dir(settings).exists()  # the library lives in the database, not in files
    assert len(library.proverbs) >= 80
    assert library.dynasties == []
    assert library.winners == []
    assert library.version(library.proverbs[0]["id"]) == 1
    library.put(
        "proverbs",
        TEST_PROVERB,
        campaign=campaign_from_file(),
        by="designer",
    )
    assert library.version("t-1") == 1
    library.retire("t-1", by="designer")
    assert library.version("t-1") == 2
    again = load_library(settings)
    assert again.get("t-1")[1]["status"] == "retired"
    assert again.version("t-1") == 2
    again.restore("t-1")
    assert again.get("t-1")[1]["status"] == "active"
    assert load_library(settings).get("t-1")[1]["status"] == "active"


def test_a_folder_library_round_trips_through_yaml(tmp_path) -> None:
    folder = tmp_path / "content"
    library = load_library(folder=folder)
    assert sorted(p.name for p in folder.glob("*.yaml")) == [
        "dynasties.yaml",
        "proverbs.yaml",
        "winners.yaml",
    ]
    library.put(
        "proverbs",
        TEST_PROVERB,
        campaign=campaign_from_file(),
    )
    library.retire("t-1")
    library.save()
    assert not list(folder.glob(".*"))  # no temporary file left behind
    assert load_library(folder=folder).get("t-1")[1]["status"] == "retired"


def test_put_rejects_bad_entry_and_foreign_id(settings, campaign) -> None:
    library = ContentLibrary()
    with pytest.raises(BatchValidationError, match="text_kk is required"):
        library.put(
            "proverbs",
            {"id": "x", "kind": "proverb", "themes": "diligence", "source": "s"},
            campaign=campaign,
        )
    library.put(
        "winners",
        {
            "id": "x",
            "name": "Example winner",
            "profession": "welder",
            "region": "Almaty",
            "year": 2024,
            "is_example": True,
        },
        campaign=campaign,
    )
    with pytest.raises(RecordError, match="already used in the collection winners"):
        entry = {
            "id": "x",
            "kind": "proverb",
            "text_kk": "Еңбек түбі.",
            "themes": "diligence",
            "source": "s",
        }
        library.put("proverbs", entry, campaign=campaign)
    with pytest.raises(RecordError, match="no content entry with the id nope"):
        library.get("nope")
    with pytest.raises(RecordError, match="no folder"):
        library.save()


def test_csv_import_reports_every_problem_and_keeps_good_rows(tmp_path, campaign) -> None:
    path = write_csv(
        tmp_path / "batch.csv",
        PROVERB_HEADER,
        [
            ["n1", "proverb", "Еңбек түбі – береке.", "", "", "diligence", "Test"],
            ["n2", "proverb", "Eңбек етсең емерсің", "", "", "diligence", "Test"],
            ["n3", "proverb", "Терпение и труд всё перетрут", "", "", "diligence", "Test"],
            ["n4", "saying", "Шебер қол шет қалмайды.", "", "", "mastery;bogus", ""],
            [
                "n5",
                "proverb",
                "Жұмыла көтерген жүк жеңіл.",
                "Дружно – не грузно.",
                "equivalent",
                "cooperation",
                "Test",
            ],
        ],
    )
    library = ContentLibrary()
    report = import_items(library, path, campaign=campaign)
    assert report.collection == "proverbs"
    assert report.added == ["n1", "n3", "n5"]
    assert report.rejected == 2
    summary = report.as_dict()
    assert {e["row"] for e in summary["errors"]} == {3, 5}
    assert {(e["row"], e["column"]) for e in summary["errors"]} >= {(5, "themes"), (5, "source")}
    assert [w["row"] for w in summary["warnings"]] == [4]
    assert library.get("n5")[1]["text_ru_kind"] == "equivalent"


def test_import_of_only_bad_rows_raises_with_all_problems(tmp_path, campaign) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        PROVERB_HEADER,
        [
            ["b1", "proverb", "", "", "", "diligence", "Test"],
            ["b2", "proverb", "Еңбек.", "", "", "nope", "Test"],
        ],
    )
    with pytest.raises(BatchValidationError, match=r"2 problem\(s\)") as info:
        import_items(ContentLibrary(), path, campaign=campaign)
    assert [p.row for p in info.value.problems] == [2, 3]


def test_xlsx_import_of_winners_and_update(tmp_path, campaign) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(FIELDS["winners"][:10]))
    sheet.append(
        [
            "w1",
            "Example winner A",
            "welder",
            "Almaty",
            2023,
            "Еңбек түбі – береке.",
            None,
            "a.jpg",
            "yes",
            "yes",
        ]
    )
    sheet.append(
        ["w2", "Example winner B", "baker", "Almaty", "next", None, None, None, "no", "yes"]
    )
    path = tmp_path / "winners.xlsx"
    book.save(path)
    library = ContentLibrary()
    report = import_items(library, path, campaign=campaign)
    assert report.collection == "winners"
    assert report.added == ["w1"]
    assert [(e["row"], e["column"]) for e in report.as_dict()["errors"]] == [(3, "year")]
    sheet.cell(row=2, column=3, value="electric welder")
    book.save(path)
    report = import_items(library, path, campaign=campaign)
    assert report.updated == ["w1"]
    assert library.get("w1")[1]["profession"] == "electric welder"


def test_yaml_import_of_dynasties_with_members(tmp_path, campaign) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        yaml.safe_dump(
            [
                {
                    "id": "d1",
                    "family_name": "Example family",
                    "field": "railway",
                    "industry": "transport",
                    "region": "Almaty",
                    "city": "Almaty",
                    "generations": 3,
                    "total_years": 110,
                    "members": [{"name": "A", "role": "driver", "years": "1960-1990"}],
                    "story_kk": "Үш буын теміржолда еңбек етті.",
                    "photos": ["p.jpg"],
                    "consent": True,
                    "is_example": True,
                }
            ],
            allow_unicode=True,
        )
    )
    library = ContentLibrary()
    report = import_items(library, path, campaign=campaign)
    assert report.added == ["d1"]
    assert library.dynasties[0]["members"][0]["role"] == "driver"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".yaml"])
def test_export_then_import_round_trips(tmp_path, campaign, suffix) -> None:
    library = ContentLibrary()
    library.put(
        "dynasties",
        {
            "id": "d1",
            "family_name": "Example family",
            "field": "railway",
            "region": "Almaty",
            "generations": 3,
            "members": "A|driver|1960-1990;B|engineer|1990-",
            "story_kk": "Үш буын теміржолда еңбек етті.",
            "photos": "p1.jpg;p2.jpg",
            "consent": True,
            "is_example": True,
        },
        campaign=campaign,
    )
    path = tmp_path / f"out{suffix}"
    assert export_items(library, path, collection="dynasties") == 1
    again = ContentLibrary()
    import_items(again, path, campaign=campaign, collection="dynasties")
    assert again.dynasties == library.dynasties


def test_unknown_files_are_input_errors(tmp_path, campaign) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        import_items(ContentLibrary(), tmp_path / "none.csv", campaign=campaign)
    odd = tmp_path / "x.txt"
    odd.write_text("a")
    with pytest.raises(InputFileError, match=r"\.xlsx"):
        import_items(ContentLibrary(), odd, campaign=campaign)
    unknown = write_csv(tmp_path / "misc.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(InputFileError, match="Cannot tell which collection"):
        import_items(ContentLibrary(), unknown, campaign=campaign)


def test_frame_lists_every_entry(campaign) -> None:
    library = ContentLibrary()
    library.put(
        "winners",
        {
            "id": "w",
            "name": "Example W",
            "profession": "Welder",
            "region": "Almaty",
            "year": 2024,
            "is_example": True,
            "quote_kk": "Еңбек түбі – береке.",
        },
        campaign=campaign,
    )
    frame = library.frame()
    row = frame.iloc[0]
    assert row["kind"] == "winner"
    assert row["themes"] == ("mastery", "reward-of-work")
    assert row["words"] == 3  # a spaced dash is not a word
    assert row["field_text"] == "welder"
    assert not row["consent"]


def test_shipped_library_loads_and_validates(settings, campaign) -> None:
    path = shipped_data_path("proverbs.yaml")
    if not path.is_file():
        pytest.skip("the shipped proverb library has not landed yet")
    library = load_library(settings)
    assert len(library.proverbs) >= 80
    report = validate_items(library.proverbs, collection="proverbs", campaign=campaign)
    assert report.errors == [], [e.message for e in report.errors][:5]
    assert len({p["id"] for p in library.proverbs}) == len(library.proverbs)
    used = {t for p in library.proverbs for t in p["themes"]}
    assert used <= set(THEMES)
    assert {"diligence", "mastery", "learning", "against-idleness"} <= used
    assert all(p.get("source") for p in library.proverbs)


@pytest.mark.parametrize(
    ("name", "collection"),
    [("dynasties_template.csv", "dynasties"), ("winners_template.csv", "winners")],
)
def test_shipped_templates_import(tmp_path, campaign, name, collection) -> None:
    path = shipped_data_path(name)
    if not path.is_file():
        pytest.skip(f"{name} has not landed yet")
    library = ContentLibrary()
    report = import_items(library, path, campaign=campaign)
    assert report.collection == collection
    assert report.validation.errors == []
    for entry in library.entries(collection):
        assert entry["is_example"] is True


def test_library_errors_and_import_problems_speak_the_users_language(tmp_path, campaign) -> None:
    library = ContentLibrary()
    with pytest.raises(RecordError) as info:
        library.get("nope")
    assert (info.value.code, info.value.params) == ("content_entry_missing", {"id": "nope"})
    assert error_text(info.value, "kk") == (
        "nope белгісі бар жазба жоқ; белгіні кітапханадан тексеріңіз."
    )
    path = write_csv(
        tmp_path / "bad.csv",
        PROVERB_HEADER,
        [
            ["b1", "proverb", "", "", "", "diligence", "Test"],
            ["b2", "proverb", "Еңбек.", "", "", "nope", "Test"],
        ],
    )
    with pytest.raises(BatchValidationError) as batch:
        import_items(library, path, campaign=campaign)
    first, second = batch.value.problems
    assert (first.code, first.params) == ("field-required", {"field": "text_kk"})
    assert problem_text(first, "kk") == "text_kk өрісі міндетті, бірақ толтырылмаған."
    assert second.code == "field-themes" and second.params["themes"] == "nope"
    assert problem_text(second, "ru").startswith("Неизвестные темы: nope;")
    unknown = write_csv(tmp_path / "misc.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(InputFileError) as wrong:
        import_items(library, unknown, campaign=campaign)
    assert wrong.value.params == {"file": "misc.csv", "columns": "a, b"}
    assert "misc.csv файлының қай жинаққа жататынын" in error_text(wrong.value, "kk")


@pytest.mark.parametrize("query", ["Абай", "Құнанбайұлы", "Abai", "abay"])
def test_search_finds_abais_quotations_by_author_in_any_script(query: str, tmp_path: Path) -> None:
    from nudge.content.search import search_ids

    library = load_library(folder=tmp_path / "content")
    abai = {
        str(item["id"])
        for _, item in library.iter_items()
        if "Абай" in str(item.get("author") or "")
    }
    assert len(abai) == 5
    assert abai <= search_ids(library, query)
    assert search_ids(library, "Қара сөздер") & abai  # by the source's title
    assert search_ids(library, "") == {str(i["id"]) for _, i in library.iter_items()}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".yaml"])
def test_an_unchanged_export_imports_back_as_unchanged(settings, tmp_path, suffix) -> None:
    library = load_library(settings)
    path = tmp_path / f"proverbs{suffix}"
    n = export_items(library, path, collection="proverbs")
    before = {p["id"]: library.version(p["id"]) for p in library.proverbs}
    report = import_items(library, path, campaign=campaign_from_file(), by="designer")
    assert (report.added, report.updated, len(report.unchanged)) == ([], [], n)
    assert report.as_dict()["unchanged"] == n
    again = load_library(settings)
    assert {p["id"]: again.version(p["id"]) for p in again.proverbs} == before  # not saved
    first = library.proverbs[0]
    library.put("proverbs", {**first, "source": "Edited source"}, campaign=campaign_from_file())
    report = import_items(load_library(settings), path, campaign=campaign_from_file())
    assert (report.updated, len(report.unchanged)) == ([first["id"]], n - 1)  # the file's source


def test_an_unchanged_entry_changed_meanwhile_by_someone_else_is_refused(
    settings, tmp_path
) -> None:
    mine = load_library(settings)
    path = tmp_path / "proverbs.csv"
    export_items(mine, path, collection="proverbs")
    first = mine.proverbs[0]["id"]
    load_library(settings).retire(first, by="other")  # after I loaded the library
    with pytest.raises(StaleVersionError):
        import_items(mine, path, campaign=campaign_from_file(), by="designer")
    again = load_library(settings)
    assert again.get(first)[1]["status"] == "retired"  # the other change is kept
    assert again.version(first) == 2
