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

    def add(
        self, row: np.ndarray, col: np.ndarray, val: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> None:
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


class _Columns:
    """Variables of the programme: the ``x`` block, then named slack blocks, with their costs."""

    def __init__(self, x_cost: np.ndarray) -> None:
        n_x = len(x_cost)
        self.slices: dict[str, slice] = {"x": slice(0, n_x)}
        self.cost = [x_cost]
        self.lower = [np.zeros(n_x)]
        self.upper = [np.ones(n_x)]
        self.n = n_x

    def slack(self, name: str, count: int, price: float, upper: float = np.inf) -> np.ndarray:
        """Add `count` slack columns paid `price` each; return their column numbers."""
        self.slices[name] = slice(self.n, self.n + count)
        self.cost.append(np.full(count, price))
        self.lower.append(np.zeros(count))
        self.upper.append(np.full(count, upper))
        self.n += count
        return np.arange(self.slices[name].start, self.slices[name].stop)


class _Builder:
    """Build the programme of a problem, one block of soft constraints at a time."""

    def __init__(self, problem: RotationProblem) -> None:
        self.problem = problem
        self.flights = flights = problem.flights
        self.allowed = problem.eligible | _locked_matrix(problem)
        self.pair_site, self.pair_item = np.nonzero(self.allowed)
        self.p = p = len(self.pair_site)
        self.n_x = flights * p
        self.pair_of = np.tile(np.arange(p), flights)  # pair of each x column
        pairs = zip(self.pair_site, self.pair_item, strict=True)
        self.key = {(int(s), int(j)): k for k, (s, j) in enumerate(pairs)}
        suitability = np.tile(problem.suitability[self.pair_site, self.pair_item], flights)
        n_cells = len(problem.eligible) * flights
        self.cols = _Columns(-SUITABILITY / max(n_cells, 1) * suitability)
        self.rows = _Rows()

    def build(self) -> tuple[_Model, dict[str, slice]]:
        for add_block in (self._cells, self._gaps, self._neighbours, self._themes, self._fair):
            add_block()
        cols, rows = self.cols, self.rows
        integer = np.zeros(cols.n, dtype=bool)
        integer[: self.n_x] = True
        lp = build_lp(
            cost=np.concatenate(cols.cost),
            col_lower=self._locked_lower(),
            col_upper=np.concatenate(cols.upper),
            integer=integer,
            matrix=rows.matrix(cols.n),
            row_lower=np.concatenate(rows.lo),
            row_upper=np.concatenate(rows.hi),
        )
        model = _Model(self.pair_site, self.pair_item, self.flights, lp, self.n_x)
        return model, cols.slices

    def _cells(self) -> None:
        """Every cell shows one entry, or pays for staying empty."""
        n_cells = len(self.problem.eligible) * self.flights
        flight_of = np.repeat(np.arange(self.flights), self.p)
        cell_of_x = self.pair_site[self.pair_of] * self.flights + flight_of
        empty = self.cols.slack("empty", n_cells, UNPLACED, 1.0)
        self.rows.add(
            row=np.r_[cell_of_x, np.arange(n_cells)],
            col=np.r_[np.arange(self.n_x), empty],
            val=np.ones(self.n_x + n_cells),
            lo=np.ones(n_cells),
            hi=np.ones(n_cells),
        )

    def _gaps(self) -> None:
        """An entry returns to a site only after its gap (a window of gap + 1 flights)."""
        flights, p = self.flights, self.p
        width = np.minimum(self.problem.gap[self.pair_site] + 1, flights)
        starts = np.where(width >= 2, flights - width + 1, 0)
        win_pair = np.repeat(np.arange(p), starts)
        win_start = np.concatenate([np.arange(s) for s in starts]) if p else np.zeros(0, int)
        n_win = len(win_pair)
        if not n_win:
            return
        gap_slack = self.cols.slack("gap", n_win, GAP)
        w = width[win_pair]
        offs = np.concatenate([np.arange(k) for k in w])
        row = np.repeat(np.arange(n_win), w)
        col = (np.repeat(win_start, w) + offs) * p + np.repeat(win_pair, w)
        self.rows.add(
            row=np.r_[row, np.arange(n_win)],
            col=np.r_[col, gap_slack],
            val=np.r_[np.ones(len(col)), -np.ones(n_win)],
            lo=np.full(n_win, -np.inf),
            hi=np.ones(n_win),
        )

    def _neighbours(self) -> None:
        """Neighbours never show the same entry in the same flight."""
        a, b = _neighbour_pairs(self.problem)
        key, allowed = self.key, self.allowed
        shared = [
            (key[(int(s), int(j))], key[(int(t), int(j))])
            for s, t in zip(a, b, strict=True)
            for j in np.flatnonzero(allowed[s] & allowed[t])
        ]
        if not shared:
            return
        left, right = (np.asarray(side, dtype=np.int64) for side in zip(*shared, strict=True))
        flights, p = self.flights, self.p
        n_nb = len(left) * flights
        nb_slack = self.cols.slack("neighbour", n_nb, NEIGHBOUR)
        f = np.repeat(np.arange(flights), len(left))
        row = np.arange(n_nb)
        self.rows.add(
            row=np.r_[row, row, row],
            col=np.r_[f * p + np.tile(left, flights), f * p + np.tile(right, flights), nb_slack],
            val=np.r_[np.ones(2 * n_nb), -np.ones(n_nb)],
            lo=np.full(n_nb, -np.inf),
            hi=np.ones(n_nb),
        )

    def _themes(self) -> None:
        """Every region sees every theme its sites can show."""
        problem = self.problem
        covers = []
        for group in np.unique(problem.group):
            sites = np.flatnonzero(problem.group == group)
            for theme in np.flatnonzero(reachable_themes(problem, sites)):
                showing = problem.themes[self.pair_item, theme]
                covers.append(np.flatnonzero(np.isin(self.pair_site, sites) & showing))
        if not covers:
            return
        k = len(covers)
        theme_slack = self.cols.slack("theme", k, THEME, 1.0)
        row = np.concatenate([np.full(len(c) * self.flights, n) for n, c in enumerate(covers)])
        flight_base = np.arange(self.flights)[:, None] * self.p
        col = np.concatenate([(flight_base + c[None, :]).ravel() for c in covers])
        self.rows.add(
            row=np.r_[row, np.arange(k)],
            col=np.r_[col, theme_slack],
            val=np.ones(len(col) + k),
            lo=np.ones(k),
            hi=np.full(k, np.inf),
        )

    def _fair(self) -> None:
        """Exposure stays close to the fair share: d_j >= |e_j / fair_j - 1|."""
        problem = self.problem
        fair_items = np.flatnonzero(problem.fair > 0)
        m_f = len(fair_items)
        if not m_f:
            return
        spread = self.cols.slack("fair", m_f, FAIRNESS / m_f)
        position = np.full(problem.eligible.shape[1], -1)
        position[fair_items] = np.arange(m_f)
        item_of_x = self.pair_item[self.pair_of]
        use = position[item_of_x] >= 0
        row = position[item_of_x[use]]
        val = problem.weight[self.pair_site[self.pair_of[use]]] / problem.fair[item_of_x[use]]
        col = np.arange(self.n_x)[use]
        for sign in (1.0, -1.0):  # e/fair - d <= 1  and  e/fair + d >= 1
            self.rows.add(
                row=np.r_[row, np.arange(m_f)],
                col=np.r_[col, spread],
                val=np.r_[val, -sign * np.ones(m_f)],
                lo=np.full(m_f, -np.inf) if sign > 0 else np.ones(m_f),
                hi=np.ones(m_f) if sign > 0 else np.full(m_f, np.inf),
            )

    def _locked_lower(self) -> np.ndarray:
        """Return the columns' lower bounds: 1 for the locked entry of a locked cell."""
        lower = np.concatenate(self.cols.lower)
        lock_site, lock_flight = np.nonzero(self.problem.locked >= 0)
        if len(lock_site):
            lock_item = self.problem.locked[lock_site, lock_flight]
            pairs = zip(lock_site, lock_item, strict=True)
            lower[lock_flight * self.p + np.array([self.key[int(s), int(j)] for s, j in pairs])] = (
                1.0
            )
        return lower


def _model(problem: RotationProblem) -> tuple[_Model, dict[str, slice]]:
    return _Builder(problem).build()


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
        warm_start = start_values if warm else None
        found = _run(
            model, problem, start.shape, warm_start, time_limit=time_limit, mip_gap=mip_gap
        )
        if found.cost < cost - 1e-9:
            assign, cost = found.assign, found.cost
        optimal, bound = found.optimal, max(bound, found.bound)
        if not found.cost > found.reported + 1e-6 * max(1.0, abs(found.reported)):
            break
    bound = min(bound, cost)
    gap = cost - bound if np.isfinite(bound) else np.inf
    said_cost, said_start = f"{cost:.4g}", f"{start_cost:.4g}"
    if optimal:
        said = Notice(code="rotation_exact_optimal", cost=said_cost, start=said_start)
    else:
        said_bound = f"{bound:.4g}" if np.isfinite(bound) else "−∞"
        said = Notice(
            code="rotation_exact_time_limit",
            cost=said_cost,
            start=said_start,
            bound=said_bound,
        )
    return ExactRotation(assign, cost, bound, float(gap), said, start_cost)
