"""Fields of the three content collections and the parsing of one raw entry.

The library keeps three collections: proverbs (proverbs, sayings and quotes),
labour dynasties and "Мен профимін" contest winners. Every entry is a plain
mapping with the fields listed here; `item_from_raw` turns one raw row (from
YAML, or strings from a CSV or XLSX sheet) into a clean entry and says what was
wrong with it, with the column named. It checks only the shape of the entry;
language, length and duplicates are checked in `nudge.content.validation`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from nudge._errors import Problem
from nudge.io.values import parse_bool

THEMES: tuple[str, ...] = (
    "diligence",
    "mastery",
    "learning",
    "youth",
    "perseverance",
    "against-idleness",
    "family-tradition",
    "cooperation",
    "reward-of-work",
    "land-and-craft",
)
"""The fixed list of campaign themes an entry may carry."""

COLLECTIONS: tuple[str, ...] = ("proverbs", "dynasties", "winners")
"""Names of the three collections (also the names of their YAML files)."""

PROVERB_KINDS = ("proverb", "saying", "quote")
STATUSES = ("active", "retired")
RU_KINDS = ("equivalent", "translation")

FIELDS: dict[str, tuple[str, ...]] = {
    "proverbs": (
        "id",
        "kind",
        "text_kk",
        "text_ru",
        "text_ru_kind",
        "text_en",
        "themes",
        "source",
        "author",
        "status",
    ),
    "dynasties": (
        "id",
        "family_name",
        "field",
        "industry",
        "region",
        "city",
        "generations",
        "total_years",
        "members",
        "story_kk",
        "story_ru",
        "photos",
        "consent",
        "is_example",
        "themes",
        "status",
    ),
    "winners": (
        "id",
        "name",
        "profession",
        "region",
        "year",
        "quote_kk",
        "quote_ru",
        "photo",
        "consent",
        "is_example",
        "themes",
        "status",
    ),
}
"""Known fields of each collection, in the order they are written."""

TEXT_FIELDS: dict[str, tuple[str, str]] = {
    "proverbs": ("text_kk", "text_ru"),
    "dynasties": ("story_kk", "story_ru"),
    "winners": ("quote_kk", "quote_ru"),
}
"""The Kazakh and Russian display text of each collection."""

DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
    "dynasties": ("family-tradition", "mastery"),
    "winners": ("mastery", "reward-of-work"),
}
"""Themes given to dynasties and winners that name none."""

_REQUIRED: dict[str, tuple[str, ...]] = {
    "proverbs": ("id", "kind", "text_kk", "themes", "source"),
    "dynasties": ("id", "family_name", "field", "region", "generations", "story_kk"),
    "winners": ("id", "name", "profession", "region", "year"),
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_EXAMPLE_MARK = re.compile(r"example|пример|мысал|үлгі", re.IGNORECASE)


FieldProblem = Problem
"""One problem of one entry: a `Problem` with the field (`column`) it concerns."""


class _BadValueError(ValueError):
    """A field value that cannot be parsed: the code and parameters of the problem."""

    def __init__(self, *, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def item_kind(collection: str, item: Mapping[str, Any]) -> str:
    """Return the kind of an entry: proverb, saying, quote, dynasty or winner."""
    if collection == "dynasties":
        return "dynasty"
    if collection == "winners":
        return "winner"
    return str(item.get("kind") or "proverb")


def item_themes(collection: str, item: Mapping[str, Any]) -> tuple[str, ...]:
    """Return an entry's themes, or its collection's default themes when it names none."""
    themes = tuple(item.get("themes") or ())
    return themes or DEFAULT_THEMES.get(collection, ())


def item_from_raw(collection: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Parse one raw entry of `collection` into a clean entry.

    Strings from CSV or XLSX cells are converted: lists are ``;``-separated,
    dynasty members are ``name|role|years`` separated by ``;``, booleans accept
    yes/no, да/нет, иә/жоқ, true/false and 1/0. Unknown fields are kept as they
    are.

    Parameters
    ----------
    collection
        One of `COLLECTIONS`.
    raw
        The entry as read.

    Returns
    -------
    tuple[dict, list[Problem]]
        The clean entry (known fields first, in `FIELDS` order) and every
        problem found; an entry with an error must not be stored.
    """
    if collection not in FIELDS:
        msg = f"Unknown collection {collection!r}; use one of {', '.join(COLLECTIONS)}."
        raise ValueError(msg)
    problems: list[Problem] = []
    item: dict[str, Any] = {}
    for name in FIELDS[collection]:
        value = _parse_field(collection, name, raw.get(name), problems)
        if value is not None:
            item[name] = value
    for name, value in raw.items():
        if name not in item and name not in FIELDS[collection] and not _blank(value):
            item[str(name)] = value
    item.setdefault("status", "active")
    if collection != "proverbs":
        item.setdefault("consent", False)
        item.setdefault("is_example", False)
    bad_columns = {p.column for p in problems}
    for name in _REQUIRED[collection]:
        if _blank(item.get(name)) and name not in bad_columns:
            problems.append(Problem(code="field-required", params={"field": name}, column=name))
    problems.extend(_cross_checks(collection, item))
    return item, problems


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def _parse_field(collection: str, name: str, value: Any, problems: list[Problem]) -> Any:
    """Return the parsed value of one field, or None when blank."""
    if _blank(value):
        return None
    parser = _PARSERS.get(name, _parse_text)
    try:
        return parser(value, name)
    except _BadValueError as exc:
        problems.append(Problem(exc.code, exc.params, column=name))
        return None


