"""Stored survey waves: import once, load back exactly, estimate, delete, audit, bad input.

Every test runs on SQLite and on PostgreSQL (see ``database_url`` in conftest.py).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from test_evaluation_survey import synthetic_survey

from nudge._errors import InputFileError, RecordError
from nudge.db import engine_from_url, schema_revision, upgrade_database
from nudge.db.engine import _alembic_config
from nudge.evaluation import _store_rows
from nudge.evaluation.questionnaire import Questionnaire, questionnaire_from_dict
from nudge.evaluation.questionnaire import questionnaire_from_file as shipped_map
from nudge.evaluation.store import (
    delete_wave,
    estimate_waves,
    file_sha256,
    import_aggregates,
    import_wave,
    list_waves,
    load_aggregates,
    load_wave,
    load_waves,
    require_survey_tables,
    save_wave,
)
from nudge.evaluation.survey import estimate_indices, survey_from_files
from nudge.i18n import error_text

pytest_plugins = ["registry_support"]

SURVEY_TABLES = ("survey_waves", "survey_wave_files", "survey_respondents", "survey_aggregates")


@pytest.fixture
def db(registry_url: str, tmp_path: Path) -> Iterator[Engine]:
    """Return an engine on a fresh, upgraded database."""
    eng = engine_from_url(registry_url)
    upgrade_database(eng, content_dir=tmp_path / "no-content")
    yield eng
    eng.dispose()


@pytest.fixture
def wave_files(tmp_path: Path) -> list[Path]:
    """Write two synthetic waves (2025 and 2026) as CSV and return their paths."""
    paths = []
    for seed, year in ((1, 2025), (2, 2026)):
        path = tmp_path / f"wave{year}.csv"
        synthetic_survey(seed=seed).assign(year=year).to_csv(path, index=False)
        paths.append(path)
    return paths


def counts(engine: Engine) -> dict[str, int]:
    """Return the number of rows of the survey tables and of the audit log."""
    with engine.connect() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in (*SURVEY_TABLES, "audit_log")
        }


def survey_audit(engine: Engine) -> list[dict[str, Any]]:
    """Return the audit entries of survey waves, oldest first."""
    log = sa.table("audit_log", sa.column("id"), sa.column("action"), sa.column("username"),
                   sa.column("table_name"), sa.column("old_values", sa.JSON()),
                   sa.column("new_values", sa.JSON()))  # fmt: skip
    query = (
        sa.select(log.c.action, log.c.username, log.c.old_values, log.c.new_values)
        .where(log.c.table_name == "survey_waves")
        .order_by(log.c.id)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def one_item_map(item: str = "q1") -> Questionnaire:
    """Return a map with one agreement index on `item`."""
    doc = {
        "columns": {"region": "region", "weight": "weight", "year": "year", "stratum": "stratum",
                    "psu": "psu", "urban": "urban", "sex": "sex"},
        "indices": {"agrees": {"kind": "agreement", "items": [item], "scale": [1, 5],
                               "agree": [4, 5], "missing": [8, 9]}},
    }  # fmt: skip
    return questionnaire_from_dict(doc)


def test_a_stored_wave_loads_back_exactly_as_imported(db: Engine, wave_files: list[Path]) -> None:
    qmap = shipped_map()
    text = "# the map as the user wrote it\n"
    wave = import_wave(db, wave_files[:1], qmap, name="Wave 2025", user="aigerim",
                       questionnaire_text=text)  # fmt: skip
    imported = survey_from_files(wave_files[:1], qmap)
    loaded = load_wave(db, wave.id)
    pd.testing.assert_frame_equal(loaded.respondents, imported.respondents)
    assert loaded.indices == imported.indices
    assert loaded.sources == ("wave2025.csv",)
    assert (wave.name, wave.year, wave.kind, wave.rows) == ("Wave 2025", 2025, "respondents", 900)
    assert wave.sha256 == (file_sha256(wave_files[0]),)
    assert wave.years == (2025,)
    assert wave.indices == ("work_success", "ready_to_retrain", "social_infantilism")
    assert wave.imported_by == "aigerim" and len(wave.questionnaire_sha256 or "") == 64
    assert list_waves(db) == [wave]
    again = load_wave(db, wave.id, questionnaire=qmap)  # scored again from the stored answers
    pd.testing.assert_frame_equal(again.respondents, imported.respondents)


def test_estimates_of_stored_waves_equal_those_of_the_files(
    db: Engine, wave_files: list[Path]
) -> None:
    qmap = shipped_map()
    first = import_wave(db, wave_files[:1], qmap, name="2025", user="aigerim")
    second = import_wave(db, wave_files[1:], qmap, name="2026", user="aigerim")
    assert [w.id for w in list_waves(db)] == [second.id, first.id]  # newest first
    both = survey_from_files(wave_files, qmap)
    for by, min_n in ((["region", "year"], 30), (["year", "urban", "sex"], 30),
                      (["region", "age_group"], 60)):  # fmt: skip
        stored = estimate_waves(db, by=by, min_n=min_n, lang="kk")
        pd.testing.assert_frame_equal(stored, estimate_indices(both, by=by, min_n=min_n, lang="kk"))
    assert load_waves(db).design().df == both.design().df
    only = estimate_waves(db, [second.id])
    assert set(only["year"]) == {2026}
    pd.testing.assert_frame_equal(only, estimate_indices(survey_from_files(wave_files[1:], qmap)))


def test_another_map_scores_the_stored_answers_again(db: Engine, wave_files: list[Path]) -> None:
    wave = import_wave(db, wave_files[:1], shipped_map(), name="2025", user="aigerim")
    mine = one_item_map("q2")
    rescored = estimate_waves(db, [wave.id], by=["region"], questionnaire=mine)
    expected = estimate_indices(survey_from_files(wave_files[:1], mine), by=["region"])
    pd.testing.assert_frame_equal(rescored, expected)
    assert set(rescored["index"]) == {"agrees"}
    with pytest.raises(RecordError, match="holds no answers to the item") as info:
        load_wave(db, wave.id, questionnaire=one_item_map("colour"))
    assert info.value.code == "survey_store_missing_items"
    assert "colour" in error_text(info.value, "kk")


def test_a_file_stored_once_is_refused_the_second_time(
    db: Engine, wave_files: list[Path], tmp_path: Path
) -> None:
    qmap = shipped_map()
    wave = import_wave(db, wave_files[:1], qmap, name="2025", user="aigerim")
    before = counts(db)
    renamed = tmp_path / "same-bytes-other-name.csv"
    shutil.copy(wave_files[0], renamed)
    for path in (wave_files[0], renamed):
        with pytest.raises(RecordError, match="already stored in survey wave") as info:
            import_wave(db, [path, wave_files[1]], qmap, name="again", user="nurlan")
        assert info.value.code == "survey_store_duplicate"
        assert info.value.params["wave"] == wave.id and info.value.params["name"] == "2025"
        assert "толқынында сақталған" in error_text(info.value, "kk")
        assert "уже сохранён" in error_text(info.value, "ru")
    with pytest.raises(RecordError, match="given twice") as twice:
        import_wave(db, [wave_files[1], wave_files[1]], qmap, name="twice", user="nurlan")
    assert twice.value.code == "survey_store_same_file"
    assert counts(db) == before  # nothing of the refused imports was stored


def test_a_file_stored_by_another_session_meanwhile_is_refused_too(
    db: Engine, wave_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    qmap = shipped_map()
    import_wave(db, wave_files[:1], qmap, name="2025", user="aigerim")
    real, calls = _store_rows.refuse_stored, []

    def late(conn: sa.Connection, files: list[tuple[str, str]]) -> None:
        calls.append(files)
        if len(calls) > 1:  # the first check ran before the other session committed
            real(conn, files)

    monkeypatch.setattr(_store_rows, "refuse_stored", late)
    before = counts(db)
    with pytest.raises(RecordError, match="already stored") as info:
        import_wave(db, wave_files[:1], qmap, name="2025 again", user="nurlan")
    assert info.value.code == "survey_store_duplicate" and len(calls) == 2
    assert counts(db) == before


def _unknown_region(frame: pd.DataFrame, path: Path) -> Path:
    frame.loc[3, "region"] = "Atlantis"
    frame.to_csv(path, index=False)
    return path


def _weights(frame: pd.DataFrame, path: Path) -> Path:
    frame.loc[5, "weight"] = 0
    frame.loc[7, "weight"] = -1.5
    frame.to_csv(path, index=False)
    return path


def _missing_column(frame: pd.DataFrame, path: Path) -> Path:
    frame.drop(columns="q4").to_csv(path, index=False)
    return path


def _fake_sav(frame: pd.DataFrame, path: Path) -> Path:
    fake = path.with_suffix(".sav")
    fake.write_text(frame.to_csv(index=False), encoding="utf-8")
    return fake


@pytest.mark.parametrize(
    ("spoil", "error", "code", "kk"),
    [
        (_unknown_region, RecordError, "eval_survey_problems", "ештеңе импортталмады"),
        (_weights, RecordError, "eval_survey_problems", "ештеңе импортталмады"),
        (_missing_column, InputFileError, "eval_survey_missing_columns", "бағандар жоқ"),
        (_fake_sav, InputFileError, "eval_survey_unreadable", "оқу мүмкін болмады"),
    ],
)
def test_bad_input_is_refused_in_the_users_language_and_stores_nothing(
    db: Engine, tmp_path: Path, spoil: Any, error: type[Exception], code: str, kk: str
) -> None:
    good = tmp_path / "good.csv"
    synthetic_survey(n=120, seed=5).to_csv(good, index=False)
    bad = spoil(synthetic_survey(n=120), tmp_path / "bad.csv")
    with pytest.raises(error) as info:
        import_wave(db, [good, bad], shipped_map(), name="bad", user="aigerim")
    assert getattr(info.value, "code", None) == code
    assert kk in error_text(info.value, "kk")
    assert counts(db) == dict.fromkeys((*SURVEY_TABLES, "audit_log"), 0)


def test_delete_removes_the_wave_and_both_steps_are_audited(
    db: Engine, wave_files: list[Path]
) -> None:
    wave = import_wave(db, wave_files, shipped_map(), name="2025-26", user="aigerim")
    assert wave.year is None and wave.years == (2025, 2026)
    assert counts(db)["survey_respondents"] == 1800
    gone = delete_wave(db, wave.id, user="nurlan")
    assert gone == wave
    assert counts(db) == dict.fromkeys(SURVEY_TABLES, 0) | {"audit_log": 2}
    entries = survey_audit(db)
    assert [(e["action"], e["username"]) for e in entries] == [
        ("import", "aigerim"),
        ("delete", "nurlan"),
    ]
    assert entries[0]["new_values"]["sources"] == ["wave2025.csv", "wave2026.csv"]
    assert entries[0]["new_values"]["rows"] == 1800
    assert entries[1]["old_values"]["id"] == wave.id and entries[1]["new_values"] is None
    with pytest.raises(RecordError, match="no stored survey wave") as info:
        delete_wave(db, wave.id, user="nurlan")
    assert info.value.code == "survey_store_missing"
    again = import_wave(db, wave_files[:1], shipped_map(), name="2025", user="aigerim")
    assert again.rows == 900  # a deleted wave's file can be imported again


def test_published_aggregates_are_stored_and_suppressed_when_estimated(
    db: Engine, tmp_path: Path, wave_files: list[Path]
) -> None:
    path = tmp_path / "published.csv"
    path.write_text(
        "region,year,index,estimate,n,ci_low,ci_high\n"
        "Алматы,2024,work_success,0.61,812,0.57,0.65\n"
        "ULY,2024,work_success,0.55,21,0.40,0.70\n",
        encoding="utf-8",
    )
    wave = import_aggregates(db, path, name="Published 2024", user="aigerim")
    assert (wave.kind, wave.year, wave.rows, wave.indices) == (
        "aggregates", 2024, 2, ("work_success",)
    )  # fmt: skip
    stored = load_aggregates(db)
    assert list(stored["region"]) == ["ALA", "ULY"] and set(stored["wave_id"]) == {wave.id}
    assert stored.loc[1, "estimate"] == pytest.approx(0.55)  # stored unsuppressed
    people = import_wave(db, wave_files[:1], shipped_map(), name="2025", user="aigerim")
    table = estimate_waves(db, min_n=30, lang="en")
    published = table[table["kind"] == "published"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        published, estimates_from_file(path), check_dtype=False, check_exact=False
    )
    assert len(table) == 2 + 15 and set(table["year"]) == {2024, 2025}
    with pytest.raises(RecordError, match="published region-level") as info:
        load_wave(db, wave.id)
    assert info.value.code == "survey_store_kind"
    with pytest.raises(RecordError) as grouped:
        estimate_waves(db, [wave.id, people.id], by=["region", "urban"])
    assert grouped.value.code == "survey_store_aggregates_by"
    with pytest.raises(RecordError, match="already stored"):
        import_aggregates(db, path, name="again", user="aigerim")


def estimates_from_file(path: Path) -> pd.DataFrame:
    """Return the published table as `estimates_from_aggregates` reads it (min_n 30)."""
    from nudge.evaluation.survey import estimates_from_aggregates

    return estimates_from_aggregates(path, min_n=30, lang="en")


def test_ten_thousand_respondents_store_in_one_bulk_insert_within_seconds(
    db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "big.sav"
    pyreadstat.write_sav(synthetic_survey(n=10_000, seed=9), path)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "survey_respondents" in statement and statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    sa.event.listen(db, "before_cursor_execute", count)
    start = time.perf_counter()
    wave = import_wave(db, [path], shipped_map(), name="big", user="aigerim")
    elapsed = time.perf_counter() - start
    sa.event.remove(db, "before_cursor_execute", count)
    assert wave.rows == 10_000 and counts(db)["survey_respondents"] == 10_000
    assert 1 <= len(statements) <= 20  # batches of many rows, not one round trip per row
    assert elapsed < 20  # typically about one second
    assert len(load_wave(db, wave.id).respondents) == 10_000


def test_save_wave_in_the_callers_transaction_is_rolled_back_with_it(
    db: Engine, wave_files: list[Path]
) -> None:
    data = survey_from_files(wave_files[:1], shipped_map())
    digest = [file_sha256(wave_files[0])]
    with pytest.raises(RuntimeError, match="later step"), db.begin() as conn:
        save_wave(conn, data, name="2025", user="aigerim", sha256=digest)
        assert len(list_waves(conn)) == 1  # visible inside the transaction
        msg = "a later step failed"
        raise RuntimeError(msg)
    assert counts(db) == dict.fromkeys((*SURVEY_TABLES, "audit_log"), 0)
    with pytest.raises(RecordError, match="name of 1 to 200") as info:
        save_wave(db, data, name="  ", user="aigerim", sha256=digest)
    assert info.value.code == "survey_store_name"


def test_the_survey_tables_come_with_migration_0004(registry_url: str, tmp_path: Path) -> None:
    eng = engine_from_url(registry_url)
    assert upgrade_database(eng, revision="0003", content_dir=tmp_path) == "0003"
    with pytest.raises(RecordError, match="no survey tables") as info:
        require_survey_tables(eng)
    assert info.value.code == "survey_store_schema"
    assert upgrade_database(eng, content_dir=tmp_path) == "0005"
    require_survey_tables(eng)
    assert set(SURVEY_TABLES) <= set(sa.inspect(eng).get_table_names())
    with eng.begin() as conn:  # the downgrade drops them
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    assert schema_revision(eng) == "0003"
    assert not set(SURVEY_TABLES) & set(sa.inspect(eng).get_table_names())
    eng.dispose()
