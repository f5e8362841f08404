"""Lazy-greedy (CELF) site selection with a swap-based local improvement.

The greedy adds, one at a time, the allowed site with the largest gain
(covered weight plus the small score term, per unit of cost when sites cost
different amounts). Every constraint only ever tightens as sites are added,
so a site that is not allowed once is dropped for good. Stale gains in the
lazy heap are upper bounds of the true ones (coverage is submodular), which
also gives an online upper bound on the optimum.
"""

from __future__ import annotations

import heapq

import numpy as np
from scipy import sparse

from nudge.placement._problem import (
    CoverageProblem,
    Reason,
    Solution,
    number,
    raise_infeasible,
    reason,
    relative_gap,
)

_EPS = 1e-9


class _State:
    """A partial plan with the bookkeeping that makes adding and removing cheap."""

    def __init__(self, p: CoverageProblem) -> None:
        self.p = p
        self.indptr = p.coverage.indptr
        self.indices = p.coverage.indices
        self.cover = np.zeros(p.coverage.shape[0], dtype=np.int32)
        self.cov = sparse.csc_array(p.coverage, dtype=float)
        self.at = sparse.csr_array(self.cov.T)
        self.uncovered = p.weights.astype(float).copy()
        self.chosen = np.zeros(p.n_sites, dtype=bool)
        self.order: list[int] = []
        self.graph = p.conflict_graph()
        self.n_conflict = np.zeros(p.n_sites, dtype=np.int32)
        self.group_count = np.zeros(len(p.group_names), dtype=np.int64)
        self.spent = 0.0
        self.value = 0.0
        free = p.eligible & ~p.locked
        n_groups = len(p.group_names)
        cheapest = np.zeros(n_groups)
        for g in range(n_groups):
            costs = p.costs[free & (p.groups == g)]
            cheapest[g] = costs.min() if len(costs) else 0.0
        self.cheapest = cheapest

    def rows(self, j: int) -> np.ndarray:
        return self.indices[self.indptr[j] : self.indptr[j + 1]]

    def gain(self, j: int) -> float:
        return float(self.uncovered[self.rows(j)].sum())

    def add(self, j: int) -> None:
        rows = self.rows(j)
        fresh = rows[self.cover[rows] == 0]
        self.value += float(self.p.weights[fresh].sum())
        self.uncovered[fresh] = 0.0
        self.cover[rows] += 1
        self.chosen[j] = True
        self.order.append(j)
        self.n_conflict[self.graph.indices[self.graph.indptr[j] : self.graph.indptr[j + 1]]] += 1
        if self.p.groups[j] >= 0:
            self.group_count[self.p.groups[j]] += 1
        self.spent += float(self.p.costs[j])

    def remove(self, j: int) -> None:
        rows = self.rows(j)
        self.cover[rows] -= 1
        lost = rows[self.cover[rows] == 0]
        self.value -= float(self.p.weights[lost].sum())
        self.uncovered[lost] = self.p.weights[lost]
        self.chosen[j] = False
        self.order.remove(j)
        self.n_conflict[self.graph.indices[self.graph.indptr[j] : self.graph.indptr[j + 1]]] -= 1
        if self.p.groups[j] >= 0:
            self.group_count[self.p.groups[j]] -= 1
        self.spent -= float(self.p.costs[j])

    def full(self) -> bool:
        return self.p.count is not None and len(self.order) >= self.p.count

    def allowed(self, j: int) -> bool:
        """Return whether site `j` can be added without breaking a constraint now or later."""
        p = self.p
        if self.chosen[j] or not p.eligible[j] or self.n_conflict[j] > 0 or self.full():
            return False
        if p.budget is not None and self.spent + p.costs[j] > p.budget * (1 + _EPS):
            return False
        g = int(p.groups[j])
        if g >= 0 and self.group_count[g] >= p.group_max[g]:
            return False
        return not len(p.group_names) or self._leaves_room(j, g)

    def _leaves_room(self, j: int, g: int) -> bool:
        """Return whether enough sites and budget remain for the unmet district minimums."""
        p = self.p
        missing = np.maximum(p.group_min - self.group_count, 0)
        reduces = g >= 0 and missing[g] > 0
        need = int(missing.sum()) - int(reduces)
        if p.count is not None and p.count - len(self.order) - 1 < need:
            return False
        if p.budget is None:
            return True
        reserve = float((missing * self.cheapest).sum()) - (self.cheapest[g] if reduces else 0)
        return bool(self.spent + p.costs[j] + reserve <= p.budget * (1 + _EPS))


