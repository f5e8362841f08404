"""Validation of content entries: fields, language, length per format, duplicates.

`validate_items` checks a batch of raw entries of one collection (an import, a
file, the whole stored library) and returns a `ValidationReport` that holds the
clean entries without errors next to every problem, each with its row number,
so a designer sees all problems at once and the good rows are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nudge._errors import Problem, RowProblem
from nudge.content._similar import similar_pairs
from nudge.content.campaign import CampaignSettings, TextFormat
from nudge.content.language import (
    WordLists,
    check_kazakh,
    check_russian,
    fix_lookalikes,
)
from nudge.content.schema import TEXT_FIELDS, item_from_raw, item_kind

_PROBLEM_KEYS = ("row", "id", "collection", "column", "code", "message")


def problem_dict(problem: Problem) -> dict[str, Any]:
    """Return a content problem as the JSON of ``nudge content validate``."""
    return {key: getattr(problem, key) for key in _PROBLEM_KEYS}


@dataclass(slots=True)
class ValidationReport:
    """The result of validating a batch.

    Attributes
    ----------
    checked
        How many entries were checked.
    items
        The clean entries that have no error, in batch order.
    rows
        The batch row of each entry in `items`.
    problems
        Every problem found, errors and warnings.
    """

    checked: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[RowProblem]:
        """Return the problems that keep an entry out."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[RowProblem]:
        """Return the problems that are only reported."""
        return [p for p in self.problems if p.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        """Return ``{"items": N, "errors": [...], "warnings": [...]}`` for the CLI and app."""
        return {
            "items": self.checked,
            "errors": [problem_dict(p) for p in self.errors],
            "warnings": [problem_dict(p) for p in self.warnings],
        }

    def extend(self, other: ValidationReport) -> None:
        """Add another report's entries and problems to this one."""
        self.checked += other.checked
        self.items.extend(other.items)
        self.rows.extend(other.rows)
        self.problems.extend(other.problems)


def text_length(text: str) -> tuple[int, int]:
    """Return the number of words and of characters of a display text.

    A word has at least one letter or digit: a spaced dash ("Ата көрген – оқ жонар") or other
    punctuation standing alone is not a word.
    """
    clean = " ".join(text.split())
    words = [w for w in clean.split() if any(c.isalnum() for c in w)]
    return len(words), len(clean)


def fits_format(
    item: Mapping[str, Any], collection: str, fmt: TextFormat, *, bilingual: bool = False
) -> bool:
    """Return whether an entry may go on a format.

    The entry's kind must be one the format takes, and its Kazakh text (and
    its Russian text too when the campaign is `bilingual`) must keep within
    the format's word and character limits.
    """
    if item_kind(collection, item) not in fmt.item_kinds:
        return False
    return not _over_limits(item, collection, fmt, bilingual=bilingual)


def _over_limits(
    item: Mapping[str, Any], collection: str, fmt: TextFormat, *, bilingual: bool
) -> list[tuple[str, int, int]]:
    """Return ``(field, words, characters)`` of each text of an entry too long for `fmt`."""
    out = []
    for name in TEXT_FIELDS[collection][: 2 if bilingual else 1]:
        words, chars = text_length(str(item.get(name) or ""))
        if words > fmt.max_words or chars > fmt.max_chars:
            out.append((name, words, chars))
    return out


def validate_items(
    entries: Iterable[Mapping[str, Any]],
    *,
    collection: str,
    campaign: CampaignSettings,
    existing: Sequence[Mapping[str, Any]] = (),
    rows: Sequence[int] | None = None,
    lists: WordLists | None = None,
) -> ValidationReport:
    """Validate a batch of raw entries of one collection.

    Parameters
    ----------
    entries
        Raw entries (mappings from YAML, or strings from a CSV or XLSX row).
    collection
        ``proverbs``, ``dynasties`` or ``winners``.
    campaign
        The campaign settings (Russian required or not, formats and limits).
    existing
        Entries already stored; a batch entry with the same id replaces one of
        them, and texts are compared with the others for duplicates.
    rows
        The row number of each entry (default 1, 2, ...).
    lists
        Word lists of the language checks (default the shipped ones).

    Returns
    -------
    ValidationReport
        Clean entries without errors, and every problem with its row.
    """
    raw = list(entries)
    row_numbers = list(rows) if rows is not None else list(range(1, len(raw) + 1))
    report = ValidationReport(checked=len(raw))
    parsed: list[tuple[int, dict[str, Any], bool]] = []
    for row, entry in zip(row_numbers, raw, strict=True):
        item, problems = _check_entry(entry, collection, campaign, row, lists)
        report.problems.extend(problems)
        parsed.append((row, item, any(p.severity == "error" for p in problems)))
    dup_problems = _duplicate_problems(parsed, collection, campaign, existing)
    report.problems.extend(dup_problems)
    bad_rows = {p.row for p in report.problems if p.severity == "error"}
    for row, item, _ in parsed:
        if row not in bad_rows:
            report.items.append(item)
            report.rows.append(row)
    report.problems.sort(key=lambda p: (p.row, p.severity != "error"))
    return report


def _check_entry(
    entry: Mapping[str, Any],
    collection: str,
    campaign: CampaignSettings,
    row: int,
    lists: WordLists | None,
) -> tuple[dict[str, Any], list[RowProblem]]:
    item, field_problems = item_from_raw(collection, entry)
    ident = item.get("id")
    kk_field, ru_field = TEXT_FIELDS[collection]
    kk, ru = str(item.get(kk_field) or ""), str(item.get(ru_field) or "")
    found = list(field_problems)
    if kk:
        found += [_on(kk_field, i) for i in check_kazakh(kk, lists=lists)]
    elif ru:
        found.append(Problem(code="kazakh-required", column=kk_field))
    if ru:
        found += [_on(ru_field, i) for i in check_russian(ru)]
    elif kk and campaign.require_russian:
        found.append(Problem(code="russian-required", column=ru_field))
    if kk:
        found += _length_problems(item, collection, campaign)
    return item, [
        RowProblem(
            row,
            code=p.code,
            params=p.params,
            column=p.column,
            severity=p.severity,
            entry=ident,
            collection=collection,
        )
        for p in found
    ]


def _on(column: str, issue: Problem) -> Problem:
    return replace(issue, column=column)


def _length_problems(
    item: Mapping[str, Any], collection: str, campaign: CampaignSettings
) -> list[Problem]:
    kind = item_kind(collection, item)
    formats = campaign.formats_for_item_kind(kind)
    kk_field = TEXT_FIELDS[collection][0]
    if not formats:
        params = {"kind": kind}
        return [
            Problem(code="no-format-for-kind", params=params, column=kk_field, severity="warning")
        ]
    bilingual = campaign.require_russian
    verdicts = [(fmt, fits_format(item, collection, fmt, bilingual=bilingual)) for fmt in formats]
    fitting = [fmt.key for fmt, ok in verdicts if ok]
    if not fitting:
        widest = max(formats, key=lambda f: (f.max_chars, f.max_words))
        name, words, chars = _over_limits(item, collection, widest, bilingual=bilingual)[0]
        return [
            Problem(
                column=kk_field,
                code="too-long",
                params={
                    "field": name,
                    "words": words,
                    "chars": chars,
                    "format": widest.key,
                    "max_words": widest.max_words,
                    "max_chars": widest.max_chars,
                },
            )
        ]
    out = []
    for fmt, ok in verdicts:
        if ok:
            continue
        name, words, chars = _over_limits(item, collection, fmt, bilingual=bilingual)[0]
        out.append(
            Problem(
                column=kk_field,
                severity="warning",
                code="too-long-for-format",
                params={
                    "field": name,
                    "words": words,
                    "chars": chars,
                    "format": fmt.key,
                    "max_words": fmt.max_words,
                    "max_chars": fmt.max_chars,
                    "fitting": ", ".join(fitting),
                },
            )
        )
    return out


def normalise_text(text: str) -> str:
    """Return `text` normalised for duplicate detection (case, ё, punctuation, spaces)."""
    low = fix_lookalikes(text).lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w\s]|_", " ", low).split())


