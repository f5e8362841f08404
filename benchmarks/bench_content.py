"""Benchmark of the content library's checks on the largest file it accepts.

Prints seconds and peak memory of reading, checking and importing a YAML library
just under the limit of `nudge.content._io.MAX_CONTENT_BYTES` (2 MB: about 8,000
proverbs, here from a small vocabulary, so that many texts share most of their
trigrams and the near-duplicate search has the most to compare), then of
`nudge content import` into a fresh SQLite registry, against the 10 s that issue 15
allows every input, hostile or not.

Run: ``python benchmarks/bench_content.py [--entries N]`` (``--entries 19000`` makes
a 4.7 MB file, over the limit, to see how the checks scale).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nudge.content import ContentLibrary, import_items, validate_items
from nudge.content._io import MAX_CONTENT_BYTES, rows_from_file
from nudge.content.campaign import campaign_from_file

WORDS = ("ата", "құдық", "көмір", "нан", "бала", "өнер", "оқу", "іс", "жер", "еңбек", "білім",
         "егін", "су", "ел", "береке", "шебер", "қол", "тер")  # fmt: skip
TARGET_S = 10.0


def peak_mb() -> float:
    """Return the peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_library(path: Path, entries: int, seed: int = 1) -> Path:
    """Write `entries` proverbs of seven words each as a content YAML file."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(WORDS), size=(entries, 7))
    lines = []
    for i, row in enumerate(picks):
        text = " ".join(WORDS[k] for k in row).capitalize() + "."
        lines += [
            f'- id: "kk-{i:06d}"',
            "  kind: proverb",
            f'  text_kk: "{text}"',
            f'  text_ru: "Жизнь без труда – погасший уголь {i}."',
            "  text_ru_kind: translation",
            "  themes: [diligence]",
            f'  source: "src {i}"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    """Time the checks and the import of the largest accepted library file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=8_000)
    args = parser.parse_args()
    campaign = campaign_from_file()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_library(Path(tmp) / "proverbs.yaml", args.entries)
        size = path.stat().st_size
        print(f"{args.entries:,} proverbs, {size / 2**20:.2f} MB "
              f"(limit {MAX_CONTENT_BYTES / 2**20:.0f} MB)")  # fmt: skip
        start = time.perf_counter()
        rows, numbers = rows_from_file(path)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        report = validate_items(rows, collection="proverbs", campaign=campaign, rows=numbers)
        check_s = time.perf_counter() - start
        near = sum(1 for p in report.problems if p.code == "near-duplicate")
        print(f"read: {read_s:.2f} s; checks: {check_s:.2f} s ({len(report.errors)} errors, "
              f"{near} near duplicates)")  # fmt: skip
        start = time.perf_counter()
        done = import_items(ContentLibrary(), path, campaign=campaign, save=False)
        import_s = time.perf_counter() - start
        print(f"import (read, checks, store in memory): {import_s:.2f} s, added "
              f"{len(done.added):,}")  # fmt: skip
        env = {**os.environ, "NUDGE_DATA_DIR": str(Path(tmp) / "geo"), "NUDGE_DATABASE_URL": ""}
        nudge = [sys.executable, "-m", "nudge"]
        subprocess.run([*nudge, "db", "upgrade"], env=env, check=True, capture_output=True)
        for label in ("first", "again (every entry unchanged)"):
            start = time.perf_counter()
            run = subprocess.run([*nudge, "content", "import", str(path), "--json"], env=env,
                                 check=False, capture_output=True, text=True)  # fmt: skip
            seconds = time.perf_counter() - start
            counts = json.loads(run.stdout) if run.stdout else {}
            verdict = "OK" if seconds < TARGET_S else "MISSED"
            print(f"nudge content import, {label}, SQLite: {seconds:.2f} s (exit code "
                  f"{run.returncode}, added {counts.get('added')}, unchanged "
                  f"{counts.get('unchanged')}); target < {TARGET_S:.0f} s: {verdict}")  # fmt: skip
    print(f"peak memory: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
