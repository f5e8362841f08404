"""Benchmark site selection against PySAL spopt's MCLP (exact, through PuLP/CBC).

Instances
---------
astana
    Demand: all 5,883 points of interest of ``../shared/data/osm/astana/
    pois_astana_osm.parquet`` (weight 1); candidates: its bus stops and
    platforms; radius 300 m; no spacing (the unconstrained MCLP); 20 and 60 sites.
synthetic
    20,000 candidates and 200,000 clustered demand points (weights 1-9) on a
    30 km square; radius 300 m; 200 sites. spopt is not run there: its dense
    200,000 x 20,000 distance matrix alone would take 32 GB.

For each it prints covered weight and seconds for nudge's plain greedy, greedy
with swaps, exact (HiGHS) and spopt, and the ratios the targets of issue 4 name.

Run: ``python benchmarks/bench_plan.py [--skip-synthetic] [--exact-limit 120]``.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge.placement._greedy import solve_greedy
from nudge.placement.selection import MaximalCoverage

ROOT = Path(__file__).resolve().parents[1]
ASTANA = ROOT.parent / "shared" / "data" / "osm" / "astana" / "pois_astana_osm.parquet"


def peak_mb() -> float:
    """Return the peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def astana_instance() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return (candidates, demand) for the Astana POIs."""
    df = pd.read_parquet(ASTANA)
    pois = gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df.longitude, df.latitude), crs="EPSG:4326"
    )
    demand = pois.assign(weight=1.0)[["weight", "geometry"]]
    stops = pois[(pois.highway == "bus_stop") | (pois.public_transport == "platform")]
    candidates = gpd.GeoDataFrame(
        {"kind": "banner", "excluded": False, "score": 0.0, "name": stops["name"].to_numpy()},
        geometry=stops.geometry.to_numpy(),
        crs="EPSG:4326",
        index=pd.Index(
            [f"banner/{t}/{i}" for t, i in zip(stops.osm_type, stops.osm_id, strict=True)]
        ),
    )
    return candidates, demand


def synthetic_instance(
    n_sites: int = 20_000, n_demand: int = 200_000, seed: int = 7
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return a clustered synthetic city in UTM 42N (Astana's zone)."""
    rng = np.random.default_rng(seed)
    side = 30_000.0
    centres = rng.uniform(0, side, (400, 2))
    spread = rng.uniform(200, 1500, 400)

    def clustered(n: int) -> np.ndarray:
        pick = rng.integers(0, len(centres), n)
        pts = centres[pick] + rng.normal(size=(n, 2)) * spread[pick, None]
        return np.clip(pts, 0, side)

    demand_xy = np.vstack(
        [clustered(int(n_demand * 0.8)), rng.uniform(0, side, (n_demand - int(n_demand * 0.8), 2))]
    )
    site_xy = np.vstack(
        [clustered(int(n_sites * 0.7)), rng.uniform(0, side, (n_sites - int(n_sites * 0.7), 2))]
    )
    origin = np.array([500_000.0, 5_640_000.0])
    crs = "EPSG:32642"
    demand = gpd.GeoDataFrame(
        {"weight": rng.integers(1, 10, n_demand).astype(float)},
        geometry=gpd.points_from_xy(*(demand_xy + origin).T),
        crs=crs,
    )
    candidates = gpd.GeoDataFrame(
        {"kind": "banner", "excluded": False, "score": rng.uniform(0, 100, n_sites)},
        geometry=gpd.points_from_xy(*(site_xy + origin).T),
        crs=crs,
        index=pd.Index([f"banner/{i:06d}" for i in range(n_sites)]),
    )
    return candidates, demand


def run_spopt(
    candidates: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, count: int
) -> tuple[float, float]:
    """Solve the MCLP with spopt and PuLP's CBC; return (covered weight, seconds)."""
    import pulp
    from spopt.locate import MCLP

    crs = demand.estimate_utm_crs()
    dem = demand.to_crs(crs)
    fac = candidates.to_crs(crs)
    start = time.perf_counter()
    model = MCLP.from_geodataframe(
        dem, fac, "geometry", "geometry", "weight", service_radius=300.0, p_facilities=count
    )
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - start
    chosen = [j for j, v in enumerate(model.fac_vars) if v.value() > 0.5]
    covered = float(dem["weight"].to_numpy()[model.aij[:, chosen].sum(axis=1) > 0].sum())
    return covered, seconds


