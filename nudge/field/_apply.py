"""Writing field submissions into the registry: new installations, corrections, visits, photos."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge import registry
from nudge._errors import NudgeError, RecordError
from nudge.field._checks import FieldImportResult, _cells, _Problems
from nudge.field.exports import FieldExport
from nudge.io.sheets import csv_bytes
from nudge.registry.models import Installation, PlannedSite

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


def _in_savepoint(
    run: _Run, inst: int, i: int, step: Callable[[registry.InstallationRecord], bool], counter: str
) -> bool:
    """Run `step` on installation `inst` in a savepoint; return whether the row is kept.

    A refused step leaves the other submissions stored and reports its error; a step that
    changed something adds one to the result's `counter`, else to ``skipped_existing``.
    """
    try:
        with run.session.begin_nested():
            changed = step(registry.get_installation(run.session, inst))
    except NudgeError as exc:
        run.p.add_error(i, exc)
        return False
    name = counter if changed else "skipped_existing"
    setattr(run.result, name, getattr(run.result, name) + 1)
    return True


def _correct(run: _Run, inst: int, i: int) -> bool:
    """Apply a corrected resubmission to its installation; return whether it is in the registry."""
    row = run.rows.iloc[i]

    def step(record: registry.InstallationRecord) -> bool:
        changes = _changes(record, row)
        if changes:
            registry.update_installation(
                run.session, inst, changes, user=run.user, districts=run.districts
            )
        moved = _move(run.session, record, row, user=run.user, note=f"field {run.p.ids[i]}")
        return bool(changes) or moved

    return _in_savepoint(run, inst, i, step, "updated")


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
    row, note = run.rows.iloc[i], f"field {run.p.ids[i]}"

    def step(record: registry.InstallationRecord) -> bool:
        return _move(run.session, record, row, user=run.user, note=note)

    return _in_savepoint(run, inst, i, step, "status_changes")


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
