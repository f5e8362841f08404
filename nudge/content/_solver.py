"""The numeric core of the rotation: greedy assignment per flight, then repair.

Everything here works on numpy arrays with sites, entries and flights as
integer positions; `nudge.content.rotation` builds the arrays from a plan and
the library and turns the result back into tables.

The greedy pass goes flight by flight. Locked cells are set first; then each
site, the most constrained first (fewest placeable entries, then heaviest),
takes the placeable entry with the best score among those that keep every
hard rule (not shown at this site within its gap, not shown at a neighbour in
this flight). The score mixes fairness (how far the entry's footfall-weighted
exposure already is above its fair share), suitability and a bonus for a theme
the site's region has not seen yet. When no entry keeps every rule, the gap
rule is relaxed first (the entry seen longest ago), then the neighbour rule
(the entry fewest neighbours show). A repair pass then swaps cells so that
every region sees every theme it can. Rules still broken are found by
`nudge.content._violations.check_rotation` and reported, never hidden.

Cells that are not live yet (a region whose campaign starts in a later flight of a
rollout, `RotationProblem.live`) are left empty by both passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEVER = -(10**6)


@dataclass(frozen=True, slots=True)
class RotationProblem:
    """The arrays of one rotation problem.

    Attributes
    ----------
    eligible
        (n, m) bool: entry j may be placed at site i.
    suitability
        (n, m) float in [0, 1].
    weight
        (n,) footfall weight of each site (> 0).
    gap
        (n,) int: an entry does not return to the site within this many flights.
    nbr_ptr, nbr_idx
        Neighbour lists in CSR form (site i's neighbours are
        ``nbr_idx[nbr_ptr[i]:nbr_ptr[i + 1]]``).
    locked
        (n, F) int: entry locked at a site in a flight, or -1.
    themes
        (m, T) bool: the entry's themes.
    group
        (n,) int: the site's region (theme coverage is per region).
    fair
        (m,) float: each entry's fair share of footfall-weighted exposure.
    live
        (n, F) bool: the site shows anything in the flight (False before its region's
        first flight of a rollout); None: every cell is live.
    """

    eligible: np.ndarray
    suitability: np.ndarray
    weight: np.ndarray
    gap: np.ndarray
    nbr_ptr: np.ndarray
    nbr_idx: np.ndarray
    locked: np.ndarray
    themes: np.ndarray
    group: np.ndarray
    fair: np.ndarray
    live: np.ndarray | None = None

    @property
    def flights(self) -> int:
        """Return the number of flights."""
        return int(self.locked.shape[1])

    def neighbours(self, site: int) -> np.ndarray:
        """Return the neighbour positions of `site`."""
        return self.nbr_idx[self.nbr_ptr[site] : self.nbr_ptr[site + 1]]

    def live_cells(self) -> np.ndarray:
        """Return the (n, F) bool mask of the cells that may show an entry."""
        if self.live is None:
            return np.ones(self.locked.shape, dtype=bool)
        return np.asarray(self.live, dtype=bool)


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """How the greedy score weighs fairness, suitability and new themes."""

    fairness: float = 1.0
    suitability: float = 0.3
    new_theme: float = 0.5


def fair_shares(eligible: np.ndarray, weight: np.ndarray, flights: int | np.ndarray) -> np.ndarray:
    """Return each entry's fair exposure: every site splits its footfall evenly.

    A site of weight w that may show k entries gives each of them w * F / k, F being the
    number of flights, or per site the number of its live flights.
    """
    count = eligible.sum(axis=1)
    share = np.divide(weight * flights, count, out=np.zeros_like(weight), where=count > 0)
    return eligible.T.astype(float) @ share


def solve_greedy(
    problem: RotationProblem, *, weights: ScoreWeights | None = None, seed: int = 0
) -> np.ndarray:
    """Assign one entry to every site and flight; return an (n, F) int array (-1: none)."""
    weights = weights or ScoreWeights()
    n, m = problem.eligible.shape
    flights = problem.flights
    rng = np.random.default_rng(seed)
    assign = np.full((n, flights), -1, dtype=np.int64)
    last = np.full((n, m), NEVER, dtype=np.int64)
    exposure = np.zeros(m)
    fair = np.maximum(problem.fair, 1e-9)
    n_groups = int(problem.group.max()) + 1 if n else 0
    seen = np.zeros((n_groups, problem.themes.shape[1]), dtype=bool)
    new_theme = np.tile(problem.themes.any(axis=1).astype(float), (n_groups, 1))
    options = problem.eligible.sum(axis=1)
    jitter = rng.random(n) * 1e-6
    order = np.lexsort((-problem.weight - jitter, options))
    state = _State(assign, last, exposure, seen, new_theme)
    live = problem.live_cells()
    for flight in range(flights):
        locked_sites = np.flatnonzero((problem.locked[:, flight] >= 0) & live[:, flight])
        for site in locked_sites:
            state.place(problem, int(site), flight, int(problem.locked[site, flight]))
        for site in order:
            if assign[site, flight] >= 0 or not live[site, flight]:
                continue
            item = _choose(problem, state, int(site), flight, fair=fair, weights=weights)
            if item >= 0:
                state.place(problem, int(site), flight, item)
    return assign


@dataclass(slots=True)
class _State:
    assign: np.ndarray
    last: np.ndarray
    exposure: np.ndarray
    seen: np.ndarray
    new_theme: np.ndarray

    def place(self, problem: RotationProblem, site: int, flight: int, item: int) -> None:
        self.assign[site, flight] = item
        self.last[site, item] = flight
        self.exposure[item] += problem.weight[site]
        group = problem.group[site]
        fresh = problem.themes[item] & ~self.seen[group]
        if fresh.any():
            self.seen[group] |= fresh
            unseen = ~self.seen[group]
            self.new_theme[group] = (problem.themes & unseen).any(axis=1)


def _choose(
    problem: RotationProblem,
    state: _State,
    site: int,
    flight: int,
    *,
    fair: np.ndarray,
    weights: ScoreWeights,
) -> int:
    eligible = problem.eligible[site]
    if not eligible.any():
        return -1
    nbr_items = state.assign[problem.neighbours(site), flight]
    nbr_items = nbr_items[nbr_items >= 0]
    free = eligible.copy()
    free[nbr_items] = False
    recent = state.last[site] > flight - 1 - problem.gap[site]
    candidates = np.flatnonzero(free & ~recent)
    penalty = None
    if candidates.size == 0:
        candidates = np.flatnonzero(free)
        penalty = np.maximum(state.last[site, candidates], -1) * 10.0
    if candidates.size == 0:
        candidates = np.flatnonzero(eligible)
        clashes = np.bincount(nbr_items, minlength=eligible.size)[candidates]
        penalty = clashes * 1e6 + np.maximum(state.last[site, candidates], -1) * 10.0
    group = problem.group[site]
    score = (
        weights.suitability * problem.suitability[site, candidates]
        - weights.fairness * (state.exposure[candidates] + problem.weight[site]) / fair[candidates]
        + weights.new_theme * state.new_theme[group, candidates]
    )
    if penalty is not None:
        score = score - penalty
    return int(candidates[int(np.argmax(score))])


def repair_themes(problem: RotationProblem, assign: np.ndarray) -> np.ndarray:
    """Swap cells so that every region sees every theme its sites can show.

    A cell is changed only when the new entry keeps the gap and neighbour
    rules, the cell is not locked and no theme disappears from the region.
    """
    assign = assign.copy()
    n_groups = int(problem.group.max()) + 1 if len(problem.group) else 0
    for group in range(n_groups):
        sites = np.flatnonzero(problem.group == group)
        for theme in np.flatnonzero(reachable_themes(problem, sites)):
            if _theme_count(problem, assign, sites)[theme] == 0:
                _add_theme(problem, assign, sites, int(theme))
    return assign


def reachable_themes(problem: RotationProblem, sites: np.ndarray) -> np.ndarray:
    """Return which themes some entry placeable at `sites` carries."""
    placeable = np.asarray(problem.eligible[sites].any(axis=0), dtype=bool)
    return np.asarray((placeable[:, None] & problem.themes).any(axis=0), dtype=bool)


def _theme_count(problem: RotationProblem, assign: np.ndarray, sites: np.ndarray) -> np.ndarray:
    items = assign[sites].ravel()
    items = items[items >= 0]
    return problem.themes[items].sum(axis=0)


def _add_theme(problem: RotationProblem, assign: np.ndarray, sites: np.ndarray, theme: int) -> bool:
    counts = _theme_count(problem, assign, sites)
    with_theme = np.flatnonzero(problem.themes[:, theme])
    live = problem.live_cells()
    best: tuple[float, int, int, int] | None = None
    for site in sites:
        options = with_theme[problem.eligible[site, with_theme]]
        if options.size == 0:
            continue
        for flight in range(problem.flights):
            current = assign[site, flight]
            if problem.locked[site, flight] >= 0 or not live[site, flight]:
                continue
            if current >= 0 and (problem.themes[current] & (counts <= 1)).any():
                continue
            for item in options:
                if _keeps_rules(problem, assign, site, flight, int(item)):
                    loss = problem.suitability[site, current] if current >= 0 else 0.0
                    gain = float(problem.suitability[site, item] - loss)
                    if best is None or gain > best[0]:
                        best = (gain, int(site), flight, int(item))
        if best is not None and best[0] >= 0:
            break
    if best is None:
        return False
    _, site, flight, item = best
    assign[site, flight] = item
    return True


def _keeps_rules(
    problem: RotationProblem, assign: np.ndarray, site: int, flight: int, item: int
) -> bool:
    if (assign[problem.neighbours(site), flight] == item).any():
        return False
    gap = int(problem.gap[site])
    lo, hi = max(0, flight - gap), min(problem.flights, flight + gap + 1)
    window = assign[site, lo:hi].copy()
    window[flight - lo] = -1
    return not (window == item).any()
