"""Validation of entries: fields, language, lengths per format, duplicates, campaign settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from nudge._errors import InputFileError, ProfileError
from nudge.content.campaign import campaign_from_file, campaign_from_mapping
from nudge.content.schema import item_from_raw
from nudge.content.validation import normalise_text, validate_items
from nudge.i18n import error_text, problem_text


@pytest.fixture
def campaign():
    return campaign_from_file()


def proverb(ident: str, text: str, **extra: object) -> dict[str, object]:
    return {
        "id": ident,
        "kind": "proverb",
        "text_kk": text,
        "themes": "diligence",
        "source": "Test anthology",
        **extra,
    }


def test_clean_batch_has_no_problem(campaign) -> None:
    report = validate_items(
        [proverb("a", "Еңбек түбі – береке."), proverb("b", "Ерінбеген етікші болады.")],
        collection="proverbs",
        campaign=campaign,
    )
    assert report.as_dict() == {"items": 2, "errors": [], "warnings": []}
    assert [i["id"] for i in report.items] == ["a", "b"]
    assert report.items[0]["themes"] == ["diligence"]
    assert report.items[0]["status"] == "active"


def test_all_problems_reported_with_rows_and_good_rows_kept(campaign) -> None:
    rows = [
        proverb("a", "Еңбек түбі – береке."),
        proverb("b", "Еңбек түбі – береке"),  # exact duplicate after normalising
        proverb("c", "Eңбек етсең емерсің"),  # Latin E
        {"id": "d", "kind": "riddle", "text_kk": "Жұмыла көтерген жүк жеңіл.", "themes": "x"},
        proverb("a", "Жұмыла көтерген жүк жеңіл."),  # duplicate id
    ]
    report = validate_items(rows, collection="proverbs", campaign=campaign, rows=[2, 3, 4, 5, 6])
    by_row: dict[int, set[str]] = {}
    for p in report.errors:
        by_row.setdefault(p.row, set()).add(p.column if p.code.startswith("field-") else p.code)
    assert by_row == {
        3: {"duplicate"},
        4: {"latin-lookalike"},
        5: {"kind", "themes", "source"},
        6: {"duplicate-id", "duplicate"},  # same id as row 2, same text as row 5
    }
    assert [i["id"] for i in report.items] == ["a"]
    assert report.rows == [2]


def test_near_duplicate_is_a_warning(campaign) -> None:
    report = validate_items(
        [
            proverb("a", "Еңбек етсең ерінбей, тояды қарның тіленбей."),
            proverb("b", "Еңбек етсең ерінбей, тояды қарнын тіленбей!"),
        ],
        collection="proverbs",
        campaign=campaign,
    )
    assert [p.code for p in report.warnings] == ["near-duplicate"]
    assert report.warnings[0].row == 2
    assert len(report.items) == 2


def test_duplicate_of_stored_entry_is_caught_but_same_id_is_an_update(campaign) -> None:
    stored = [proverb("a", "Еңбек түбі – береке.")]
    report = validate_items(
        [proverb("a", "Еңбек түбі – береке!"), proverb("z", "Еңбек түбі – береке")],
        collection="proverbs",
        campaign=campaign,
        existing=stored,
    )
    assert [(p.row, p.code) for p in report.errors] == [(2, "duplicate")]


def test_russian_required_only_when_campaign_says_so(campaign) -> None:
    entry = proverb("a", "Еңбек түбі – береке.")
    assert validate_items([entry], collection="proverbs", campaign=campaign).errors == []
    bilingual = campaign_from_mapping(
        {
            "language": {"require_russian": True},
            "formats": {"b": {"max_words": 5, "max_chars": 40, "item_kinds": ["proverb"]}},
        }
    )
    errors = validate_items([entry], collection="proverbs", campaign=bilingual).errors
    assert [e.column for e in errors] == ["text_ru"]


def test_russian_text_needs_its_kind_and_kazakh_is_mandatory(campaign) -> None:
    report = validate_items(
        [
            proverb("a", "Еңбек түбі – береке.", text_ru="Труд – основа достатка."),
            proverb("b", "", text_ru="Труд кормит.", text_ru_kind="translation"),
        ],
        collection="proverbs",
        campaign=campaign,
    )
    assert {(p.row, p.column) for p in report.errors} == {(1, "text_ru_kind"), (2, "text_kk")}


def test_too_long_for_banner_is_a_warning_and_for_every_format_an_error(campaign) -> None:
    long_line = "Еңбек " * 12  # 12 words: too long for a 6x3 banner, fine on a city-light
    very_long = "Еңбек " * 30
    report = validate_items(
        [proverb("a", long_line.strip()), proverb("b", very_long.strip())],
        collection="proverbs",
        campaign=campaign,
    )
    warn = next(p for p in report.warnings if p.code == "too-long-for-format")
    assert warn.row == 1
    assert "banner_6x3" in warn.message
    assert "12 words" in warn.message
    assert warn.params == {
        "field": "text_kk",
        "words": 12,
        "chars": 71,
        "format": "banner_6x3",
        "max_words": 8,
        "max_chars": 60,
        "fitting": "citylight",
    }
    err = next(p for p in report.errors if p.code == "too-long")
    assert err.row == 2
    assert "shorten" in err.message
    assert "сократите" in problem_text(err, "ru")
    assert "қысқартыңыз" in problem_text(err, "kk")


def test_quote_needs_author_and_example_people_must_say_so(campaign) -> None:
    quote = proverb("q", "Еңбек түбі – береке.", kind="quote")
    dynasty = {
        "id": "d1",
        "family_name": "Қиялбековтар",
        "field": "railway",
        "region": "Almaty",
        "generations": "3",
        "story_kk": "Үш буын теміржолда еңбек етті.",
        "is_example": "yes",
        "consent": "yes",
    }
    report = validate_items([quote], collection="proverbs", campaign=campaign)
    assert [p.column for p in report.errors] == ["author"]
    report = validate_items([dynasty], collection="dynasties", campaign=campaign)
    assert [p.column for p in report.errors] == ["family_name"]
    dynasty["family_name"] = "Example family Қиялбековтар"  # қиял: imagined
    assert validate_items([dynasty], collection="dynasties", campaign=campaign).errors == []


def test_people_without_consent_get_a_warning(campaign) -> None:
    winner = {
        "id": "w1",
        "name": "Example winner",
        "profession": "welder",
        "region": "Almaty",
        "year": 2023,
        "quote_kk": "Еңбек түбі – береке.",
        "is_example": True,
    }
    report = validate_items([winner], collection="winners", campaign=campaign)
    assert report.errors == []
    assert [p.column for p in report.warnings] == ["consent"]
    assert report.items[0]["consent"] is False


def test_schema_parses_spreadsheet_strings() -> None:
    item, problems = item_from_raw(
        "dynasties",
        {
            "id": 7.0,
            "family_name": "Example",
            "field": "rail",
            "region": "Almaty",
            "generations": "3",
            "total_years": "120.0",
            "story_kk": "Әулет",
            "members": "Асқар|машинист|1960-1995; Ерлан|инженер|1990-",
            "photos": "a.jpg;b.jpg",
            "consent": "иә",
            "is_example": "да",
        },
    )
    assert problems == []
    assert item["id"] == "7"
    assert item["generations"] == 3
    assert item["total_years"] == 120
    assert item["members"][1] == {"name": "Ерлан", "role": "инженер", "years": "1990-"}
    assert item["photos"] == ["a.jpg", "b.jpg"]
    assert item["consent"] is True


def test_schema_reports_bad_values() -> None:
    _, problems = item_from_raw(
        "winners",
        {
            "id": "bad id",
            "name": "N",
            "profession": "p",
            "region": "r",
            "year": "soon",
            "consent": "maybe",
        },
    )
    assert {p.column for p in problems if p.severity == "error"} == {"id", "year", "consent"}


def test_normalise_text() -> None:
    assert normalise_text("  Eңбек, ТҮБІ – берёке! ") == "еңбек түбі береке"


def test_campaign_user_file_overrides_defaults(tmp_path: Path) -> None:
    user = tmp_path / "campaign.toml"
    user.write_text("[language]\nrequire_russian = true\n[formats.banner_6x3]\nmax_words = 5\n")
    settings = campaign_from_file(user)
    assert settings.require_russian is True
    assert settings.formats["banner_6x3"].max_words == 5
    assert settings.formats["banner_6x3"].max_chars == 60
    assert settings.format_for_site_kind("banner").key == "banner_6x3"
    assert settings.format_for_site_kind("exhibition").key == "exhibition_caption"


def test_campaign_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        campaign_from_file(tmp_path / "missing.toml")
    with pytest.raises(ProfileError, match="needs whole max_words"):
        campaign_from_mapping({"formats": {"x": {"max_chars": 3}}})


def test_problems_are_said_in_the_designers_language(campaign) -> None:
    rows = [
        {
            "id": "d",
            "kind": "riddle",
            "text_kk": "Жұмыла көтерген жүк жеңіл.",
            "themes": "diligence",
            "source": "s",
        },
        proverb("a", "Еңбек түбі – береке."),
        proverb("b", "Еңбек түбі – береке!"),
        proverb("c", "", text_ru="Труд кормит.", text_ru_kind="translation"),
    ]
    report = validate_items(rows, collection="proverbs", campaign=campaign)
    by_code = {p.code: p for p in report.problems}
    choice = by_code["field-choice"]
    assert choice.params == {
        "field": "kind",
        "value": "riddle",
        "allowed": "proverb, saying, quote",
    }
    assert problem_text(choice, "kk") == (
        "kind өрісінің «riddle» мәні рұқсат етілген мәндердің қатарында жоқ: "
        "proverb, saying, quote."
    )
    assert problem_text(by_code["duplicate"], "kk") == "Мәтін a жазбасының мәтінімен бірдей."
    assert problem_text(by_code["duplicate"], "ru") == "Тот же текст, что у записи a."
    assert problem_text(by_code["kazakh-required"], "kk") == "Қазақша мәтін міндетті."
    assert problem_text(by_code["kazakh-required"], "en") == "The Kazakh text is mandatory."
    bilingual = campaign_from_mapping(
        {
            "language": {"require_russian": True},
            "formats": {"b": {"max_words": 5, "max_chars": 40, "item_kinds": ["proverb"]}},
        }
    )
    (need_ru,) = validate_items([rows[1]], collection="proverbs", campaign=bilingual).errors
    assert need_ru.code == "russian-required"
    assert problem_text(need_ru, "ru") == "В этой кампании нужен и текст на русском."


def test_campaign_errors_carry_their_code() -> None:
    with pytest.raises(ProfileError) as info:
        campaign_from_mapping(
            {"formats": {"x": {"max_chars": 3}}, "duplicates": {"near_threshold": 2}}
        )
    assert info.value.code == "content_campaign_invalid"
    assert info.value.params == {"where": "formats.x, duplicates.near_threshold, formats"}
    assert "Науқан баптаулары дұрыс емес (formats.x" in error_text(info.value, "kk")


def test_a_spaced_dash_is_not_a_word() -> None:
    from nudge.content.validation import text_length

    words, chars = text_length("Ата көрген – оқ жонар, ана көрген – тон пішер.")
    assert words == 8  # kk-0085: 8 words, not 10
    assert chars == len("Ата көрген – оқ жонар, ана көрген – тон пішер.")


def test_library_corrections_from_the_kazakh_and_russian_read() -> None:
    from pathlib import Path

    from nudge.content import load_library

    library = load_library(folder=Path("/nonexistent") / "content")
    text = {str(i["id"]): i for _, i in library.iter_items()}
    assert text["kk-0008"]["text_kk"] == "Күшің барда істе, тісің барда тісте!"
    assert text["kk-0037"]["text_kk"] == "Кәсібі бардың нәсібі бар."
    assert "сообща" in text["kk-0062"]["text_ru"]  # a decision taken together is easy to bear
    assert "пролит" not in text["kk-0052"]["text_ru"]  # watered, not spilled
    assert text["kk-0081"].get("status") == "retired"  # off banners until checked in print
