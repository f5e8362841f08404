"""Submissions of the field form into the registry, through the registry's own checks.

Each submission of an export (`nudge.field.exports`) becomes one of:

new installation
    Its instanceID is stored as the installation's ``external_id``; all new
    ones go through `nudge.registry.import_installations` together (one
    transaction, the checks and batch record of ``nudge registry import``).
correction
    A resubmission whose ``deprecatedID`` (or ODK Central's ``KEY``) is the
    instanceID of a stored installation: its changed details go through
    `update_installation`, a new status through `change_status`.
visit
    A submission at a planned site that already has an installation: a new
    status goes through `change_status` (the instanceID in its note).
already imported
    Its instanceID is stored: nothing is added (so the same export twice adds
    nothing).

Photos are attached with `attach_photo` (EXIF time and GPS against the
installation, re-use of a photo), each once. A submission is refused as a
whole, with its id, when it has no instanceID, comes from a form version the
import does not know, has a GPS accuracy worse than the limit, or names a photo
that is missing from the media folder or is no readable photo: those are
checked before anything is written. Everything an import keeps (installations,
corrections, status changes and photos) is written in one transaction: if the
import stops half-way, nothing of it is stored. A correction or photo the
registry refuses is rolled back to its savepoint and reported with its
submission id; the rest is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nudge import registry
from nudge._errors import NudgeError, RecordError, RowProblem
from nudge.field.exports import FieldExport, export_from_file, submission_ids
from nudge.field.form import DEFAULT_MAX_ACCURACY_M, FORM_SCHEMA
from nudge.io.sheets import csv_bytes
from nudge.registry.auth import actor_in, require
from nudge.registry.models import Installation, PlannedSite

KNOWN_SCHEMAS = (FORM_SCHEMA,)
"""Form versions the import reads: a version is known when it is one of these or starts
with one of them and a dot (``nudge-field-1.3f9a...``)."""

_REGISTRY_COLUMNS = (
    "kind",
    "lat",
    "lon",
    "site_id",
    "installed_on",
    "status",
    "removed_on",
    "content_id",
    "size",
    "illuminated",
    "note",
)
_YES = {"yes": True, "no": False}


class SubmissionProblem(RowProblem):
    """A `RowProblem` of one submission, named by its instanceID (`entry`) and its export row."""

    __slots__ = ()

    def __init__(
        self,
        submission: str,
        row: int,
        message: str = "",
        *,
        code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        RowProblem.__init__(self, row, message, code=code, params=params, entry=submission)

    @property
    def submission(self) -> str:
        """Return the instanceID of the submission."""
        return str(self.entry)

    def as_dict(self) -> dict[str, object]:
        """Return ``{"submission", "row", "message", "code"}``."""
        return {
            "submission": self.entry,
            "row": self.row,
            "message": self.message,
            "code": self.code,
        }


@dataclass
class FieldImportResult:
    """What an import of field submissions did; `as_dict` gives the CLI's JSON shape."""

    submissions: int
    stored: int = 0
    updated: int = 0
    status_changes: int = 0
    skipped_existing: int = 0
    photos: int = 0
    flagged: int = 0
    errors: list[SubmissionProblem] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    @property
    def refused(self) -> int:
        """Return how many submissions had a problem."""
        return len({p.submission for p in self.errors})

    @property
    def kept(self) -> int:
        """Return how many submissions are in the registry now (stored before or now)."""
        return self.stored + self.updated + self.status_changes + self.skipped_existing

    def as_dict(self) -> dict[str, object]:
        """Return the figures and every problem."""
        return {
            "submissions": self.submissions,
            "stored": self.stored,
            "updated": self.updated,
            "status_changes": self.status_changes,
            "skipped_existing": self.skipped_existing,
            "photos": self.photos,
            "flagged": self.flagged,
            "errors": [p.as_dict() for p in self.errors],
            "ids": self.ids,
        }


class _Problems:
    def __init__(self, ids: np.ndarray, rows: np.ndarray) -> None:
        self.ids, self.rows = ids, rows
        self.items: list[SubmissionProblem] = []
        self.bad = np.zeros(len(ids), dtype=bool)

    def add(self, i: int, message: str = "", *, code: str | None, **params: object) -> None:
        """Record the problem `code` of submission `i` (`message`: English of its own)."""
        sid = str(self.ids[i])
        params = {"submission": sid, **params}
        problem = SubmissionProblem(sid, int(self.rows[i]), message, code=code, params=params)
        self.items.append(problem)
        self.bad[i] = True

    def add_error(self, i: int, exc: NudgeError) -> None:
        self.add(i, str(exc), code=exc.code, **exc.params)


