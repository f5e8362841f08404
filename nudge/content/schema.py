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
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem of one entry, with the field it concerns.

    `code` names the message in the details catalogue and `params` fills its
    placeholders (see `nudge.i18n.problem_text`).
    """

    column: str | None
    message: str
    severity: str = "error"
    code: str = "field"
    params: dict[str, object] = field(default_factory=dict, compare=False)


class _BadValueError(ValueError):
    """A field value that cannot be parsed, with the code and parameters of its message."""

    def __init__(self, message: str, *, code: str, **params: object) -> None:
        super().__init__(message)
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


def item_from_raw(
    collection: str, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], list[FieldProblem]]:
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
    tuple[dict, list[FieldProblem]]
        The clean entry (known fields first, in `FIELDS` order) and every
        problem found; an entry with an error must not be stored.
    """
    if collection not in FIELDS:
        msg = f"Unknown collection {collection!r}; use one of {', '.join(COLLECTIONS)}."
        raise ValueError(msg)
    problems: list[FieldProblem] = []
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
            problems.append(
                FieldProblem(
                    name,
                    f"{name} is required but empty.",
                    code="field-required",
                    params={"field": name},
                )
            )
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


def _parse_field(collection: str, name: str, value: Any, problems: list[FieldProblem]) -> Any:
    """Return the parsed value of one field, or None when blank."""
    if _blank(value):
        return None
    parser = _PARSERS.get(name, _parse_text)
    try:
        return parser(value, name)
    except ValueError as exc:
        code = getattr(exc, "code", "field")
        params: dict[str, object] = getattr(exc, "params", {})
        problems.append(FieldProblem(name, str(exc), code=code, params=params))
        return None


def _parse_text(value: Any, name: str) -> str:
    return _parse_choice(name, str(value).strip())


def _parse_choice(name: str, text: str) -> str:
    choices = {"kind": PROVERB_KINDS, "status": STATUSES, "text_ru_kind": RU_KINDS}.get(name)
    if choices is not None and text.lower() not in choices:
        allowed = ", ".join(choices)
        msg = f"{name} {text!r} is not one of {allowed}."
        raise _BadValueError(msg, code="field-choice", field=name, value=text, allowed=allowed)
    return text.lower() if choices is not None else text


def _parse_id(value: Any, name: str = "id") -> str:
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not _ID.match(text):
        msg = (
            f"id {text!r} is not usable: use 1-64 letters, digits, '_', '-', '.' or ':' "
            "starting with a letter or digit."
        )
        raise _BadValueError(msg, code="field-id", value=text)
    return text


def _parse_list(value: Any, name: str) -> list[str]:
    parts = value if isinstance(value, list | tuple) else re.split(r"[;,]", str(value))
    out = [str(p).strip() for p in parts if str(p).strip()]
    if name == "themes":
        out = [t.lower() for t in out]
        unknown = [t for t in out if t not in THEMES]
        if unknown:
            themes, allowed = ", ".join(unknown), ", ".join(THEMES)
            msg = f"unknown theme(s) {themes}; use themes from: {allowed}."
            raise _BadValueError(msg, code="field-themes", themes=themes, allowed=allowed)
    return out


def _parse_members(value: Any, name: str = "members") -> list[dict[str, Any]]:
    if isinstance(value, list | tuple):
        rows = [dict(m) if isinstance(m, Mapping) else _member_from_text(str(m)) for m in value]
    else:
        rows = [_member_from_text(p) for p in str(value).split(";") if p.strip()]
    for row in rows:
        if _blank(row.get("name")):
            msg = "every member needs a name (write members as 'name|role|years;...')."
            raise _BadValueError(msg, code="field-member-name")
    return rows


def _member_from_text(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 3:
        msg = f"member {text.strip()!r} has more than three '|'-separated parts (name|role|years)."
        raise _BadValueError(msg, code="field-member-parts", member=text.strip())
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
    msg = f"{name} {value!r} is not yes or no (use yes/no, да/нет, иә/жоқ, true/false)."
    raise _BadValueError(msg, code="field-yes-no", field=name, value=str(value))


def _parse_int(value: Any, name: str) -> int:
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if math.isnan(number) or not number.is_integer():
        msg = f"{name} {value!r} is not a whole number."
        raise _BadValueError(msg, code="field-whole-number", field=name, value=str(value))
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


def _cross_checks(collection: str, item: Mapping[str, Any]) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    if collection == "proverbs":
        if item.get("text_ru") and not item.get("text_ru_kind"):
            out.append(
                FieldProblem(
                    "text_ru_kind",
                    "text_ru_kind is required with text_ru: say whether the Russian is an "
                    "established 'equivalent' or a faithful 'translation'.",
                    code="field-ru-kind",
                )
            )
        if item.get("kind") == "quote" and _blank(item.get("author")):
            out.append(
                FieldProblem("author", "a quote needs its author.", code="field-quote-author")
            )
        return out
    out.extend(_people_checks(collection, item))
    return out


def _people_checks(collection: str, item: Mapping[str, Any]) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    name_field = "family_name" if collection == "dynasties" else "name"
    name = str(item.get(name_field) or "")
    if item.get("is_example") and name and not _EXAMPLE_MARK.search(name):
        out.append(
            FieldProblem(
                name_field,
                f"{name!r} is marked as an example but its name does not say so; put "
                "'Example' (Пример, Мысал) in the name so no one takes it for a real family.",
                code="field-example-name",
                params={"name": name},
            )
        )
    if not item.get("is_example") and _EXAMPLE_MARK.search(name):
        out.append(
            FieldProblem(
                "is_example",
                f"{name!r} looks like a sample; set is_example to yes.",
                code="field-looks-like-example",
                params={"name": name},
            )
        )
    if not item.get("consent"):
        out.append(
            FieldProblem(
                "consent",
                "no consent to publication: never placed.",
                "warning",
                code="field-no-consent",
            )
        )
    if collection == "dynasties":
        out.extend(_dynasty_numbers(item))
    elif item.get("year") is not None and not 1990 <= int(item["year"]) <= 2100:
        out.append(
            FieldProblem(
                "year",
                f"year {item['year']} is not a contest year.",
                code="field-contest-year",
                params={"year": item["year"]},
            )
        )
    return out


def _dynasty_numbers(item: Mapping[str, Any]) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    generations = item.get("generations")
    if generations is not None and generations < 1:
        out.append(
            FieldProblem(
                "generations",
                f"generations {generations} must be at least 1.",
                code="field-generations",
                params={"generations": generations},
            )
        )
    elif generations == 1:
        out.append(
            FieldProblem(
                "generations",
                "a dynasty usually spans 2+ generations.",
                "warning",
                code="field-one-generation",
            )
        )
    total = item.get("total_years")
    if total is not None and total < 0:
        out.append(
            FieldProblem(
                "total_years",
                f"total_years {total} must not be negative.",
                code="field-total-years",
                params={"years": total},
            )
        )
    return out
