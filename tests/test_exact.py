"""The exact solver against a peer (spopt's MCLP through PuLP) and on real data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from test_greedy import ring_model

from nudge._errors import InfeasibleError
from nudge.i18n import error_text
from nudge.placement._exact import solve_exact
from nudge.placement._greedy import solve_greedy
from nudge.placement.selection import MaximalCoverage, plan_sites


def _spopt_optimum(cost: np.ndarray, weights: np.ndarray, radius: float, count: int) -> float:
    pulp = pytest.importorskip("pulp")
    locate = pytest.importorskip("spopt.locate")
    model = locate.MCLP.from_cost_matrix(cost, weights, service_radius=radius, p_facilities=count)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    chosen = [j for j, v in enumerate(model.fac_vars) if v.value() > 0.5]
    assert len(chosen) == count
    return float(weights[model.aij[:, chosen].sum(axis=1) > 0].sum())


@pytest.mark.parametrize(("seed", "count"), [(1, 3), (2, 5), (3, 8)])
def test_exact_matches_spopt_and_greedy_is_within_five_percent(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    demand_xy = rng.uniform(0, 3000, (250, 2))
    site_xy = rng.uniform(0, 3000, (30, 2))
    cost = np.hypot(*(demand_xy[:, None, :] - site_xy[None, :, :]).transpose(2, 0, 1))
    weights = rng.integers(1, 10, 250).astype(float)
    reference = _spopt_optimum(cost, weights, 400.0, count)
    model = MaximalCoverage.from_cost_matrix(cost, weights, radius=400.0, count=count)
    exact = model.solve(solver="exact")
    greedy = model.solve(solver="greedy")
    assert exact.covered_weight == pytest.approx(reference)
    assert exact.status == "optimal"
    assert greedy.covered_weight >= 0.95 * reference
    assert greedy.upper_bound >= reference


def test_exact_without_a_start_plan_and_with_a_budget() -> None:
    rng = np.random.default_rng(5)
    cost = rng.uniform(0, 1000, (60, 15))
    model = MaximalCoverage.from_cost_matrix(
        cost, np.ones(60), radius=250.0, budget=6.0, costs=rng.integers(1, 4, 15)
    )
    cold = solve_exact(model.problem)
    warm = solve_exact(model.problem, start=solve_greedy(model.problem).chosen)
    assert cold.covered_weight == pytest.approx(warm.covered_weight)
    assert model.problem.costs[cold.chosen].sum() <= 6.0


@pytest.fixture(scope="module")
def astana(shared_data: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return (stops as banner candidates, all POIs as demand) of Astana."""
    df = pd.read_parquet(shared_data / "osm" / "astana" / "pois_astana_osm.parquet")
    pois = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.longitude, df.latitude), crs=4326)
    stops = pois[(pois.highway == "bus_stop") | (pois.public_transport == "platform")]
    candidates = gpd.GeoDataFrame(
        {"kind": "banner", "name": stops["name"].to_numpy(), "excluded": False, "score": 50.0},
        geometry=stops.geometry.to_numpy(),
        crs=4326,
        index=pd.Index(
            [f"banner/{t}/{i}" for t, i in zip(stops.osm_type, stops.osm_id, strict=True)]
        ),
    )
    return candidates, pois.assign(weight=1.0)[["weight", "geometry"]]


def test_astana_greedy_is_within_half_a_percent_of_the_optimum(
    astana: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame],
) -> None:
    candidates, demand = astana
    assert len(candidates) == 909
    assert len(demand) == 5883
    model = MaximalCoverage.from_geodataframe(
        candidates, demand, kind="banner", count=20, min_spacing=0
    )
    greedy = model.solve()
    exact = model.solve(solver="exact", time_limit=60)
    assert exact.status == "optimal"
    assert exact.covered_weight == pytest.approx(
        918.0
    )  # spopt's optimum (benchmarks/bench_plan.py)
    assert greedy.covered_weight >= 0.995 * exact.covered_weight
    assert greedy.upper_bound >= exact.covered_weight


def test_almaty_proportional_quotas_from_real_districts(shared_data: Path) -> None:
    from nudge.placement.plan_files import districts_from_file, population_from_file

    folder = shared_data / "osm" / "almaty"
    districts = districts_from_file(folder / "almaty_districts_osm_2019.geojson")
    population = population_from_file(folder / "almaty_district_population_reference.csv")
    points = gpd.read_file(folder / "almaty_points.geojson")
    grid = districts.to_crs(32643).union_all()
    west, south, east, north = grid.bounds
    xs, ys = np.meshgrid(np.arange(west, east, 700.0), np.arange(south, north, 700.0))
    cells = gpd.GeoSeries(gpd.points_from_xy(xs.ravel(), ys.ravel()), crs=32643)
    cells = cells[cells.within(grid)].to_crs(4326)
    candidates = gpd.GeoDataFrame(
        {"kind": "banner", "name": None, "excluded": False, "score": 0.0},
        geometry=cells.to_numpy(),
        crs=4326,
        index=pd.Index([f"grid/{i}" for i in range(len(cells))]),
    )
    plan = plan_sites(
        candidates,
        points.assign(weight=1.0),
        kind="banner",
        count=24,
        districts=districts,
        quota="proportional",
        population=population,
    )
    total = sum(population.values())
    assert set(plan.by_district) >= set(population)
    for name, pop in population.items():
        share = 24 * pop / total
        assert np.floor(share) <= plan.by_district[name]["sites"] <= np.ceil(share)
    assert plan.chosen["district"].notna().all()


def test_a_proven_infeasible_plan_is_explained_in_the_users_language() -> None:
    model = ring_model()
    with pytest.raises(InfeasibleError, match=r"proved that no plan meets") as info:
        solve_exact(model.problem)
    assert info.value.code == "plan_exact_infeasible"
    assert "жоспар жоқ екенін дәлелдеді" in error_text(info.value, "kk")
    assert "Точный метод доказал" in error_text(info.value, "ru")
