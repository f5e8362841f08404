"""The texts behind nudge's codes: the interface tables and the details catalogue.

The lowest layer of the package reads them, so that an error or problem made
anywhere (even by the file readers) has its English text from the one
catalogue, ``nudge/locales/details/*.toml``, and never writes it in Python.
`nudge.i18n` says the same texts in the user's language, naming regions too.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any

FALLBACK_LANGUAGE = "en"

Namer = Callable[[str, str, str], str]
"""``namer(section, code, lang)``: the name of `code` in a vocabulary section."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, prefix=f"{path}."))
        else:
            out[path] = str(value)
    return out


@cache
def locale_table(lang: str) -> dict[str, str]:
    """Return every interface text of ``nudge/locales/<lang>.toml`` by dotted key."""
    text = resources.files("nudge").joinpath(f"locales/{lang}.toml").read_text(encoding="utf-8")
    return _flatten(tomllib.loads(text))


@cache
def load_details() -> dict[str, dict[str, str]]:
    """Return the details catalogue: per error or problem code, its text in each language.

    The catalogue is every ``nudge/locales/details/*.toml`` file; each holds
    tables ``[code]`` with keys ``en``, ``ru`` and ``kk`` whose ``{name}``
    placeholders are filled from the error's `params`.

    Raises
    ------
    ValueError
        When two files define the same code.
    """
    out: dict[str, dict[str, str]] = {}
    folder = resources.files("nudge").joinpath("locales/details")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for code, texts in tomllib.loads(entry.read_text(encoding="utf-8")).items():
            if code in out:
                msg = f"The detail code {code!r} is defined twice (again in {entry.name})."
                raise ValueError(msg)
            out[code] = {lang: str(text) for lang, text in texts.items()}
    return out


def placeholders(text: str) -> set[str]:
    """Return the names of the ``{name}`` placeholders in `text`."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@cache
def _sections() -> frozenset[str]:
    return frozenset(key.split(".", 1)[0] for key in locale_table(FALLBACK_LANGUAGE))


_ENGLISH_NAMES: dict[str, dict[str, str]] = {}


def add_english_names(section: str, names: Mapping[str, str]) -> None:
    """Name the codes of a vocabulary the interface texts lack, in English.

    Called once, when the module that holds the names is imported: `nudge.geo.regions`
    names the region codes, so that an English message says "Almaty" for ``ALA``
    although this layer cannot import the regions.
    """
    _ENGLISH_NAMES.setdefault(section, {}).update(names)


def vocabulary_name(section: str, code: str, lang: str) -> str:
    """Return the interface text ``<section>.<code>`` of `lang`, or `code` when there is none."""
    text = locale_table(lang).get(f"{section}.{code}")
    if text is None and lang == FALLBACK_LANGUAGE:
        text = _ENGLISH_NAMES.get(section, {}).get(code)
    return code if text is None else text


def fill(text: str, params: Mapping[str, object], lang: str, *, namer: Namer) -> str:
    """Fill `text`'s placeholders; ``{name:section}`` says a code's name from a vocabulary.

    The section is a table of the interface texts (``{role:roles}`` says
    ``planner`` as ``жоспарлаушы``) or ``region``, both named by `namer`; a
    comma-separated value has each part named. A value that has a code of its
    own (a notice inside a text) is said in `lang` too. Any other spec is a
    format spec.
    """
    out: list[str] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        if conversion:
            msg = f"Conversions are not used in detail texts: {text!r}"
            raise ValueError(msg)
        value = params[name]
        if isinstance(value, list | tuple) and value and all(_coded(v) for v in value):
            value = "; ".join(_said_item(v, lang, namer) for v in value)  # problems, each said
        elif _coded(value):  # a notice or problem: said in `lang`
            value = _said_item(value, lang, namer)
        if spec and (spec == "region" or spec in _sections()):
            parts = [p.strip() for p in str(value).split(",")]
            out.append(", ".join(namer(spec, p, lang) for p in parts))
        else:
            out.append(format(value, spec or ""))
    return "".join(out)


def _coded(value: object) -> bool:
    return getattr(value, "code", None) is not None and hasattr(value, "params")


def _said_item(value: Any, lang: str, namer: Namer) -> str:
    return said(value.code, value.params, lang, namer=namer) or str(value)


def said(code: str | None, params: Mapping[str, object], lang: str, *, namer: Namer) -> str | None:
    """Return the text of `code` in `lang` filled from `params`, or None when it cannot be said.

    None when the catalogue lacks the code, or `params` lack one of its
    placeholders, or a value does not fit its format.
    """
    texts = load_details().get(code or "")
    if texts is None:
        return None
    text = texts.get(lang) or texts.get(FALLBACK_LANGUAGE)
    if text is None or not placeholders(text) <= set(params):
        return None
    try:
        return fill(text, params, lang, namer=namer)
    except (ValueError, IndexError, KeyError, TypeError):
        return None


def english(code: str | None, params: Mapping[str, object]) -> str | None:
    """Return the English text of `code` from the catalogue (see `add_english_names`)."""
    return said(code, params, FALLBACK_LANGUAGE, namer=vocabulary_name)
