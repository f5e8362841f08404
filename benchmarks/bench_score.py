"""Benchmark scoring: seconds and peak memory.

1. All banner candidates of Almaty from the full 2013 OSM extract (streets, 8,200 buildings for
   built intensity, route relations), ../shared/data/osm/almaty/almaty_2013.osm.pbf.
2. The same from Geofabrik roads + points (no buildings or routes: those signals fall back).
3. A synthetic instance: 100,000 candidates against 500,000 points of interest over a
   30 x 30 km city without streets (straight-line distances on the convolution grid).

Targets on the 2-core machine: Almaty banners within 15 s (issue 10), synthetic under 15 s, all
under 4 GB.
Each case runs in its own subprocess so that peak memory (max RSS) is its own.
Run: ``python benchmarks/bench_score.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALMATY = ROOT.parent / "shared" / "data" / "osm" / "almaty"

ALMATY_CASE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from nudge.osm.datasets import dataset_from_files
from nudge.placement import candidates_from_dataset, score_candidates
ds = dataset_from_files(json.loads(sys.argv[1]))
t0 = time.perf_counter()
cands = candidates_from_dataset(ds, kind="banner")
t1 = time.perf_counter()
result = score_candidates(cands, ds)
t2 = time.perf_counter()
print(json.dumps({"case": sys.argv[2], "candidates": len(cands), "target_s": 15,
                  "walk_nodes": int(ds.streets.loc[ds.streets.walk, ["u", "v"]].stack().nunique()),
                  "candidates_s": round(t1 - t0, 2), "score_s": round(t2 - t1, 2),
                  "total_s": round(t2 - t0, 2), "distance": result.distance,
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""

SYNTHETIC_CASE = """
import json, resource, time, warnings
warnings.simplefilter("ignore")
import geopandas as gpd, numpy as np, pandas as pd, shapely
from nudge.osm.datasets import CityDataset
from nudge.osm.features import FEATURE_COLUMNS
from nudge.osm.files import empty_streets
from nudge.placement import score_candidates
rng = np.random.default_rng(0)
cats = ["retail_food", "education", "health", "transit_stop", "transit_station", "park",
        "mall", "market", "culture", "square_pedestrian", "crossing", "sport"]
def cloud(n):  # clustered like a city: a few dense centres and a sparse rest
    centres = rng.uniform(0, 30_000, (12, 2))
    pick = rng.integers(0, 12, n)
    xy = centres[pick] + rng.normal(0, 2_500, (n, 2))
    return np.clip(xy, 0, 30_000)
to_deg = np.array([1 / 69_900, 1 / 111_200])
poi = cloud(500_000) * to_deg + [71.2, 51.0]
pts = shapely.points(poi)
feats = gpd.GeoDataFrame({"osm_id": [f"node/{i}" for i in range(len(poi))],
    "category": rng.choice(cats, len(poi)), "subcategory": "x", "name": None, "name_kk": None,
    "name_ru": None, "name_en": None, "source": "synthetic"}, geometry=pts, crs=4326)
feats["point"] = gpd.GeoSeries(pts, crs=4326)
ds = CityDataset(feats[FEATURE_COLUMNS], empty_streets(), {})
cxy = cloud(100_000) * to_deg + [71.2, 51.0]
cands = gpd.GeoDataFrame({"kind": "banner", "source": "user", "excluded": False,
    "highway": pd.array([None] * len(cxy), dtype="string"), "area_m2": np.nan},
    geometry=shapely.points(cxy), crs=4326,
    index=pd.Index([f"c{i}" for i in range(len(cxy))], name="candidate_id"))
t0 = time.perf_counter()
result = score_candidates(cands, ds)
t1 = time.perf_counter()
print(json.dumps({"case": "synthetic_100k_x_500k", "candidates": len(cands), "places": len(feats),
                  "score_s": round(t1 - t0, 2), "total_s": round(t1 - t0, 2),
                  "distance": result.distance,
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def _run(code: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run both cases and print their figures."""
    cases = []
    if ALMATY.is_dir():
        pbf = [str(ALMATY / "almaty_2013.osm.pbf")]
        shp = [str(ALMATY / "geofabrik_shp"), str(ALMATY / "almaty_points.geojson")]
        cases.append(_run(ALMATY_CASE, json.dumps(pbf), "almaty_2013_pbf_banner"))
        cases.append(_run(ALMATY_CASE, json.dumps(shp), "almaty_geofabrik_banner"))
    else:
        print(f"(skipping Almaty: {ALMATY} not found)")
    cases.append(_run(SYNTHETIC_CASE))
    for case in cases:
        print(json.dumps(case))


if __name__ == "__main__":
    main()
