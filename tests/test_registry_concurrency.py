"""Several processes logging installations at the same moment (smaller than the benchmark)."""

from __future__ import annotations

import multiprocessing as mp
import traceback
from typing import Any

import sqlalchemy as sa
from registry_support import (
    Users,
)
from sqlalchemy.engine import Engine

from nudge.geo.regions import preload
from nudge.registry import engine_from_url, log_installation

PROCESSES = 4
PER_PROCESS = 50


pytest_plugins = ["registry_support"]


def _worker(url: str, worker: int, count: int, barrier: Any, results: Any) -> None:
    try:
        eng = engine_from_url(url)
        barrier.wait(timeout=60)
        for i in range(count):
            log_installation(
                eng, user="aigerim", kind="banner", lat=43.20 + worker * 0.01 + i * 0.0003,
                lon=76.90, installed_on="2025-03-01", external_id=f"w{worker}-{i}",
            )  # fmt: skip
        eng.dispose()
        results.put((worker, "ok"))
    except Exception:  # reported to the test process
        results.put((worker, traceback.format_exc()))


def run_writers(url: str, processes: int, per_process: int) -> list[tuple[int, str]]:
    """Start `processes` writers together and return what each reported."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, w, per_process, barrier, results))
        for w in range(processes)
    ]
    for p in procs:
        p.start()
    outcome = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return sorted(outcome)


def test_parallel_writers_store_everything_once_with_full_audit(
    engine: Engine, users: Users, registry_url: str
) -> None:
    engine.dispose()  # no pooled connection is inherited by the forked writers
    preload()
    outcome = run_writers(registry_url, PROCESSES, PER_PROCESS)
    assert outcome == [(w, "ok") for w in range(PROCESSES)]
    expected = PROCESSES * PER_PROCESS
    with engine.connect() as conn:

        def scalar(sql: str) -> int:
            return int(conn.execute(sa.text(sql)).scalar_one())

        assert scalar("SELECT count(*) FROM installations") == expected
        assert scalar("SELECT count(DISTINCT uid) FROM installations") == expected
        assert scalar("SELECT count(DISTINCT external_id) FROM installations") == expected
        assert scalar("SELECT count(*) FROM status_changes") == expected
        audited = scalar(
            "SELECT count(DISTINCT record_id) FROM audit_log "
            "WHERE table_name = 'installations' AND action = 'create'"
        )
        assert audited == expected
        assert (
            scalar(
                "SELECT count(*) FROM installations i WHERE NOT EXISTS (SELECT 1 FROM audit_log a "
                "WHERE a.table_name = 'installations' AND a.record_id = i.id)"
            )
            == 0
        )
