"""The shared database: content entries with versions, saved work, the migration's import.

Every test runs on SQLite and on PostgreSQL (see ``database_url`` in conftest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.content import campaign_from_file, load_library
from nudge.content.library import ContentLibrary
from nudge.db import (
    StaleVersionError,
    delete_work,
    engine_from_url,
    list_work,
    load_work,
    read_entries,
    save_work,
    schema_revision,
    upgrade_database,
)
from nudge.i18n import error_text

pytest_plugins = ["registry_support"]

PROVERB = {
    "id": "t-1",
    "kind": "proverb",
    "text_kk": "Еңбек етсең ерінбей, тояды қарның тіленбей.",
    "themes": "diligence",
    "source": "Test",
}


@pytest.fixture
def db(registry_url: str, tmp_path: Path) -> Iterator[Engine]:
    """Return an engine on a fresh, upgraded database seeded with the shipped library."""
    eng = engine_from_url(registry_url)
    upgrade_database(eng, content_dir=tmp_path / "no-content")
    yield eng
    eng.dispose()


def audit_rows(engine: Engine, item_id: str) -> list[dict[str, Any]]:
    """Return the audit entries about one content entry, oldest first."""
    log = sa.table(
        "audit_log",
        sa.column("id"),
        sa.column("action"),
        sa.column("username"),
        sa.column("table_name"),
        sa.column("old_values", sa.JSON()),
        sa.column("new_values", sa.JSON()),
    )
    query = (
        sa.select(log.c.action, log.c.username, log.c.old_values, log.c.new_values)
        .where(log.c.table_name == "content_entries")
        .order_by(log.c.id)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return [r for r in rows if (r["new_values"] or r["old_values"] or {}).get("id") == item_id]


def test_the_shipped_library_is_seeded_once_and_not_audited(db: Engine) -> None:
    entries = read_entries(db)
    assert len(entries) >= 80
    assert {e.collection for e in entries} == {"proverbs"}
    assert {e.version for e in entries} == {1}
    assert upgrade_database(db) == schema_revision(db) == "0005"
    assert len(read_entries(db)) == len(entries)  # a second upgrade adds nothing
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == 0


def test_the_migration_imports_an_existing_yaml_library(registry_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    mine = {**PROVERB, "themes": ["diligence"], "status": "retired"}
    (folder / "proverbs.yaml").write_text(yaml.safe_dump([mine]), encoding="utf-8")
    winner = {
        "id": "w-1",
        "name": "Example winner",
        "profession": "welder",
        "region": "Almaty",
        "year": 2024,
        "is_example": True,
    }
    (folder / "winners.yaml").write_text(yaml.safe_dump([winner]), encoding="utf-8")
    eng = engine_from_url(registry_url)
    assert upgrade_database(eng, revision="0001") == "0001"  # a registry from before
    assert upgrade_database(eng, content_dir=folder) == "0005"
    stored = {e.id: e for e in read_entries(eng)}
    assert set(stored) == {"t-1", "w-1"}  # the user's library, not the shipped one
    assert stored["t-1"].status == "retired"
    assert stored["w-1"].collection == "winners"
    library = load_library(engine=eng)
    assert library.get("w-1")[1]["profession"] == "welder"
    assert [r["action"] for r in audit_rows(eng, "t-1")] == ["import"]
    assert upgrade_database(eng, content_dir=folder) == "0005"
    assert len(read_entries(eng)) == 2  # upgrading again imports nothing twice
    assert len(audit_rows(eng, "t-1")) == 1
    eng.dispose()


def _save_from(
    url: str, text: str, barrier: threading.Barrier, outcome: dict[str, Any], who: str
) -> None:
    """One "app process": its own engine, loads the entry, waits for the other, saves."""
    eng = engine_from_url(url)
    try:
        library = load_library(engine=eng)
        version = library.version("t-1")
        barrier.wait(timeout=30)
        library.put(
            "proverbs",
            {**PROVERB, "text_kk": text},
            campaign=campaign_from_file(),
            expected_version=version,
            by=who,
        )
        outcome[who] = "saved"
    except StaleVersionError as exc:
        outcome[who] = exc
    finally:
        eng.dispose()


def test_two_concurrent_saves_of_one_entry_one_wins_the_other_is_refused(
    db: Engine, registry_url: str
) -> None:
    load_library(engine=db).put("proverbs", PROVERB, campaign=campaign_from_file(), by="admin")
    texts = {"aigerim": "Еңбек түбі — береке.", "nurlan": "Еңбек етсең, ер боласың."}
    barrier, outcome = threading.Barrier(2), dict[str, Any]()
    threads = [
        threading.Thread(target=_save_from, args=(registry_url, text, barrier, outcome, who))
        for who, text in texts.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(str(v) == "saved" for v in outcome.values()) == [False, True]
    winner = next(w for w, v in outcome.items() if v == "saved")
    loser = next(w for w in texts if w != winner)
    refusal = outcome[loser]
    assert isinstance(refusal, StaleVersionError) and isinstance(refusal, RecordError)
    assert refusal.code == "content_entry_stale"
    assert refusal.params["by"] == winner and refusal.params["version"] == 2
    assert f"changed by {winner}" in str(refusal) and "Reload the entry" in str(refusal)
    assert winner in error_text(refusal, "kk") and "қайта жүктеп" in error_text(refusal, "kk")
    stored = {e.id: e for e in read_entries(db)}["t-1"]
    assert (stored.version, stored.updated_by) == (2, winner)
    assert stored.entry["text_kk"] == texts[winner]
    rows = audit_rows(db, "t-1")
    assert [(r["action"], r["username"]) for r in rows] == [
        ("create", "admin"),
        ("update", winner),
        ("stale_refused", loser),
    ]
    assert rows[2]["new_values"]["entry"]["text_kk"] == texts[loser]  # the refused edit is kept
    assert rows[2]["new_values"]["expected_version"] == 1
    # the loser reloads and applies the change again: nothing is lost
    again = load_library(engine=db)
    again.put(
        "proverbs",
        {**PROVERB, "text_kk": texts[loser]},
        campaign=campaign_from_file(),
        expected_version=again.version("t-1"),
        by=loser,
    )
    assert {e.id: e for e in read_entries(db)}["t-1"].version == 3


def test_retire_restore_and_import_check_versions_and_are_audited(
    db: Engine, tmp_path: Path
) -> None:
    first, second = load_library(engine=db), load_library(engine=db)
    first.retire("kk-0001", by="aigerim")
    with pytest.raises(StaleVersionError, match="changed by aigerim"):
        second.restore("kk-0001", by="nurlan")
    assert load_library(engine=db).get("kk-0001")[1]["status"] == "retired"
    path = tmp_path / "p.yaml"
    other = {**PROVERB, "id": "t-9", "text_kk": "Сынақ үшін жазылған жаңа мәтін."}
    path.write_text(yaml.safe_dump([{**PROVERB, "id": "kk-0001"}, other]), encoding="utf-8")
    from nudge.content import import_items

    with pytest.raises(StaleVersionError):
        import_items(second, path, campaign=campaign_from_file(), by="nurlan")
    assert "t-9" not in {e.id for e in read_entries(db)}  # the import is all or nothing
    report = import_items(load_library(engine=db), path, campaign=campaign_from_file(), by="n")
    assert (report.added, report.updated) == (["t-9"], ["kk-0001"])
    actions = [r["action"] for r in audit_rows(db, "kk-0001")]
    assert actions == ["retire", "stale_refused", "stale_refused", "import"]


def test_two_app_processes_on_one_database_see_the_same_library(
    registry_url: str, db: Engine
) -> None:
    other = engine_from_url(registry_url)  # a second app server on the same database
    try:
        load_library(engine=db).put("proverbs", PROVERB, campaign=campaign_from_file(), by="a")
        seen: ContentLibrary = load_library(engine=other)
        assert seen.get("t-1")[1]["text_kk"] == PROVERB["text_kk"]
        seen.retire("t-1", by="b")
        assert load_library(engine=db).get("t-1")[1]["status"] == "retired"
    finally:
        other.dispose()


def test_saved_work_round_trips_and_refuses_a_stale_save(db: Engine) -> None:
    payload = {"sites": ["s1", "s2"], "start": "2026-12-01", "flights": 6}
    spring = partial(
        save_work, db, kind="rotation", dataset="almaty", owner="aigerim", name="spring"
    )
    work = spring(payload=payload)
    assert work.version == 1
    save_work(db, kind="plan", dataset="almaty", owner="aigerim", name="spring", payload={"a": 1})
    save_work(db, kind="rotation", dataset="almaty", owner="nurlan", name="mine", payload={})
    listed = list_work(db, kind="rotation", dataset="almaty", owner="aigerim")
    assert [(w.name, w.payload) for w in listed] == [("spring", None)]
    opened = load_work(db, listed[0].id, owner="aigerim")
    assert opened.payload == payload
    with pytest.raises(RecordError, match="no saved work"):
        load_work(db, listed[0].id, owner="nurlan")  # someone else's work stays private
    changed = {**payload, "flights": 8}
    tab_a = spring(payload=changed, expected_version=opened.version)
    assert tab_a.version == 2
    with pytest.raises(StaleVersionError, match="Reopen it") as info:  # another tab, older copy
        spring(payload={**payload, "flights": 9}, expected_version=opened.version)
    assert info.value.code == "saved_work_stale"
    assert "spring" in error_text(info.value, "ru")
    with pytest.raises(StaleVersionError):  # a new save may not take an existing name
        spring(payload={})
    assert (load_work(db, opened.id).payload or {})["flights"] == 8
    with pytest.raises(StaleVersionError):
        delete_work(db, opened.id, owner="aigerim", expected_version=1)
    delete_work(db, opened.id, owner="aigerim", expected_version=2)
    assert list_work(db, kind="rotation", dataset="almaty", owner="aigerim") == []


def test_a_postgres_connection_dropped_while_idle_is_replaced_on_checkout(
    registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not registry_url.startswith("postgresql"):
        pytest.skip("the idle ping is for PostgreSQL pools")
    import nudge.db.engine as engine_module

    eng = engine_from_url(registry_url)
    with eng.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with eng.connect() as conn:  # used just now: taken as alive, no ping
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
    killer = sa.create_engine(registry_url.replace("postgresql://", "postgresql+psycopg://"))
    with killer.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    killer.dispose()
    monkeypatch.setattr(engine_module, "IDLE_PING_S", 0.0)  # as if idle for long
    with eng.connect() as conn:  # the ping finds it dead; the pool reconnects
        assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid
    eng.dispose()