def run_nudge(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    count: int,
    *,
    exact_limit: float,
    spacing: float = 0.0,
) -> dict[str, float]:
    """Time nudge's model build, plain greedy, greedy + swaps and exact solver."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    model = MaximalCoverage.from_geodataframe(
        candidates, demand, kind="banner", count=count, radius=300.0, min_spacing=spacing
    )
    out["build_s"] = time.perf_counter() - start
    t = time.perf_counter()
    plain = solve_greedy(model.problem, swaps=False)
    out["plain_s"], out["plain"] = time.perf_counter() - t, plain.covered_weight
    t = time.perf_counter()
    greedy = model.solve(solver="greedy")
    out["greedy_s"], out["greedy"] = time.perf_counter() - t, greedy.covered_weight
    out["greedy_bound"] = greedy.upper_bound
    t = time.perf_counter()
    exact = model.solve(solver="exact", time_limit=exact_limit)
    out["exact_s"], out["exact"] = time.perf_counter() - t, exact.covered_weight
    out["exact_gap"] = exact.gap
    out["exact_optimal"] = float(exact.status == "optimal")
    return out


def report(name: str, count: int, r: dict[str, float], spopt: tuple[float, float] | None) -> None:
    """Print one instance's figures."""
    print(f"\n== {name}, {count} sites (model build {r['build_s']:.2f} s, peak {peak_mb():.0f} MB)")
    print(f"  nudge plain greedy : {r['plain']:>12,.1f}  {r['plain_s']:8.3f} s")
    print(
        f"  nudge greedy+swaps : {r['greedy']:>12,.1f}  {r['greedy_s']:8.3f} s  "
        f"(build+solve {r['build_s'] + r['greedy_s']:.2f} s, bound {r['greedy_bound']:,.1f})"
    )
    status = "optimal" if r["exact_optimal"] else f"time limit, gap {100 * r['exact_gap']:.3f}%"
    print(f"  nudge exact (HiGHS): {r['exact']:>12,.1f}  {r['exact_s']:8.3f} s  ({status})")
    best = r["exact"]
    if spopt is not None:
        cov, sec = spopt
        best = max(best, cov)
        print(f"  spopt MCLP (CBC)   : {cov:>12,.1f}  {sec:8.3f} s")
        print(
            f"  greedy+swaps / spopt optimum: {100 * r['greedy'] / cov:.2f}%  "
            f"(plain greedy {100 * r['plain'] / cov:.2f}%); "
            f"greedy {sec / r['greedy_s']:.0f}x faster than spopt "
            f"({sec / (r['greedy_s'] + r['build_s']):.0f}x counting the model build)"
        )
        print(
            f"  exact == spopt: {abs(r['exact'] - cov) < 1e-6}; "
            f"exact {sec / r['exact_s']:.1f}x faster "
            f"({sec / (r['exact_s'] + r['build_s']):.1f}x counting the build)"
        )
    else:
        print("  spopt MCLP: not run (dense distance matrix of this size does not fit in memory)")
        print(
            f"  greedy+swaps / best known: {100 * r['greedy'] / best:.3f}%  "
            f"(plain greedy {100 * r['plain'] / best:.3f}%)"
        )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--exact-limit", type=float, default=120.0)
    parser.add_argument("--scaling", action="store_true", help="Also scan exact-solver sizes.")
    args = parser.parse_args()
    candidates, demand = astana_instance()
    print(f"Astana: {len(demand)} demand points, {len(candidates)} candidate stops, radius 300 m")
    for count in (20, 60):
        r = run_nudge(candidates, demand, count, exact_limit=args.exact_limit)
        report("Astana POIs", count, r, run_spopt(candidates, demand, count))
    if args.skip_synthetic:
        return
    candidates, demand = synthetic_instance()
    print(f"\nSynthetic: {len(demand)} demand points, {len(candidates)} candidates, radius 300 m")
    r = run_nudge(candidates, demand, 200, exact_limit=args.exact_limit)
    report("synthetic", 200, r, None)
    if args.scaling:
        scaling(args.exact_limit)


def scaling(limit: float) -> None:
    """Print how far the exact solver gets on growing synthetic instances (50 sites)."""
    print(f"\n== exact solver size scan (50 sites, time limit {limit:g} s)")
    for n_sites, n_demand in ((1_000, 10_000), (2_000, 20_000), (5_000, 50_000), (10_000, 100_000)):
        candidates, demand = synthetic_instance(n_sites, n_demand, seed=11)
        model = MaximalCoverage.from_geodataframe(
            candidates, demand, kind="banner", count=50, radius=300.0, min_spacing=0.0
        )
        t = time.perf_counter()
        greedy = model.solve(solver="greedy")
        g_s = time.perf_counter() - t
        t = time.perf_counter()
        exact = model.solve(solver="exact", time_limit=limit)
        e_s = time.perf_counter() - t
        print(
            f"  {n_sites:>6} x {n_demand:>7}: "
            f"greedy {greedy.covered_weight:>10,.0f} in {g_s:6.2f} s; "
            f"exact {exact.covered_weight:>10,.0f} in {e_s:6.2f} s ({exact.status}, "
            f"gap {100 * exact.gap:.3f}%)"
        )


if __name__ == "__main__":
    main()
