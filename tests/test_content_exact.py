"""The exact rotation (HiGHS): never worse than the greedy, keeps locks, proves small optima."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from test_content_rotation import START, plan_at, proverbs

from nudge._errors import ProfileError
from nudge.content import campaign_from_file, load_library, plan_rotation
from nudge.content._exact import MAX_CELLS, cell_count, rotation_cost, solve_exact
from nudge.content._solver import RotationProblem, fair_shares, repair_themes, solve_greedy
from nudge.i18n import error_text, notice_text

THEMES = ["diligence", "mastery", "learning", "youth", "perseverance"]


@pytest.fixture(scope="module")
def campaign():
    return campaign_from_file()


def clique_problem(sites: int, items: int, flights: int, gap: int) -> RotationProblem:
    """Sites that are all neighbours of each other, all showing any of `items` entries."""
    eligible = np.ones((sites, items), dtype=bool)
    weight = np.ones(sites)
    ptr = np.arange(sites + 1) * (sites - 1)
    idx = np.concatenate([np.delete(np.arange(sites), i) for i in range(sites)])
    return RotationProblem(
        eligible=eligible,
        suitability=np.zeros((sites, items)),
        weight=weight,
        gap=np.full(sites, gap),
        nbr_ptr=ptr,
        nbr_idx=idx,
        locked=np.full((sites, flights), -1),
        themes=np.ones((items, 1), dtype=bool),
        group=np.zeros(sites, dtype=int),
        fair=fair_shares(eligible, weight, flights),
    )


def test_a_clique_with_enough_entries_is_solved_without_any_clash() -> None:
    problem = clique_problem(sites=4, items=4, flights=3, gap=2)
    greedy = repair_themes(problem, solve_greedy(problem))
    exact = solve_exact(problem, start=greedy, time_limit=30)
    assert exact.status.startswith("optimal") and 0 <= exact.gap <= 1e-4 * max(1.0, exact.cost)
    for flight in range(3):  # neighbours differ in every flight
        assert len(set(exact.assign[:, flight])) == 4
    for site in range(4):  # and no entry comes back to a site within 2 flights
        assert len(set(exact.assign[site])) == 3
    assert exact.cost <= exact.start_cost + 1e-9
    assert exact.cost == pytest.approx(rotation_cost(problem, exact.assign))


def test_too_few_entries_cost_exactly_the_unavoidable_clashes() -> None:
    # 5 mutual neighbours, 4 entries: every flight has at least one clashing pair.
    problem = clique_problem(sites=5, items=4, flights=2, gap=0)
    exact = solve_exact(problem, start=solve_greedy(problem), time_limit=30)
    assert (exact.assign >= 0).all()
    clashes = sum(
        int(np.sum(exact.assign[a, f] == exact.assign[b, f]))
        for f in range(2)
        for a in range(5)
        for b in range(a + 1, 5)
    )
    assert clashes == 2


def test_locked_cells_stay_and_the_result_says_how_it_was_solved(campaign) -> None:
    plan = plan_at([(0, 0), (100, 0), (200, 0)])
    locked = {("s1", 2): "p3"}
    result = plan_rotation(
        plan,
        proverbs(5, themes=THEMES),
        flights=3,
        start=START,
        campaign=campaign,
        min_gap=1,
        locked=locked,
        solver="exact",
        time_limit=30,
    )
    assert result.calendar.loc["s1"].iloc[1] == "p3"
    assert result.solver == "exact" and result.status.startswith("optimal")
    assert notice_text(result.status, "ru").startswith("оптимально; стоимость")
    assert result.violations == []
    summary = result.as_dict()
    assert summary["solver"] == "exact" and 0 <= summary["gap"] < 1e-3


def random_problem(seed: int, sites: int, items: int, flights: int) -> RotationProblem:
    """A random rotation problem: eligibility, suitability, weights, neighbours, themes, locks."""
    rng = np.random.default_rng(seed)
    eligible = rng.random((sites, items)) < 0.7
    weight = rng.uniform(1, 5, sites)
    xy = rng.uniform(0, 1000, (sites, 2))
    near = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) < 400
    np.fill_diagonal(near, False)
    ptr = np.r_[0, np.cumsum(near.sum(axis=1))]
    locked = np.full((sites, flights), -1)
    if eligible[0].any():
        locked[0, 0] = int(np.flatnonzero(eligible[0])[0])
    return RotationProblem(
        eligible=eligible,
        suitability=rng.random((sites, items)),
        weight=weight,
        gap=rng.integers(0, 3, sites),
        nbr_ptr=ptr,
        nbr_idx=np.nonzero(near)[1],
        locked=locked,
        themes=rng.random((items, 3)) < 0.5,
        group=rng.integers(0, 2, sites),
        fair=fair_shares(eligible, weight, flights),
    )


@hyp_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**16), st.integers(2, 8), st.integers(1, 6), st.integers(1, 4))
@example(2896, 3, 3, 2)  # HiGHS, warm-started, reported an optimum but returned the start
@example(96, 2, 1, 1)  # no site may show anything: no integer column, no MIP bound
def test_the_exact_result_never_costs_more_than_the_greedy(
    seed: int, sites: int, items: int, flights: int
) -> None:
    problem = random_problem(seed, sites, items, flights)
    greedy = repair_themes(problem, solve_greedy(problem))
    exact = solve_exact(problem, start=greedy, time_limit=5)
    assert exact.start_cost == pytest.approx(rotation_cost(problem, greedy))
    assert exact.cost <= exact.start_cost + 1e-9
    assert exact.cost == pytest.approx(rotation_cost(problem, exact.assign), abs=1e-6)
    assert exact.bound <= exact.cost + 1e-9
    if exact.status.startswith("optimal"):  # a proven optimum (within the MIP gap) is returned
        assert exact.cost - exact.bound <= 1e-4 * max(1.0, abs(exact.cost)) + 1e-9
    if problem.locked[0, 0] >= 0:
        assert exact.assign[0, 0] == problem.locked[0, 0]
    # every cell that can show something does
    can = problem.eligible.any(axis=1)
    assert (exact.assign[can] >= 0).all()


def test_large_rotations_keep_the_greedy_and_say_why(campaign, monkeypatch) -> None:
    plan = plan_at([(0, 0), (1000, 0)])
    library = proverbs(4, themes=THEMES)
    monkeypatch.setattr("nudge.content.rotation.MAX_CELLS", 3)
    result = plan_rotation(plan, library, flights=2, start=START, campaign=campaign, solver="exact")
    assert "too many for the exact solver" in result.status
    assert result.assignments == 4
    assert MAX_CELLS >= 100_000
    problem = clique_problem(sites=3, items=2, flights=2, gap=0)
    assert cell_count(problem) == 3 * 2 * 2


def test_an_unknown_solver_is_refused_in_the_users_language(campaign) -> None:
    with pytest.raises(ProfileError, match="Unknown rotation solver 'magic'") as info:
        plan_rotation(
            plan_at([(0, 0)]),
            proverbs(2),
            flights=1,
            start=START,
            campaign=campaign,
            solver="magic",
        )
    assert "«magic» ротация әдісі белгісіз" in error_text(info.value, "kk")


def test_real_almaty_stops_exact_never_worse(almaty_plan, settings, campaign) -> None:
    library = load_library(settings)
    plan = almaty_plan.head(30)
    common = {"flights": 4, "start": START, "campaign": campaign, "city": "Almaty"}
    greedy = plan_rotation(plan, library, **common)
    exact = plan_rotation(plan, library, solver="exact", time_limit=10, **common)
    assert exact.assignments == greedy.assignments == 30 * 4
    hard = ("unplaced", "gap", "neighbour", "locked", "format")
    assert [exact.violation_counts[r] for r in hard] == [0] * 5
    assert exact.violation_counts["theme"] <= greedy.violation_counts["theme"]
    assert exact.cost <= float(exact.status.split("greedy start ")[1].split(")")[0]) + 1e-9
