"""The designers' content library: stored files, editing, import and export.

The library lives in ``<settings.data_dir>/content/`` as three YAML files,
``proverbs.yaml``, ``dynasties.yaml`` and ``winners.yaml``, each a list of
entries (see `nudge.content.schema`). On first use they are seeded from the
package data: the shipped proverb library, and empty dynasty and winner lists
(import templates ship next to them). Every write goes through a temporary
file and ``os.replace``, so a crash never leaves half a file. Entries are never
deleted, only retired (``status: retired``), because registry records refer to
them by their string ``id``.

Typical use::

    lib = load_library(settings)
    report = import_items(lib, Path("winners.xlsx"), campaign=campaign_from_file())
    lib.retire("p-017")
    lib.save()
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from nudge._errors import BatchValidationError, InputFileError, RecordError, RowProblem
from nudge.content._io import rows_from_file, write_rows, write_yaml_atomic
from nudge.content.campaign import CampaignSettings
from nudge.content.schema import (
    COLLECTIONS,
    FIELDS,
    TEXT_FIELDS,
    item_from_raw,
    item_kind,
    item_themes,
)
from nudge.content.validation import ValidationReport, text_length, validate_items
from nudge.settings import Settings


def library_dir(settings: Settings) -> Path:
    """Return the folder of the stored library, ``<data_dir>/content``."""
    return settings.data_dir / "content"


def shipped_data_path(name: str) -> Path:
    """Return the path of a file shipped in ``nudge/content/data``."""
    return Path(str(resources.files("nudge.content").joinpath(f"data/{name}")))


@dataclass(slots=True)
class ContentLibrary:
    """The three collections of entries, and the folder they are stored in.

    Attributes
    ----------
    proverbs, dynasties, winners
        Entries as mappings with the fields of `nudge.content.schema.FIELDS`.
    folder
        Where `save` writes the YAML files (None: in memory only).
    """

    proverbs: list[dict[str, Any]] = field(default_factory=list)
    dynasties: list[dict[str, Any]] = field(default_factory=list)
    winners: list[dict[str, Any]] = field(default_factory=list)
    folder: Path | None = None

    def entries(self, collection: str) -> list[dict[str, Any]]:
        """Return the (mutable) list of entries of `collection`."""
        if collection not in COLLECTIONS:
            msg = f"Unknown collection {collection!r}; use one of {', '.join(COLLECTIONS)}."
            raise ValueError(msg)
        entries: list[dict[str, Any]] = getattr(self, collection)
        return entries

    def iter_items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(collection, entry)`` for every entry of the library."""
        for collection in COLLECTIONS:
            for item in self.entries(collection):
                yield collection, item

    def __len__(self) -> int:
        return sum(len(self.entries(c)) for c in COLLECTIONS)

    def get(self, item_id: str) -> tuple[str, dict[str, Any]]:
        """Return the collection and entry of `item_id`."""
        for collection, item in self.iter_items():
            if item.get("id") == item_id:
                return collection, item
        msg = f"No content entry has id {item_id!r}; see `nudge content list` for the ids."
        raise RecordError(msg, code="content_entry_missing", id=item_id)

    def put(
        self, collection: str, raw: Mapping[str, Any], *, campaign: CampaignSettings
    ) -> ValidationReport:
        """Add an entry, or replace the entry with its id, after validating it.

        Raises
        ------
        BatchValidationError
            When the entry has errors (warnings are returned in the report).
        """
        report = validate_items(
            [raw], collection=collection, campaign=campaign, existing=self.entries(collection)
        )
        if report.errors:
            problems = [
                RowProblem(1, p.message, p.column, code=p.code, params=p.params)
                for p in report.errors
            ]
            raise BatchValidationError(problems, what=f"entry {raw.get('id')!r}")
        self._store(collection, report.items[0])
        return report

    def _store(self, collection: str, item: dict[str, Any]) -> str:
        entries = self.entries(collection)
        for index, old in enumerate(entries):
            if old.get("id") == item["id"]:
                entries[index] = item
                return "updated"
        for other in COLLECTIONS:
            if other != collection and any(e.get("id") == item["id"] for e in self.entries(other)):
                msg = f"The id {item['id']!r} is already used in {other}; choose another id."
                raise RecordError(msg, code="content_id_taken", id=item["id"], collection=other)
        entries.append(item)
        return "added"

    def retire(self, item_id: str) -> None:
        """Mark an entry retired: it stays in the library but is never placed again."""
        self.get(item_id)[1]["status"] = "retired"

    def restore(self, item_id: str) -> None:
        """Mark a retired entry active again."""
        self.get(item_id)[1]["status"] = "active"

    def save(self) -> None:
        """Write the three collections to `folder` atomically."""
        if self.folder is None:
            msg = "This library has no folder; load it with load_library(settings) to save it."
            raise RecordError(msg)
        for collection in COLLECTIONS:
            write_yaml_atomic(self.folder / f"{collection}.yaml", self.entries(collection))

    def frame(self) -> pd.DataFrame:
        """Return one row per entry, the table that matching and rotation work on.

        Columns: ``id``, ``collection``, ``kind``, ``themes`` (tuple), ``status``,
        ``consent``, ``is_example``, ``text_kk``, ``text_ru``, ``words``,
        ``chars`` (of the Kazakh text), ``field_text`` (field, industry or
        profession, lower case), ``region``, ``city``, ``photo_count``.
        """
        records = [_frame_record(c, item) for c, item in self.iter_items()]
        columns = [
            "id", "collection", "kind", "themes", "status", "consent", "is_example",
            "text_kk", "text_ru", "words", "chars", "field_text", "region", "city",
            "photo_count",
        ]  # fmt: skip
        return pd.DataFrame.from_records(records, columns=columns)


