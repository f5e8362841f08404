"""Reading the submissions exported by ODK Central and KoboToolbox, with their photos.

Two layouts are read (``docs/field.md`` describes them column by column):

ODK Central
    ``<form>.csv``, one row per submission (``meta-instanceID``, ``KEY``,
    ``FormVersion``, geopoints split into ``location-Latitude`` /
    ``-Longitude`` / ``-Altitude`` / ``-Accuracy``); each repeat group in
    ``<form>-<repeat>.csv`` joined by ``PARENT_KEY`` → ``KEY``; the photos in
    ``media/``. Given as the zip Central downloads, or as the CSV with the
    ``media`` folder beside it.
KoboToolbox
    An XLSX workbook whose first sheet holds the submissions (``_uuid``,
    ``meta/instanceID``, ``_index``, ``__version__``, ``_location_latitude``...)
    and each further sheet a repeat group, joined by ``_parent_index`` →
    ``_index``; the photos beside it (in ``media/`` or ``attachments/``, at any
    depth, or next to the workbook).

Column names are matched after dropping group prefixes (``meta-``, ``meta/``)
and case, so both give the same canonical columns (`SUBMISSION_COLUMNS`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from nudge._errors import InputFileError, Notice
from nudge.io.limits import check_size, check_zip
from nudge.io.tables import read_table

MAX_EXPORT_BYTES = 2_000_000_000
"""Largest export (zip of submissions and photos) read."""
MAX_PHOTO_BYTES = 20 * 1024 * 1024
"""Largest photo read from an export (the registry's own limit)."""

SUBMISSION_COLUMNS: dict[str, tuple[str, ...]] = {
    "instance_id": ("meta_instanceid", "instanceid", "meta_instance_id", "instance_id"),
    "deprecated_id": ("meta_deprecatedid", "deprecatedid", "deprecated_id"),
    "key": ("key",),
    "uuid": ("uuid",),
    "form_version": ("form_version", "formversion", "version"),
    "lat": ("location_latitude", "lat", "latitude"),
    "lon": ("location_longitude", "lon", "longitude"),
    "accuracy": ("location_accuracy", "location_precision", "accuracy"),
    "location": ("location",),
    "district": ("district",),
    "site_id": ("site", "site_id"),
    "expected_content": ("expected_content",),
    "content_ok": ("content_ok",),
    "content_id": ("content_id",),
    "kind": ("kind",),
    "status": ("status",),
    "installed_on": ("installed_on",),
    "removed_on": ("removed_on",),
    "size": ("size",),
    "illuminated": ("illuminated",),
    "note": ("note",),
    "photo": ("photo", "photos_photo"),
    "index": ("index",),
    "parent_index": ("parent_index",),
    "parent_key": ("parent_key",),
}
"""Canonical submission columns and the export column names (normalised) that give them."""


def _key(name: object) -> str:
    return re.sub(r"[\s\-/]+", "_", str(name).strip().casefold()).strip("_")


_MATCHES: tuple[Callable[[object, str, str], bool], ...] = (
    lambda column, _, alias: str(column) == alias,  # the form's own question ("status") first,
    lambda _, key, alias: key == alias,  # then a server's column ("Status", "_status"),
    lambda _, key, alias: key.endswith("_" + alias),  # then a field in a group ("group/site")
)
"""How an export column (name, normalised name) may match an alias, best first."""


def canonical_submission_columns(columns: list[object]) -> dict[object, str]:
    """Map an export's column names to canonical ones; group prefixes are dropped when needed."""
    keys = {c: _key(c) for c in columns}
    out: dict[object, str] = {}
    for canon, aliases in SUBMISSION_COLUMNS.items():
        free = {c: k for c, k in keys.items() if c not in out}
        for matches in _MATCHES:
            found = next((c for a in aliases for c, k in free.items() if matches(c, k, a)), None)
            if found is not None:
                out[found] = canon
                break
    return out


MediaLookup = Callable[[str, str], bytes | None]
"""Return the bytes of a photo by file name and submission id, or None when it is missing."""


@dataclass(frozen=True)
class FieldExport:
    """Submissions of an export, one row each, and how to find their photos.

    ``submissions`` has a ``row`` column (the row of the submission in its
    sheet), the canonical columns found (see `SUBMISSION_COLUMNS`), and
    ``photos``, a tuple of photo file names per submission.
    """

    name: str
    layout: str
    submissions: pd.DataFrame
    media: MediaLookup
    digest: str


def _canonical(table: pd.DataFrame) -> pd.DataFrame:
    mapping = canonical_submission_columns([c for c in table.columns if c != "row"])
    return table[["row", *mapping]].rename(columns=mapping)


_WHY = {
    "no_id": Notice(code="field_reason_no_instance_id"),
    "not_zip": Notice(code="field_reason_not_zip"),
    "no_table": Notice(code="field_reason_no_table"),
    "suffix": Notice(code="field_reason_suffix"),
}


def _not_an_export(name: str, reason: str) -> InputFileError:
    why = _WHY[reason]
    return InputFileError(code="field_not_an_export", name=name, why=why)


def _photo_names(table: pd.DataFrame) -> list[tuple[str, ...]]:
    cells = table["photo"] if "photo" in table else pd.Series([None] * len(table))
    return [(str(v).strip(),) if v is not None and str(v).strip() else () for v in cells]


def _join_repeats(
    main: pd.DataFrame, repeats: list[pd.DataFrame], *, parent: str, own: str
) -> pd.DataFrame:
    """Add the photo names of repeat tables (joined on ``parent`` → ``own``) to `main`."""
    photos = _photo_names(main)
    positions = {str(v): i for i, v in enumerate(main[own])} if own in main else {}
    for table in repeats:
        if parent not in table or "photo" not in table:
            continue
        for link, name in zip(table[parent], _photo_names(table), strict=True):
            i = positions.get(str(link))
            if i is not None and name:
                photos[i] = photos[i] + name
    out = main.copy()
    out["photos"] = pd.Series(photos, index=main.index, dtype=object)
    return out


def _check_columns(table: pd.DataFrame, name: str) -> None:
    if "instance_id" not in table and "uuid" not in table and "key" not in table:
        raise _not_an_export(name, "no_id")


def _central(main: bytes, repeats: dict[str, bytes], name: str) -> tuple[pd.DataFrame, str]:
    table, digest = read_table(main, name=name, max_bytes=MAX_EXPORT_BYTES)
    table = _canonical(table)
    _check_columns(table, name)
    if "instance_id" not in table and "key" in table:
        table["instance_id"] = table["key"]
    others = [_repeat_table(file, data) for file, data in sorted(repeats.items())]
    return _join_repeats(table, others, parent="parent_key", own="key"), digest


def _repeat_table(name: str, data: bytes) -> pd.DataFrame:
    return _canonical(read_table(data, name=name, max_bytes=MAX_EXPORT_BYTES)[0])


def _kobo(data: bytes, name: str) -> tuple[pd.DataFrame, str]:
    table, digest = read_table(data, name=name, max_bytes=MAX_EXPORT_BYTES)
    table = _canonical(table)
    _check_columns(table, name)
    if "instance_id" not in table:
        table["instance_id"] = table["uuid"]
    table["instance_id"] = [
        i if i is not None or u is None else f"uuid:{u}"
        for i, u in zip(table["instance_id"], table.get("uuid", [None] * len(table)), strict=True)
    ]
    check_zip(data, name=name)
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object, engine="openpyxl")
    others = [_canonical(_with_rows(frame)) for frame in list(sheets.values())[1:]]
    return _join_repeats(table, others, parent="parent_index", own="index"), digest


