"""Property tests: every plan either solver returns meets every constraint it was given."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from nudge._errors import InfeasibleError
from nudge.i18n import error_text
from nudge.placement._greedy import solve_greedy
from nudge.placement.selection import MaximalCoverage

CRS = "EPSG:32642"
X0, Y0 = 500_000.0, 5_640_000.0
DISTRICTS = gpd.GeoDataFrame(
    {"district": ["West", "East"]},
    geometry=[
        box(X0 - 1, Y0 - 1, X0 + 1000, Y0 + 2001),
        box(X0 + 1000, Y0 - 1, X0 + 2001, Y0 + 2001),
    ],
    crs=CRS,
)


@st.composite
def instances(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a small planning instance with a random mix of constraints."""
    n_sites = draw(st.integers(3, 14))
    n_demand = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    site_xy = rng.uniform(0, 2000, (n_sites, 2)).round()
    ids = [f"s{i}" for i in range(n_sites)]
    sites = gpd.GeoDataFrame(
        {
            "kind": "banner",
            "name": ids,
            "excluded": rng.random(n_sites) < 0.15,
            "score": rng.uniform(0, 100, n_sites).round(1),
        },
        geometry=gpd.points_from_xy(site_xy[:, 0] + X0, site_xy[:, 1] + Y0),
        crs=CRS,
        index=pd.Index(ids, name="candidate_id"),
    )
    dem_xy = rng.uniform(0, 2000, (n_demand, 2))
    demand = gpd.GeoDataFrame(
        {"weight": rng.integers(1, 6, n_demand).astype(float)},
        geometry=gpd.points_from_xy(dem_xy[:, 0] + X0, dem_xy[:, 1] + Y0),
        crs=CRS,
    )
    use_budget = draw(st.booleans())
    options: dict[str, Any] = {
        "kind": "banner",
        "radius": draw(st.sampled_from([150.0, 300.0, 600.0])),
        "min_spacing": draw(st.sampled_from([0.0, 150.0, 300.0, 500.0])),
        "count": draw(st.integers(1, 5)) if not use_budget or draw(st.booleans()) else None,
        "locked": list(rng.choice(ids, draw(st.integers(0, 2)), replace=False)),
        "excluded": list(rng.choice(ids, draw(st.integers(0, 2)), replace=False)),
    }
    options["excluded"] = [s for s in options["excluded"] if s not in options["locked"]]
    if use_budget:
        options["budget"] = float(draw(st.integers(2, 12)))
        options["cost"] = dict(
            zip(ids, rng.integers(1, 5, n_sites).astype(float).tolist(), strict=True)
        )
    if draw(st.booleans()):
        options["districts"] = DISTRICTS
        options["quota"] = draw(
            st.sampled_from(["1:", ":2", "1:3", {"West": "1:1"}, "proportional"])
        )
    return {"sites": sites, "demand": demand, "options": options}


