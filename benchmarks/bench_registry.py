"""Benchmark of the registry: batch import, concurrent logging, indicators.

Prints its figures (seconds, rows per second, peak memory):

1. importing 10,000 installations from CSV into a fresh SQLite registry
   (target: under 15 s), then importing the same file again (adds nothing);
2. computing the ministry report (every breakdown) over those rows;
3. 8 writers (processes) each storing 500 installations at the same moment,
   on SQLite and on PostgreSQL, one by one (`log_installation`) and as CSV
   imports of 50 rows: rows per second against the targets (>= 150 on SQLite,
   >= 500 on PostgreSQL), rows lost or stored twice (0), audit and status
   history complete, and likely-duplicate flags missing (0). The writers share
   a grid of spots and each puts one installation at every spot, so every
   spot ends with 8 likely duplicates; two writers of a pair visit the same
   spots at the same moment, so writers that cannot see each other's rows
   leave flags missing.

Run: ``python benchmarks/bench_registry.py [--rows N] [--processes P]
[--per-process K] [--batch 1 50] [--only-concurrent] [--postgres URL |
--no-postgres] [--no-sqlite]``. PostgreSQL runs in a temporary schema that is dropped
afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from argon2 import PasswordHasher
from scipy.spatial import cKDTree

import nudge.registry.auth as registry_auth
from nudge.geo.regions import chord_for_metres, preload, unit_vectors
from nudge.registry import (
    add_user,
    build_report,
    engine_from_url,
    import_installations,
    import_publications,
    log_installation,
    upgrade_database,
    write_report,
)
from nudge.registry._store import DEFAULT_DUPLICATE_RADIUS_M

KINDS = ("banner", "billboard", "city_light", "photo_exhibition", "led_screen")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def peak_mb() -> float:
    """Return the peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_batch(path: Path, rows: int, seed: int = 1) -> Path:
    """Write a realistic CSV batch of `rows` installations spread over Almaty."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(43.18, 43.32, rows)
    lon = rng.uniform(76.80, 77.05, rows)
    kinds = rng.choice(KINDS, rows)
    lines = ["lat,lon,kind,installed_on,content_id,themes,size,facing_deg,illuminated"]
    lines += [
        f"{lat[i]:.6f},{lon[i]:.6f},{kinds[i]},2025-{1 + i % 12:02d}-{1 + i % 28:02d},"
        f"proverb-{i % 90:03d},diligence;learning,3x6,{i % 360},yes"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_publications(path: Path, rows: int, seed: int = 2) -> Path:
    """Write a CSV of `rows` publications, half located in Almaty, half by region only."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(43.18, 43.32, rows)
    lon = rng.uniform(76.80, 77.05, rows)
    kinds = ["tv_programme", "podcast", "challenge_post", "news_article", "open_day"]
    lines = ["kind,title,date,region,lat,lon,link,reach"]
    lines += [
        f"{kinds[i % 5]},Жарияланым {i},2025-{1 + i % 12:02d}-{1 + i % 28:02d},"
        + (f",{lat[i]:.6f},{lon[i]:.6f}" if i % 2 else "ALA,,")
        + f",https://example.kz/{i},{i * 10}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prepare(url: str) -> None:
    """Create the schema and the users the benchmark acts as."""
    registry_auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine = engine_from_url(url)
    upgrade_database(engine)
    add_user(engine, username="admin", password="admin-pass", role="admin")
    add_user(engine, username="coordinator", password="coord-pass", role="coordinator",
             regions=["ALA"], by="admin")  # fmt: skip
    engine.dispose()


def bench_import(workdir: Path, rows: int) -> None:
    """Time a 10,000-row import on SQLite, the re-import and the report."""
    url = f"sqlite:///{workdir / 'import.sqlite'}"
    prepare(url)
    engine = engine_from_url(url)
    batch = write_batch(workdir / "batch.csv", rows)
    start = time.perf_counter()
    result = import_installations(engine, batch, user="admin")
    seconds = time.perf_counter() - start
    print(
        f"import {rows:,} rows (SQLite): {seconds:.2f} s, {rows / seconds:,.0f} rows/s, "
        f"stored {result.stored:,}, flagged duplicates {result.flagged_duplicates}, "
        f"errors {len(result.errors)}, target < 15 s: {'OK' if seconds < 15 else 'MISSED'}"
    )
    start = time.perf_counter()
    again = import_installations(engine, batch, user="admin")
    print(
        f"re-import of the same file: {time.perf_counter() - start:.2f} s, stored "
        f"{again.stored}, skipped {again.skipped_existing:,}"
    )
    pubs = write_publications(workdir / "publications.csv", rows)
    start = time.perf_counter()
    done = import_publications(engine, pubs, user="admin")
    print(
        f"import {rows:,} publications (SQLite): {time.perf_counter() - start:.2f} s, "
        f"stored {done.stored:,}, errors {len(done.errors)}"
    )
    start = time.perf_counter()
    report = build_report(engine)
    write_report(report, workdir / "report.xlsx")
    print(
        f"ministry report (6 breakdowns, XLSX) over {rows:,} rows: "
        f"{time.perf_counter() - start:.2f} s"
    )
    engine.dispose()


SPACING_M = 30.0  # between spots of the grid the concurrent writers share
WRITER_STEP_M = 1.5  # between the installations of two writers at one spot
SPOTS_PER_ROW = 25
ORIGIN = (43.20, 76.85)
TARGETS = {"SQLite": 150.0, "PostgreSQL": 500.0}  # rows per second with 8 writers


def writer_rows(worker: int, processes: int, count: int) -> list[dict[str, Any]]:
    """Return the installations writer `worker` stores, in its order.

    Every writer puts one installation at each of `count` spots of a grid
    (30 m apart), 1.5 m east of the previous writer's, all of the spot's kind,
    so each spot ends with `processes` likely duplicates of each other. Writers
    work in pairs: the two of a pair visit the same spots at the same moment
    (and must see each other), while the pairs start at different spots.
    """
    pairs = (processes + 1) // 2
    start = (worker // 2) * count // pairs
    m_lat = 1 / 111_195.0
    m_lon = m_lat / float(np.cos(np.radians(ORIGIN[0])))
    out = []
    for i in range(count):
        spot = (start + i) % count
        row, col = divmod(spot, SPOTS_PER_ROW)
        out.append({
            "kind": KINDS[spot % len(KINDS)],
            "lat": round(ORIGIN[0] + row * SPACING_M * m_lat, 7),
            "lon": round(ORIGIN[1] + (col * SPACING_M + worker * WRITER_STEP_M) * m_lon, 7),
            "installed_on": "2025-03-01",
            "external_id": f"w{worker}-{i}",
        })  # fmt: skip
    return out


def _csv_bytes(rows: list[dict[str, Any]]) -> bytes:
    lines = ["lat,lon,kind,installed_on,external_id"]
    lines += [f"{r['lat']:.7f},{r['lon']:.7f},{r['kind']},{r['installed_on']},{r['external_id']}"
              for r in rows]  # fmt: skip
    return ("\n".join(lines) + "\n").encode("utf-8")


def _writer(url: str, worker: int, job: tuple[int, int, int], barrier: Any, results: Any) -> None:
    """Store this writer's rows one by one (batch 1) or as CSV imports of `batch` rows."""
    processes, count, batch = job
    try:
        engine = engine_from_url(url)
        rows = writer_rows(worker, processes, count)
        files = [_csv_bytes(rows[s : s + batch]) for s in range(0, count, batch)]
        barrier.wait(timeout=120)
        start = time.perf_counter()
        if batch == 1:
            for row in rows:
                log_installation(engine, user="coordinator", **row)
        else:
            for k, content in enumerate(files):
                import_installations(engine, content, filename=f"w{worker}-{k}.csv",
                                     user="coordinator")  # fmt: skip
        engine.dispose()
        results.put((worker, "ok", time.perf_counter() - start))
    except Exception:  # reported by the parent
        results.put((worker, traceback.format_exc(), 0.0))


def _missing_flags(conn: sa.Connection) -> tuple[int, int]:
    """Return how many likely-duplicate flags are expected, and how many of them are missing.

    Of two installations of one kind closer than the duplicate radius, the one
    stored later (the higher id) must carry a ``duplicate`` flag, whichever
    writer stored either.
    """
    found = conn.execute(sa.text("SELECT id, kind, lat, lon FROM installations")).all()
    query = sa.text("SELECT installation_id FROM flags WHERE code = 'duplicate'")
    flagged = set(conn.execute(query).scalars())
    ids = np.array([r[0] for r in found], dtype=np.int64)
    kinds = np.array([r[1] for r in found], dtype=object)
    xyz = unit_vectors([r[2] for r in found], [r[3] for r in found])
    expected: set[int] = set()
    for kind in set(kinds.tolist()):
        idx = np.flatnonzero(kinds == kind)
        pairs = cKDTree(xyz[idx]).query_pairs(chord_for_metres(DEFAULT_DUPLICATE_RADIUS_M),
                                              output_type="ndarray")  # fmt: skip
        if pairs.size:
            expected.update(np.maximum(ids[idx[pairs[:, 0]]], ids[idx[pairs[:, 1]]]).tolist())
    return len(expected), len(expected - flagged)


def _check(url: str, expected: int) -> dict[str, int]:
    """Count what the writers left: rows lost or stored twice, audit and history, flags."""
    engine = engine_from_url(url)
    with engine.connect() as conn:

        def scalar(sql: str) -> int:
            return int(conn.execute(sa.text(sql)).scalar_one())

        stored = scalar("SELECT count(*) FROM installations")
        distinct = scalar("SELECT count(DISTINCT external_id) FROM installations")
        audited = scalar(
            "SELECT count(DISTINCT record_id) FROM audit_log "
            "WHERE table_name = 'installations' AND action = 'create'"
        )
        steps = scalar("SELECT count(*) FROM status_changes")
        flags, missing = _missing_flags(conn)
    engine.dispose()
    return {
        "lost": expected - distinct, "doubled": stored - distinct, "unaudited": stored - audited,
        "history": steps - stored, "flags": flags, "missing": missing,
    }  # fmt: skip


def _children_cpu() -> float:
    """Return the CPU seconds used by the finished child processes (the writers)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def bench_concurrent(label: str, url: str, processes: int, per_process: int, batch: int) -> bool:
    """Start `processes` writers at once, each storing `per_process` installations.

    With `batch` 1 each row is logged by itself (`log_installation`, as from
    the app's form); otherwise each writer imports CSV files of `batch` rows.
    Returns whether the figures meet the targets.
    """
    prepare(url)
    preload()  # boundaries and cities are loaded once, before the writers fork
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    job = (processes, per_process, batch)
    procs = [ctx.Process(target=_writer, args=(url, w, job, barrier, results))
             for w in range(processes)]  # fmt: skip
    cpu_before = _children_cpu()
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    outcome = [results.get(timeout=1800) for _ in procs]
    seconds = time.perf_counter() - start
    for p in procs:
        p.join(timeout=60)
    failed = [o for o in outcome if o[1] != "ok"]
    total = processes * per_process
    cpu_ms = (_children_cpu() - cpu_before) / total * 1000
    rate, target = total / seconds, TARGETS[label]
    c = _check(url, total)
    sound = not failed and not (c["lost"] or c["doubled"] or c["unaudited"] or c["history"])
    ok = sound and c["missing"] == 0 and rate >= target
    how = "logged one by one" if batch == 1 else f"imported in files of {batch}"
    print(
        f"{label}, {processes} writers x {per_process} rows {how}: {seconds:.1f} s, "
        f"{rate:,.0f} rows/s (target >= {target:,.0f}: {'OK' if rate >= target else 'MISSED'}); "
        f"lost {c['lost']}, doubled {c['doubled']}, missing duplicate flags {c['missing']} of "
        f"{c['flags']:,}, audit and history {'complete' if sound else 'INCOMPLETE'}; every target "
        f"{'OK' if ok else 'MISSED'} (writers' CPU {cpu_ms:.1f} ms/row)"
    )
    for worker, message, _ in failed:
        print(f"  writer {worker} failed:\n{message}")
    return ok


def _postgres_schema(base: str) -> tuple[str, str] | None:
    try:
        admin = sa.create_engine(base)
        schema = f"nudge_bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL not reachable at {base} ({exc.orig}); skipped")
        return None
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_schema(base: str, schema: str) -> None:
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    """Run every part of the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--per-process", type=int, default=500)
    parser.add_argument(
        "--batch",
        type=int,
        nargs="+",
        default=[1, 50],
        help="rows per write of the concurrent writers (1: log_installation)",
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--only-concurrent", action="store_true")
    args = parser.parse_args()
    met = []
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.only_concurrent:
            bench_import(workdir, args.rows)
        for batch in args.batch:
            sqlite_url = f"sqlite:///{workdir / f'concurrent-{batch}.sqlite'}"
            if not args.no_sqlite:
                met.append(bench_concurrent("SQLite", sqlite_url, args.processes,
                                            args.per_process, batch))  # fmt: skip
            if args.no_postgres:
                continue
            found = _postgres_schema(args.postgres)
            if found is not None:
                url, schema = found
                try:
                    met.append(bench_concurrent("PostgreSQL", url, args.processes,
                                                args.per_process, batch))  # fmt: skip
                finally:
                    _drop_schema(args.postgres, schema)
    print(f"concurrent writers: {sum(met)} of {len(met)} runs meet every target")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes share the CPUs)")
    print(f"peak memory of the main process: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