def _upper_bound(st: _State, gains: np.ndarray) -> float:
    """Return an upper bound on the best covered weight, from marginal-gain bounds."""
    p = st.p
    pool = gains[p.eligible & ~st.chosen]
    pool = pool[pool > 0]
    bound = np.inf
    n_locked = int(p.locked.sum())
    if p.count is not None:
        k = max(p.count - n_locked, 0)
        top = np.partition(pool, len(pool) - k)[len(pool) - k :] if 0 < k < len(pool) else pool
        bound = st.value + float(top.sum()) if k else st.value
    if p.budget is not None:
        # The sites of a best plan that this one lacks may spend the whole budget
        # left after the locked sites (not just what this plan left unspent).
        capacity = p.budget - float(p.costs[p.locked].sum())
        mask = p.eligible & ~st.chosen & (gains > 0) & (p.costs <= capacity * (1 + _EPS))
        bound = min(bound, st.value + _knapsack(gains[mask], p.costs[mask], capacity))
    return float(bound)


def _knapsack(values: np.ndarray, costs: np.ndarray, capacity: float) -> float:
    """Return the fractional-knapsack optimum: an upper bound of the 0-1 one."""
    free = costs <= 0
    total = float(values[free].sum())
    values, costs = values[~free], costs[~free]
    order = np.argsort(-values / costs)
    cum = np.cumsum(costs[order])
    full = cum <= capacity
    total += float(values[order][full].sum())
    nxt = int(full.sum())
    if nxt < len(order):
        left = capacity - (cum[nxt - 1] if nxt else 0.0)
        total += float(values[order[nxt]]) * max(left, 0.0) / float(costs[order[nxt]])
    return total


def lagrangian_bound(
    p: CoverageProblem,
    *,
    lower: float,
    upper: float,
    rounds: int = 60,
    at: sparse.csr_array | None = None,
) -> float:
    """Return the Lagrangian (LP-strength) bound of the count/budget problem, at most `upper`.

    The coverage constraints ``x_i <= sum of covering sites`` are relaxed with
    multipliers ``0 <= m_i <= w_i``; for fixed multipliers the best plan takes
    the sites with the largest ``sum of m_i`` they cover. Subgradient steps
    (Polyak, aiming at `lower`) tighten the bound.
    """
    if p.count is None or p.budget is not None:
        return upper
    w = p.weights.astype(float)
    m = 0.5 * w
    best = upper
    step = 1.0
    if at is None:
        at = sparse.csr_array(p.coverage.T, dtype=float)
    indptr, indices = p.coverage.indptr, p.coverage.indices
    for _ in range(rounds):
        value = at @ m
        picked = _relaxed_pick(p, value)
        if picked is None:
            return best
        bound = float((w - m).sum() + value[picked].sum())
        best = min(best, bound)
        rows = np.concatenate([indices[indptr[j] : indptr[j + 1]] for j in picked] or [[]])
        sub = np.bincount(rows.astype(np.int64), minlength=len(w)) - 1.0
        sub[((m <= 0) & (sub > 0)) | ((m >= w) & (sub < 0))] = 0.0
        norm = float(sub @ sub)
        if norm == 0 or best - lower <= 1e-9 * max(best, 1.0):
            break
        m = np.clip(m - step * (bound - lower) / norm * sub, 0.0, w)
        step *= 0.95
    return best


def _relaxed_pick(p: CoverageProblem, value: np.ndarray) -> np.ndarray | None:
    """Return the best sites for per-site `value` under the count alone (None with a budget)."""
    if p.count is None or p.budget is not None:
        return None
    locked = np.flatnonzero(p.locked)
    k = p.count - len(locked)
    pool = np.flatnonzero(p.eligible & ~p.locked)
    if k <= 0 or not len(pool):
        return locked
    if k >= len(pool):
        return np.r_[locked, pool]
    top = pool[np.argpartition(-value[pool], k - 1)[:k]]
    return np.r_[locked, top]


def _celf(st: _State, *, ratio: bool, bound: float) -> float:
    """Add sites lazily-greedily until nothing more is allowed; return the tightest bound."""
    p = st.p
    lam = p.score_weight
    gains = np.asarray(st.at @ st.uncovered, dtype=float)
    divisor = np.where(p.costs > 0, p.costs, _EPS) if ratio else np.ones(p.n_sites)
    bonus = lam * p.scores
    candidates = np.flatnonzero(p.eligible & ~st.chosen & (st.n_conflict == 0))
    keys = -(gains[candidates] + bonus[candidates]) / divisor[candidates]
    heap = list(zip(keys.tolist(), candidates.tolist(), strict=True))
    heapq.heapify(heap)
    fresh = np.zeros(p.n_sites, dtype=np.int64)
    picks = 0
    bound = min(bound, _upper_bound(st, gains))
    while heap and not st.full():
        _, j = heap[0]
        if not st.allowed(j):
            heapq.heappop(heap)
            continue
        if fresh[j] == picks:
            heapq.heappop(heap)
            st.add(j)
            picks += 1
            bound = min(bound, _upper_bound(st, gains))
            continue
        gains[j] = st.gain(j)
        fresh[j] = picks
        heapq.heapreplace(heap, (-(gains[j] + bonus[j]) / divisor[j], j))
    return bound