def check_plan(
    sites: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    options: dict[str, Any],
    model: MaximalCoverage,
    plan: Any,
) -> None:
    """Assert that `plan` meets every constraint of `options`."""
    chosen = plan.site_ids
    assert len(set(chosen)) == len(chosen)
    p = model.problem
    count, budget = options.get("count"), options.get("budget")
    if count is not None and budget is None:
        assert len(chosen) == count
    elif count is not None:
        assert len(chosen) <= count
    if budget is not None:
        cost = sum(options["cost"][s] for s in chosen)
        assert cost <= budget + 1e-9
    assert set(options["locked"]) <= set(chosen)
    assert not set(options["excluded"]) & set(chosen)
    marked = set(sites.index[sites["excluded"]])
    assert not (marked - set(options["locked"])) & set(chosen)
    xy = sites.loc[chosen].geometry
    locked = set(options["locked"])
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            if a in locked and b in locked:
                continue
            assert xy[a].distance(xy[b]) >= options["min_spacing"] - 1e-6
    if "quota" in options:
        per = pd.Series(plan.chosen["district"]).value_counts()
        for g, name in enumerate(p.group_names):
            assert p.group_min[g] <= per.get(name, 0) <= p.group_max[g]
    # The reported coverage is the weight within the radius of a chosen site.
    near = np.zeros(len(demand), dtype=bool)
    for geom in xy:
        near |= demand.distance(geom).to_numpy() <= options["radius"] + 1e-6
    assert plan.covered_weight == pytest.approx(float(demand["weight"][near].sum()))
    assert plan.upper_bound >= plan.covered_weight - 1e-9
    assert plan.chosen["marginal_gain"].sum() == pytest.approx(plan.covered_weight)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_plan_meets_every_constraint(case: dict[str, Any]) -> None:
    sites, demand, options = case["sites"], case["demand"], case["options"]
    try:
        model = MaximalCoverage.from_geodataframe(sites, demand, **options)
    except InfeasibleError as exc:
        assert str(exc)  # explained in words, never a raw solver status
        return
    plans = []
    for solver in ("greedy", "exact"):
        try:
            plan = model.solve(solver=solver, time_limit=20)
        except InfeasibleError as exc:
            assert "cannot be made" in str(exc) or "no plan meets" in str(exc)
            continue
        check_plan(sites, demand, options, model, plan)
        plans.append(plan)
    if len(plans) == 2:
        greedy, exact = plans
        assert exact.covered_weight >= greedy.covered_weight - 1e-9
        assert greedy.upper_bound >= exact.covered_weight - 1e-6


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_greedy_bound_holds_and_swaps_never_hurt(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    n_demand, n_sites = 40, 12
    cost = rng.uniform(0, 1000, (n_demand, n_sites))
    weights = rng.integers(1, 9, n_demand)
    model = MaximalCoverage.from_cost_matrix(cost, weights, radius=300.0, count=count)
    plain = solve_greedy(model.problem, swaps=False)
    swapped = solve_greedy(model.problem)
    exact = model.solve(solver="exact")
    assert swapped.covered_weight >= plain.covered_weight - 1e-9
    assert plain.upper_bound >= exact.covered_weight - 1e-9
    assert exact.covered_weight >= swapped.covered_weight - 1e-9
    # The classic guarantee of the greedy for maximum coverage.
    assert plain.covered_weight >= (1 - 1 / np.e) * exact.covered_weight - 1e-9


def test_budget_bound_counts_the_whole_budget_not_what_the_greedy_left() -> None:
    # Found by CI: the greedy spent 7 of 7 on sites worth 44 and bounded the
    # optimum by what its leftover budget could buy, below the exact 50.
    demand_xy = [
        (486.791, 1580.425), (814.321, 1108.49), (774.559, 1280.592), (1091.643, 889.205),
        (1507.395, 564.041), (1869.627, 1269.962), (1878.194, 1856.953), (413.345, 109.095),
        (350.457, 365.401), (868.533, 711.042), (1516.773, 1085.182), (1337.394, 282.969),
        (1832.714, 1106.184), (1419.341, 105.587), (1516.075, 1953.63), (667.368, 288.122),
        (221.395, 1110.535), (1929.066, 1780.332), (1208.806, 1079.021), (643.319, 560.207),
        (422.803, 31.096), (1897.597, 818.629), (848.935, 780.281), (1965.902, 1968.296),
    ]  # fmt: skip
    weights = [5, 5, 4, 4, 2, 4, 2, 4, 5, 1, 4, 5, 2, 1, 3, 3, 2, 3, 3, 4, 1, 2, 3, 5]
    site_xy = np.array(
        [
            (926, 1733),
            (518, 678),
            (1247, 1245),
            (1016, 362),
            (1329, 74),
            (814, 1085),
            (803, 944),
            (586, 152),
        ]
    )
    cost = np.linalg.norm(np.asarray(demand_xy)[:, None, :] - site_xy[None, :, :], axis=2)
    model = MaximalCoverage.from_cost_matrix(
        cost, weights, radius=600.0, budget=7.0, costs=[1, 4, 2, 3, 1, 4, 2, 4]
    )
    greedy = model.solve(solver="greedy")
    exact = model.solve(solver="exact")
    assert exact.covered_weight == pytest.approx(50.0)
    assert greedy.upper_bound >= exact.covered_weight - 1e-9
    assert exact.upper_bound >= exact.covered_weight - 1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(2.0, 12.0), st.integers(0, 2))
def test_greedy_budget_bound_holds_with_locked_sites(
    seed: int, budget: float, n_locked: int
) -> None:
    rng = np.random.default_rng(seed)
    n_demand, n_sites = 40, 12
    cost = rng.uniform(0, 1000, (n_demand, n_sites))
    weights = rng.integers(1, 9, n_demand)
    costs = rng.integers(1, 5, n_sites).astype(float)
    locked = [str(j) for j in range(n_locked) if costs[: j + 1].sum() <= budget]
    model = MaximalCoverage.from_cost_matrix(
        cost, weights, radius=300.0, budget=budget, costs=costs, locked=locked
    )
    greedy = model.solve(solver="greedy")
    exact = model.solve(solver="exact")
    assert exact.covered_weight >= greedy.covered_weight - 1e-9
    assert greedy.upper_bound >= exact.covered_weight - 1e-9


def ring_model() -> MaximalCoverage:
    """Return 3 sites to place among 5 whose spacing conflicts form a ring (2 fit at most)."""
    ring = np.full((5, 5), 1000.0)
    for j in range(5):
        ring[j, (j + 1) % 5] = ring[(j + 1) % 5, j] = 100.0
    return MaximalCoverage.from_cost_matrix(
        np.zeros((1, 5)), [1.0], radius=1.0, count=3, site_distances=ring, min_spacing=250
    )


def test_a_short_greedy_plan_is_explained_in_the_users_language() -> None:
    model = ring_model()
    with pytest.raises(InfeasibleError, match=r"Try the exact solver") as info:
        solve_greedy(model.problem)
    exc = info.value
    assert exc.code == "plan_greedy_short_spaced"
    assert (exc.params["placed"], exc.params["count"], exc.params["spacing"]) == (2, 3, 250)
    assert error_text(exc, "kk").startswith(
        "Жылдам (ашкөз) алгоритм басқа шектеулер аясында бір-бірінен 250 м қашықтықта "
        "3 орынның тек 2 орнын орналастыра алды."
    )
