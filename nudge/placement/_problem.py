"""The numeric core of site selection and its feasibility checks.

A `CoverageProblem` holds arrays only: which site covers which demand point,
the weights, costs and scores, and the constraints. Both solvers read it; the
checks here explain in words why a problem cannot be solved, before any solver
runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
from scipy import sparse

from nudge._errors import InfeasibleError, Problem

NO_LIMIT = np.iinfo(np.int64).max // 4


Reason = Problem
"""One reason a plan cannot be made: a `Problem` whose code is in ``details/placement.toml``."""


def reason(*, code: str, **params: object) -> Problem:
    """Return the reason `code`, its placeholders filled from `params`."""
    return Problem(code, params)


def number(value: float) -> int | float:
    """Return `value` as a plain number for a message: whole numbers without ``.0``."""
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 1e15 else round(value, 3)


def raise_infeasible(reasons: Sequence[Problem]) -> NoReturn:
    """Raise `InfeasibleError` saying every reason in English.

    The error's code and parameters are those of the first reason, so in the
    user's language it says that one; its ``reasons`` parameter holds the
    ``(code, params)`` of every reason.
    """
    msg = "The plan cannot be made. " + " ".join(r.message for r in reasons)
    first = reasons[0]
    everything = tuple((r.code, dict(r.params)) for r in reasons)
    raise InfeasibleError(msg, code=first.code, **first.params, reasons=everything)


@dataclass(frozen=True, slots=True)
class CoverageProblem:
    """A maximal covering location problem with planning constraints.

    Sites are columns of `coverage`, demand points its rows. Only sites with
    `eligible` true may be chosen; `locked` sites are always chosen. `conflicts`
    lists pairs of sites closer than the minimum spacing (pairs of two locked
    sites are left out: existing structures stay where they are). Sites in
    group ``g >= 0`` (a district) count towards ``group_min[g]`` and
    ``group_max[g]``. With `count` alone the plan has exactly `count` sites;
    with `budget` the chosen sites' `costs` add up to at most `budget`, and a
    `count` given as well is then a maximum.
    """

    coverage: sparse.csc_array
    weights: np.ndarray
    scores: np.ndarray
    costs: np.ndarray
    eligible: np.ndarray
    locked: np.ndarray
    conflicts: np.ndarray
    cells: np.ndarray
    groups: np.ndarray
    group_names: tuple[str, ...]
    group_min: np.ndarray
    group_max: np.ndarray
    count: int | None
    budget: float | None
    score_weight: float
    site_labels: tuple[str, ...]
    min_spacing: float = 0.0
    noun: str = "site"

    @property
    def n_sites(self) -> int:
        """Return the number of candidate sites (columns)."""
        return int(self.coverage.shape[1])

    @property
    def total_weight(self) -> float:
        """Return the total weight of all demand points."""
        return float(self.weights.sum())

    @property
    def exact_count(self) -> bool:
        """Return whether the plan must have exactly `count` sites."""
        return self.count is not None and self.budget is None

    def conflict_graph(self) -> sparse.csr_array:
        """Return the symmetric site-by-site adjacency of spacing conflicts."""
        n = self.n_sites
        j, k = self.conflicts[:, 0], self.conflicts[:, 1]
        data = np.ones(2 * len(j), dtype=np.int32)
        graph = sparse.coo_array((data, (np.r_[j, k], np.r_[k, j])), shape=(n, n))
        return sparse.csr_array(graph)

    def gains(self) -> np.ndarray:
        """Return each site's covered weight on its own."""
        return np.asarray(self.coverage.T @ self.weights, dtype=float)


def default_score_weight(weights: np.ndarray, max_sites: int) -> float:
    """Return a score weight that only breaks ties between plans of equal coverage.

    The score term of all chosen sites together stays below half of the
    smallest positive demand weight.
    """
    positive = weights[weights > 0]
    smallest = float(positive.min()) if len(positive) else 1.0
    return 0.5 * smallest / (100.0 * max(max_sites, 1))


