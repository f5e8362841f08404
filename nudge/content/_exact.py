"""The exact rotation: one mixed-integer programme solved by HiGHS, started from the greedy.

Variables ``x[i, f, j]`` say that site ``i`` shows entry ``j`` in flight ``f``
(only for entries the site may show, and locked ones). Every rule of the
greedy is kept as a soft constraint whose slack is paid for, in this order of
weight: a cell left empty, a pair of neighbours showing the same entry, an
entry returning within the site's gap, a region missing a theme it could see.
Below those, the objective is the mean distance of every entry's
footfall-weighted exposure from its fair share, minus a small share of the mean
suitability of the cells. `rotation_cost` gives the same objective for any
assignment, so the greedy and exact results compare on one scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from nudge._errors import Notice
from nudge._highs import build_lp, new_highs
from nudge.content._solver import RotationProblem, reachable_themes

UNPLACED = 1000.0
NEIGHBOUR = 100.0
GAP = 10.0
THEME = 5.0
FAIRNESS = 1.0
SUITABILITY = 0.3
MAX_CELLS = 200_000
"""Largest number of site x flight x entry variables the exact solver takes on."""


@dataclass(frozen=True, slots=True)
class ExactRotation:
    """The exact solver's assignment and how good it is known to be.

    Attributes
    ----------
    assign
        (n, F) entry positions, -1 where a cell is empty.
    cost
        Its `rotation_cost`.
    bound
        HiGHS's lower bound on the best cost.
    gap
        ``cost - bound``, in the objective's units (within `mip_gap` of the
        cost when proven optimal; the objective is near 0 for a fair rotation,
        so a relative gap would mislead).
    status
        ``optimal`` (within the relative MIP gap) or ``time limit`` (the best
        assignment found by then),
        with the cost of the greedy start and of the result.
    start_cost
        `rotation_cost` of the start (the greedy's assignment).
    """

    assign: np.ndarray
    cost: float
    bound: float
    gap: float
    status: str
    start_cost: float = float("nan")


@dataclass(frozen=True, slots=True)
class _Model:
    """Index maps of the programme: allowed (site, entry) pairs and the slack columns."""

    pair_site: np.ndarray
    pair_item: np.ndarray
    flights: int
    lp: highspy.HighsLp
    n_x: int

    def x_index(self, flight: int | np.ndarray, pair: int | np.ndarray) -> np.ndarray:
        return np.asarray(flight) * len(self.pair_site) + np.asarray(pair)


def cell_count(problem: RotationProblem) -> int:
    """Return the number of site x flight x entry variables the programme would have."""
    allowed = problem.eligible | _locked_matrix(problem)
    return int(allowed.sum()) * problem.flights


def _locked_matrix(problem: RotationProblem) -> np.ndarray:
    locked = np.zeros(problem.eligible.shape, dtype=bool)
    rows, flights = np.nonzero(problem.locked >= 0)
    locked[rows, problem.locked[rows, flights]] = True
    return locked


class _Rows:
    """Constraint rows gathered as COO triplets with their bounds."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0

    def add(self, row: np.ndarray, col: np.ndarray, val: np.ndarray, lo: np.ndarray,
            hi: np.ndarray) -> None:  # fmt: skip
        """Add rows numbered 0.. within this block (`row`), shifted past earlier blocks."""
        self.r.append(np.asarray(row, dtype=np.int64) + self.n)
        self.c.append(np.asarray(col, dtype=np.int64))
        self.v.append(np.asarray(val, dtype=float))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.n += len(lo)

    def matrix(self, n_cols: int) -> sparse.csr_array:
        cat = np.concatenate
        return sparse.csr_array((cat(self.v), (cat(self.r), cat(self.c))), shape=(self.n, n_cols))


def _model(problem: RotationProblem) -> tuple[_Model, dict[str, slice]]:  # noqa: PLR0915
    n, _ = problem.eligible.shape
    flights = problem.flights
    allowed = problem.eligible | _locked_matrix(problem)
    pair_site, pair_item = np.nonzero(allowed)
    p = len(pair_site)
    n_x = flights * p
    cols: dict[str, slice] = {"x": slice(0, n_x)}
    rows = _Rows()
    cost_parts = [-SUITABILITY / max(n * flights, 1) * np.tile(
        problem.suitability[pair_site, pair_item], flights)]  # fmt: skip
    lower_parts = [np.zeros(n_x)]
    upper_parts = [np.ones(n_x)]
    next_col = n_x

    def slack(name: str, count: int, price: float, upper: float = np.inf) -> np.ndarray:
        nonlocal next_col
        cols[name] = slice(next_col, next_col + count)
        cost_parts.append(np.full(count, price))
        lower_parts.append(np.zeros(count))
        upper_parts.append(np.full(count, upper))
        next_col += count
        return np.arange(cols[name].start, cols[name].stop)

    flight_of = np.repeat(np.arange(flights), p)
    pair_of = np.tile(np.arange(p), flights)
    cell_of_x = pair_site[pair_of] * flights + flight_of

    # 1. every cell shows one entry, or pays for staying empty
    empty = slack("empty", n * flights, UNPLACED, 1.0)
    rows.add(np.r_[cell_of_x, np.arange(n * flights)], np.r_[np.arange(n_x), empty],
             np.ones(n_x + n * flights), np.ones(n * flights), np.ones(n * flights))  # fmt: skip

    # 2. an entry returns to a site only after its gap (a window of gap + 1 flights)
    width = np.minimum(problem.gap[pair_site] + 1, flights)
    has_gap = width >= 2
    starts = np.where(has_gap, flights - width + 1, 0)
    win_pair = np.repeat(np.arange(p), starts)
    win_start = np.concatenate([np.arange(s) for s in starts]) if p else np.zeros(0, int)
    n_win = len(win_pair)
    if n_win:
        gap_slack = slack("gap", n_win, GAP)
        w = width[win_pair]
        offs = np.concatenate([np.arange(k) for k in w])
        row = np.repeat(np.arange(n_win), w)
        col = (np.repeat(win_start, w) + offs) * p + np.repeat(win_pair, w)
        rows.add(np.r_[row, np.arange(n_win)], np.r_[col, gap_slack],
                 np.r_[np.ones(len(col)), -np.ones(n_win)], np.full(n_win, -np.inf),
                 np.ones(n_win))  # fmt: skip

    # 3. neighbours never show the same entry in the same flight
    a, b = _neighbour_pairs(problem)
    key = {(int(s), int(j)): k for k, (s, j) in enumerate(zip(pair_site, pair_item, strict=True))}
    shared = [(key[(int(s), int(j))], key[(int(t), int(j))])
              for s, t in zip(a, b, strict=True)
              for j in np.flatnonzero(allowed[s] & allowed[t])]  # fmt: skip
    if shared:
        left, right = (np.asarray(side, dtype=np.int64) for side in zip(*shared, strict=True))
        n_nb = len(left) * flights
        nb_slack = slack("neighbour", n_nb, NEIGHBOUR)
        f = np.repeat(np.arange(flights), len(left))
        row = np.arange(n_nb)
        rows.add(np.r_[row, row, row],
                 np.r_[f * p + np.tile(left, flights), f * p + np.tile(right, flights), nb_slack],
                 np.r_[np.ones(2 * n_nb), -np.ones(n_nb)], np.full(n_nb, -np.inf),
                 np.ones(n_nb))  # fmt: skip

    # 4. every region sees every theme its sites can show
    covers = []
    for group in np.unique(problem.group):
        sites = np.flatnonzero(problem.group == group)
        for theme in np.flatnonzero(reachable_themes(problem, sites)):
            pairs = np.flatnonzero(np.isin(pair_site, sites) & problem.themes[pair_item, theme])
            covers.append(pairs)
    if covers:
        theme_slack = slack("theme", len(covers), THEME, 1.0)
        row = np.concatenate([np.full(len(c) * flights, k) for k, c in enumerate(covers)])
        col = np.concatenate([(np.arange(flights)[:, None] * p + c[None, :]).ravel()
                              for c in covers])  # fmt: skip
        k = len(covers)
        rows.add(np.r_[row, np.arange(k)], np.r_[col, theme_slack],
                 np.ones(len(col) + k), np.ones(k), np.full(k, np.inf))  # fmt: skip

    # 5. exposure close to the fair share: d_j >= |e_j / fair_j - 1|
    fair_items = np.flatnonzero(problem.fair > 0)
    if len(fair_items):
        spread = slack("fair", len(fair_items), FAIRNESS / len(fair_items))
        position = np.full(problem.eligible.shape[1], -1)
        position[fair_items] = np.arange(len(fair_items))
        item_of_x = pair_item[pair_of]
        use = position[item_of_x] >= 0
        row = position[item_of_x[use]]
        val = problem.weight[pair_site[pair_of[use]]] / problem.fair[item_of_x[use]]
        col = np.arange(n_x)[use]
        m_f = len(fair_items)
        for sign in (1.0, -1.0):  # e/fair - d <= 1  and  e/fair + d >= 1
            rows.add(np.r_[row, np.arange(m_f)], np.r_[col, spread],
                     np.r_[val, -sign * np.ones(m_f)],
                     np.full(m_f, -np.inf) if sign > 0 else np.ones(m_f),
                     np.ones(m_f) if sign > 0 else np.full(m_f, np.inf))  # fmt: skip

    # locked cells: the locked entry is shown
    lock_site, lock_flight = np.nonzero(problem.locked >= 0)
    lower = np.concatenate(lower_parts)
    if len(lock_site):
        pairs = np.array([key[(int(s), int(problem.locked[s, f]))]
                          for s, f in zip(lock_site, lock_flight, strict=True)])  # fmt: skip
        lower[lock_flight * p + pairs] = 1.0
    integer = np.zeros(next_col, dtype=bool)
    integer[:n_x] = True
    lp = build_lp(
        cost=np.concatenate(cost_parts), col_lower=lower, col_upper=np.concatenate(upper_parts),
        integer=integer, matrix=rows.matrix(next_col), row_lower=np.concatenate(rows.lo),
        row_upper=np.concatenate(rows.hi),
    )  # fmt: skip
    return _Model(pair_site, pair_item, flights, lp, n_x), cols


def _neighbour_pairs(problem: RotationProblem) -> tuple[np.ndarray, np.ndarray]:
    counts = np.diff(problem.nbr_ptr)
    a = np.repeat(np.arange(len(counts)), counts)
    b = problem.nbr_idx
    keep = a < b
    return a[keep], b[keep]


def _start_values(model: _Model, problem: RotationProblem, assign: np.ndarray) -> np.ndarray:
    """Return a full column vector for `assign`: x from the cells, each slack at its least."""
    lp = model.lp
    p = len(model.pair_site)
    pair_of = np.full(problem.eligible.shape, -1, dtype=np.int64)
    pair_of[model.pair_site, model.pair_item] = np.arange(p)
    site, flight = np.nonzero(assign >= 0)
    pair = pair_of[site, assign[site, flight]]
    values = np.zeros(lp.num_col_)
    values[flight[pair >= 0] * p + pair[pair >= 0]] = 1.0
    matrix = sparse.csr_array(
        sparse.csc_array(
            (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
            shape=(lp.num_row_, lp.num_col_),
        )
    )
    activity = matrix @ values  # slacks still 0
    slacks = sparse.coo_array(matrix[:, model.n_x :])  # at most one slack per row
    row, col, coef = slacks.row, slacks.col + model.n_x, slacks.data
    lo, hi = np.asarray(lp.row_lower_)[row], np.asarray(lp.row_upper_)[row]
    act = activity[row]
    need = np.where(act > hi, (act - hi) / -coef, np.where(act < lo, (lo - act) / coef, 0.0))
    np.maximum.at(values, col, np.maximum(need, 0.0))
    return np.clip(values, lp.col_lower_, lp.col_upper_)


def rotation_cost(problem: RotationProblem, assign: np.ndarray) -> float:
    """Return the exact model's objective for an assignment (lower is better)."""
    model, _ = _model(problem)
    values = _start_values(model, problem, assign)
    return float(np.dot(model.lp.col_cost_, values))


@dataclass(frozen=True, slots=True)
class _Run:
    """One HiGHS run: the assignment of its columns, their cost, its reported objective."""

    assign: np.ndarray
    cost: float
    reported: float
    bound: float
    optimal: bool


def _run(
    model: _Model,
    problem: RotationProblem,
    shape: tuple[int, ...],
    start_values: np.ndarray | None,
    *,
    time_limit: float,
    mip_gap: float,
) -> _Run:
    h = new_highs(time_limit=time_limit, mip_gap=mip_gap)
    h.passModel(model.lp)
    if start_values is not None:
        sol = highspy.HighsSolution()
        sol.col_value = start_values.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else -np.inf
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    if optimal and model.n_x == 0:  # nothing to choose: solved as an LP, no MIP bound
        bound = float(info.objective_function_value)
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return _Run(np.full(shape, -1, dtype=np.int64), np.inf, np.inf, bound, optimal)
    values = np.asarray(h.getSolution().col_value[: model.n_x]).reshape(model.flights, -1)
    assign = np.full(shape, -1, dtype=np.int64)
    flight, pair = np.nonzero(values > 0.5)
    assign[model.pair_site[pair], flight] = model.pair_item[pair]
    cost = float(np.dot(model.lp.col_cost_, _start_values(model, problem, assign)))
    return _Run(assign, cost, float(info.objective_function_value), bound, optimal)


def solve_exact(
    problem: RotationProblem,
    *,
    start: np.ndarray,
    time_limit: float = 60.0,
    mip_gap: float = 1e-4,
) -> ExactRotation:
    """Solve the rotation exactly with HiGHS, starting from `start` (the greedy's assignment).

    Parameters
    ----------
    problem
        The rotation problem.
    start
        (n, F) assignment to start from; it is kept when HiGHS finds nothing better.
    time_limit
        Seconds HiGHS may run.
    mip_gap
        Relative gap at which HiGHS stops.

    Returns
    -------
    ExactRotation
    """
    model, _ = _model(problem)
    start_values = _start_values(model, problem, start)
    start_cost = float(np.dot(model.lp.col_cost_, start_values))
    assign, cost = start.copy(), start_cost
    optimal, bound = False, -np.inf
    # Rarely, a warm-started HiGHS reports a better objective than the columns it returns
    # (they are the start's); the run is then repeated without the start.
    for warm in (True, False):
        found = _run(model, problem, start.shape, start_values if warm else None,
                     time_limit=time_limit, mip_gap=mip_gap)  # fmt: skip
        if found.cost < cost - 1e-9:
            assign, cost = found.assign, found.cost
        optimal, bound = found.optimal, max(bound, found.bound)
        if not found.cost > found.reported + 1e-6 * max(1.0, abs(found.reported)):
            break
    bound = min(bound, cost)
    gap = cost - bound if np.isfinite(bound) else np.inf
    said_cost, said_start = f"{cost:.4g}", f"{start_cost:.4g}"
    if optimal:
        said = Notice(f"optimal; cost {said_cost} (greedy start {said_start})",
                      code="rotation_exact_optimal", cost=said_cost, start=said_start)  # fmt: skip
    else:
        said_bound = f"{bound:.4g}" if np.isfinite(bound) else "−∞"
        said = Notice(
            f"time limit; cost {said_cost} (greedy start {said_start}), no rotation can cost "
            f"less than {said_bound}",
            code="rotation_exact_time_limit", cost=said_cost, start=said_start, bound=said_bound,
        )  # fmt: skip
    return ExactRotation(assign, cost, bound, float(gap), said, start_cost)