def _duplicate_problems(
    parsed: list[tuple[int, dict[str, Any], bool]],
    collection: str,
    campaign: CampaignSettings,
    existing: Sequence[Mapping[str, Any]],
) -> list[RowProblem]:
    out: list[RowProblem] = []
    kk_field = TEXT_FIELDS[collection][0]
    batch_ids = {item.get("id") for _, item, _ in parsed}
    others = [e for e in existing if e.get("id") not in batch_ids]
    seen_ids: dict[str, int] = {}
    for row, item, _ in parsed:
        ident = item.get("id")
        if ident is None:
            continue
        if ident in seen_ids:
            params = {"id": ident, "first_row": seen_ids[ident]}
            at = RowProblem(row, column="id", entry=ident, collection=collection)
            out.append(replace(at, code="duplicate-id", params=params))
        else:
            seen_ids[ident] = row
    texts = [normalise_text(str(e.get(kk_field) or "")) for e in others]
    names = [str(e.get("id")) for e in others]
    texts += [normalise_text(str(item.get(kk_field) or "")) for _, item, _ in parsed]
    names += [str(item.get("id") or f"#{row}") for row, item, _ in parsed]
    offset = len(others)
    for i, j, sim in similar_pairs(texts, campaign.near_duplicate_threshold):
        if j < offset:
            continue
        row, item, _ = parsed[j - offset]
        at = RowProblem(row, column=kk_field, entry=item.get("id"), collection=collection)
        if texts[i] == texts[j]:
            params = {"field": kk_field, "other": names[i]}
            out.append(replace(at, code="duplicate", params=params))
        else:
            params = {"field": kk_field, "other": names[i], "percent": round(sim * 100)}
            out.append(replace(at, code="near-duplicate", params=params, severity="warning"))
    return out
