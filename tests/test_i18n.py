"""Interface texts: every key in every language, same placeholders, correct Kazakh Cyrillic."""

from __future__ import annotations

import re

import pytest

from nudge._errors import AccessDeniedError, InfeasibleError, NudgeError, RecordError
from nudge.content.language import KAZAKH_LETTERS, check_kazakh, check_russian
from nudge.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    error_key,
    load_messages,
    missing_keys,
    placeholders,
    translator,
)

# Loanwords the orthography checker mistakes for Kazakh words written without their letters
# ("карта", a map, is not "қарт", old).
LOANWORDS = ("карта",)


def test_every_language_has_every_key() -> None:
    assert missing_keys() == {key: [] for key in LANGUAGES}
    assert len(load_messages("kk")) > 300


def test_placeholders_are_the_same_in_every_language() -> None:
    en = load_messages("en")
    for lang in ("kk", "ru"):
        other = load_messages(lang)
        wrong = [k for k in en if placeholders(en[k]) != placeholders(other[k])]
        assert wrong == [], lang


def test_no_text_is_left_empty_or_untranslated() -> None:
    en, kk, ru = (load_messages(lang) for lang in ("en", "kk", "ru"))
    assert [k for k, v in kk.items() if not v.strip()] == []
    same = [k for k in en if en[k] == kk[k] and re.search(r"[a-z]{4}", en[k].lower())]
    assert set(same) <= {"app.title"}
    assert [k for k in en if en[k] == ru[k] and re.search(r"[a-z]{4}", en[k])] == ["app.title"]


def _kazakh_problems(text: str) -> list[str]:
    out = []
    for issue in check_kazakh(text):
        if issue.code == "typography":
            continue
        word = re.match(r"'([^']+)'", issue.message)
        if (
            issue.code == "missing-kazakh-letter"
            and word
            and word.group(1).lower().startswith(LOANWORDS)
        ):
            continue
        out.append(issue.message)
    return out


def test_kazakh_texts_are_correct_kazakh_cyrillic() -> None:
    kk = load_messages("kk")
    problems = {k: p for k, v in kk.items() if (p := _kazakh_problems(v))}
    assert problems == {}
    long_texts = [v for v in kk.values() if len(re.findall(r"[а-яәғқңөұүһі]{3,}", v.lower())) >= 3]
    with_letters = [v for v in long_texts if set(v) & KAZAKH_LETTERS]
    assert len(with_letters) / len(long_texts) > 0.9


def test_kazakh_checker_would_catch_a_degraded_text() -> None:
    assert _kazakh_problems("Енбек - елдин мураты")  # the helper is not blind
    assert _kazakh_problems("Eңбек")  # a Latin E


def test_russian_texts_have_no_script_mixups() -> None:
    ru = load_messages("ru")
    bad = {k: [i.message for i in check_russian(v) if i.severity == "error"] for k, v in ru.items()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_translator_fills_placeholders_and_falls_back() -> None:
    t = translator("ru")
    assert t("plan.only", plan="A") == "Только в плане A"
    assert t("plan.only") == "Только в плане {plan}"  # missing values stay visible
    assert t("no.such.key") == "no.such.key"
    assert translator(None).lang == DEFAULT_LANGUAGE == "kk"
    assert translator("de").lang == "kk"
    assert t.has("nav.data") and not t.has("nav.nothing")


def test_load_messages_refuses_unknown_language() -> None:
    with pytest.raises(ValueError, match="Unknown language 'de'"):
        load_messages("de")


class _NewKindError(InfeasibleError):
    pass


@pytest.mark.parametrize(
    ("exc", "key"),
    [
        (AccessDeniedError("x"), "errors.AccessDeniedError"),
        (RecordError("x"), "errors.RecordError"),
        (_NewKindError("x"), "errors.InfeasibleError"),  # a subclass gets its parent's headline
        (NudgeError("x"), "errors.NudgeError"),
        (KeyError("x"), "errors.NudgeError"),
    ],
)
def test_error_headlines_in_every_language(exc: BaseException, key: str) -> None:
    assert error_key(exc) == key
    assert translator("kk")(key) != translator("en")(key) != key
