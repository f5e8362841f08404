"""Several processes writing installations at the same moment (smaller than the benchmark).

Nothing is lost or stored twice, every writer sees what the others stored (so
likely duplicates are flagged whoever stored them), and a file imported twice
at once is stored once, the other import finding its rows already stored.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from typing import Any

import pytest
import sqlalchemy as sa
from registry_support import (
    Users,
)
from sqlalchemy.engine import Engine

from nudge.geo.regions import preload
from nudge.registry import engine_from_url, import_installations, log_installation

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


METRE_LAT = 1 / 111_195.0
SPOT = (43.2390, 76.9000)  # on a line of the 0.001° grid of place locks, so writers lock two cells


def _at_spot(worker: int, i: int) -> tuple[float, float]:
    """Return a point within 6 m of `SPOT`: every two such points are likely duplicates."""
    k = worker * 20 + i
    return round(SPOT[0] + ((k % 60) * 0.2 - 6.0) * METRE_LAT, 7), SPOT[1]


def _spot_csv(worker: int, rows: range) -> bytes:
    lines = ["lat,lon,kind,installed_on,external_id"]
    for i in rows:
        lat, lon = _at_spot(worker, i)
        lines.append(f"{lat},{lon},banner,2025-03-01,w{worker}-{i}")
    return ("\n".join(lines) + "\n").encode()


def _spot_writer(url: str, worker: int, mode: str, barrier: Any, results: Any) -> None:
    try:
        eng = engine_from_url(url)
        barrier.wait(timeout=60)
        if mode == "log":
            for i in range(12):
                lat, lon = _at_spot(worker, i)
                log_installation(
                    eng, user="aigerim", kind="banner", lat=lat, lon=lon,
                    installed_on="2025-03-01", external_id=f"w{worker}-{i}",
                )  # fmt: skip
        else:
            for start in (0, 4, 8):
                import_installations(eng, _spot_csv(worker, range(start, start + 4)),
                                     filename=f"w{worker}.csv", user="aigerim")  # fmt: skip
        eng.dispose()
        results.put((worker, "ok"))
    except Exception:  # reported to the test process
        results.put((worker, traceback.format_exc()))


@pytest.mark.parametrize("mode", ["log", "import"])
def test_writers_at_one_spot_see_each_other_and_flag_every_duplicate(
    engine: Engine, users: Users, registry_url: str, mode: str
) -> None:
    engine.dispose()
    preload()
    outcome = _in_processes(_spot_writer, registry_url, PROCESSES, mode)
    assert outcome == [(w, "ok") for w in range(PROCESSES)]
    with engine.connect() as conn:
        ids = set(conn.execute(sa.text("SELECT id FROM installations")).scalars())
        flags = conn.execute(
            sa.text(
                "SELECT installation_id, other_installation_id FROM flags WHERE code = 'duplicate'"
            )
        ).all()
    assert len(ids) == PROCESSES * 12
    # every installation but the first saw an earlier one at the spot, whoever stored it
    assert sorted(i for i, _ in flags) == sorted(ids - {min(ids)})
    assert all(other < flagged for flagged, other in flags)


def _file_importer(url: str, worker: int, content: bytes, barrier: Any, results: Any) -> None:
    try:
        eng = engine_from_url(url)
        barrier.wait(timeout=60)
        done = import_installations(eng, content, filename="batch.csv", user="aigerim")
        eng.dispose()
        results.put((worker, (done.stored, done.skipped_existing, len(done.errors))))
    except Exception:  # reported to the test process
        results.put((worker, traceback.format_exc()))


def test_one_file_imported_twice_at_once_is_stored_once_and_then_skipped(
    engine: Engine, users: Users, registry_url: str
) -> None:
    rows = 300
    lines = ["lat,lon,kind,installed_on,external_id"]
    lines += [f"{43.20 + (i // 20) * 0.004:.6f},{76.85 + (i % 20) * 0.006:.6f},banner,"
              f"2025-03-01,f-{i}" for i in range(rows)]  # fmt: skip
    content = ("\n".join(lines) + "\n").encode()
    engine.dispose()
    preload()
    outcome = _in_processes(_file_importer, registry_url, 2, content)
    # one import stores every row; the other waits for it and finds them all already stored
    assert sorted(result for _, result in outcome) == [(0, rows, 0), (rows, 0, 0)]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM installations")).scalar_one() == rows


def _in_processes(target: Any, url: str, processes: int, arg: object) -> list[tuple[int, Any]]:
    """Run ``target(url, worker, arg, barrier, results)`` in `processes` processes at once."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, w, arg, barrier, results))
             for w in range(processes)]  # fmt: skip
    for p in procs:
        p.start()
    outcome = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return sorted(outcome)