def _cells(table: pd.DataFrame, column: str) -> list[Any]:
    if column not in table:
        return [None] * len(table)
    return [None if _missing(v) else v for v in table[column]]


def _missing(value: object) -> bool:
    """Return whether a cell is empty (None, NaN or blank text)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def _known(version: object, schemas: Sequence[str]) -> bool:
    text = "" if version is None else str(version)
    return any(text == s or text.startswith(s + ".") for s in schemas)


def _check_ids_and_versions(table: pd.DataFrame, p: _Problems, schemas: Sequence[str]) -> None:
    seen: set[str] = set()
    known = ", ".join(schemas)
    for i, (instance, version) in enumerate(
        zip(_cells(table, "instance_id"), _cells(table, "form_version"), strict=True)
    ):
        if instance is None:
            p.add(i, code="field_instance_missing")
        elif instance in seen:
            p.add(i, code="field_instance_duplicate")
        seen.add(str(instance))
        if not _known(version, schemas):
            p.add(i, code="field_version_unknown", version=str(version or "—"), known=known)


def _check_accuracy(table: pd.DataFrame, p: _Problems, limit: float) -> None:
    for i, value in enumerate(_cells(table, "accuracy")):
        if value is None:
            continue
        try:
            accuracy = float(str(value).replace(",", "."))
        except ValueError:
            accuracy = float("nan")
        if not accuracy <= limit:  # NaN too
            p.add(i, code="field_accuracy", accuracy=str(value), limit=f"{limit:g}")


def _check_photos(export: FieldExport, p: _Problems, max_bytes: int) -> None:
    table = export.submissions
    for i, names in enumerate(table["photos"]):
        for name in names:
            data = export.media(name, str(p.ids[i]))
            if data is None:
                p.add(i, code="field_photo_missing", name=name)
                continue
            try:
                registry.inspect_photo(data, name=name, max_bytes=max_bytes)
            except NudgeError as exc:
                p.add_error(i, exc)


@dataclass(frozen=True)
class _Stored:
    by_external: dict[str, int]
    by_site: dict[str, int]


def _stored(session: Session, table: pd.DataFrame) -> _Stored:
    """Return the stored installations named by the submissions' ids, and those of their sites."""
    ids = {str(v) for c in ("instance_id", "deprecated_id", "key") for v in _cells(table, c) if v}
    sites = {str(v) for v in _cells(table, "site_id") if v}
    by_external = (
        dict(
            session.execute(
                sa.select(Installation.external_id, Installation.id).where(
                    Installation.external_id.in_(sorted(ids))
                )
            ).all()
        )
        if ids
        else {}
    )
    rows = (
        session.execute(
            sa.select(PlannedSite.site_id, Installation.id)
            .join(Installation, Installation.planned_site_id == PlannedSite.id)
            .where(PlannedSite.site_id.in_(sorted(sites)), Installation.status != "removed")
            .order_by(Installation.id)
        ).all()
        if sites
        else []
    )
    return _Stored({str(k): v for k, v in by_external.items() if k}, dict(rows))


def _values(table: pd.DataFrame) -> pd.DataFrame:
    """Return the submissions as rows of ``nudge registry import`` (canonical columns)."""
    expected, ok = _cells(table, "expected_content"), _cells(table, "content_ok")
    given = _cells(table, "content_id")
    content = [
        g if g is not None else (e if str(o).lower() == "yes" else None)
        for g, e, o in zip(given, expected, ok, strict=True)
    ]
    out = pd.DataFrame({c: _cells(table, c) for c in _REGISTRY_COLUMNS}, dtype=object)
    out["content_id"] = content
    out["illuminated"] = [
        _YES.get(str(v).strip().lower(), v) if v is not None else None for v in out["illuminated"]
    ]
    out["external_id"] = _cells(table, "instance_id")
    return out


@dataclass(frozen=True)
class _Run:
    """One import: the registry, the export, its rows, options, problems and figures."""

    session: Session
    export: FieldExport
    rows: pd.DataFrame
    p: _Problems
    result: FieldImportResult
    user: registry.UserRef
    districts: registry.DistrictLayer | None
    radius: float
    themes_of: Callable[[str], Sequence[str]] | None


