"""Benchmark the rotation: 2,000 sites, 13 flights, 150 entries (target: < 10 s, < 2 GB).

Then the exact solver against the greedy on a smaller plan (default 60 sites,
6 flights, 30 entries, one minute), printing time, status and rules broken.

Builds a synthetic plan (random sites around central Almaty, eight districts,
footfall scores), a synthetic feature layer for the matching rules and 150
fictional entries (proverb-like texts of 2-14 words, example dynasties and
winners), then times matching plus rotation and prints seconds and peak memory.

Run: ``python benchmarks/bench_rotate.py [--sites N] [--flights F] [--items M]``.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge.content import campaign_from_file, plan_rotation
from nudge.content.schema import THEMES

CENTRE = (76.92, 43.25)


def synthetic_plan(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return `n` sites scattered over about 20 x 15 km with districts and scores."""
    lon = CENTRE[0] + rng.uniform(-0.12, 0.12, n)
    lat = CENTRE[1] + rng.uniform(-0.07, 0.07, n)
    district = np.digitize(lon, np.linspace(CENTRE[0] - 0.12, CENTRE[0] + 0.12, 5)[1:-1]) * 2 + (
        lat > CENTRE[1]
    )
    kind = rng.choice(["banner", "citylight", "exhibition"], n, p=[0.8, 0.15, 0.05])
    return gpd.GeoDataFrame(
        {
            "site_id": [f"{k}/{i:05d}" for i, k in enumerate(kind)],
            "kind": kind,
            "name": [f"site {i}" for i in range(n)],
            "score": rng.lognormal(3.0, 0.6, n).round(2),
            "district": [f"D{d}" for d in district],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def synthetic_features(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return `n` public-space points of the matching categories."""
    cats = ["education", "production", "market", "transit_stop", "transit_station", "health"]
    subs = {
        "education": "school",
        "production": "works",
        "market": "marketplace",
        "transit_stop": "bus_stop",
        "transit_station": "station",
        "health": "hospital",
    }
    category = rng.choice(cats, n, p=[0.2, 0.1, 0.05, 0.5, 0.05, 0.1])
    return gpd.GeoDataFrame(
        {
            "osm_id": [f"node/{i}" for i in range(n)],
            "category": category,
            "subcategory": [subs[c] for c in category],
        },
        geometry=gpd.points_from_xy(
            CENTRE[0] + rng.uniform(-0.13, 0.13, n), CENTRE[1] + rng.uniform(-0.08, 0.08, n)
        ),
        crs="EPSG:4326",
    )


def synthetic_items(m: int, rng: np.random.Generator) -> pd.DataFrame:
    """Return `m` fictional entries as a library table (`ContentLibrary.frame` layout)."""
    n_people = max(2, m // 10)
    rows = []
    for i in range(m):
        kind = "proverb" if i < m - 2 * n_people else ("dynasty" if i % 2 else "winner")
        words = int(rng.integers(2, 15)) if kind == "proverb" else 60
        text = " ".join(["мысал"] * words)
        themes = tuple(rng.choice(THEMES, int(rng.integers(1, 3)), replace=False))
        rows.append(
            {
                "id": f"x{i:03d}",
                "collection": kind + "s",
                "kind": kind,
                "themes": themes,
                "status": "active",
                "consent": True,
                "is_example": True,
                "text_kk": text,
                "text_ru": "",
                "words": words,
                "chars": len(text),
                "field_text": "railway" if i % 3 == 0 else "teacher",
                "region": "Almaty",
                "city": "Almaty",
                "photo_count": 1,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--flights", type=int, default=13)
    parser.add_argument("--items", type=int, default=150)
    parser.add_argument("--exact-sites", type=int, default=60, help="0 skips the exact run")
    parser.add_argument("--exact-flights", type=int, default=6)
    parser.add_argument("--exact-items", type=int, default=30)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    plan = synthetic_plan(args.sites, rng)
    features = synthetic_features(3 * args.sites, rng)
    items = synthetic_items(args.items, rng)
    campaign = campaign_from_file()
    started = time.perf_counter()
    result = plan_rotation(
        plan,
        items,
        flights=args.flights,
        start=date(2025, 1, 6),
        campaign=campaign,
        features=features,
        include_examples=True,
        city="Almaty",
    )
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sites={args.sites} flights={args.flights} items={args.items}")
    print(f"assignments={result.assignments} neighbour_pairs={result.neighbour_pairs}")
    print(f"violations={result.violation_counts}")
    print(f"exposure_cv={result.exposure_cv:.3f}")
    print(f"seconds={seconds:.2f}")
    print(f"peak_memory_mb={peak_mb:.0f}")
    if args.exact_sites:
        compare_exact(args, rng, campaign)


def compare_exact(args: argparse.Namespace, rng: np.random.Generator, campaign: object) -> None:
    """Rotate a smaller plan with the greedy and the exact solver; print both results."""
    plan = synthetic_plan(args.exact_sites, rng)
    features = synthetic_features(3 * args.exact_sites, rng)
    items = synthetic_items(args.exact_items, rng)
    print(f"\nexact vs greedy: sites={args.exact_sites} flights={args.exact_flights} "
          f"items={args.exact_items} time_limit={args.time_limit:g} s")  # fmt: skip
    for solver in ("greedy", "exact"):
        started = time.perf_counter()
        result = plan_rotation(
            plan, items, flights=args.exact_flights, start=date(2025, 1, 6),
            campaign=campaign, features=features, include_examples=True, city="Almaty",
            solver=solver, time_limit=args.time_limit,  # type: ignore[arg-type]
        )  # fmt: skip
        broken = {k: v for k, v in result.violation_counts.items() if v}
        took = time.perf_counter() - started
        cv = result.exposure_cv
        print(f"  {solver}: {took:.2f} s, status: {result.status}, "
              f"rules broken: {broken or 'none'}, exposure_cv={cv:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