def _frame_record(collection: str, item: Mapping[str, Any]) -> dict[str, Any]:
    kk_field, ru_field = TEXT_FIELDS[collection]
    text_kk = str(item.get(kk_field) or "")
    words, chars = text_length(text_kk)
    field_text = " ".join(
        str(item.get(k) or "") for k in ("field", "industry", "profession")
    ).strip()
    photos = item.get("photos") or ([item["photo"]] if item.get("photo") else [])
    return {
        "id": str(item.get("id")),
        "collection": collection,
        "kind": item_kind(collection, item),
        "themes": item_themes(collection, item),
        "status": item.get("status", "active"),
        "consent": bool(item.get("consent", collection == "proverbs")),
        "is_example": bool(item.get("is_example", False)),
        "text_kk": text_kk,
        "text_ru": str(item.get(ru_field) or ""),
        "words": words,
        "chars": chars,
        "field_text": field_text.lower(),
        "region": str(item.get("region") or ""),
        "city": str(item.get("city") or ""),
        "photo_count": len(photos),
    }


def load_library(settings: Settings | None = None, *, folder: Path | None = None) -> ContentLibrary:
    """Load the stored library, seeding it from the package data on first use.

    Parameters
    ----------
    settings
        Settings whose data folder holds ``content/``.
    folder
        Folder to use instead of ``<data_dir>/content``.

    Returns
    -------
    ContentLibrary
    """
    if folder is None:
        if settings is None:
            msg = "Pass settings or a folder to load_library."
            raise ValueError(msg)
        folder = library_dir(settings)
    folder = Path(folder)
    library = ContentLibrary(folder=folder)
    for collection in COLLECTIONS:
        path = folder / f"{collection}.yaml"
        if not path.exists():
            write_yaml_atomic(path, _shipped_entries(collection))
        entries = library.entries(collection)
        for raw in _yaml_list(path):
            entries.append(item_from_raw(collection, raw)[0])
    return library


def _shipped_entries(collection: str) -> list[dict[str, Any]]:
    path = shipped_data_path(f"{collection}.yaml")
    return _yaml_list(path) if path.is_file() else []


def _yaml_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        msg = f"The library file {path} is not valid YAML: {exc}"
        raise InputFileError(
            msg, code="content_library_bad_yaml", path=str(path), reason=str(exc)
        ) from None
    if data is None:
        return []
    if not isinstance(data, list):
        msg = f"The library file {path} must hold a YAML list of entries."
        raise InputFileError(msg, code="content_library_not_list", path=str(path))
    return [dict(r) for r in data if isinstance(r, Mapping)]


