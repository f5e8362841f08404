"""Checks of Kazakh and Russian banner text.

Pure functions on strings, so the app can check a line as the designer types.
The checks and their severities:

- ``latin-lookalike`` (error): Latin letters that look like Cyrillic ones
  inside a Cyrillic word (``Eңбек`` with a Latin ``E``, ``бiлiм`` with Latin
  ``i`` for ``і``); they print the same but break search, sorting and
  duplicate detection. `fix_lookalikes` repairs them.
- ``foreign-letter`` (error): letters of other alphabets typed for Kazakh ones
  (``ə`` schwa for ``ә``, ``ґ`` for ``ғ``, ``ӊ`` for ``ң``, ``ї`` for ``і``).
- ``not-kazakh`` (warning): the Kazakh field has no Kazakh-specific letter and
  Russian-only word forms, so it is probably Russian pasted in.
- ``missing-kazakh-letter`` (warning): a word is a known Kazakh word written
  with Russian letters instead of Kazakh ones (``енбек`` for ``еңбек``).
- ``kazakh-in-russian`` (warning): the Russian field holds Kazakh letters.
- ``typography`` (warning): a hyphen used as a dash, straight quotes, double
  spaces, spaces at the ends, a lower-case first letter.

The word lists live in ``nudge/content/data/orthography.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from nudge._errors import Problem

KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
"""Letters of the Kazakh Cyrillic alphabet that Russian does not have."""

_DEGRADE = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
_LOOKALIKE = str.maketrans("aceopxykhiABCEHKMOPTXYI", "асеорхукһіАВСЕНКМОРТХУІ")
_FOREIGN = dict(zip("əƏɵƟґҐӊӉӈӇїЇӧӦӱӰўЎҳҲ", "әӘөӨғҒңҢңҢіІөӨүҮұҰһҺ", strict=True))
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")


TextIssue = Problem
"""One problem of one text: a `Problem` with its code and severity (no row or field)."""


@dataclass(frozen=True, slots=True)
class WordLists:
    """The word lists the checks use (see ``orthography.toml``)."""

    degraded: dict[str, tuple[str, ...]]
    russian_words: frozenset[str]
    russian_endings: tuple[str, ...]


def word_lists_from_file(path: Path | None = None) -> WordLists:
    """Read the word lists of the checks from a TOML file (default the shipped one)."""
    if path is None:
        return _default_word_lists()
    return _word_lists_from_text(Path(path).read_text(encoding="utf-8"))


@cache
def _default_word_lists() -> WordLists:
    text = resources.files("nudge.content").joinpath("data/orthography.toml").read_text("utf-8")
    return _word_lists_from_text(text)


def _word_lists_from_text(text: str) -> WordLists:
    data = tomllib.loads(text)
    degraded: dict[str, list[str]] = {}
    for word in data.get("kazakh_words", []):
        low = word.lower()
        bad = low.translate(_DEGRADE)
        if bad != low:
            degraded.setdefault(bad, []).append(low)
    return WordLists(
        degraded={k: tuple(v) for k, v in degraded.items()},
        russian_words=frozenset(w.lower() for w in data.get("russian_words", [])),
        russian_endings=tuple(data.get("russian_endings", [])),
    )


def words_of(text: str) -> list[str]:
    """Return the words of `text` (runs of letters, hyphenated words kept whole)."""
    return _WORD.findall(text)


def fix_lookalikes(text: str) -> str:
    """Return `text` with Latin look-alikes and foreign letters in Cyrillic words replaced."""
    out = "".join(_FOREIGN.get(ch, ch) for ch in text)

    def _fix(match: re.Match[str]) -> str:
        word = match.group(0)
        return word.translate(_LOOKALIKE) if _CYRILLIC.search(word) else word

    return _WORD.sub(_fix, out)


def has_kazakh_letters(text: str) -> bool:
    """Return whether `text` holds at least one Kazakh-specific letter."""
    return any(ch in KAZAKH_LETTERS for ch in text)


def russian_forms(text: str, *, lists: WordLists | None = None) -> list[str]:
    """Return the words of `text` that are Russian-only forms (function words, endings)."""
    lists = lists or _default_word_lists()
    found = []
    for word in words_of(text.lower()):
        if word in lists.russian_words or (len(word) >= 5 and word.endswith(lists.russian_endings)):
            found.append(word)
    return found


def check_kazakh(text: str, *, lists: WordLists | None = None) -> list[TextIssue]:
    """Check a Kazakh text: script mix-ups, Russian pasted in, missing Kazakh letters.

    Parameters
    ----------
    text
        The Kazakh text of an entry.
    lists
        Word lists to use (default the shipped ``orthography.toml``).

    Returns
    -------
    list[TextIssue]
        Every problem found, errors first.
    """
    lists = lists or _default_word_lists()
    issues = _script_issues(text)
    clean = fix_lookalikes(text)
    if not has_kazakh_letters(clean):
        russian = russian_forms(clean, lists=lists)
        if russian:
            words = ", ".join(sorted(set(russian))[:5])
            issues.append(Problem(code="not-kazakh", params={"words": words}, severity="warning"))
    issues.extend(_degraded_words(clean, lists))
    issues.extend(_typography(text))
    return issues


def check_russian(text: str) -> list[TextIssue]:
    """Check a Russian text: script mix-ups, Kazakh letters, typography."""
    issues = _script_issues(text)
    kazakh = sorted({ch for ch in fix_lookalikes(text) if ch in KAZAKH_LETTERS})
    if kazakh:
        letters = " ".join(kazakh)
        issues.append(
            Problem(code="kazakh-in-russian", params={"letters": letters}, severity="warning")
        )
    issues.extend(_typography(text))
    return issues


def _script_issues(text: str) -> list[TextIssue]:
    issues = []
    mixed = [w for w in words_of(text) if _CYRILLIC.search(w) and _LATIN.search(w)]
    if mixed:
        fixed = [fix_lookalikes(w) for w in mixed]
        pairs = ", ".join(f"{w!r} -> {f!r}" for w, f in zip(mixed, fixed, strict=True))
        issues.append(Problem(code="latin-lookalike", params={"words": pairs}, severity="error"))
    foreign = sorted({ch for ch in text if ch in _FOREIGN})
    if foreign:
        fixes = ", ".join(f"{ch} -> {_FOREIGN[ch]}" for ch in foreign)
        issues.append(Problem(code="foreign-letter", params={"fixes": fixes}, severity="error"))
    return issues


def _degraded_words(text: str, lists: WordLists) -> list[TextIssue]:
    issues = []
    for word in words_of(text):
        low = word.lower()
        if has_kazakh_letters(low):
            continue
        right = lists.degraded.get(low) or _degraded_stem(low, lists)
        if right:
            params = {"word": word, "right": " / ".join(right)}
            issues.append(Problem(code="missing-kazakh-letter", params=params, severity="warning"))
    return issues


def _degraded_stem(word: str, lists: WordLists) -> tuple[str, ...]:
    for size in range(len(word) - 1, 3, -1):
        right = lists.degraded.get(word[:size])
        if right:
            return tuple(r + "…" for r in right)
    return ()


def _typography(text: str) -> list[TextIssue]:
    """Return the typography warning of `text`, if any.

    Its `fixes` parameter lists each fix as a language-neutral replacement
    (``' - ' → ' – '``), so the app can say it in any language.
    """
    fixes = []
    if re.search(r"\s-\s", text):
        fixes.append("' - ' → ' – '")
    if '"' in text:
        fixes.append('"…" → «…»')
    if "  " in text:
        fixes.append("'  ' → ' '")
    if text != text.strip():
        fixes.append("' … ' → '…'")
    first = next((ch for ch in text if ch.isalpha()), "")
    if first and first.islower():
        fixes.append(f"'{first}' → '{first.upper()}'")
    if not fixes:
        return []
    return [Problem(code="typography", params={"fixes": "; ".join(fixes)}, severity="warning")]
