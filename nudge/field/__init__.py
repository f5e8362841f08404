"""Field capture: XLSForm forms from a plan, and ODK/Kobo submissions into the registry.

Coordinators check installations where they stand with ODK Collect or
KoboToolbox on their phones, offline when need be. `form_from_plan` writes the
XLSForm of a plan's sites (with the content the rotation expects there now);
`import_submissions` takes the server's export back into the registry, through
the same checks as ``nudge registry import``, keyed by each submission's
instanceID; `pull_export` downloads that export from an ODK Central server
(account in the environment). The layouts of both exports are described in ``docs/field.md``.

Typical use::

    flight, content = expected_content("rotation/calendar.csv", on=date.today())
    form = form_from_plan(plan, region="ALA", content=content, flight=flight)
    form.write("almaty_form.xlsx")           # upload to ODK Central or KoboToolbox
    result = import_submissions(engine, "export.zip", user=me, photo_dir=settings.photo_dir)
"""

from __future__ import annotations

from nudge.field.exports import SUBMISSION_COLUMNS, FieldExport, export_from_file
from nudge.field.form import (
    DEFAULT_MAX_ACCURACY_M,
    FORM_SCHEMA,
    FieldForm,
    current_flight,
    expected_content,
    form_from_plan,
)
from nudge.field.imports import (
    KNOWN_SCHEMAS,
    FieldImportResult,
    SubmissionProblem,
    import_submissions,
)
from nudge.field.pull import pull_export

__all__ = [
    "DEFAULT_MAX_ACCURACY_M",
    "FORM_SCHEMA",
    "KNOWN_SCHEMAS",
    "SUBMISSION_COLUMNS",
    "FieldExport",
    "FieldForm",
    "FieldImportResult",
    "SubmissionProblem",
    "current_flight",
    "expected_content",
    "export_from_file",
    "form_from_plan",
    "import_submissions",
    "pull_export",
]