def _free_sites(p: CoverageProblem) -> np.ndarray:
    """Return the eligible unlocked sites that do not conflict with a locked site."""
    free = p.eligible & ~p.locked
    if len(p.conflicts):
        j, k = p.conflicts[:, 0], p.conflicts[:, 1]
        free[j[p.locked[k]]] = False
        free[k[p.locked[j]]] = False
    return free


def _spread_bound(p: CoverageProblem, mask: np.ndarray) -> int:
    """Return an upper bound on how many sites of `mask` can be spaced apart.

    Sites of one clique of the conflict graph exclude each other, so the
    number of cliques that cover `mask` bounds the plan: the smaller of the
    grid-cell cover and a greedy clique cover.
    """
    if p.min_spacing <= 0 or not len(p.conflicts):
        return int(mask.sum())
    cells = len(np.unique(p.cells[mask]))
    return min(cells, _clique_cover_size(p.conflict_graph(), mask))


def _clique_cover_size(graph: sparse.csr_array, mask: np.ndarray) -> int:
    """Return the number of cliques a greedy cover of the sites in `mask` uses."""
    degree = np.diff(graph.indptr)
    cliques: list[set[int]] = []
    clique_of: dict[int, int] = {}
    for v in sorted(np.flatnonzero(mask).tolist(), key=lambda u: -degree[u]):
        nbrs = set(graph.indices[graph.indptr[v] : graph.indptr[v + 1]].tolist())
        for c in {clique_of[u] for u in nbrs if u in clique_of}:
            if cliques[c] <= nbrs:
                cliques[c].add(v)
                clique_of[v] = c
                break
        else:
            clique_of[v] = len(cliques)
            cliques.append({v})
    return len(cliques)


def infeasibility_reasons(p: CoverageProblem) -> list[Reason]:
    """Return every reason, in words and as a detail code, why no plan can meet the constraints."""
    reasons = _basic_reasons(p)
    if reasons:
        return reasons
    reasons += _count_reasons(p)
    reasons += _group_reasons(p)
    reasons += _budget_reasons(p)
    return reasons


def check_feasible(p: CoverageProblem) -> None:
    """Raise `InfeasibleError` listing every reason no plan can meet the constraints."""
    reasons = infeasibility_reasons(p)
    if reasons:
        raise_infeasible(reasons)


def _basic_reasons(p: CoverageProblem) -> list[Reason]:
    reasons: list[Reason] = []
    if p.count is None and p.budget is None:
        reasons.append(reason(code="plan_count_or_budget_missing"))
    if p.count is not None and p.count < 1:
        reasons.append(reason(code="plan_count_below_one", count=p.count))
    if p.budget is not None and not p.budget > 0:
        reasons.append(reason(code="plan_budget_not_positive", budget=number(p.budget)))
    if np.any(p.costs < 0):
        reasons.append(reason(code="plan_costs_negative"))
    if not p.eligible.any():
        reasons.append(reason(code="plan_no_eligible_candidate", kind=p.noun))
    for g in np.flatnonzero(p.group_min > p.group_max):
        name, low, high = p.group_names[g], int(p.group_min[g]), int(p.group_max[g])
        reasons.append(reason(code="plan_district_min_above_max", district=name, min=low, max=high))
    return reasons


def _count_reasons(p: CoverageProblem) -> list[Reason]:
    n_locked = int(p.locked.sum())
    if p.count is not None and n_locked > p.count:
        return [reason(code="plan_locked_above_count", locked=n_locked, count=p.count)]
    if not p.exact_count or p.count is None:
        return []
    free = _free_sites(p)
    n_eligible = n_locked + int(free.sum())
    if n_eligible < p.count:
        return [
            reason(code="plan_too_few_eligible", eligible=n_eligible, count=p.count, kind=p.noun)
        ]
    spread = n_locked + _spread_bound(p, free)
    if spread < p.count:
        spacing = number(p.min_spacing)
        return [reason(code="plan_spacing_too_wide", most=spread, spacing=spacing, count=p.count)]
    return []


