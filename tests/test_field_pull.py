"""The HTTP contract of ``nudge field pull`` against a local server that answers like ODK Central.

The server's answers follow the ODK Central API documentation (docs.getodk.org:
central-api-authentication, central-api-project-management,
central-api-form-management, central-api-submission-management): ``POST
/v1/sessions`` gives a token (the documentation's example token), the project
and form are JSON, ``submissions.csv.zip`` is the export zip, and failures are
the documented ``{"code": "401.2" | "403.1" | "404.1", "message": ...}``. No internet is used.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from registry_support import Users, table_counts
from sqlalchemy.engine import Engine
from test_field import central_export, good_subs

from nudge._errors import InvalidQueryError, OnlineSourceError
from nudge.cli import build_app
from nudge.cli._common import run_app
from nudge.field import import_submissions, pull_export

pytest_plugins = ["registry_support"]

EMAIL, PASSWORD = "aigerim@example.kz", "s3cret-Central-pass"
TOKEN = "lSpAIeksRu1CNZs7!qjAot2T17dPzkrw9B4iTtpj7OoIJBmXvnHM8z8Ka4QPEjR7"
PROJECT, HIDDEN, FORM = 7, 8, "nudge_field"
STAMP = "2025-03-02T10:00:00.000Z"
UNAUTHENTICATED = {
    "code": "401.2",
    "message": "Could not authenticate with the provided credentials.",
}
FORBIDDEN = {
    "code": "403.1",
    "message": "The authenticated actor does not have rights to perform that action.",
}
NOT_FOUND = {"code": "404.1", "message": "Could not find the resource you were looking for."}


@dataclass
class Central:
    """A local stand-in of ODK Central: its URL, the requests it got, the zip it serves."""

    url: str
    export: bytes
    requests: list[dict[str, Any]] = field(default_factory=list)

    def paths(self) -> list[tuple[str, str]]:
        return [(r["method"], r["path"]) for r in self.requests]


def _handler(central: Central) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

        def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: object) -> None:
            self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

        def _record(self, body: bytes = b"") -> None:
            central.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "auth": self.headers.get("Authorization"),
                    "body": body,
                }
            )

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._record(body)
            sent = json.loads(body or b"{}")
            if self.path != "/v1/sessions":
                self._json(404, NOT_FOUND)
            elif sent.get("email") == EMAIL and sent.get("password") == PASSWORD:
                self._json(
                    200,
                    {"createdAt": STAMP, "expiresAt": "2025-03-03T10:00:00.000Z", "token": TOKEN},
                )
            else:
                self._json(401, UNAUTHENTICATED)

        def do_GET(self) -> None:
            self._record()
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._json(403, FORBIDDEN)
                return
            if self.path.startswith(f"/v1/projects/{HIDDEN}"):  # exists, not for this user
                self._json(403, FORBIDDEN)
                return
            project = f"/v1/projects/{PROJECT}"
            form = f"{project}/forms/{FORM}"
            if self.path == project:
                self._json(
                    200,
                    {
                        "id": PROJECT,
                        "name": "Almaty banners",
                        "description": None,
                        "keyId": None,
                        "archived": False,
                        "createdAt": STAMP,
                        "updatedAt": None,
                    },
                )
            elif self.path == form:
                self._json(
                    200,
                    {
                        "projectId": PROJECT,
                        "xmlFormId": FORM,
                        "name": "Check",
                        "version": "nudge-field-1.0123456789",
                        "enketoId": None,
                        "hash": "51a93eab3a1974dbffc4c7913fa5a16a",
                        "keyId": None,
                        "state": "open",
                        "createdAt": STAMP,
                        "updatedAt": None,
                        "publishedAt": STAMP,
                    },
                )
            elif self.path == f"{form}/submissions.csv.zip?attachments=true":
                self._send(
                    200,
                    central.export,
                    "application/zip",
                    Content_Disposition=f'attachment; filename="{FORM}.zip"',
                )
            else:
                self._json(404, NOT_FOUND)

    return Handler


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    """Serve a Central export of the three good submissions on 127.0.0.1."""
    export = central_export(tmp_path / FORM, good_subs(), zipped=True).read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    stand_in = Central(url=f"http://127.0.0.1:{server.server_address[1]}", export=export)
    server.RequestHandlerClass = _handler(stand_in)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()
    thread.join()


def _env(url: str, *, password: str = PASSWORD) -> dict[str, str]:
    return {"NUDGE_ODK_URL": url, "NUDGE_ODK_USER": EMAIL, "NUDGE_ODK_PASSWORD": password}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pull_speaks_centrals_api_and_imports_the_export_once(
    central: Central,
    engine: Engine,
    users: Users,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # pyodk's default config and token cache
    folder = tmp_path / "pulled"
    export = pull_export(PROJECT, FORM, folder=folder, env=_env(central.url))
    assert export.parent == folder and export.suffix == ".zip"
    assert export.read_bytes() == central.export
    assert central.paths() == [
        ("POST", "/v1/sessions"),
        ("GET", f"/v1/projects/{PROJECT}"),
        ("GET", f"/v1/projects/{PROJECT}/forms/{FORM}"),
        ("GET", f"/v1/projects/{PROJECT}/forms/{FORM}/submissions.csv.zip?attachments=true"),
    ]
    login = central.requests[0]
    assert json.loads(login["body"]) == {"email": EMAIL, "password": PASSWORD}
    assert login["auth"] is None
    assert {r["auth"] for r in central.requests[1:]} == {f"Bearer {TOKEN}"}
    photos = tmp_path / "photos"
    result = import_submissions(engine, export, user=users.almaty, photo_dir=photos)
    assert (result.submissions, result.stored, result.photos, result.errors) == (3, 3, 3, [])
    before = table_counts(engine)
    again = pull_export(PROJECT, FORM, folder=folder, env=_env(central.url))
    assert again != export and sorted(folder.iterdir()) == sorted([export, again])
    second = import_submissions(engine, again, user=users.almaty, photo_dir=photos)
    assert (second.stored, second.skipped_existing, second.photos) == (0, 3, 0)
    assert table_counts(engine) == before
    assert not (tmp_path / "home").exists()  # no config or token file written


@pytest.mark.parametrize(
    ("project", "form", "password", "error", "code"),
    [
        (PROJECT, FORM, "wrong", OnlineSourceError, "field_central_login"),
        (99, FORM, PASSWORD, InvalidQueryError, "field_central_no_project"),
        (PROJECT, "nope", PASSWORD, InvalidQueryError, "field_central_no_form"),
        (HIDDEN, FORM, PASSWORD, OnlineSourceError, "field_central_forbidden"),
    ],
)
def test_pull_says_what_the_server_refused(
    central: Central,
    tmp_path: Path,
    project: int,
    form: str,
    password: str,
    error: type[Exception],
    code: str,
) -> None:
    folder = tmp_path / "pulled"
    with pytest.raises(error) as info:
        pull_export(project, form, folder=folder, env=_env(central.url, password=password))
    assert getattr(info.value, "code", None) == code
    assert "submissions.csv.zip" not in " ".join(p for _, p in central.paths())
    assert not folder.exists() or list(folder.iterdir()) == []
    assert PASSWORD not in str(info.value)


def test_pull_without_server_or_variables(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(OnlineSourceError) as info:
        pull_export(PROJECT, FORM, folder=tmp_path, env=_env(url))
    assert info.value.code == "field_central_unreachable"
    assert info.value.params["url"] == url
    with pytest.raises(InvalidQueryError) as missing:
        pull_export(
            PROJECT, FORM, folder=tmp_path, env={"NUDGE_ODK_URL": url, "NUDGE_ODK_PASSWORD": " "}
        )
    assert missing.value.code == "field_central_env"
    assert missing.value.params["names"] == "NUDGE_ODK_USER, NUDGE_ODK_PASSWORD"
    assert list(tmp_path.iterdir()) == []


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run the CLI in this process as the ``nudge`` script does; return code, stdout, stderr."""
    monkeypatch.setattr(sys, "argv", ["nudge", *args])
    code = 0
    try:
        run_app(build_app(("_registry", "_field")))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_pull_imports_with_the_import_exit_codes_and_keeps_no_secret(
    central: Central,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NUDGE_DATA_DIR", str(data))
    monkeypatch.setenv("NUDGE_DATABASE_URL", f"sqlite:///{data}/nudge.sqlite")
    for name in ("NUDGE_ODK_URL", "NUDGE_ODK_USER", "NUDGE_ODK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert _cli(monkeypatch, capsys, "db", "upgrade")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("admin-pass\n"))
    admin = ["user", "add", "admin", "--role", "admin", "--password-stdin"]
    assert _cli(monkeypatch, capsys, *admin)[0] == 0
    pull = ["field", "pull", "--project", str(PROJECT), "--form", FORM, "--as", "admin"]
    code, _, err = _cli(monkeypatch, capsys, *pull)
    assert code == 2 and "NUDGE_ODK_URL, NUDGE_ODK_USER, NUDGE_ODK_PASSWORD" in err
    for name, value in _env(central.url).items():
        monkeypatch.setenv(name, value)
    code, out, err = _cli(monkeypatch, capsys, *pull, "--json")
    assert code == 0, err
    first = json.loads(out)
    assert (first["stored"], first["photos"], first["errors"]) == (3, 3, [])
    assert Path(first["export"]).parent == data / "field"
    code, out, err = _cli(monkeypatch, capsys, *pull, "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert "stored: 0" in out and "skipped (already stored): 3" in out
    assert len(list((tmp_path / "out").glob("*.zip"))) == 1
    monkeypatch.setenv("NUDGE_ODK_PASSWORD", "wrong")
    code, _, err = _cli(monkeypatch, capsys, *pull)
    assert code == 2 and "refused the login" in err and "Traceback" not in err
    assert not (tmp_path / "home").exists()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".zip":  # the zips are the server's own data
            assert PASSWORD.encode() not in path.read_bytes(), path
