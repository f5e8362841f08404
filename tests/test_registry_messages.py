"""Messages without internals (issue 16): concurrent writes, unreadable import files.

No message shows a driver's text (PostgreSQL's ``DETAIL:`` line), a Python
object (``<_io.BytesIO object at 0x…>``) or a Python error
(``'list' object has no attribute 'get'``); each names the file by its name and
says in words what is wrong.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from registry_support import ALMATY, Users, table_counts, write_csv
from sqlalchemy.engine import Engine

from nudge._errors import InputFileError, NudgeError, RecordError
from nudge.i18n import error_text
from nudge.registry import _store as registry_store
from nudge.registry import (
    district_layer_from_file,
    import_installations,
    import_plan,
    import_publications,
    log_installation,
    plan_imports,
)

pytest_plugins = ["registry_support"]

INTERNALS = re.compile(r"DETAIL|Key \(|object at 0x|object has no attribute|Error\b|\n")


def _as_if_nothing_were_stored(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make `module`'s "is it stored yet?" look-up see nothing, as a writer racing another does.

    The next store of rows already stored then collides on their natural key,
    on SQLite and PostgreSQL alike: what happens when two people store the same
    rows at the same moment, without depending on the timing of threads.
    """
    if module.endswith(".installations"):  # one logged row: its key is looked up with the search
        found = registry_store.known_or_near
        monkeypatch.setattr(f"{module}.known_or_near", lambda *a, **k: (False, found(*a, **k)[1]))
        return
    monkeypatch.setattr(f"{module}.existing_uids", lambda *args, **kwargs: set())


