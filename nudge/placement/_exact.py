"""Exact site selection as a mixed-integer programme solved by HiGHS.

Before the model is built, demand points that the same set of sites covers are
merged, demand that a locked site covers is taken as covered, and sites in
conflict with a locked site are dropped. Coverage variables are continuous in
``[0, 1]`` (they are integral at any optimum), site variables are binary. The
greedy plan is passed as the starting solution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import highspy
import numpy as np
from scipy import sparse

from nudge._errors import InfeasibleError
from nudge._highs import build_lp, new_highs
from nudge.placement._coverage import aggregate_rows
from nudge.placement._greedy import solve_greedy
from nudge.placement._problem import CoverageProblem, Solution, relative_gap


@dataclass(frozen=True, slots=True)
class _Reduced:
    """The problem after presolve: the sites and merged demand rows that remain."""

    sites: np.ndarray
    rows: sparse.csr_array
    row_weights: np.ndarray
    fixed_weight: float


def _reduce(p: CoverageProblem) -> _Reduced:
    blocked = np.zeros(p.n_sites, dtype=bool)
    if len(p.conflicts):
        j, k = p.conflicts[:, 0], p.conflicts[:, 1]
        blocked[j[p.locked[k]]] = True
        blocked[k[p.locked[j]]] = True
    sites = np.flatnonzero(p.eligible & (~blocked | p.locked))
    locked_cover = np.asarray(p.coverage[:, np.flatnonzero(p.locked)].sum(axis=1)).ravel() > 0
    fixed = float(p.weights[locked_cover].sum())
    free_sites = sites[~p.locked[sites]]
    cov = sparse.csr_array(p.coverage[:, free_sites])
    cov.sort_indices()
    open_rows = np.flatnonzero(~locked_cover & (p.weights > 0))
    cov = cov[open_rows]
    keep, weights = aggregate_rows(cov, p.weights[open_rows])
    return _Reduced(sites=free_sites, rows=cov[keep], row_weights=weights, fixed_weight=fixed)


def _constraints(
    p: CoverageProblem, red: _Reduced
) -> tuple[sparse.csr_array, list[float], list[float]]:
    """Return the rows of the model over the columns ``[sites..., demand...]``."""
    n_s, n_r = len(red.sites), red.rows.shape[0]
    blocks: list[sparse.csr_array] = []
    lower: list[float] = []
    upper: list[float] = []
    # x_r - sum of covering sites <= 0
    blocks.append(sparse.csr_array(sparse.hstack([-red.rows.astype(float), sparse.eye_array(n_r)])))
    lower += [-np.inf] * n_r
    upper += [0.0] * n_r
    n_locked = int(p.locked.sum())
    spent = float(p.costs[p.locked].sum())
    if p.count is not None:
        blocks.append(_site_row(np.ones(n_s), n_r))
        lower.append(p.count - n_locked if p.exact_count else 0.0)
        upper.append(p.count - n_locked)
    if p.budget is not None:
        blocks.append(_site_row(p.costs[red.sites].astype(float), n_r))
        lower.append(-np.inf)
        upper.append(p.budget - spent)
    spacing = _spacing_rows(p, red.sites)
    if spacing.shape[0]:
        blocks.append(
            sparse.csr_array(sparse.hstack([spacing, sparse.csr_array((spacing.shape[0], n_r))]))
        )
        lower += [-np.inf] * spacing.shape[0]
        upper += [1.0] * spacing.shape[0]
    for g in range(len(p.group_names)):
        in_g = (p.groups[red.sites] == g).astype(float)
        have = int((p.locked & (p.groups == g)).sum())
        blocks.append(_site_row(in_g, n_r))
        lower.append(float(max(p.group_min[g] - have, 0)))
        upper.append(float(min(p.group_max[g] - have, len(red.sites))))
    return sparse.csr_array(sparse.vstack(blocks)), lower, upper


def _site_row(values: np.ndarray, n_rows: int) -> sparse.csr_array:
    return sparse.csr_array(np.r_[values, np.zeros(n_rows)][None, :])


def _spacing_rows(p: CoverageProblem, sites: np.ndarray) -> sparse.csr_array:
    """Return one row per grid-cell clique (3+ sites) and per conflict pair across cells."""
    n_s = len(sites)
    pos = np.full(p.n_sites, -1)
    pos[sites] = np.arange(n_s)
    pairs = p.conflicts[(pos[p.conflicts[:, 0]] >= 0) & (pos[p.conflicts[:, 1]] >= 0)]
    pairs = pos[pairs]
    cells = p.cells[sites]
    _, cell_id, sizes = np.unique(cells, return_inverse=True, return_counts=True)
    big = sizes[cell_id] >= 3
    cross = cells[pairs[:, 0]] != cells[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    small_pair = ~big[pairs[:, 0]] | ~big[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
    pairs = pairs[cross | small_pair]
    _, clique_rows = np.unique(cell_id[big], return_inverse=True)
    n_cliques = int(clique_rows.max()) + 1 if len(clique_rows) else 0
    rows = np.r_[clique_rows, n_cliques + np.repeat(np.arange(len(pairs)), 2)]
    cols = np.r_[np.flatnonzero(big), pairs.ravel()]
    shape = (n_cliques + len(pairs), n_s)
    return sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=shape)


def _build(p: CoverageProblem, red: _Reduced) -> highspy.HighsLp:
    n_s, n_r = len(red.sites), red.rows.shape[0]
    matrix, lower, upper = _constraints(p, red)
    return build_lp(
        cost=np.r_[p.score_weight * p.scores[red.sites], red.row_weights],
        col_lower=np.zeros(n_s + n_r),
        col_upper=np.ones(n_s + n_r),
        integer=np.r_[np.ones(n_s, dtype=bool), np.zeros(n_r, dtype=bool)],
        matrix=matrix,
        row_lower=np.asarray(lower, dtype=float),
        row_upper=np.asarray(upper, dtype=float),
        maximize=True,
        offset=red.fixed_weight + p.score_weight * float(p.scores[p.locked].sum()),
    )


def _start(red: _Reduced, start: np.ndarray | None) -> highspy.HighsSolution | None:
    if start is None:
        return None
    y = np.isin(red.sites, start).astype(float)
    x = (np.asarray(red.rows @ y).ravel() > 0).astype(float)
    sol = highspy.HighsSolution()
    sol.col_value = np.r_[y, x].tolist()
    sol.value_valid = True
    return sol


def solve_exact(
    p: CoverageProblem,
    *,
    start: np.ndarray | None = None,
    time_limit: float = 60.0,
    mip_gap: float = 1e-6,
    bound: float = np.inf,
) -> Solution:
    """Solve the problem with HiGHS, starting from a known plan.

    Parameters
    ----------
    p
        The problem; it should have passed `check_feasible`.
    start
        Site indices of a feasible plan (the greedy one) to start from.
    time_limit
        Seconds HiGHS may run; the best plan found by then is returned.
    mip_gap
        Relative optimality gap at which HiGHS stops.
    bound
        A known upper bound on the covered weight (from the greedy).

    Returns
    -------
    Solution
        The plan, its covered weight, HiGHS's bound and gap.

    Raises
    ------
    InfeasibleError
        When HiGHS proves that no plan meets all constraints together, or
        finds none within the time limit and no start plan was given.
    """
    red = _reduce(p)
    h = new_highs(time_limit=time_limit, mip_gap=mip_gap)
    h.passModel(_build(p, red))
    sol = _start(red, start)
    if sol is not None:
        h.setSolution(sol)
    h.run()
    return _read(p, red, h, start, bound)


def _read(
    p: CoverageProblem, red: _Reduced, h: highspy.Highs, start: np.ndarray | None, bound: float
) -> Solution:
    status = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    if status == highspy.HighsModelStatus.kInfeasible or not has_plan:
        if status != highspy.HighsModelStatus.kInfeasible and start is not None:
            chosen = np.asarray(start, dtype=np.int64)
        else:
            _raise_no_plan(proven=status == highspy.HighsModelStatus.kInfeasible)
    else:
        values = np.asarray(h.getSolution().col_value[: len(red.sites)])
        chosen = np.r_[np.flatnonzero(p.locked), red.sites[values > 0.5]].astype(np.int64)
    covered = _covered(p, chosen)
    optimal = status == highspy.HighsModelStatus.kOptimal
    dual = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else np.inf
    upper = max(min(bound, dual), covered)
    gap = (
        float(info.mip_gap)
        if optimal and np.isfinite(info.mip_gap)
        else relative_gap(covered, upper)
    )
    return Solution(
        chosen=chosen,
        covered_weight=covered,
        upper_bound=upper,
        gap=max(gap, 0.0),
        solver="exact",
        status="optimal"
        if optimal
        else "time limit reached"
        if status == highspy.HighsModelStatus.kTimeLimit
        else "stopped",
    )


def _raise_no_plan(*, proven: bool) -> NoReturn:
    if proven:
        raise InfeasibleError(code="plan_exact_infeasible")
    raise InfeasibleError(code="plan_exact_no_plan_in_time")


def _covered(p: CoverageProblem, chosen: np.ndarray) -> float:
    hit = np.asarray(p.coverage[:, chosen].sum(axis=1)).ravel() > 0
    return float(p.weights[hit].sum())


def solve_exact_warm(problem: CoverageProblem, *, time_limit: float, mip_gap: float) -> Solution:
    """Solve with HiGHS, warm-started and bounded by the greedy plan.

    The greedy plan is kept when HiGHS stops (at the time limit) with a worse one.
    """
    try:
        greedy: Solution | None = solve_greedy(problem)
    except InfeasibleError:
        greedy = None
    exact = solve_exact(
        problem,
        start=None if greedy is None else greedy.chosen,
        time_limit=time_limit,
        mip_gap=mip_gap,
        bound=np.inf if greedy is None else greedy.upper_bound,
    )
    if greedy is not None and greedy.covered_weight > exact.covered_weight:
        return Solution(
            chosen=greedy.chosen,
            covered_weight=greedy.covered_weight,
            upper_bound=min(exact.upper_bound, greedy.upper_bound),
            gap=relative_gap(greedy.covered_weight, exact.upper_bound),
            solver="exact",
            status=exact.status + ", greedy plan kept",
        )
    return exact