def _parse_text(value: Any, name: str) -> str:
    return _parse_choice(name, str(value).strip())


def _parse_choice(name: str, text: str) -> str:
    choices = {"kind": PROVERB_KINDS, "status": STATUSES, "text_ru_kind": RU_KINDS}.get(name)
    if choices is not None and text.lower() not in choices:
        allowed = ", ".join(choices)
        raise _BadValueError(code="field-choice", field=name, value=text, allowed=allowed)
    return text.lower() if choices is not None else text


def _parse_id(value: Any, name: str = "id") -> str:
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not _ID.match(text):
        raise _BadValueError(code="field-id", value=text)
    return text


def _parse_list(value: Any, name: str) -> list[str]:
    parts = value if isinstance(value, list | tuple) else re.split(r"[;,]", str(value))
    out = [str(p).strip() for p in parts if str(p).strip()]
    if name == "themes":
        out = [t.lower() for t in out]
        unknown = [t for t in out if t not in THEMES]
        if unknown:
            themes, allowed = ", ".join(unknown), ", ".join(THEMES)
            raise _BadValueError(code="field-themes", themes=themes, allowed=allowed)
    return out


def _parse_members(value: Any, name: str = "members") -> list[dict[str, Any]]:
    if isinstance(value, list | tuple):
        rows = [dict(m) if isinstance(m, Mapping) else _member_from_text(str(m)) for m in value]
    else:
        rows = [_member_from_text(p) for p in str(value).split(";") if p.strip()]
    for row in rows:
        if _blank(row.get("name")):
            raise _BadValueError(code="field-member-name")
    return rows


def _member_from_text(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 3:
        raise _BadValueError(code="field-member-parts", member=text.strip())
    parts += [""] * (3 - len(parts))
    return {"name": parts[0], "role": parts[1], "years": parts[2]}


def _parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if not str(value).strip():
        return False  # a blank consent or example mark means no
    answer = parse_bool(value)
    if answer is not None:
        return answer
    raise _BadValueError(code="field-yes-no", field=name, value=str(value))


def _parse_int(value: Any, name: str) -> int:
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if math.isnan(number) or not number.is_integer():
        raise _BadValueError(code="field-whole-number", field=name, value=str(value))
    return int(number)


_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "themes": _parse_list,
    "photos": _parse_list,
    "members": _parse_members,
    "consent": _parse_bool,
    "is_example": _parse_bool,
    "generations": _parse_int,
    "total_years": _parse_int,
    "year": _parse_int,
    "id": _parse_id,
}


def _cross_checks(collection: str, item: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    if collection == "proverbs":
        if item.get("text_ru") and not item.get("text_ru_kind"):
            out.append(Problem(code="field-ru-kind", column="text_ru_kind"))
        if item.get("kind") == "quote" and _blank(item.get("author")):
            out.append(Problem(code="field-quote-author", column="author"))
        return out
    out.extend(_people_checks(collection, item))
    return out


def _people_checks(collection: str, item: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    name_field = "family_name" if collection == "dynasties" else "name"
    name = str(item.get(name_field) or "")
    if item.get("is_example") and name and not _EXAMPLE_MARK.search(name):
        out.append(Problem(code="field-example-name", params={"name": name}, column=name_field))
    if not item.get("is_example") and _EXAMPLE_MARK.search(name):
        params = {"name": name}
        out.append(Problem(code="field-looks-like-example", params=params, column="is_example"))
    if not item.get("consent"):
        out.append(Problem(code="field-no-consent", column="consent", severity="warning"))
    if collection == "dynasties":
        out.extend(_dynasty_numbers(item))
    elif item.get("year") is not None and not 1990 <= int(item["year"]) <= 2100:
        params = {"year": item["year"]}
        out.append(Problem(code="field-contest-year", params=params, column="year"))
    return out


def _dynasty_numbers(item: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    generations = item.get("generations")
    if generations is not None and generations < 1:
        params = {"generations": generations}
        out.append(Problem(code="field-generations", params=params, column="generations"))
    elif generations == 1:
        one = Problem(code="field-one-generation", column="generations", severity="warning")
        out.append(one)
    total = item.get("total_years")
    if total is not None and total < 0:
        params = {"years": total}
        out.append(Problem(code="field-total-years", params=params, column="total_years"))
    return out
