"""Site selection: hand-built optima for every constraint, bad input, explanations."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from nudge._errors import EmptyDataError, InfeasibleError
from nudge.i18n import error_text, notice_text
from nudge.placement._greedy import solve_greedy
from nudge.placement.selection import PLAN_COLUMNS, MaximalCoverage, plan_sites

CRS = "EPSG:32642"  # UTM 42N, metres (Astana)
X0, Y0 = 500_000.0, 5_640_000.0
SOLVERS = ["greedy", "exact"]


def make_sites(
    xy: Sequence[tuple[float, float]],
    ids: Sequence[str] | None = None,
    *,
    score: float | Sequence[float] = 50.0,
    excluded: Sequence[bool] | None = None,
) -> gpd.GeoDataFrame:
    """Return banner candidates at metric offsets from a fixed origin."""
    arr = np.asarray(xy, dtype=float)
    ids = list(ids) if ids is not None else [f"s{i}" for i in range(len(arr))]
    return gpd.GeoDataFrame(
        {
            "kind": "banner",
            "name": [f"Site {i}" for i in ids],
            "excluded": excluded if excluded is not None else [False] * len(arr),
            "exclusion_reason": None,
            "score": score,
        },
        geometry=gpd.points_from_xy(arr[:, 0] + X0, arr[:, 1] + Y0),
        crs=CRS,
        index=pd.Index(ids, name="candidate_id"),
    )


def make_demand(xy: Sequence[tuple[float, float]], weights: Sequence[float]) -> gpd.GeoDataFrame:
    arr = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(
        {"weight": np.asarray(weights, dtype=float)},
        geometry=gpd.points_from_xy(arr[:, 0] + X0, arr[:, 1] + Y0),
        crs=CRS,
    )


def make_districts() -> gpd.GeoDataFrame:
    """Return two districts: West (x < 1000) and East (x >= 1000)."""
    from shapely.geometry import box

    return gpd.GeoDataFrame(
        {"district": ["West", "East"], "population": [100.0, 200.0]},
        geometry=[
            box(X0 - 5000, Y0 - 5000, X0 + 1000, Y0 + 5000),
            box(X0 + 1000, Y0 - 5000, X0 + 9000, Y0 + 5000),
        ],
        crs=CRS,
    )


def covering(sets: Sequence[Sequence[int]], n_demand: int) -> np.ndarray:
    """Return a distance matrix where site j is at 0 from the demand in sets[j], far otherwise."""
    cost = np.full((n_demand, len(sets)), 1000.0)
    for j, rows in enumerate(sets):
        cost[list(rows), j] = 0.0
    return cost


# ---------------------------------------------------------------- count (plain MCLP)


@pytest.mark.parametrize("solver", SOLVERS)
def test_count_reaches_the_known_optimum(solver: str) -> None:
    cost = covering([[0, 1], [1, 2], [2, 3], [0]], 4)
    model = MaximalCoverage.from_cost_matrix(
        cost, [5, 4, 3, 1], radius=1.0, count=2, site_ids=["A", "B", "C", "D"]
    )
    plan = model.solve(solver=solver)
    assert sorted(plan.site_ids) == ["A", "C"]
    assert plan.covered_weight == pytest.approx(13.0)
    assert plan.covered_share == pytest.approx(1.0)
    assert plan.upper_bound >= plan.covered_weight
    assert plan.distance == "cost matrix"


def test_swaps_repair_the_greedy_trap() -> None:
    # M covers the middle (2.5) and lures the greedy; L + R cover everything (4).
    cost = covering([[0, 1], [1, 2, 4], [2, 3]], 5)
    model = MaximalCoverage.from_cost_matrix(
        cost, [1, 1, 1, 1, 0.5], radius=1.0, count=2, site_ids=["L", "M", "R"]
    )
    plain = solve_greedy(model.problem, swaps=False)
    assert plain.covered_weight == pytest.approx(3.5)
    plan = model.solve()
    assert sorted(plan.site_ids) == ["L", "R"]
    assert plan.covered_weight == pytest.approx(4.0)
    assert plan.status == "greedy with swaps"


def test_score_breaks_ties_between_equal_coverage() -> None:
    sites = make_sites([(0, 0), (2000, 0)], ["low", "high"], score=[10.0, 90.0])
    demand = make_demand([(0, 0), (2000, 0)], [1, 1])
    for solver in SOLVERS:
        plan = plan_sites(sites, demand, kind="banner", count=1, solver=solver)
        assert plan.site_ids == ["high"]


# ---------------------------------------------------------------- spacing


@pytest.mark.parametrize("solver", SOLVERS)
def test_spacing_keeps_sites_apart(solver: str) -> None:
    sites = make_sites([(0, 0), (100, 0), (1000, 0)], ["a", "b", "c"])
    demand = make_demand([(0, 0), (100, 0), (1000, 0)], [10, 10, 3])
    free = plan_sites(
        sites, demand, kind="banner", count=2, radius=50, min_spacing=0, solver=solver
    )
    assert sorted(free.site_ids) == ["a", "b"]
    assert free.covered_weight == pytest.approx(20)
    spaced = plan_sites(
        sites, demand, kind="banner", count=2, radius=50, min_spacing=250, solver=solver
    )
    assert "c" in spaced.site_ids
    assert spaced.covered_weight == pytest.approx(13)


def test_spacing_too_large_for_the_count_is_explained() -> None:
    sites = make_sites([(0, 0), (100, 0), (200, 0), (5000, 0)])
    demand = make_demand([(0, 0), (5000, 0)], [1, 1])
    with pytest.raises(InfeasibleError, match=r"At most 2 sites can be 250 m apart"):
        plan_sites(sites, demand, kind="banner", count=3)


# ---------------------------------------------------------------- district quotas


def _quota_instance() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    west = [(0, 0), (0, 600), (0, 1200), (0, 1800)]
    east = [(3000, 0), (3000, 600), (3000, 1200)]
    sites = make_sites(west + east, ["w0", "w1", "w2", "w3", "e0", "e1", "e2"])
    demand = make_demand(west + east, [10, 9, 8, 7, 2, 2, 1])
    return sites, demand


def _quota_plan(sites: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, **options: Any) -> Any:
    """Plan 3 banners within 100 m, at least one in each district of `make_districts`."""
    return plan_sites(
        sites,
        demand,
        kind="banner",
        count=3,
        radius=100,
        districts=make_districts(),
        quota="1:",
        **options,
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_minimum_quota_moves_a_site_to_the_poor_district(solver: str) -> None:
    sites, demand = _quota_instance()
    free = plan_sites(sites, demand, kind="banner", count=3, radius=100, solver=solver)
    assert sorted(free.site_ids) == ["w0", "w1", "w2"]
    plan = _quota_plan(sites, demand, solver=solver)
    assert sorted(plan.site_ids) == ["e0", "w0", "w1"]
    assert plan.covered_weight == pytest.approx(21)
    assert plan.by_district["East"]["sites"] == 1
    assert plan.by_district["East"]["covered_share"] == pytest.approx(2 / 5)
    assert plan.by_district["West"]["min"] == 1
    assert plan.by_district["West"]["max"] is None


@pytest.mark.parametrize("solver", SOLVERS)
def test_maximum_quota_caps_a_district(solver: str) -> None:
    sites, demand = _quota_instance()
    plan = plan_sites(
        sites,
        demand,
        kind="banner",
        count=4,
        radius=100,
        districts=make_districts(),
        quota={"West": "0:2"},
        solver=solver,
    )
    assert sorted(plan.site_ids) == ["e0", "e1", "w0", "w1"]
    assert set(plan.chosen["district"]) == {"West", "East"}


@pytest.mark.parametrize("solver", SOLVERS)
def test_proportional_quota_follows_population(solver: str) -> None:
    sites, demand = _quota_instance()
    plan = plan_sites(
        sites,
        demand,
        kind="banner",
        count=3,
        radius=100,
        districts=make_districts(),  # population West 100, East 200
        quota="proportional",
        solver=solver,
    )
    assert plan.by_district["West"]["sites"] == 1
    assert plan.by_district["East"]["sites"] == 2
    assert sorted(plan.site_ids) == ["e0", "e1", "w0"]


def test_proportional_quota_with_a_population_table() -> None:
    sites, demand = _quota_instance()
    plan = plan_sites(
        sites,
        demand,
        kind="banner",
        count=3,
        radius=100,
        districts=make_districts().drop(columns="population"),
        quota="proportional",
        population={"West": 2.0, "East": 1.0},
    )
    assert plan.by_district["West"]["sites"] == 2
    assert plan.by_district["East"]["sites"] == 1


def test_quota_that_no_district_can_meet_is_explained() -> None:
    sites, demand = _quota_instance()
    with pytest.raises(InfeasibleError, match=r"District East needs 5 sites but only 3 candidates"):
        plan_sites(
            sites, demand, kind="banner", count=6, districts=make_districts(), quota={"East": "5:"}
        )
    with pytest.raises(InfeasibleError, match=r"At most 2 sites fit within the district maximums"):
        plan_sites(sites, demand, kind="banner", count=3, districts=make_districts(), quota=":1")
    with pytest.raises(InfeasibleError, match=r"minimums add up to 4 sites, more than the 3"):
        plan_sites(sites, demand, kind="banner", count=3, districts=make_districts(), quota="2:")
    with pytest.raises(InfeasibleError, match=r"need districts"):
        plan_sites(sites, demand, kind="banner", count=3, quota="1:")


# ---------------------------------------------------------------- locked and excluded sites


@pytest.mark.parametrize("solver", SOLVERS)
def test_locked_site_stays_and_is_picked_first(solver: str) -> None:
    sites = make_sites([(0, 0), (1000, 0), (2000, 0), (3000, 0)], ["old", "a", "b", "c"])
    demand = make_demand([(0, 0), (1000, 0), (2000, 0), (3000, 0)], [1, 5, 4, 3])
    plan = plan_sites(
        sites, demand, kind="banner", count=2, locked=["old"], radius=100, solver=solver
    )
    assert plan.site_ids == ["old", "a"]
    assert plan.chosen["locked"].tolist() == [True, False]
    assert plan.chosen["pick_order"].tolist() == [1, 2]
    assert plan.covered_weight == pytest.approx(6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_new_sites_keep_their_distance_from_locked_ones(solver: str) -> None:
    sites = make_sites([(0, 0), (100, 0), (2000, 0)], ["old", "near", "far"])
    demand = make_demand([(0, 0), (100, 0), (2000, 0)], [1, 10, 2])
    plan = plan_sites(
        sites, demand, kind="banner", count=2, locked=["old"], radius=50, solver=solver
    )
    assert sorted(plan.site_ids) == ["far", "old"]


def test_locked_sites_closer_than_the_spacing_stay_with_a_warning() -> None:
    sites = make_sites([(0, 0), (50, 0), (3000, 0)], ["old1", "old2", "new"])
    demand = make_demand([(0, 0), (3000, 0)], [1, 1])
    plan = plan_sites(sites, demand, kind="banner", count=3, locked=["old1", "old2"])
    assert sorted(plan.site_ids) == ["new", "old1", "old2"]
    assert any("locked sites are closer than 250 m" in w for w in plan.warnings)
    (close,) = [w for w in plan.warnings if getattr(w, "code", None) == "plan_locked_too_close"]
    assert notice_text(close, "kk") == (
        "Бекітілген орындардың 1 жұбы бір-біріне 250 м-ден жақын; олар жоспарда қалады."
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_excluded_sites_are_never_chosen(solver: str) -> None:
    sites = make_sites(
        [(0, 0), (1000, 0), (2000, 0)], ["best", "mid", "low"], excluded=[True, False, False]
    )
    demand = make_demand([(0, 0), (1000, 0), (2000, 0)], [9, 5, 1])
    plan = plan_sites(sites, demand, kind="banner", count=1, radius=100, solver=solver)
    assert plan.site_ids == ["mid"]
    plan = plan_sites(
        sites, demand, kind="banner", count=1, radius=100, excluded=["mid"], solver=solver
    )
    assert plan.site_ids == ["low"]


def test_bad_locks_are_explained() -> None:
    sites = make_sites([(0, 0), (1000, 0), (2000, 0)], ["a", "b", "c"])
    demand = make_demand([(0, 0)], [1])
    with pytest.raises(InfeasibleError, match=r"3 sites are locked but the plan has only 2"):
        plan_sites(sites, demand, kind="banner", count=2, locked=["a", "b", "c"])
    with pytest.raises(
        InfeasibleError, match=r"1 locked site\(s\) are not among the candidates: zz"
    ):
        plan_sites(sites, demand, kind="banner", count=2, locked=["zz"])
    with pytest.raises(InfeasibleError, match=r"both locked and excluded"):
        plan_sites(sites, demand, kind="banner", count=2, locked=["a"], excluded=["a"])


# ---------------------------------------------------------------- budget and costs


@pytest.mark.parametrize("solver", SOLVERS)
def test_budget_prefers_two_cheap_sites_over_one_dear_site(solver: str) -> None:
    sites = make_sites([(0, 0), (1000, 0), (2000, 0)], ["dear", "cheap1", "cheap2"])
    demand = make_demand([(0, 0), (1000, 0), (2000, 0)], [10, 6, 6])
    cost = {"dear": 10.0, "cheap1": 5.0, "cheap2": 5.0}
    plan = plan_sites(sites, demand, kind="banner", budget=10, cost=cost, radius=100, solver=solver)
    assert sorted(plan.site_ids) == ["cheap1", "cheap2"]
    assert plan.covered_weight == pytest.approx(12)


def test_cost_per_kind_turns_a_budget_into_a_count() -> None:
    sites = make_sites([(0, 0), (1000, 0), (2000, 0), (3000, 0)])
    demand = make_demand([(0, 0), (1000, 0), (2000, 0), (3000, 0)], [4, 3, 2, 1])
    plan = plan_sites(sites, demand, kind="banner", budget=5, cost={"banner": 2.0}, radius=100)
    assert sorted(plan.site_ids) == ["s0", "s1"]
    both = plan_sites(sites, demand, kind="banner", budget=100, count=3, cost=2.0, radius=100)
    assert len(both.chosen) == 3


def test_budget_problems_are_explained() -> None:
    sites = make_sites([(0, 0), (1000, 0)], ["a", "b"])
    demand = make_demand([(0, 0)], [1])
    with pytest.raises(InfeasibleError, match=r"locked sites cost 10, more than the budget of 5"):
        plan_sites(sites, demand, kind="banner", budget=5, cost=10.0, locked=["a"])
    with pytest.raises(InfeasibleError, match=r"cheapest site that may be chosen costs 10"):
        plan_sites(sites, demand, kind="banner", budget=5, cost=10.0)
    with pytest.raises(InfeasibleError, match=r"Give a number of sites \(count\) or a budget"):
        plan_sites(sites, demand, kind="banner")


# ---------------------------------------------------------------- bad input


def test_other_bad_input_is_explained() -> None:
    sites = make_sites([(0, 0), (1000, 0)])
    demand = make_demand([(0, 0)], [1])
    with pytest.raises(
        InfeasibleError, match=r"Only 2 candidate sites may be chosen, fewer than the 5"
    ):
        plan_sites(sites, demand, kind="banner", count=5)
    with pytest.raises(EmptyDataError, match=r"no candidate sites of kind exhibition"):
        plan_sites(sites, demand, kind="exhibition", count=1)
    with pytest.raises(InfeasibleError, match=r"Unknown kind of site poster"):
        plan_sites(sites, demand, kind="poster", count=1)
    with pytest.raises(EmptyDataError, match=r"no point with a positive weight"):
        plan_sites(sites, demand.assign(weight=0.0), kind="banner", count=1)
    with pytest.raises(InfeasibleError, match=r"radius must be positive"):
        plan_sites(sites, demand, kind="banner", count=1, radius=-5)
    with pytest.raises(InfeasibleError, match=r"Unknown solver"):
        plan_sites(sites, demand, kind="banner", count=1, solver="magic")


def test_greedy_and_exact_explain_what_the_precheck_cannot_see() -> None:
    # Five sites whose spacing conflicts form a ring: at most 2 fit, but the
    # quick clique bound of a ring is 3, so only the solvers find out.
    ring = np.full((5, 5), 1000.0)
    for j in range(5):
        ring[j, (j + 1) % 5] = ring[(j + 1) % 5, j] = 100.0
    model = MaximalCoverage.from_cost_matrix(
        np.zeros((1, 5)), [1.0], radius=1.0, count=3, site_distances=ring, min_spacing=250
    )
    with pytest.raises(InfeasibleError, match=r"greedy solver could place only 2 of the 3"):
        model.solve()
    with pytest.raises(InfeasibleError, match=r"exact solver proved that no plan meets") as info:
        model.solve(solver="exact")
    assert "kInfeasible" not in str(info.value)


# ---------------------------------------------------------------- the result explains itself


def test_result_explains_each_site_and_district() -> None:
    sites, demand = _quota_instance()
    plan = plan_sites(
        sites, demand, kind="banner", count=3, radius=100, districts=make_districts(), quota="1:"
    )
    chosen = plan.chosen
    assert list(chosen.columns) == PLAN_COLUMNS
    assert chosen.crs.to_epsg() == 4326
    assert chosen["pick_order"].tolist() == [1, 2, 3]
    assert chosen["marginal_gain"].sum() == pytest.approx(plan.covered_weight)
    assert chosen["marginal_gain"].is_monotonic_decreasing
    assert chosen["covered_weight"].tolist() == pytest.approx([10, 9, 2])
    assert plan.total_weight == pytest.approx(39)
    assert plan.covered_share == pytest.approx(21 / 39)
    assert plan.by_district["West"]["site_ids"] == ["w0", "w1"]
    text = plan.explanation
    assert "Plan of 3 banner sites" in text
    assert '1. w0 "Site w0": adds 10.0' in text
    assert "East: 1 sites (quota 1..any), 40.0% of its demand covered" in text
    summary = plan.summary()
    assert summary["chosen"] == 3
    assert summary["distance"] == "straight-line"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.solver = "other"  # type: ignore[misc]


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_explanation_speaks_the_readers_language(lang: str) -> None:
    from nudge.i18n import format_number, translator
    from nudge.placement import plan_explanation

    sites, demand = _quota_instance()
    sites.loc[sites.index[0], "name"] = "Абай даңғылы"
    plan = _quota_plan(sites, demand, locked=[str(sites.index[1])])
    text = plan_explanation(plan, lang)
    tr = translator(lang)
    assert text.splitlines()[0].startswith(tr("plan_explain.head", n=3, kind="").split(",")[0])
    assert tr("kinds.banner") in text and tr("plan_explain.districts") in text
    assert tr("plan_explain.locked") in text and "«Абай даңғылы»" in text
    share = format_number(100 * plan.covered_share, lang, decimals=1)
    assert f"({share}%)" in text  # a decimal comma: 53,8%
    english = (
        "Plan of",
        "covers",
        "Sites in",
        "adds",
        "By district",
        "sites",
        "quota",
        "any",
        "locked",
        "greedy",
        "straight-line",
        "demand",
    )
    assert [w for w in english if w in text] == []
    assert plan_explanation(plan, "en").startswith("Plan of 3 sites, kind: Banner")


def test_exact_reports_optimality_and_a_tight_bound() -> None:
    rng = np.random.default_rng(3)
    sites = make_sites(rng.uniform(0, 3000, (40, 2)))
    demand = make_demand(rng.uniform(0, 3000, (400, 2)), rng.integers(1, 5, 400))
    greedy = plan_sites(sites, demand, kind="banner", count=6, min_spacing=300)
    exact = plan_sites(sites, demand, kind="banner", count=6, min_spacing=300, solver="exact")
    assert exact.status == "optimal"
    assert exact.gap < 1e-4
    assert exact.covered_weight >= greedy.covered_weight
    assert greedy.upper_bound >= exact.covered_weight
    assert exact.upper_bound == pytest.approx(exact.covered_weight, abs=0.5)


def test_evaluate_scores_a_given_layout() -> None:
    sites, demand = _quota_instance()
    model = MaximalCoverage.from_geodataframe(sites, demand, kind="banner", count=2, radius=100)
    given = model.evaluate(["w3", "e2", "nowhere"])
    assert given.solver == "given"
    assert given.covered_weight == pytest.approx(8)
    assert any("not candidates" in w for w in given.warnings)
    (note,) = given.warnings
    assert notice_text(note, "ru") == (
        "Идентификаторы мест из заданного плана не относятся к местам-кандидатам (1): nowhere"
    )


# ---------------------------------------------------------------- reasons in the user's language


def test_an_infeasible_plan_says_its_reason_in_the_users_language() -> None:
    sites, demand = _quota_instance()
    with pytest.raises(InfeasibleError, match=r"minimums add up to 4 sites") as info:
        plan_sites(sites, demand, kind="banner", count=3, districts=make_districts(), quota="2:")
    exc = info.value
    assert exc.code == "plan_district_minimums_above_count"
    assert (exc.params["need"], exc.params["count"]) == (4, 3)
    assert error_text(exc, "kk") == (
        "Аудандардағы ең аз орын сандарының қосындысы 4, бұл жоспардағы 3 орыннан көп."
    )
    assert error_text(exc, "ru").startswith("Минимумы по районам в сумме дают 4 мест")


def test_every_reason_of_an_infeasible_plan_keeps_its_code() -> None:
    sites = make_sites([(0, 0), (1000, 0)], ["a", "b"])
    demand = make_demand([(0, 0)], [1])
    with pytest.raises(InfeasibleError) as info:
        plan_sites(sites, demand, kind="banner", count=1, locked=["zz"], excluded=["zz"])
    exc = info.value
    assert "not among the candidates: zz. 1 site(s) are both locked" in str(exc)
    assert exc.code == "plan_locked_not_candidates"
    assert exc.params["reasons"] == (
        ("plan_locked_not_candidates", {"ids": "zz", "n": 1}),
        ("plan_locked_and_excluded", {"ids": "zz", "n": 1}),
    )
    # The user reads every reason, each in their language.
    assert error_text(exc, "kk") == (
        "Бекітілген 1 орын үміткер орындардың арасында жоқ: zz. "
        "1 орын әрі бекітілген, әрі шығарылған: zz. "
        "Бекітуді алыңыз немесе оларға қайта рұқсат етіңіз."
    )


def test_budget_reasons_show_whole_numbers() -> None:
    sites = make_sites([(0, 0), (1000, 0)], ["a", "b"])
    demand = make_demand([(0, 0)], [1])
    with pytest.raises(
        InfeasibleError, match=r"costs 3000000, more than the budget of 2000000"
    ) as info:
        plan_sites(sites, demand, kind="banner", budget=2_000_000, cost=3_000_000.0)
    assert info.value.code == "plan_cheapest_over_budget"
    assert error_text(info.value, "ru") == (
        "Самое дешёвое из доступных мест стоит 3000000 — больше бюджета 2000000."
    )


def test_bad_quotas_and_options_are_coded() -> None:
    sites, demand = _quota_instance()
    with pytest.raises(InfeasibleError) as info:
        plan_sites(sites, demand, kind="banner", count=3, districts=make_districts(), quota="two")
    assert (info.value.code, info.value.params) == ("quota_not_min_max", {"quota": "two"})
    assert "«two»" in error_text(info.value, "kk")
    with pytest.raises(InfeasibleError) as info:
        plan_sites(
            sites, demand, kind="banner", count=3, districts=make_districts(), quota={"North": 1}
        )
    assert info.value.code == "quota_unknown_districts"
    assert error_text(info.value, "kk") == (
        "Квоталарда белгісіз аудандар аталған: North. Бар аудандар: West, East."
    )
    with pytest.raises(InfeasibleError) as info:
        plan_sites(sites, demand, kind="banner", count=1, solver="magic")
    assert info.value.code == "plan_unknown_solver"
    assert error_text(info.value, "kk").startswith("magic шешу әдісі белгісіз")
    with pytest.raises(InfeasibleError) as info:
        plan_sites(sites, demand, kind="banner", count=1, min_spacing=-1)
    assert (info.value.code, info.value.params["spacing"]) == ("plan_spacing_negative", -1)


def test_plan_options_are_frozen_and_kinds_and_solvers_are_literals() -> None:
    from typing import get_args

    from nudge.placement.selection import KINDS, SOLVERS, Kind, PlanOptions, Solver

    assert KINDS == get_args(Kind) == ("banner", "exhibition", "career")
    assert SOLVERS == get_args(Solver) == ("greedy", "exact")
    options = PlanOptions(kind="banner", radius=300.0, distance="straight-line", locked=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.count = 3  # type: ignore[misc]
    sites, demand = _quota_instance()
    with pytest.raises(InfeasibleError) as info:
        plan_sites(sites, demand, kind="banner", count=1, radius=100, solver="magic")
    assert info.value.code == "plan_unknown_solver"


def test_plan_names_districts_in_the_users_language() -> None:
    sites, demand = _quota_instance()
    districts = make_districts().rename(columns={"district": "name_en"})
    districts["name:kk"] = ["Батыс", "Шығыс"]
    common = {"kind": "banner", "count": 3, "radius": 100, "districts": districts}
    assert set(plan_sites(sites, demand, **common).by_district) == {"West", "East"}
    assert set(plan_sites(sites, demand, **common, lang="kk").by_district) == {"Батыс", "Шығыс"}
    # a population table keyed by the English names keeps the English names
    population = {"West": 100.0, "East": 200.0}
    plan = plan_sites(sites, demand, **common, lang="kk", population=population, quota="1:")
    assert set(plan.by_district) == {"West", "East"}
