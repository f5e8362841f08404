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

The checks made before anything is written are in `nudge.field._checks`, the
writing of each kind of submission in `nudge.field._apply`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from nudge import registry
from nudge.field._apply import (
    _attach_all,
    _correct,
    _Plan,
    _Run,
    _store_new,
    _stored,
    _values,
    _visit,
)
from nudge.field._checks import (
    FieldImportResult,
    SubmissionProblem,
    _check_accuracy,
    _check_ids_and_versions,
    _check_photos,
    _Problems,
)
from nudge.field.exports import FieldExport, export_from_file, submission_ids
from nudge.field.form import DEFAULT_MAX_ACCURACY_M, FORM_SCHEMA
from nudge.registry.auth import actor_in, require

__all__ = ["KNOWN_SCHEMAS", "FieldImportResult", "SubmissionProblem", "import_submissions"]

KNOWN_SCHEMAS = (FORM_SCHEMA,)
"""Form versions the import reads: a version is known when it is one of these or starts
with one of them and a dot (``nudge-field-1.3f9a...``)."""


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