def _swap_feasible(st: _State, into: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Return which swaps (add `into`, drop `out`) keep districts and budget within limits."""
    p = st.p
    ok = np.ones(len(into), dtype=bool)
    if len(p.group_names):
        g_in, g_out = p.groups[into], p.groups[out]
        moved = g_in != g_out
        count_out = np.where(g_out >= 0, st.group_count[np.maximum(g_out, 0)], 0)
        min_out = np.where(g_out >= 0, p.group_min[np.maximum(g_out, 0)], 0)
        count_in = np.where(g_in >= 0, st.group_count[np.maximum(g_in, 0)], 0)
        max_in = np.where(g_in >= 0, p.group_max[np.maximum(g_in, 0)], 1)
        ok &= ~moved | (g_out < 0) | (count_out - 1 >= min_out)
        ok &= ~moved | (g_in < 0) | (count_in + 1 <= max_in)
    if p.budget is not None:
        ok &= st.spent - p.costs[out] + p.costs[into] <= p.budget * (1 + _EPS)
    return ok


def _best_swap(st: _State) -> tuple[int, int, float] | None:
    """Return the best improving swap ``(into, out, delta)``, or None."""
    p = st.p
    out_sites = np.flatnonzero(st.chosen & ~p.locked)
    if not len(out_sites):
        return None
    lam_s = p.score_weight * p.scores
    gain_in = np.asarray(st.at @ st.uncovered) + lam_s
    unique_w = np.where(st.cover == 1, p.weights, 0.0)
    cov_out = st.cov[:, out_sites]
    loss_out = np.asarray(cov_out.T @ unique_w) + lam_s[out_sites]
    overlap = sparse.coo_array(st.at @ (sparse.diags_array(unique_w) @ cov_out))
    marker = np.zeros(p.n_sites)
    marker[out_sites] = out_sites + 1
    partner = np.asarray(st.graph @ marker).astype(np.int64) - 1
    can_in = p.eligible & ~st.chosen & ~p.locked & (st.n_conflict <= 1)
    best: tuple[int, int, float] | None = None
    # Swaps whose new site also covers demand only the dropped site covered.
    k, c = overlap.row, overlap.col
    keep = can_in[k] & ((st.n_conflict[k] == 0) | (partner[k] == out_sites[c]))
    k, c, x = k[keep], c[keep], overlap.data[keep]
    delta = gain_in[k] + x - loss_out[c]
    delta[~_swap_feasible(st, k, out_sites[c])] = -np.inf
    if len(delta) and np.max(delta) > 0:
        i = int(np.argmax(delta))
        best = (int(k[i]), int(out_sites[c[i]]), float(delta[i]))
    # Swaps that replace a site with its one conflicting neighbour.
    pos = np.full(p.n_sites, -1)
    pos[out_sites] = np.arange(len(out_sites))
    k1 = np.flatnonzero(can_in & (st.n_conflict == 1) & (partner >= 0))
    k1 = k1[pos[partner[k1]] >= 0]
    d1 = gain_in[k1] - loss_out[pos[partner[k1]]]
    d1[~_swap_feasible(st, k1, partner[k1])] = -np.inf
    if len(d1) and np.max(d1) > (best[2] if best else 0):
        i = int(np.argmax(d1))
        best = (int(k1[i]), int(partner[k1[i]]), float(d1[i]))
    return _best_free_swap(
        st, can_in=can_in, gain_in=gain_in, out_sites=out_sites, loss_out=loss_out, best=best
    )


def _best_free_swap(
    st: _State,
    *,
    can_in: np.ndarray,
    gain_in: np.ndarray,
    out_sites: np.ndarray,
    loss_out: np.ndarray,
    best: tuple[int, int, float] | None,
) -> tuple[int, int, float] | None:
    """Improve `best` with swaps between sites that share no demand."""
    free_in = np.flatnonzero(can_in & (st.n_conflict == 0))
    if not len(free_in):
        return best
    by_loss = np.argsort(loss_out)
    lowest = float(loss_out[by_loss[0]])
    threshold = best[2] if best else 0.0
    ranked = free_in[np.argsort(-gain_in[free_in])]
    for k in ranked[:512]:
        if gain_in[k] - lowest <= threshold:
            break
        ok = _swap_feasible(st, np.full(len(by_loss), k), out_sites[by_loss])
        if not ok.any():
            continue
        c = int(by_loss[np.argmax(ok)])
        delta = float(gain_in[k] - loss_out[c])
        if delta > threshold:
            best, threshold = (int(k), int(out_sites[c]), delta), delta
    return best


def _improve(st: _State, *, max_swaps: int) -> int:
    """Apply best-improvement swaps until none improves; return how many were made."""
    tol = 1e-12 * max(st.p.total_weight, 1.0)
    swaps = 0
    while swaps < max_swaps:
        move = _best_swap(st)
        if move is None or move[2] <= tol:
            break
        into, out, _ = move
        st.remove(out)
        st.add(into)
        swaps += 1
    return swaps


def _run(p: CoverageProblem, *, ratio: bool, swaps: bool) -> tuple[_State, float, int]:
    st = _State(p)
    for j in np.flatnonzero(p.locked):
        st.add(int(j))
    bound = _celf(st, ratio=ratio, bound=np.inf)
    n_swaps = 0
    if swaps:
        n_swaps = _improve(st, max_swaps=4 * max(len(st.order), 1) + 50)
        if n_swaps:
            bound = _celf(st, ratio=ratio, bound=bound)
    return st, bound, n_swaps


def solve_greedy(p: CoverageProblem, *, swaps: bool = True) -> Solution:
    """Choose sites lazily-greedily, then improve the plan by swapping sites.

    Parameters
    ----------
    p
        The problem; it should have passed `check_feasible`.
    swaps
        Run the local-improvement pass after the greedy.

    Returns
    -------
    Solution
        The sites in the order they were finally kept, the covered weight and
        an upper bound on the optimum of the same count or budget.

    Raises
    ------
    InfeasibleError
        When the greedy cannot place enough sites or meet every district
        minimum; the exact solver may still find a plan.
    """
    st, bound, n_swaps = _run(p, ratio=False, swaps=swaps)
    if p.budget is not None and np.ptp(p.costs[p.eligible]) > 0:
        other, other_bound, other_swaps = _run(p, ratio=True, swaps=swaps)
        bound = min(bound, other_bound)
        if other.value > st.value:
            st, n_swaps = other, other_swaps
    _raise_if_short(st)
    final = np.asarray(st.at @ st.uncovered, dtype=float)
    bound = min(bound, _upper_bound(st, final))
    bound = max(lagrangian_bound(p, lower=st.value, upper=bound, at=st.at), st.value)
    return Solution(
        chosen=np.asarray(st.order, dtype=np.int64),
        covered_weight=st.value,
        upper_bound=bound,
        gap=relative_gap(st.value, bound),
        solver="greedy",
        status="greedy with swaps" if swaps else "greedy",
        swaps=n_swaps,
    )


def _short_count_reason(p: CoverageProblem, placed: int, count: int) -> Reason:
    if p.min_spacing > 0:
        spacing = number(p.min_spacing)
        return reason(code="plan_greedy_short_spaced", placed=placed, count=count, spacing=spacing)
    return reason(code="plan_greedy_short", placed=placed, count=count)


def _raise_if_short(st: _State) -> None:
    p = st.p
    problems: list[Reason] = []
    if p.exact_count and p.count is not None and len(st.order) < p.count:
        problems.append(_short_count_reason(p, len(st.order), p.count))
    for g in np.flatnonzero(st.group_count < p.group_min):
        name, got, low = p.group_names[g], int(st.group_count[g]), int(p.group_min[g])
        problems.append(reason(code="plan_greedy_district_short", district=name, got=got, min=low))
    if problems:
        raise_infeasible(problems)


def explain_order(p: CoverageProblem, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return `chosen` in greedy pick order (locked first) and each site's marginal gain.

    Parameters
    ----------
    p
        The problem.
    chosen
        Site indices of a plan, in any order.

    Returns
    -------
    order, gains
        The sites re-ranked as a greedy restricted to the plan would pick
        them, and the covered weight each adds to the ones before it.
    """
    st = _State(p)
    order: list[int] = []
    gains: list[float] = []
    for group in (chosen[p.locked[chosen]], chosen[~p.locked[chosen]]):
        heap = [(-st.gain(int(j)), int(j)) for j in group]
        heapq.heapify(heap)
        while heap:
            _, j = heapq.heappop(heap)
            g = st.gain(j)
            if heap and g < -heap[0][0] - 1e-12:
                heapq.heappush(heap, (-g, j))
                continue
            before = st.value
            st.add(j)
            order.append(j)
            gains.append(st.value - before)
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float)


def plan_bound(p: CoverageProblem, chosen: np.ndarray) -> float:
    """Return the upper bound on the optimum that the plan `chosen` proves."""
    st = _State(p)
    for j in chosen:
        st.add(int(j))
    return _upper_bound(st, np.asarray(st.at @ st.uncovered, dtype=float))