@pytest.mark.parametrize("what", ["installations", "publications"])
def test_an_import_that_collides_with_another_is_refused_in_words(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    if what == "installations":
        row = f"{ALMATY[0]},{ALMATY[1]},banner,2025-03-01\n"
        file = write_csv(tmp_path / "batch.csv", "lat,lon,kind,installed_on\n" + row)
        run, module = import_installations, "nudge.registry.imports"
    else:
        file = write_csv(
            tmp_path / "batch.csv", "kind,title,date,region\ntv,Еңбек,2025-03-02,ALA\n"
        )
        run, module = import_publications, "nudge.registry.publication_imports"
    assert run(engine, file, user=users.almaty).stored == 1
    _as_if_nothing_were_stored(monkeypatch, module)
    with pytest.raises(RecordError) as info:
        run(engine, file, user=users.almaty)
    assert info.value.code == "import_concurrent"
    assert str(info.value) == (
        "Nothing from batch.csv was stored: another import stored some of the same rows at "
        "the same time. Import the file again; stored rows will be skipped."
    )
    assert not INTERNALS.search(error_text(info.value, "ru"))


def test_a_logged_installation_that_collides_is_refused_in_words(
    engine: Engine, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = {"kind": "banner", "lat": ALMATY[0], "lon": ALMATY[1], "installed_on": "2025-03-01"}
    log_installation(engine, user=users.almaty, **fields)
    _as_if_nothing_were_stored(monkeypatch, "nudge.registry.installations")
    with pytest.raises(RecordError) as info:
        log_installation(engine, user=users.almaty, **fields)
    assert info.value.code == "installation_concurrent"
    assert str(info.value) == (
        "The installation could not be stored: it was logged at the same time by someone else."
    )


def _plan_file(path: Path) -> Path:
    feature = {"type": "Feature", "properties": {"site_id": "s1", "kind": "banner"},
               "geometry": {"type": "Point", "coordinates": [ALMATY[1], ALMATY[0]]}}  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_one_plan_imported_twice_at_once_is_stored_once_without_internals(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = _plan_file(tmp_path / "plan.geojson")
    barrier = threading.Barrier(2)
    batch = plan_imports._batch

    def batch_then_meet(*args: Any, **kwargs: Any) -> Any:  # both past "stored yet?" on PostgreSQL
        out = batch(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # SQLite: writers take turns
            barrier.wait(timeout=2)
        return out

    monkeypatch.setattr(plan_imports, "_batch", batch_then_meet)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(import_plan, engine, file, user=users.planner, plan_name="spring")
            for _ in range(2)
        ]
        errors = [e for f in futures if (e := f.exception()) is not None]
    for exc in errors:  # a clash is said in words (or the import tries again and skips the site)
        assert isinstance(exc, RecordError), repr(exc)
        assert exc.code == "import_concurrent"
        assert not INTERNALS.search(str(exc))
    assert table_counts(engine)["planned_sites"] == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"[1, 2]", "is not a GeoJSON FeatureCollection"),
        (b'"features"', "is not a GeoJSON FeatureCollection"),
        (b'{"type": "FeatureCollection", "features": [[1, 2]]}', "feature 1 is not a Feature"),
    ],
)
def test_a_geojson_that_is_no_collection_is_refused_in_words(
    engine: Engine, users: Users, tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "sites.geojson"
    path.write_bytes(content)
    for source, filename in ((path, None), (content, "sites.geojson")):
        with pytest.raises(InputFileError) as info:
            import_installations(engine, source, user=users.almaty, filename=filename)
        assert str(info.value).startswith("sites.geojson ")
        assert says in str(info.value)
        assert not INTERNALS.search(str(info.value)), str(info.value)


def test_messages_name_files_without_their_folders(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    for content, name in ((b"lat,lon\n", "empty.csv"), (b"x", "sites.ods")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(NudgeError) as info:
            import_publications(engine, path, user=users.almaty)
        assert name in str(info.value)
        assert str(tmp_path) not in str(info.value)


def _zip(**parts: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for part, text in parts.items():
            book.writestr(part.replace("__", "/"), text)
    return out.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04broken",  # cut short
        _zip(word__document_xml="<w/>"),  # a Word file saved as .xlsx
        _zip(**{"[Content_Types].xml": "<Types/>", "xl__workbook.xml": "<unclosed"}),
    ],
)
def test_a_damaged_workbook_is_refused_in_words(
    engine: Engine, users: Users, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "sites.xlsx"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        import_installations(engine, path, user=users.almaty)
    assert str(info.value) == (
        "The spreadsheet sites.xlsx could not be read (it is damaged or is not an Excel "
        "workbook); save it again as .xlsx."
    )
    assert error_text(info.value, "ru") == (
        "Не удалось прочитать таблицу sites.xlsx (файл повреждён или не является книгой Excel); "
        "пересохраните её в формате .xlsx."
    )


@pytest.mark.parametrize(
    ("content", "why", "kk_why"),
    [
        (b'lat,lon,kind\n1,2,banner\n3,4,banner,extra\n',
         "row 3 has 4 cells where the header has 3", "3-жолда 4 ұяшық бар, ал тақырып жолында 3"),
        (b'lat,lon,kind\n1,2,banner\n3,4,"banner\n',
         "a quotation mark opened in row 3 is never closed",
         "3-жолда ашылған тырнақша ешбір жерде жабылмаған"),
    ],
)  # fmt: skip
def test_a_csv_that_cannot_be_split_is_refused_in_words(
    engine: Engine, users: Users, content: bytes, why: str, kk_why: str
) -> None:
    with pytest.raises(InputFileError) as info:
        import_installations(engine, content, user=users.almaty, filename="sites.csv")
    assert str(info.value).startswith(f"The CSV file sites.csv could not be read ({why}). ")
    assert not INTERNALS.search(str(info.value))
    assert error_text(info.value, "kk").startswith(
        f"sites.csv CSV файлын оқу мүмкін болмады ({kk_why})"
    )


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"[1, 2]", "it holds no list of features"),
        (b'{"type": "FeatureCollection", "features": [[76.9, 43.2]]}',
         "feature 1 is not a GeoJSON feature"),
        (b"\xff\xfe{", "it is not JSON text in UTF-8"),
    ],
)  # fmt: skip
def test_a_district_layer_that_cannot_be_read_is_named_in_words(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "layers" / "almaty.geojson"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        district_layer_from_file(path)
    assert str(info.value) == (
        f"Cannot read the district layer almaty.geojson: {why}. Give a GeoJSON FeatureCollection."
    )
    assert info.value.code == "district_layer_unreadable"
    assert not INTERNALS.search(error_text(info.value, "kk"))
    assert "almaty.geojson аудандар қабатын оқу мүмкін болмады" in error_text(info.value, "kk")