def import_submissions(
    engine: Engine,
    export: FieldExport | Path | str,
    *,
    user: registry.UserRef,
    photo_dir: Path,
    max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M,
    known_versions: Sequence[str] = KNOWN_SCHEMAS,
    districts: registry.DistrictLayer | None = None,
    duplicate_radius_m: float = 15.0,
    max_distance_m: float = 100.0,
    max_photo_bytes: int = 20 * 1024 * 1024,
    themes_of: Callable[[str], Sequence[str]] | None = None,
) -> FieldImportResult:
    """Import the submissions of an ODK Central or KoboToolbox export into the registry.

    Parameters
    ----------
    engine
        Engine of the registry.
    export
        The export (see `export_from_file`), or its file.
    user
        Who imports; a coordinator's submissions outside their regions are refused.
    photo_dir
        Folder of stored photos (`Settings.photo_dir`).
    max_accuracy_m
        Refuse submissions whose GPS accuracy is worse than this (metres).
    known_versions
        Form versions (or their prefixes) the import accepts.
    districts, duplicate_radius_m, themes_of
        As in `nudge.registry.import_installations`.
    max_distance_m, max_photo_bytes
        As in `nudge.registry.attach_photo`.

    Returns
    -------
    FieldImportResult
        Every problem with its submission's instanceID; the good submissions stored.

    Raises
    ------
    InputFileError
        When the export cannot be read or is no export of submissions.
    AccessDeniedError
        When `user` may not log installations at all.
    """
    with registry.read_session(engine) as session:  # a viewer hears that before anything else
        require(actor_in(session, user), "edit_installations")
    if not isinstance(export, FieldExport):
        export = export_from_file(export)
    table = export.submissions
    ids = submission_ids(table)
    p = _Problems(ids, table["row"].to_numpy())
    _check_ids_and_versions(table, p, known_versions)
    _check_accuracy(table, p, max_accuracy_m)
    _check_photos(export, p, max_photo_bytes)
    result = FieldImportResult(len(table))
    good = np.flatnonzero(~p.bad)
    with registry.write_session(engine) as session:  # every good submission, or none
        plan = _Plan.of(table, good, _stored(session, table.iloc[good]))
        values = _values(table)
        run = _Run(
            session, export, values, p, result, user, districts, duplicate_radius_m, themes_of
        )
        targets = {**plan.existing, **_store_new(run, plan.new)}
        for i, inst in plan.corrections.items():
            if _correct(run, inst, i):
                targets[i] = inst
        for i, inst in plan.visits.items():
            if _visit(run, inst, i):
                targets[i] = inst
        result.skipped_existing += len(plan.existing)
        _attach_all(
            session,
            export,
            targets,
            p,
            result,
            user=user,
            photo_dir=photo_dir,
            max_distance_m=max_distance_m,
            max_bytes=max_photo_bytes,
        )
    result.errors = sorted(p.items, key=lambda q: q.row)
    result.ids = sorted(set(targets.values()))
    return result


@dataclass
class _Plan:
    """What each good submission is: new, already imported, a correction or a visit."""

    new: list[int]
    existing: dict[int, int]
    corrections: dict[int, int]
    visits: dict[int, int]

    @classmethod
    def of(cls, table: pd.DataFrame, good: np.ndarray, stored: _Stored) -> _Plan:
        plan = cls([], {}, {}, {})
        instance, site = _cells(table, "instance_id"), _cells(table, "site_id")
        earlier = list(zip(_cells(table, "deprecated_id"), _cells(table, "key"), strict=True))
        for i in good.tolist():
            before = [e for e in earlier[i] if e and e != instance[i] and e in stored.by_external]
            if instance[i] in stored.by_external:
                plan.existing[i] = stored.by_external[instance[i]]
            elif before:
                plan.corrections[i] = stored.by_external[before[0]]
            elif site[i] is not None and str(site[i]) in stored.by_site:
                plan.visits[i] = stored.by_site[str(site[i])]
            else:
                plan.new.append(i)
        return plan


