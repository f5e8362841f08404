"""Benchmark of the registry: batch import, concurrent logging, indicators.

Prints its figures (seconds, rows per second, peak memory):

1. importing 10,000 installations from CSV into a fresh SQLite registry
   (target: under 15 s), then importing the same file again (adds nothing);
2. computing the ministry report (every breakdown) over those rows;
3. 8 processes each logging 500 installations at the same moment, on SQLite
   and on PostgreSQL: all 4,000 stored, none twice, audit log complete.

Run: ``python benchmarks/bench_registry.py [--rows N] [--processes P]
[--per-process K] [--postgres URL | --no-postgres]``. PostgreSQL runs in a
temporary schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
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

import nudge.registry.auth as registry_auth
from nudge.geo.regions import preload
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


def _writer(url: str, worker: int, count: int, barrier: Any, results: Any) -> None:
    try:
        engine = engine_from_url(url)
        barrier.wait(timeout=120)
        start = time.perf_counter()
        for i in range(count):
            log_installation(
                engine, user="coordinator", kind=KINDS[i % len(KINDS)],
                lat=43.20 + worker * 0.012 + (i // 40) * 0.0003, lon=76.85 + (i % 40) * 0.0004,
                installed_on="2025-03-01", external_id=f"w{worker}-{i}",
            )  # fmt: skip
        engine.dispose()
        results.put((worker, "ok", time.perf_counter() - start))
    except Exception:  # reported by the parent
        results.put((worker, traceback.format_exc(), 0.0))


def _check(url: str, expected: int) -> str:
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
    engine.dispose()
    ok = stored == distinct == audited == steps == expected
    return (
        f"stored {stored:,}, distinct {distinct:,}, audited {audited:,}, status rows "
        f"{steps:,}: {'OK' if ok else 'MISMATCH'}"
    )


def bench_concurrent(label: str, url: str, processes: int, per_process: int) -> None:
    """Start `processes` writers at once, each logging `per_process` installations."""
    prepare(url)
    preload()  # boundaries and cities are loaded once, before the writers fork
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, w, per_process, barrier, results))
             for w in range(processes)]  # fmt: skip
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
    print(
        f"{processes} processes x {per_process} installations at once ({label}): "
        f"{seconds:.1f} s, {total / seconds:,.0f} installations/s; "
        f"{_check(url, total)}"
    )
    for worker, message, _ in failed:
        print(f"  writer {worker} failed:\n{message}")


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
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench_import(workdir, args.rows)
        sqlite_url = f"sqlite:///{workdir / 'concurrent.sqlite'}"
        bench_concurrent("SQLite", sqlite_url, args.processes, args.per_process)
        if not args.no_postgres:
            found = _postgres_schema(args.postgres)
            if found is not None:
                url, schema = found
                try:
                    bench_concurrent("PostgreSQL", url, args.processes, args.per_process)
                finally:
                    _drop_schema(args.postgres, schema)
    print(f"peak memory of the main process: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
