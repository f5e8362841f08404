"""Download of a form's submissions from an ODK Central server, with pyodk (fetch, no parsing).

The account comes from the environment only (`account_from_env`): pyodk is given
its configuration in memory and a session that keeps its token in memory, so no
password or token is ever written to a file. `download_export` saves the zip of
``GET /v1/projects/{projectId}/forms/{xmlFormId}/submissions.csv.zip`` (the
"export submissions to CSV" of Central, with its media); `nudge.field.exports`
reads it like any export.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nudge._errors import InvalidQueryError, OnlineSourceError

ENV_URL, ENV_USER, ENV_PASSWORD = "NUDGE_ODK_URL", "NUDGE_ODK_USER", "NUDGE_ODK_PASSWORD"
_TIMEOUT_S = 120
_CHUNK = 1 << 16
_log = logging.getLogger(__name__ + ".pyodk")  # given to pyodk for its failures: kept quiet
_log.addHandler(logging.NullHandler())
_log.propagate = False


@dataclass(frozen=True, slots=True)
class CentralAccount:
    """Where and as whom to log in to ODK Central (the password is never shown)."""

    url: str
    user: str
    password: str = field(repr=False)


def account_from_env(env: Mapping[str, str] | None = None) -> CentralAccount:
    """Return the ODK Central account of `NUDGE_ODK_URL`, `NUDGE_ODK_USER`, `NUDGE_ODK_PASSWORD`.

    Raises
    ------
    InvalidQueryError
        Naming every variable that is not set (or empty).
    """
    env = os.environ if env is None else env
    names = (ENV_URL, ENV_USER, ENV_PASSWORD)
    missing = [name for name in names if not env.get(name, "").strip()]
    if missing:
        listed = ", ".join(missing)
        raise InvalidQueryError(code="field_central_env", names=listed)
    url, user, password = (env[name].strip() for name in names)
    return CentralAccount(url=url, user=user, password=password)


def _client(account: CentralAccount) -> Any:
    """Return a pyodk client configured in memory, its token kept in memory only."""
    from pyodk import Client
    from pyodk._utils.config import CentralConfig, Config
    from pyodk._utils.session import Adapter, Session

    config = Config(
        central=CentralConfig(
            base_url=account.url, username=account.user, password=account.password
        )
    )
    session = Session(
        base_url=account.url,
        api_version="v1",
        username=account.user,
        password=account.password,
        cache_path=None,
    )
    session.mount("http://", Adapter(timeout=_TIMEOUT_S, max_retries=0))
    return Client(config=config, session=session)


@contextmanager
def _central_errors(account: CentralAccount, *, project: int, form: str) -> Iterator[None]:
    """Turn pyodk's and requests' failures into nudge errors with codes; pyodk logs nothing."""
    import requests
    from pyodk.errors import PyODKError

    pyodk_log = logging.getLogger("pyodk")  # it logs each failure with its traceback
    level = pyodk_log.level
    pyodk_log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    except requests.RequestException as exc:
        reason = type(exc).__name__
        raise OnlineSourceError(
            code="field_central_unreachable", url=account.url, reason=reason
        ) from exc
    except PyODKError as exc:
        raise _refused(exc, account, project=project, form=form) from exc
    finally:
        pyodk_log.setLevel(level)


def _status(exc: Exception) -> int | None:
    response = exc.args[1] if len(exc.args) > 1 else None
    return getattr(response, "status_code", None)


def _refused(exc: Exception, account: CentralAccount, *, project: int, form: str) -> Exception:
    status = _status(exc)
    if status == 401:
        return OnlineSourceError(code="field_central_login", url=account.url, user=account.user)
    if status == 403:
        return OnlineSourceError(
            code="field_central_forbidden", user=account.user, form=form, project=project
        )
    return OnlineSourceError(code="field_central_refused", url=account.url, status=status)


def _exists(client: Any, *, project: int, form: str) -> None:
    """Check the project, then the form, so that a 404 says which one is unknown."""
    from pyodk.errors import PyODKError

    try:
        client.projects.get(project_id=project)
    except PyODKError as exc:
        if _status(exc) != 404:
            raise
        raise InvalidQueryError(code="field_central_no_project", project=project) from exc
    try:
        client.forms.get(form, project_id=project)
    except PyODKError as exc:
        if _status(exc) != 404:
            raise
        raise InvalidQueryError(code="field_central_no_form", project=project, form=form) from exc


def download_export(account: CentralAccount, *, project: int, form: str, target: Path) -> Path:
    """Save the submissions export (zip with its media) of a form of ODK Central to `target`.

    Parameters
    ----------
    account
        The server and Web User (`account_from_env`).
    project
        Numeric id of the project.
    form
        The form's Form ID (``xmlFormId``).
    target
        File to write; written whole or not at all.

    Returns
    -------
    Path
        `target`.

    Raises
    ------
    OnlineSourceError
        When the server cannot be reached, refuses the login (401) or the form (403).
    InvalidQueryError
        When the project or the form does not exist (404).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    url = f"projects/{project}/forms/{{form}}/submissions.csv.zip"
    with _central_errors(account, project=project, form=form):
        client = _client(account)
        with client:
            _exists(client, project=project, form=form)
            path = client.session.urlformat(url, form=form)
            response = client.session.response_or_error(
                method="GET",
                url=path,
                logger=_log,
                params={"attachments": "true"},
                stream=True,
            )
            try:
                with part.open("wb") as out:
                    for chunk in response.iter_content(_CHUNK):
                        out.write(chunk)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
    part.replace(target)
    return target