def _with_rows(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object).where(frame.notna(), None)
    frame.insert(0, "row", frame.index.to_numpy() + 2)
    return frame


def _location(table: pd.DataFrame) -> pd.DataFrame:
    """Split a geopoint text ``lat lon altitude accuracy`` when the export did not."""
    if "location" not in table or ("lat" in table and "lon" in table):
        return table
    parts = [str(v).split() if v is not None else [] for v in table["location"]]
    for pos, column in enumerate(("lat", "lon", None, "accuracy")):
        if column is not None and column not in table:
            table[column] = [p[pos] if len(p) > pos else None for p in parts]
    return table


def _stripped_or_none(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    table = _location(table.reset_index(drop=True))
    for column in ("instance_id", "deprecated_id", "key", "uuid", "form_version"):
        if column in table:
            table[column] = [_stripped_or_none(v) for v in table[column]]
    return table


def _folder_media(base: Path) -> MediaLookup:
    """Find photos in ``media/`` or ``attachments/`` beside the export (any depth) or next to it."""
    index: dict[str, list[Path]] = {}
    for folder in (base / "media", base / "attachments"):
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file():
                    index.setdefault(path.name, []).append(path)
    for path in base.iterdir():
        if path.is_file():
            index.setdefault(path.name, []).append(path)

    def find(name: str, submission: str) -> bytes | None:
        paths = index.get(PurePosixPath(name.replace("\\", "/")).name, [])
        own = [p for p in paths if submission.removeprefix("uuid:") in str(p)]
        chosen = (own or paths)[:1]
        if not chosen:
            return None
        with chosen[0].open("rb") as fh:  # one byte more than allowed: the check says too large
            return fh.read(MAX_PHOTO_BYTES + 1)

    return find


def _zip_media(archive: zipfile.ZipFile) -> MediaLookup:
    index: dict[str, list[zipfile.ZipInfo]] = {}
    for info in archive.infolist():
        if not info.is_dir():
            index.setdefault(PurePosixPath(info.filename).name, []).append(info)

    def find(name: str, submission: str) -> bytes | None:
        named = index.get(PurePosixPath(name.replace("\\", "/")).name, [])
        infos = [i for i in named if not i.filename.lower().endswith((".csv", ".xlsx"))]
        own = [i for i in infos if submission.removeprefix("uuid:") in i.filename]
        chosen = (own or infos)[:1]
        if not chosen:
            return None
        with archive.open(chosen[0]) as fh:
            return fh.read(MAX_PHOTO_BYTES + 1)

    return find


def _read_zip(path: Path) -> FieldExport:
    name = path.name
    check_size(path, max_bytes=MAX_EXPORT_BYTES)
    check_zip(path, name=name, max_unpacked=MAX_EXPORT_BYTES)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _not_an_export(name, "not_zip") from exc
    top = [i for i in archive.infolist() if "/" not in i.filename.strip("/") and not i.is_dir()]
    tables = [i for i in top if i.filename.lower().endswith(".csv")]
    books = [i for i in top if i.filename.lower().endswith(".xlsx")]
    if books and not tables:
        frame, digest = _kobo(archive.read(books[0]), books[0].filename)
        return FieldExport(name, "kobo", _tidy(frame), _zip_media(archive), digest)
    if not tables:
        raise _not_an_export(name, "no_table")
    main = min(tables, key=lambda i: len(i.filename))
    stem = main.filename[: -len(".csv")]
    repeat_infos = [i for i in tables if i is not main and i.filename.startswith(stem + "-")]
    repeats = {i.filename: archive.read(i) for i in repeat_infos}
    frame, digest = _central(archive.read(main), repeats, main.filename)
    return FieldExport(name, "odk_central", _tidy(frame), _zip_media(archive), digest)


def export_from_file(path: Path | str) -> FieldExport:
    """Read an ODK Central or KoboToolbox export: a zip, a CSV or an XLSX of submissions.

    Parameters
    ----------
    path
        The zip the server downloads; or ``<form>.csv`` of ODK Central (its
        repeat files ``<form>-<repeat>.csv`` and ``media/`` beside it); or the
        XLSX of KoboToolbox (photos beside it).

    Returns
    -------
    FieldExport

    Raises
    ------
    InputFileError
        When the file cannot be read or is no export of submissions.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(code="field_export_missing", path=str(path))
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _read_zip(path)
    if suffix == ".csv":
        check_size(path, max_bytes=MAX_EXPORT_BYTES)
        repeats = {p.name: p.read_bytes() for p in sorted(path.parent.glob(f"{path.stem}-*.csv"))}
        frame, digest = _central(path.read_bytes(), repeats, path.name)
        media = _folder_media(path.parent)
        return FieldExport(path.name, "odk_central", _tidy(frame), media, digest)
    if suffix == ".xlsx":
        check_size(path, max_bytes=MAX_EXPORT_BYTES)
        frame, digest = _kobo(path.read_bytes(), path.name)
        return FieldExport(path.name, "kobo", _tidy(frame), _folder_media(path.parent), digest)
    raise _not_an_export(path.name, "suffix")


def submission_ids(table: pd.DataFrame) -> np.ndarray:
    """Return the id people see for each submission: its instanceID, else its row."""
    ids = table["instance_id"] if "instance_id" in table else [None] * len(table)
    shown = [i if i else f"row {r}" for i, r in zip(ids, table["row"], strict=True)]
    return np.array(shown, dtype=object)