def _store_new(run: _Run, new: list[int]) -> dict[int, int]:
    """Store the new submissions with `import_installations`; return their installation ids."""
    if not new:
        return {}
    frame = run.rows.iloc[new].reset_index(drop=True)
    done = registry.import_installations(
        run.session,
        csv_bytes(frame),
        filename=f"{Path(run.export.name).stem}.csv",
        user=run.user,
        districts=run.districts,
        duplicate_radius_m=run.radius,
        themes_of=run.themes_of,
    )
    for problem in done.errors:  # the CSV's rows start at 2
        run.p.add(new[problem.row - 2], problem.message, code=problem.code, **problem.params)
    run.result.stored += done.stored
    run.result.skipped_existing += done.skipped_existing
    run.result.flagged += done.flagged_duplicates
    keys = run.rows["external_id"]
    found = _stored(run.session, pd.DataFrame({"instance_id": keys.iloc[new]}))
    return {
        i: found.by_external[str(keys.iloc[i])]
        for i in new
        if not run.p.bad[i] and str(keys.iloc[i]) in found.by_external
    }


def _changes(record: registry.InstallationRecord, row: pd.Series) -> dict[str, Any]:
    """Return the details of a corrected submission that differ from the stored record."""
    wanted: dict[str, Any] = {
        "lat": _float(row["lat"]),
        "lon": _float(row["lon"]),
        "content_id": row["content_id"],
        "size": row["size"],
        "note": row["note"],
        "illuminated": row["illuminated"],
        "installed_on": _day(row["installed_on"]),
        "removed_on": _day(row["removed_on"]),
    }
    out = {}
    for name, value in wanted.items():
        current = getattr(record, name)
        if isinstance(value, float) and current is not None and abs(value - current) < 1e-7:
            continue
        if value != current and not (value is None and current is None):
            out[name] = value
    return out


def _float(value: object) -> float | None:
    try:
        return None if value is None else float(str(value).replace(",", "."))
    except ValueError:
        return None


def _day(value: object) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _correct(run: _Run, inst: int, i: int) -> bool:
    """Apply a corrected resubmission to its installation; return whether it is in the registry."""
    row = run.rows.iloc[i]
    try:
        with run.session.begin_nested():  # a refused correction leaves the others stored
            record = registry.get_installation(run.session, inst)
            changes = _changes(record, row)
            if changes:
                registry.update_installation(
                    run.session, inst, changes, user=run.user, districts=run.districts
                )
            note = f"field {run.p.ids[i]}"
            moved = _move(run.session, record, row, user=run.user, note=note)
    except NudgeError as exc:
        run.p.add_error(i, exc)
        return False
    if changes or moved:
        run.result.updated += 1
    else:
        run.result.skipped_existing += 1
    return True


def _move(
    session: Session,
    record: registry.InstallationRecord,
    row: pd.Series,
    *,
    user: registry.UserRef,
    note: str,
) -> bool:
    status = row["status"]
    if status is None or status == record.status:
        return False
    on = _day(row["removed_on"]) if status == "removed" else _day(row["installed_on"])
    if status not in ("installed", "removed"):
        on = None
    registry.change_status(session, record.id, str(status), user=user, on=on, note=note)
    return True


def _visit(run: _Run, inst: int, i: int) -> bool:
    """Record a visit of an installed site: its new status; return whether it is kept."""
    try:
        with run.session.begin_nested():
            record = registry.get_installation(run.session, inst)
            note = f"field {run.p.ids[i]}"
            moved = _move(run.session, record, run.rows.iloc[i], user=run.user, note=note)
    except NudgeError as exc:
        run.p.add_error(i, exc)
        return False
    if moved:
        run.result.status_changes += 1
    else:
        run.result.skipped_existing += 1
    return True


def _attach_all(
    session: Session,
    export: FieldExport,
    targets: dict[int, int],
    p: _Problems,
    result: FieldImportResult,
    *,
    user: registry.UserRef,
    photo_dir: Path,
    max_distance_m: float,
    max_bytes: int,
) -> None:
    """Attach every photo of the kept submissions to their installation, each once."""
    photos = export.submissions["photos"]
    for i, inst in sorted(targets.items()):
        for name in photos.iloc[i]:
            data = export.media(name, str(p.ids[i]))
            if data is None:  # checked before; gone since
                continue
            try:
                with session.begin_nested():  # a refused photo leaves the others attached
                    done = registry.attach_photo(
                        session,
                        inst,
                        data,
                        user=user,
                        photo_dir=photo_dir,
                        filename=name,
                        max_bytes=max_bytes,
                        max_distance_m=max_distance_m,
                    )
            except RecordError as exc:
                if exc.code != "photo_already_attached":
                    p.add_error(i, exc)
                continue
            except NudgeError as exc:
                p.add_error(i, exc)
                continue
            result.photos += 1
            result.flagged += len(done.flags)