def collection_of_columns(columns: list[str], *, name: str = "") -> str:
    """Guess the collection of an imported table from its columns (or the file name)."""
    cols = set(columns)
    if "text_kk" in cols:
        return "proverbs"
    if "family_name" in cols or "story_kk" in cols:
        return "dynasties"
    if "profession" in cols or "quote_kk" in cols:
        return "winners"
    for collection in COLLECTIONS:
        if collection.rstrip("s") in name.lower():
            return collection
    listed = ", ".join(sorted(cols))
    msg = (
        f"Cannot tell which collection {name or 'the file'} belongs to from its columns "
        f"({listed or 'none'}); pass the collection explicitly."
    )
    raise InputFileError(
        msg, code="content_collection_unknown", file=name or "—", columns=listed or "—"
    )


@dataclass(slots=True)
class ImportReport:
    """What an import did: entries added and updated, and every problem by row."""

    collection: str
    added: list[str]
    updated: list[str]
    validation: ValidationReport

    @property
    def rejected(self) -> int:
        """Return how many rows were kept out because of errors."""
        return self.validation.checked - len(self.validation.items)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary with every problem."""
        base = self.validation.as_dict()
        return {
            "collection": self.collection,
            "rows": base["items"],
            "added": len(self.added),
            "updated": len(self.updated),
            "rejected": self.rejected,
            "errors": base["errors"],
            "warnings": base["warnings"],
        }


def import_items(
    library: ContentLibrary,
    path: Path,
    *,
    campaign: CampaignSettings,
    collection: str | None = None,
    save: bool = True,
) -> ImportReport:
    """Import entries from a CSV, XLSX or YAML file into the library.

    Every row is validated; all problems are reported at once with their row
    numbers, and the good rows are added (or replace the entry with their id).

    Parameters
    ----------
    library
        The library to import into.
    path
        The file to read.
    campaign
        Campaign settings for the checks.
    collection
        ``proverbs``, ``dynasties`` or ``winners``; guessed from the columns when None.
    save
        Write the library after importing (when it has a folder).

    Returns
    -------
    ImportReport

    Raises
    ------
    BatchValidationError
        When no row could be imported because every row has errors.
    """
    rows, numbers = rows_from_file(Path(path))
    columns = sorted({k for r in rows for k in r})
    collection = collection or collection_of_columns(columns, name=Path(path).name)
    report = validate_items(
        rows,
        collection=collection,
        campaign=campaign,
        existing=library.entries(collection),
        rows=numbers,
    )
    if rows and not report.items:
        problems = [
            RowProblem(p.row, p.message, p.column, code=p.code, params=p.params)
            for p in report.errors
        ]
        raise BatchValidationError(problems, what=f"import of {Path(path).name}")
    added: list[str] = []
    updated: list[str] = []
    for item in report.items:
        (added if library._store(collection, item) == "added" else updated).append(item["id"])
    if save and library.folder is not None and report.items:
        library.save()
    return ImportReport(collection, added, updated, report)


def export_items(
    library: ContentLibrary,
    path: Path,
    *,
    collection: str,
    include_retired: bool = True,
) -> int:
    """Export one collection to a CSV, XLSX or YAML file (by its suffix).

    The columns are those of the import templates, so an exported file can be
    edited and imported again. Returns the number of entries written.
    """
    entries = [
        e
        for e in library.entries(collection)
        if include_retired or e.get("status", "active") == "active"
    ]
    extra = sorted({k for e in entries for k in e if k not in FIELDS[collection]})
    write_rows(Path(path), entries, [*FIELDS[collection], *extra])
    return len(entries)


def search_key(text: str) -> str:
    """Return `text` folded for search: any script to Latin letters, case and y/i ignored.

    So "Abai", "Абай" and "Abay" meet, and "Құнанбайұлы" is found by "Qunanbaiuly".
    """
    from anyascii import anyascii

    return anyascii(str(text)).casefold().replace("y", "i")


def _all_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return " ".join(_all_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return " ".join(_all_text(v) for v in value)
    return value if isinstance(value, str) else ""


def search_ids(library: ContentLibrary, text: str) -> set[str]:
    """Return the ids of the entries that mention `text` in any of their text fields.

    The id, texts, author, source, names, members, stories and every other text are searched,
    in Kazakh, Russian or Latin script alike (see `search_key`): "Абай", "Abai",
    "Құнанбайұлы" and "Қара сөздер" all find Abai's quotations.
    """
    needle = search_key(text.strip())
    return {
        str(item.get("id"))
        for _, item in library.iter_items()
        if not needle or needle in search_key(_all_text(item))
    }
