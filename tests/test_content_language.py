"""Kazakh and Russian text checks catch planted mistakes and pass clean text."""

from __future__ import annotations

import pytest

from nudge.content.language import (
    check_kazakh,
    check_russian,
    fix_lookalikes,
    has_kazakh_letters,
    russian_forms,
)
from nudge.i18n import problem_text


def codes(issues: list) -> set[str]:
    return {i.code for i in issues}


@pytest.mark.parametrize(
    "text",
    [
        "Еңбек етсең – емерсің.",
        "Ерінбеген етікші болады.",
        "Оқу – инемен құдық қазғандай.",
        "Жұмыла көтерген жүк жеңіл.",
    ],
)
def test_clean_kazakh_has_no_issue(text: str) -> None:
    assert check_kazakh(text) == []


def test_latin_lookalike_in_cyrillic_word_is_an_error_with_fix() -> None:
    planted = "Eңбек түбі – береке"  # Latin E
    issues = check_kazakh(planted)
    assert "latin-lookalike" in codes(issues)
    error = next(i for i in issues if i.code == "latin-lookalike")
    assert error.severity == "error"
    assert "'Еңбек'" in error.message
    assert fix_lookalikes(planted) == "Еңбек түбі – береке"


def test_latin_i_for_kazakh_i_is_caught_and_fixed() -> None:
    planted = "Бiлiм – өмір шырағы"  # Latin i for і
    assert "latin-lookalike" in codes(check_kazakh(planted))
    assert fix_lookalikes(planted) == "Білім – өмір шырағы"
    assert check_kazakh(fix_lookalikes(planted)) == []


def test_latin_words_are_not_touched() -> None:
    assert fix_lookalikes("Enbek – еңбек") == "Enbek – еңбек"
    assert "latin-lookalike" not in codes(check_kazakh("Enbek – еңбек"))


@pytest.mark.parametrize(
    ("planted", "letter"), [("Ғылым жолы ұзақ, əке", "ə"), ("Еңбек ґылым", "ґ")]
)
def test_letters_of_other_alphabets_are_errors(planted: str, letter: str) -> None:
    issues = check_kazakh(planted)
    foreign = next(i for i in issues if i.code == "foreign-letter")
    assert foreign.severity == "error"
    assert letter in foreign.message


def test_russian_pasted_into_kazakh_field_is_a_warning() -> None:
    issues = check_kazakh("Терпение и труд всё перетрут.")
    warning = next(i for i in issues if i.code == "not-kazakh")
    assert warning.severity == "warning"
    assert "труд" in warning.message


def test_kazakh_without_kazakh_letters_but_no_russian_forms_is_not_flagged_as_russian() -> None:
    # "Бала" and "ата" are Kazakh words with no Kazakh-specific letters
    assert "not-kazakh" not in codes(check_kazakh("Бала ата жолын қуады"))
    assert "not-kazakh" not in codes(check_kazakh("Бала ата жолын"))


def test_kazakh_word_typed_with_russian_letters_is_caught() -> None:
    issues = check_kazakh("Енбек етсен ерінбей, тояды қарның тіленбей.")
    hit = next(i for i in issues if i.code == "missing-kazakh-letter")
    assert "'Енбек' looks like еңбек" in hit.message


def test_inflected_degraded_word_is_caught_by_stem() -> None:
    issues = check_kazakh("Жумысшы халық")
    assert "missing-kazakh-letter" in codes(issues)


def test_typography_warnings() -> None:
    issues = check_kazakh(' еңбек - "береке"  ')
    typo = next(i for i in issues if i.code == "typography")
    fixes = ("' - ' → ' – '", '"…" → «…»', "'  ' → ' '", "' … ' → '…'", "'е' → 'Е'")
    assert typo.message == "Typography: replace " + "; ".join(fixes) + "."


def test_russian_checks() -> None:
    assert check_russian("Терпение и труд всё перетрут.") == []
    assert "kazakh-in-russian" in codes(check_russian("Еңбек – елдің мұраты"))
    assert "latin-lookalike" in codes(check_russian("Tруд кормит"))


def test_helpers() -> None:
    assert has_kazakh_letters("еңбек")
    assert not has_kazakh_letters("труд")
    assert set(russian_forms("Труд и терпение")) == {"труд", "и", "терпение"}


def test_issues_carry_their_code_and_params_for_the_users_language() -> None:
    lookalike = next(i for i in check_kazakh("Eңбек етсең") if i.code == "latin-lookalike")
    assert lookalike.params == {"words": "'Eңбек' -> 'Еңбек'"}
    assert problem_text(lookalike, "kk") == (
        "Кирилл сөздерінің ішінде латын әріптері бар: 'Eңбек' -> 'Еңбек'; "
        "оларды кириллицамен қайта теріңіз."
    )
    assert "латинские буквы" in problem_text(lookalike, "ru").lower()
    missing = next(i for i in check_kazakh("Енбек түбі") if i.code == "missing-kazakh-letter")
    assert missing.params == {"word": "Енбек", "right": "еңбек"}
    assert problem_text(missing, "kk") == (
        "«Енбек» сөзі қазақ әріптерінсіз жазылған еңбек сөзіне ұқсайды."
    )
    typo = next(i for i in check_kazakh('еңбек - "береке"') if i.code == "typography")
    assert typo.params == {"fixes": "' - ' → ' – '; \"…\" → «…»; 'е' → 'Е'"}
    assert problem_text(typo, "ru").startswith("Типографика: замените ' - ' → ' – '")
    kazakh = next(i for i in check_russian("Еңбек – елдің мұраты") if i.code == "kazakh-in-russian")
    assert "казахские буквы (і ң ұ)" in problem_text(kazakh, "ru")
