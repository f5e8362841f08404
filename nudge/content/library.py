"""The designers' content library: stored entries, editing, import and export.

The library lives in the shared database (``content_entries``, see `nudge.db`),
so every app server and command on one database sees the same entries. The
migration that created the table imported ``<data_dir>/content/*.yaml`` when
they existed, else the shipped proverb library. Every entry carries a version:
a change is saved at once, for that entry only, and only if nobody changed it
since it was loaded; otherwise it is refused with `StaleVersionError` (who
changed it and when) and nothing is overwritten. Every change and every refusal
is written to the audit log. Entries are never deleted, only retired
(``status: retired``), because registry records refer to them by their ``id``.

YAML, CSV and XLSX stay as import and export formats; a library loaded from a
folder of YAML files (``load_library(folder=...)``) is kept in memory and
written back with `ContentLibrary.save`.

Typical use::

    lib = load_library(settings)
    report = import_items(lib, Path("winners.xlsx"), campaign=campaign_from_file(), by="aigerim")
    lib.retire("p-017", by="aigerim")
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy.engine import Engine

from nudge._errors import BatchValidationError, InputFileError, RecordError
from nudge.content._io import SafeLoader, rows_from_file, write_rows, write_yaml_atomic
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
from nudge.db.content import StoredEntry, read_entries, save_entries, stored_versions
from nudge.db.engine import engine_from_settings, upgrade_database
from nudge.settings import Settings

SYSTEM = "system"
FRAME_COLUMNS = (
    "id",
    "collection",
    "kind",
    "themes",
    "status",
    "consent",
    "is_example",
    "text_kk",
    "text_ru",
    "words",
    "chars",
    "field_text",
    "region",
    "city",
    "photo_count",
)
"""Columns of `ContentLibrary.frame`, in order."""
_Change = tuple[dict[str, Any], int | None]  # an entry, and the version it was read at


def library_dir(settings: Settings) -> Path:
    """Return the folder of the stored library, ``<data_dir>/content``."""
    return settings.data_dir / "content"


def shipped_data_path(name: str) -> Path:
    """Return the path of a file shipped in ``nudge/content/data``."""
    return Path(str(resources.files("nudge.content").joinpath(f"data/{name}")))


@dataclass(slots=True)
class ContentLibrary:
    """The three collections of entries, and where they are stored.

    Attributes
    ----------
    proverbs, dynasties, winners
        Entries as mappings with the fields of `nudge.content.schema.FIELDS`.
    folder
        Where `save` writes the YAML files of a library loaded from files.
    engine
        The shared database of a library loaded with `load_library(settings)`;
        every change is then stored at once, entry by entry.
    versions
        The stored version of each entry id, as loaded or last saved.
    """

    proverbs: list[dict[str, Any]] = field(default_factory=list)
    dynasties: list[dict[str, Any]] = field(default_factory=list)
    winners: list[dict[str, Any]] = field(default_factory=list)
    folder: Path | None = None
    engine: Engine | None = None
    versions: dict[str, int] = field(default_factory=dict)

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
        raise RecordError(code="content_entry_missing", id=item_id)

    def version(self, item_id: str) -> int | None:
        """Return the stored version of an entry as loaded (None: not stored yet)."""
        return self.versions.get(item_id)

    def put(
        self,
        collection: str,
        raw: Mapping[str, Any],
        *,
        campaign: CampaignSettings,
        expected_version: int | None = None,
        by: str = SYSTEM,
    ) -> ValidationReport:
        """Add an entry, or replace the entry with its id, after validating it.

        Parameters
        ----------
        collection
            ``proverbs``, ``dynasties`` or ``winners``.
        raw
            The entry's fields (text cells as in the import files, or values).
        campaign
            Campaign settings for the checks.
        expected_version
            The version the editor loaded; default the version this library loaded
            (None for a new id).
        by
            Username written to the entry and the audit log.

        Raises
        ------
        BatchValidationError
            When the entry has errors (warnings are returned in the report).
        StaleVersionError
            When someone else changed (or created) the entry since that version.
        """
        report = validate_items(
            [raw], collection=collection, campaign=campaign, existing=self.entries(collection)
        )
        if report.errors:
            problems = [replace(p, row=1) for p in report.errors]
            raise BatchValidationError(problems, what=f"entry {raw.get('id')!r}")
        item = report.items[0]
        self._check_ids(collection, [str(item["id"])])
        expected = self.versions.get(item["id"]) if expected_version is None else expected_version
        self._save(collection, [(item, expected)], by=by, action="update" if expected else "create")
        return report

    def _check_ids(self, collection: str, item_ids: Iterable[str]) -> None:
        """Refuse an id another collection uses already (one pass over the library)."""
        taken = {
            e.get("id"): other
            for other in COLLECTIONS
            if other != collection
            for e in self.entries(other)
        }
        for item_id in item_ids:
            if item_id in taken:
                raise RecordError(code="content_id_taken", id=item_id, collection=taken[item_id])

    def _save(self, collection: str, changes: list[_Change], *, by: str, action: str) -> list[str]:
        """Store changed entries (in the database when there is one); return added/updated."""
        if self.engine is not None:
            for stored in save_entries(self.engine, collection, changes, by=by, action=action):
                self.versions[stored.id] = stored.version
        return self._store(collection, [item for item, _ in changes])

    def _store(self, collection: str, items: list[dict[str, Any]]) -> list[str]:
        """Put `items` in memory, replacing the entries with their ids; return added or updated.

        Their ids were checked against the other collections before they were saved.
        """
        entries = self.entries(collection)
        where = {old.get("id"): index for index, old in enumerate(entries)}
        outcomes = []
        for item in items:
            index = where.get(item["id"])
            if index is None:
                where[item["id"]] = len(entries)
                entries.append(item)
                outcomes.append("added")
            else:
                entries[index] = item
                outcomes.append("updated")
        return outcomes

    def retire(
        self, item_id: str, *, expected_version: int | None = None, by: str = SYSTEM
    ) -> None:
        """Mark an entry retired: it stays in the library but is never placed again.

        `expected_version` and `by` are as for `put`.
        """
        self._set_status(item_id, "retired", expected_version=expected_version, by=by)

    def restore(
        self, item_id: str, *, expected_version: int | None = None, by: str = SYSTEM
    ) -> None:
        """Mark a retired entry active again (`expected_version` and `by` as for `put`)."""
        self._set_status(item_id, "active", expected_version=expected_version, by=by)

    def _set_status(
        self, item_id: str, status: str, *, expected_version: int | None, by: str
    ) -> None:
        collection, item = self.get(item_id)
        expected = self.versions.get(item_id) if expected_version is None else expected_version
        action = "retire" if status == "retired" else "restore"
        self._save(collection, [({**item, "status": status}, expected)], by=by, action=action)

    def save(self) -> None:
        """Write the three collections of a library loaded from files to `folder` atomically.

        A library in the database stores every change as it is made, so there is
        nothing left to write and this does nothing.
        """
        if self.engine is not None:
            return
        if self.folder is None:
            msg = "This library has no folder; load it with load_library(settings) to save it."
            raise RecordError(msg)
        for collection in COLLECTIONS:
            write_yaml_atomic(self.folder / f"{collection}.yaml", self.entries(collection))

    def frame(self) -> pd.DataFrame:
        """Return one row per entry, the table that matching and rotation work on.

        Columns are `FRAME_COLUMNS`; ``themes`` is a tuple, ``chars`` counts the Kazakh
        text, ``field_text`` is the field, industry or profession in lower case.
        """
        records = [_frame_record(c, item) for c, item in self.iter_items()]
        return pd.DataFrame.from_records(records, columns=FRAME_COLUMNS)


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


def load_library(
    settings: Settings | None = None, *, folder: Path | None = None, engine: Engine | None = None
) -> ContentLibrary:
    """Load the library from the shared database, or from a folder of YAML files.

    Parameters
    ----------
    settings
        Settings naming the database (``database_url``); its schema is created or
        upgraded first, importing ``<data_dir>/content/*.yaml`` the first time.
    folder
        Load the YAML files of this folder instead (kept in memory, written back by
        `ContentLibrary.save`; seeded from the package data when missing).
    engine
        Engine of the shared database, already upgraded (the app's cached engine);
        used instead of one made from `settings`.

    Returns
    -------
    ContentLibrary
    """
    if folder is not None:
        return _library_from_folder(Path(folder))
    if engine is None:
        if settings is None:
            msg = "Pass settings, an engine or a folder to load_library."
            raise ValueError(msg)
        engine = engine_from_settings(settings)
        upgrade_database(engine, content_dir=library_dir(settings))
    return library_from_entries(read_entries(engine), engine=engine)


def library_from_entries(
    stored: list[StoredEntry], *, engine: Engine | None = None
) -> ContentLibrary:
    """Return the library of stored entries (with their versions)."""
    library = ContentLibrary(engine=engine)
    for entry in stored:
        if entry.collection in COLLECTIONS:
            library.entries(entry.collection).append(
                item_from_raw(entry.collection, entry.entry)[0]
            )
            library.versions[entry.id] = entry.version
    return library


def _library_from_folder(folder: Path) -> ContentLibrary:
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
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise InputFileError(
            code="content_library_bad_yaml", path=str(path), reason=str(exc)
        ) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputFileError(code="content_library_not_list", path=str(path))
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
    raise InputFileError(code="content_collection_unknown", file=name or "—", columns=listed or "—")


@dataclass(slots=True)
class ImportReport:
    """What an import did: entries added, updated and left unchanged, and every problem by row."""

    collection: str
    added: list[str]
    updated: list[str]
    validation: ValidationReport
    unchanged: list[str] = field(default_factory=list)  # given exactly as stored: not saved again

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
            "unchanged": len(self.unchanged),
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
    by: str = SYSTEM,
) -> ImportReport:
    """Import entries from a CSV, XLSX or YAML file into the library.

    Every row is validated; all problems are reported at once with their row
    numbers, and the good rows are added (or replace the entry with their id), in
    the database all in one transaction, each based on the version this library
    loaded.

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
        Write the library after importing (when it was loaded from a folder).
    by
        Username written to the entries and the audit log.

    Returns
    -------
    ImportReport

    Raises
    ------
    BatchValidationError
        When no row could be imported because every row has errors.
    StaleVersionError
        When someone else changed one of the entries since the library was loaded
        (nothing is imported).
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
        raise BatchValidationError(report.errors, what=f"import of {Path(path).name}")
    library._check_ids(collection, [str(item["id"]) for item in report.items])
    changed, unchanged = _unchanged_split(library, collection, report.items)
    changes = [(item, library.version(str(item["id"]))) for item in changed]
    outcomes = library._save(collection, changes, by=by, action="import") if changes else []
    added = [i["id"] for i, o in zip(changed, outcomes, strict=True) if o == "added"]
    updated = [i["id"] for i, o in zip(changed, outcomes, strict=True) if o == "updated"]
    if save and library.folder is not None and changed:
        library.save()
    return ImportReport(collection, added, updated, report, unchanged)


def _unchanged_split(
    library: ContentLibrary, collection: str, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Split imported entries into those to save and the ids of those given exactly as stored.

    An entry equal to the one loaded counts as unchanged only while the database still holds
    the version loaded: one changed since then is saved like any other, so that the save is
    refused as stale rather than the change being lost in silence.
    """
    loaded = {str(e.get("id")): e for e in library.entries(collection)}
    same = [str(item["id"]) for item in items if loaded.get(str(item["id"])) == item]
    if library.engine is not None and same:
        now = stored_versions(library.engine, same)
        same = [i for i in same if now.get(i) == library.version(i)]
    unchanged = set(same)
    return [item for item in items if str(item["id"]) not in unchanged], same


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
