"""Interface texts of the app in Kazakh, Russian and English.

The texts live in ``nudge/locales/{kk,ru,en}.toml``, one nested table per
page; a key is the dotted path of a text (``nav.data``). Kazakh is the default
language. Every language must have every key (a test checks it); at run time a
missing key falls back to English, then to the key itself, so a forgotten text
never breaks a page. Texts may hold ``{name}`` placeholders filled by
`Translator.__call__`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from nudge._catalogue import (
    FALLBACK_LANGUAGE,
    fill,
    load_details,
    locale_table,
    placeholders,
    said,
    vocabulary_name,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "FALLBACK_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "Translator",
    "coded_text",
    "detail_text",
    "error_key",
    "error_text",
    "fill_detail",
    "format_number",
    "load_details",
    "load_messages",
    "missing_keys",
    "notice_text",
    "placeholders",
    "problem_text",
    "region_name",
    "translator",
]

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


@cache
def load_messages(lang: str) -> dict[str, str]:
    """Return every text of `lang` by dotted key.

    Raises
    ------
    ValueError
        When `lang` is not one of `LANGUAGES`.
    """
    if lang not in LANGUAGES:
        msg = f"Unknown language {lang!r}; use one of {', '.join(LANGUAGES)}."
        raise ValueError(msg)
    return locale_table(lang)


def missing_keys() -> dict[str, list[str]]:
    """Return, per language, the keys some other language has and it lacks."""
    tables = {lang: load_messages(lang) for lang in LANGUAGES}
    every = set().union(*(set(t) for t in tables.values()))
    return {lang: sorted(every - set(t)) for lang, t in tables.items()}


class _KeepMissing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True, slots=True)
class Translator:
    """Look up texts of one language: ``t("nav.data")``, ``t("plan.sites", n=5)``."""

    lang: str

    def __call__(self, key: str, **values: Any) -> str:
        """Return the text of `key`, with placeholders filled from `values`."""
        text = load_messages(self.lang).get(key)
        if text is None:
            text = load_messages(FALLBACK_LANGUAGE).get(key, key)
        if not values:
            return text
        try:
            return text.format_map(_KeepMissing(values))
        except (ValueError, IndexError):
            return text

    def has(self, key: str) -> bool:
        """Return whether this language has a text for `key`."""
        return key in load_messages(self.lang)


def translator(lang: str | None) -> Translator:
    """Return the translator of `lang`, or of Kazakh when `lang` is unknown or None."""
    return Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def error_key(exc: BaseException) -> str:
    """Return the key of the headline for an error: ``errors.<Class>`` of the nearest known class.

    Walks the error's class hierarchy, so a new subclass of a known nudge error
    gets its parent's headline; anything unknown gets ``errors.NudgeError``.
    """
    known = load_messages(FALLBACK_LANGUAGE)
    for cls in type(exc).__mro__:
        key = f"errors.{cls.__name__}"
        if key in known:
            return key
    return "errors.NudgeError"


def detail_text(
    lang: str | None, code: str | None, params: Mapping[str, object], fallback: str
) -> str:
    """Return the text of detail `code` in `lang`, or `fallback` when it has none.

    A placeholder that `params` lacks, or a code the catalogue lacks, gives
    `fallback` (the English message the library wrote), never a broken text.
    """
    text = said(code, params, translator(lang).lang, namer=_vocabulary_name)
    return fallback if text is None else text


def fill_detail(text: str, params: Mapping[str, object], lang: str) -> str:
    """Fill `text`'s placeholders; ``{name:section}`` says a code's name from a vocabulary.

    The section is a table of the interface texts (``{role:roles}`` says
    ``planner`` as ``жоспарлаушы``) or ``region`` (a region code as the
    region's name); a comma-separated value has each part named. Codes a
    vocabulary lacks stay as they are. Any other spec is a format spec.
    """
    return fill(text, params, lang, namer=_vocabulary_name)


def _vocabulary_name(section: str, code: str, lang: str) -> str:
    if section == "region":
        return region_name(code, lang)
    return vocabulary_name(section, code, lang)


def region_name(code: str, lang: str) -> str:
    """Return the name of Kazakhstan's region `code` in `lang` (the code when unknown)."""
    from nudge.geo.regions import REGIONS  # heavy; needed only here

    for region in REGIONS:
        if region.code == code:
            return {"kk": region.name_kk, "ru": region.name_ru}.get(lang, region.name)
    return code


def coded_text(item: object, lang: str | None, fallback: str) -> str:
    """Return the text in `lang` of anything with a ``code`` and ``params``, else `fallback`.

    An item with several reasons (a ``reasons`` parameter of ``(code,
    params)`` pairs, as an infeasible plan has) says each of them, one
    sentence per reason; it falls back as a whole when any reason lacks a text.
    """
    code = getattr(item, "code", None)
    params = getattr(item, "params", None) or {}
    reasons = params.get("reasons")
    if isinstance(reasons, list | tuple) and len(reasons) > 1:
        texts = [
            detail_text(lang, part[0], part[1], "")
            for part in reasons
            if isinstance(part, list | tuple) and len(part) == 2 and isinstance(part[1], Mapping)
        ]
        if len(texts) == len(reasons) and all(texts):
            return " ".join(texts)
    return detail_text(lang, code, params, fallback)


def error_text(exc: BaseException, lang: str | None) -> str:
    """Return the message of a nudge error in `lang` (its English message when untranslated)."""
    return coded_text(exc, lang, str(exc))


def notice_text(notice: str, lang: str | None) -> str:
    """Return a warning (a `nudge._errors.Notice`, or any text) in `lang`."""
    return coded_text(notice, lang, str(notice))


def problem_text(problem: Any, lang: str | None) -> str:
    """Return the message of a problem (`nudge._errors.Problem` or alike) in `lang`."""
    return coded_text(problem, lang, str(problem.message))


_NUMBER_LOCALES = {"kk": "kk_KZ", "ru": "ru_RU", "en": "en_US"}


def format_number(value: float, lang: str | None, *, decimals: int = 0) -> str:
    """Return `value` written as people of `lang` write numbers (Babel's CLDR data).

    Kazakh and Russian group thousands with a no-break space and use a decimal comma
    (``2 185``, ``1 000 000,00``); English ``2,185`` and ``1,000,000.00``.
    """
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    locale = _NUMBER_LOCALES.get(lang or FALLBACK_LANGUAGE, "kk_KZ")
    return format_decimal(value, format=pattern, locale=locale)
