"""Interface texts: every key in every language, same placeholders, correct Kazakh Cyrillic."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import pytest

import nudge
from nudge._errors import (
    AccessDeniedError,
    BatchValidationError,
    InfeasibleError,
    NudgeError,
    RecordError,
    RowProblem,
)
from nudge.content.language import KAZAKH_LETTERS, check_kazakh, check_russian
from nudge.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    detail_text,
    error_key,
    error_text,
    fill_detail,
    load_details,
    load_messages,
    missing_keys,
    placeholders,
    problem_text,
    region_name,
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


# --- The details catalogue: error and row-problem messages in the user's language ---

PACKAGE = Path(nudge.__file__).parent


def _coded_calls() -> list[tuple[str, str, set[str] | None]]:
    """Return (where, code, parameter names or None when not literal) of every coded call.

    A call is coded when it passes ``code="..."``; its parameters are its other
    keywords, or the keys of a literal ``params={...}`` dict.
    """
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            code = kw.get("code")
            if not (isinstance(code, ast.Constant) and isinstance(code.value, str)):
                continue
            names: set[str] | None = {k for k in kw if k not in {"code", "params", None}}
            if None in kw:  # **mapping: names unknown
                names = None
            params = kw.get("params")
            if isinstance(params, ast.Dict):
                keys = params.keys
                if all(isinstance(k, ast.Constant) for k in keys):
                    assert names is not None
                    names |= {str(k.value) for k in keys if isinstance(k, ast.Constant)}
                else:
                    names = None
            elif params is not None:
                names = None
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            found.append((where, code.value, names))
    return found


def test_details_catalogue_is_complete_in_every_language() -> None:
    details = load_details()
    assert "batch_problems" in details
    for code, texts in details.items():
        assert set(texts) == set(LANGUAGES), code
        assert all(t.strip() for t in texts.values()), code
        assert (
            placeholders(texts["kk"]) == placeholders(texts["en"]) == placeholders(texts["ru"])
        ), code
        assert _kazakh_problems(texts["kk"]) == [], (code, texts["kk"])
        assert [i.message for i in check_russian(texts["ru"]) if i.severity == "error"] == [], code


def test_every_coded_message_has_its_texts_and_placeholders() -> None:
    details = load_details()
    missing, wrong = [], []
    for where, code, names in _coded_calls():
        if code not in details:
            missing.append(f"{where} {code}")
        elif names is not None and placeholders(details[code]["en"]) - names:
            wrong.append(f"{where} {code}: lacks {placeholders(details[code]['en']) - names}")
    assert missing == []
    assert wrong == []


def test_every_catalogue_code_is_used() -> None:
    used = {code for _, code, _ in _coded_calls()} | {"batch_problems"}
    assert sorted(set(load_details()) - used) == []


def test_error_text_speaks_the_users_language_and_falls_back() -> None:
    exc = BatchValidationError([RowProblem(2, "bad"), RowProblem(3, "worse")])
    assert error_text(exc, "en").startswith("2 row(s)")
    assert "жолда" in error_text(exc, "kk")
    assert "строк" in error_text(exc, "ru")
    plain = RecordError("Plain English.")
    assert error_text(plain, "kk") == "Plain English."
    unknown = RecordError("English.", code="no-such-code")
    assert error_text(unknown, "ru") == "English."
    short = BatchValidationError([RowProblem(2, "bad")])
    short.params.clear()  # a missing placeholder value never shows a broken text
    assert error_text(short, "kk") == str(short)
    assert detail_text("kk", None, {}, "fallback") == "fallback"
    assert problem_text(RowProblem(4, "Fallback."), "kk") == "Fallback."


def test_coded_errors_survive_pickling() -> None:
    exc = RecordError("English.", code="batch_problems", n=3)
    again = pickle.loads(pickle.dumps(exc))
    assert (type(again), str(again), again.code, again.params) == (
        RecordError,
        "English.",
        "batch_problems",
        {"n": 3},
    )
    batch = pickle.loads(pickle.dumps(BatchValidationError([RowProblem(2, "bad")], what="file")))
    assert batch.problems == [RowProblem(2, "bad")] and "file" in str(batch)


def test_an_error_with_several_reasons_says_each_or_falls_back_whole() -> None:
    both = (("batch_problems", {"n": 2}), ("batch_problems", {"n": 5}))
    exc = InfeasibleError("English whole.", code="batch_problems", n=2, reasons=both)
    assert error_text(exc, "kk") == (
        "2 жолда қате бар; төмендегі кестеде әрқайсысы жол нөмірімен көрсетілген. "
        "5 жолда қате бар; төмендегі кестеде әрқайсысы жол нөмірімен көрсетілген."
    )
    half = (("batch_problems", {"n": 2}), ("no-such-code", {}))
    exc = InfeasibleError("English whole.", code="batch_problems", n=2, reasons=half)
    assert error_text(exc, "kk") == error_text(BatchValidationError([RowProblem(1, "a")] * 2), "kk")


def test_codes_in_a_detail_text_are_named_in_the_users_language() -> None:
    values = {"role": "planner", "old": "installed", "regions": "ALA, AST", "n": 1234.5}
    template = "{role:roles} | {old:statuses} | {regions:region} | {n:,.1f}"
    assert (
        fill_detail(template, values, "kk") == "жоспарлаушы | орнатылған | Алматы, Астана | 1,234.5"
    )
    assert (
        fill_detail(template, values, "ru")
        == "планировщик | установлена | Алматы, Астана | 1,234.5"
    )
    assert (
        fill_detail("{role:roles} {old:statuses}", {"role": "ghost", "old": "x"}, "en") == "ghost x"
    )
    assert region_name("ALA", "en") == "Almaty" and region_name("XX", "kk") == "XX"
    with pytest.raises(ValueError, match="Invalid format specifier"):
        fill_detail("{role:nothing}", values, "kk")  # detail_text then falls back to English


def test_numbers_are_written_the_way_each_language_writes_them() -> None:
    from nudge.i18n import format_number

    assert format_number(2185, "kk") == "2\xa0185"
    assert format_number(1_000_000, "ru", decimals=2) == "1\xa0000\xa0000,00"
    assert format_number(2185, "en") == "2,185"
    assert format_number(18.75, "kk", decimals=1) == "18,8"
