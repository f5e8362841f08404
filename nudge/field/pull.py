"""Pull of a form's submissions from an ODK Central server (the network part is `_central`).

`pull_export` saves the server's export zip under a folder, named by project,
form and UTC time, so every pull is kept; `import_submissions` then reads it like
an export downloaded by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from nudge.field._central import account_from_env, download_export


def export_name(project: int, form: str, *, at: datetime | None = None) -> str:
    """Return the file name of a pulled export: ``<project>-<form>-<UTC time>.zip``."""
    stamp = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", form).strip("._") or "form"
    return f"{project}-{safe}-{stamp}.zip"


def pull_export(
    project: int, form: str, *, folder: Path, env: Mapping[str, str] | None = None
) -> Path:
    """Download the submissions export of an ODK Central form into `folder`.

    Parameters
    ----------
    project
        Numeric id of the Central project.
    form
        The form's Form ID (``xmlFormId``).
    folder
        Where to save the zip (created when missing).
    env
        Where to read ``NUDGE_ODK_URL``, ``NUDGE_ODK_USER`` and
        ``NUDGE_ODK_PASSWORD``; default the process environment. They are never
        read from or written to a file.

    Returns
    -------
    Path
        The saved zip, ready for `import_submissions`.

    Raises
    ------
    InvalidQueryError
        When a variable is not set, or the project or form is unknown to the server.
    OnlineSourceError
        When the server cannot be reached or refuses the login.
    """
    account = account_from_env(env)
    return download_export(
        account, project=project, form=form, target=Path(folder) / export_name(project, form)
    )