def _district_room_reason(p: CoverageProblem, name: str, room: int, need: int) -> Reason:
    if p.min_spacing > 0:
        spacing = number(p.min_spacing)
        return reason(
            code="plan_district_room_spaced", district=name, min=need, room=room, spacing=spacing
        )
    return reason(code="plan_district_room", district=name, min=need, room=room)


def _group_reasons(p: CoverageProblem) -> list[Reason]:
    reasons: list[Reason] = []
    free = _free_sites(p)
    for g, name in enumerate(p.group_names):
        in_g = p.groups == g
        locked_g = int((p.locked & in_g).sum())
        room = locked_g + _spread_bound(p, free & in_g)
        if p.group_min[g] > room:
            reasons.append(_district_room_reason(p, name, room, int(p.group_min[g])))
        if locked_g > p.group_max[g]:
            high = int(p.group_max[g])
            reasons.append(
                reason(
                    code="plan_district_locked_above_max", district=name, locked=locked_g, max=high
                )
            )
    if p.count is None or not len(p.group_names):
        return reasons
    need = int(np.maximum(p.group_min, 0).sum())
    if need > p.count:
        reasons.append(reason(code="plan_district_minimums_above_count", need=need, count=p.count))
    if p.exact_count:
        outside = int(((free | p.locked) & (p.groups < 0)).sum())
        inside = [
            min(int(p.group_max[g]), int(((free | p.locked) & (p.groups == g)).sum()))
            for g in range(len(p.group_names))
        ]
        most = outside + sum(inside)
        if most < p.count:
            reasons.append(
                reason(code="plan_district_maximums_below_count", most=most, count=p.count)
            )
    return reasons


def _budget_reasons(p: CoverageProblem) -> list[Reason]:
    if p.budget is None:
        return []
    reasons: list[Reason] = []
    budget = number(p.budget)
    locked_cost = float(p.costs[p.locked].sum())
    if locked_cost > p.budget:
        n_locked = int(p.locked.sum())
        cost = number(locked_cost)
        return [reason(code="plan_locked_over_budget", locked=n_locked, cost=cost, budget=budget)]
    free = _free_sites(p)
    if not p.locked.any() and free.any() and float(p.costs[free].min()) > p.budget:
        cheapest = number(float(p.costs[free].min()))
        reasons.append(
            reason(code="plan_cheapest_over_budget", cost=cheapest, budget=budget, kind=p.noun)
        )
    extra = 0.0
    for g in range(len(p.group_names)):
        missing = int(p.group_min[g]) - int((p.locked & (p.groups == g)).sum())
        if missing > 0:
            cheapest_g = np.sort(p.costs[free & (p.groups == g)])[:missing]
            extra += float(cheapest_g.sum())
    if locked_cost + extra > p.budget:
        cost = number(locked_cost + extra)
        reasons.append(reason(code="plan_district_minimums_over_budget", cost=cost, budget=budget))
    return reasons


@dataclass(frozen=True, slots=True)
class Solution:
    """The sites a solver chose and how good they are.

    `upper_bound` bounds the covered weight of any plan with the same count or
    budget; `gap` is ``(upper_bound - covered_weight) / upper_bound`` for the
    greedy solver and the solver's own optimality gap for the exact one.
    """

    chosen: np.ndarray
    covered_weight: float
    upper_bound: float
    gap: float
    solver: str
    status: str
    swaps: int = 0


def relative_gap(value: float, bound: float) -> float:
    """Return ``(bound - value) / bound``, zero when both are zero."""
    if bound <= 0:
        return 0.0
    return max(0.0, (bound - value) / bound)
