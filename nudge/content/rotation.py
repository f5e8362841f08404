"""Rotation calendar: which entry each planned site shows in each flight.

A campaign runs from a start date in flights of a fixed length. `plan_rotation`
chooses one entry per site and flight so that an entry does not return to a
site within `min_gap` flights, sites closer than `neighbour_distance` metres
never show the same entry in one flight, footfall-weighted exposure is spread
as evenly as the rules allow, every region (the plan's ``district``, else
``region``) sees every theme it can, suitability (`nudge.content.matching`) is
high, retired entries and people without consent are never used, and locked
cells are kept. The solver is greedy with repair (`nudge.content._solver`);
every rule it could not keep is reported in `RotationResult.violations` with
the reason. With a rollout (`region_starts`: each region's first flight or
first campaign day), the sites of a region show nothing before it starts.

Typical use::

    result = plan_rotation(plan, load_library(settings), flights=13,
                           start=date(2025, 1, 6), campaign=campaign_from_file())
    result.calendar          # site x flight table of entry ids
    write_rotation(result, Path("calendar.csv"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from nudge._errors import InputFileError, Notice, ProfileError
from nudge.content._exact import (
    MAX_CELLS,
    ExactRotation,
    cell_count,
    solve_exact,
)
from nudge.content._live import live_mask
from nudge.content._solver import (
    RotationProblem,
    ScoreWeights,
    fair_shares,
    repair_themes,
    solve_greedy,
)
from nudge.content._violations import Violation, check_rotation, dropped_lock
from nudge.content.calendar import rotation_tables
from nudge.content.campaign import CampaignSettings
from nudge.content.library import ContentLibrary
from nudge.content.matching import (
    MatchResult,
    MatchRules,
    match_content,
    plan_from_frame,
    site_points,
)
from nudge.content.schema import THEMES

GREEDY_STATUS = Notice(code="rotation_greedy")
SOLVERS = ("greedy", "exact")
"""Rotation solvers: greedy with repair (any size), or exact (HiGHS, started from the greedy)."""

RULES = ("unplaced", "gap", "neighbour", "theme", "locked", "format")
"""Rules a rotation reports on (counts per rule in `RotationResult.violation_counts`)."""


@dataclass(frozen=True, slots=True)
class RotationResult:
    """Everything a rotation produced, declared up front.

    Attributes
    ----------
    flights
        One row per flight: ``flight`` (1-based), ``label``, ``start``, ``end``.
    calendar
        Site x flight table of entry ids (index ``site_id``, columns the flight
        labels; empty string where nothing could be placed).
    schedule
        One row per site and flight: site, flight dates, entry, its texts,
        suitability and whether the cell was locked.
    exposure
        One row per entry: placements, sites, footfall-weighted exposure, fair
        share and their ratio.
    print_orders
        Copies of each entry per format per flight.
    violations
        Every rule not kept.
    exposure_cv
        Coefficient of variation of exposure / fair share over the entries
        that may be placed somewhere (0 is perfectly even).
    min_gap
        The gap asked for (None: as long as each site's choice allows).
    site_gap
        The gap applied at each site.
    neighbour_distance
        Metres under which two sites are neighbours.
    neighbour_pairs
        How many pairs of sites are neighbours.
    match
        The suitability of every entry at every site, with reasons.
    solver, status
        The solver asked for and what it did (``optimal``, ``time limit``...).
    cost, gap
        With the exact solver: the objective of `nudge.content._exact` (lower
        is better) and how far above the proven lower bound it may be (0 when
        optimal); NaN otherwise.
    """

    flights: pd.DataFrame
    calendar: pd.DataFrame
    schedule: pd.DataFrame
    exposure: pd.DataFrame
    print_orders: pd.DataFrame
    violations: list[Violation]
    exposure_cv: float
    min_gap: int | None
    site_gap: pd.Series
    neighbour_distance: float
    neighbour_pairs: int
    match: MatchResult
    solver: str = "greedy"
    status: str = "greedy with repair"  # the GREEDY_STATUS notice
    cost: float = float("nan")
    gap: float = float("nan")

    @property
    def violation_counts(self) -> dict[str, int]:
        """Return the number of violations per rule (every rule listed, 0 when kept)."""
        counts = dict.fromkeys(RULES, 0)
        for v in self.violations:
            counts[v.rule] = counts.get(v.rule, 0) + 1
        return counts

    @property
    def assignments(self) -> int:
        """Return the number of site-flight cells that show an entry."""
        return int(self.schedule["item_id"].notna().sum())

    def as_dict(self, *, out: str | None = None, details: int = 50) -> dict[str, Any]:
        """Return the JSON summary of the CLI (with the first `details` violations)."""
        return {
            "sites": len(self.calendar),
            "flights": len(self.flights),
            "assignments": self.assignments,
            "violations": self.violation_counts,
            "exposure_cv": round(self.exposure_cv, 4),
            "out": out,
            "min_gap": self.min_gap,
            "neighbour_distance": self.neighbour_distance,
            "neighbour_pairs": self.neighbour_pairs,
            "items_used": int((self.exposure["placements"] > 0).sum()),
            "solver": self.solver,
            "status": self.status,
            "gap": None if np.isnan(self.gap) else round(self.gap, 6),
            "violation_details": [v.as_dict() for v in self.violations[:details]],
        }


def flight_table(start: date, flights: int, flight_weeks: int) -> pd.DataFrame:
    """Return the flights of a campaign: number, label, first and last day."""
    if flights < 1 or flight_weeks < 1:
        raise ProfileError(code="content_flights", flights=flights, weeks=flight_weeks)
    starts = [start + timedelta(weeks=flight_weeks * k) for k in range(flights)]
    return pd.DataFrame(
        {
            "flight": range(1, flights + 1),
            "label": [f"F{k + 1:02d} {s.isoformat()}" for k, s in enumerate(starts)],
            "start": starts,
            "end": [s + timedelta(weeks=flight_weeks) - timedelta(days=1) for s in starts],
        }
    )


def site_weights(plan: pd.DataFrame) -> np.ndarray:
    """Return each site's footfall weight: ``covered_weight``, else ``score``, else 1."""
    for column in ("covered_weight", "score"):
        if column in plan.columns:
            values = pd.to_numeric(plan[column], errors="coerce").to_numpy(dtype=float)
            if np.nansum(values) > 0:
                positive = values[values > 0]
                floor = float(positive.min()) * 0.1 if positive.size else 1.0
                return np.where(np.isfinite(values) & (values > 0), values, floor)
    return np.ones(len(plan))


def region_groups(plan: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Return the region position of each site (``district``, else ``region``) and names."""
    for column in ("district", "region"):
        if column in plan.columns and plan[column].notna().any():
            names = plan[column].fillna("(none)").astype(str)
            codes, uniques = pd.factorize(names)
            return codes.astype(np.int64), [str(u) for u in uniques]
    return np.zeros(len(plan), dtype=np.int64), ["(all)"]


def neighbour_lists(
    plan: gpd.GeoDataFrame, distance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the neighbour lists (CSR pointer and index) and the pairs within `distance` m."""
    n = len(plan)
    if n < 2 or distance <= 0:
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    xy = site_points(plan, plan.estimate_utm_crs())
    pairs = cKDTree(xy).query_pairs(r=distance, output_type="ndarray")
    both = np.concatenate([pairs, pairs[:, ::-1]]) if len(pairs) else np.zeros((0, 2), int)
    order = np.argsort(both[:, 0], kind="stable") if len(both) else np.zeros(0, int)
    both = both[order]
    ptr = np.searchsorted(both[:, 0], np.arange(n + 1)) if len(both) else np.zeros(n + 1, int)
    return ptr.astype(np.int64), both[:, 1].astype(np.int64), pairs


def _lock_array(
    locked: Mapping[tuple[str, int], str] | pd.DataFrame | None,
    site_ids: pd.Index,
    items: pd.DataFrame,
    flights: int,
    unusable: Mapping[str, str],
) -> tuple[np.ndarray, list[Violation]]:
    """Return the (n, F) lock array and the locks that had to be dropped."""
    lock = np.full((len(site_ids), flights), -1, dtype=np.int64)
    if locked is None:
        return lock, []
    if isinstance(locked, pd.DataFrame):
        triples = zip(locked["site_id"], locked["flight"], locked["item_id"], strict=True)
        entries = [((str(s), int(f)), str(i)) for s, f, i in triples]
    else:
        entries = [((str(s), int(f)), str(i)) for (s, f), i in locked.items()]
    site_pos = pd.Series(np.arange(len(site_ids)), index=site_ids)
    item_pos = pd.Series(np.arange(len(items)), index=items.index)
    cells, dropped = [], []
    for (site, flight), item in entries:
        if site not in site_pos.index or item not in item_pos.index or not 1 <= flight <= flights:
            cells.append(f"{site} / {flight} / {item}")
        elif item in unusable:
            dropped.append(dropped_lock(site, flight, item, items))
        else:
            lock[site_pos[site], flight - 1] = item_pos[item]
    if cells:
        raise InputFileError(
            code="content_locks_unknown",
            n=len(cells),
            flights=flights,
            locks="; ".join(cells[:10]),
        )
    return lock, dropped


def _theme_matrix(items: pd.DataFrame) -> np.ndarray:
    themes = np.zeros((len(items), len(THEMES)), dtype=bool)
    position = {t: k for k, t in enumerate(THEMES)}
    for row, entry in enumerate(items["themes"]):
        for theme in entry or ():
            if theme in position:
                themes[row, position[theme]] = True
    return themes


def plan_rotation(
    plan: gpd.GeoDataFrame,
    items: ContentLibrary | pd.DataFrame,
    *,
    flights: int,
    start: date,
    campaign: CampaignSettings,
    flight_weeks: int = 4,
    min_gap: int | None = None,
    neighbour_distance: float = 500.0,
    locked: Mapping[tuple[str, int], str] | pd.DataFrame | None = None,
    features: gpd.GeoDataFrame | None = None,
    rules: MatchRules | None = None,
    match: MatchResult | None = None,
    city: str | None = None,
    region: str | None = None,
    include_examples: bool = False,
    weights: ScoreWeights | None = None,
    seed: int = 0,
    solver: str = "greedy",
    time_limit: float = 60.0,
    region_starts: Mapping[str, int | date] | None = None,
    live: np.ndarray | pd.DataFrame | None = None,
) -> RotationResult:
    """Build the rotation calendar of a plan.

    Parameters
    ----------
    plan
        Planned sites (``site_id``, ``kind``, ``score`` or ``covered_weight``,
        optional ``district``/``region``, point geometry).
    items
        The content library, or its `ContentLibrary.frame` table.
    flights
        Number of flights.
    start
        First day of the campaign.
    campaign
        Campaign settings (formats and text limits).
    flight_weeks
        Length of one flight in weeks.
    min_gap
        An entry does not return to a site within this many flights; None
        means not at all, or as long as the site's choice of entries allows.
    neighbour_distance
        Sites closer than this (metres) never show the same entry in a flight.
    locked
        ``{(site_id, flight): item_id}`` (flights 1-based), or a table with
        those three columns: cells that must show the given entry.
    features, rules, city, region, include_examples
        Passed to `nudge.content.matching.match_content`.
    match
        A suitability already computed for this plan and library.
    weights
        How the greedy weighs fairness, suitability and new themes.
    seed
        Seed of the tie-breaking.
    solver
        ``greedy`` (greedy with repair, any size) or ``exact``: the greedy
        result improved by a mixed-integer programme in HiGHS, for up to
        `nudge.content._exact.MAX_CELLS` site x flight x entry variables
        (larger rotations keep the greedy result and say so in `status`).
    time_limit
        Seconds the exact solver may run.
    region_starts
        Region (code or name, matched to the plan's ``region`` or `region`) -> its
        first flight (1-based) or first campaign day (the first flight starting on or
        after it): a rollout. Sites of a region show nothing before; every site's
        region must be listed.
    live
        Cells that may show an entry: (sites, flights) bool array in plan order, or a
        table indexed by ``site_id`` with one column per flight (see
        `nudge.content._live.live_mask`).

    Returns
    -------
    RotationResult
    """
    plan = plan_from_frame(plan)
    if min_gap is not None and min_gap < 0:
        raise ProfileError(code="content_min_gap", min_gap=min_gap)
    table = flight_table(start, flights, flight_weeks)
    match = match or match_content(
        plan,
        items,
        campaign=campaign,
        features=features,
        rules=rules,
        city=city,
        region=region,
        include_examples=include_examples,
    )
    mask = live_mask(plan, table, region_starts=region_starts, live=live, region=region)
    problem, dropped, pairs = _problem_from(
        plan, match, flights=flights, min_gap=min_gap, distance=neighbour_distance, locked=locked
    )
    problem, dropped = _with_live(problem, mask, dropped, plan.index, match.items.index)
    _check_solver(solver)
    greedy = repair_themes(problem, solve_greedy(problem, weights=weights, seed=seed))
    outcome = _improve(problem, greedy, solver=solver, time_limit=time_limit)
    assign = outcome.assign if mask is None else np.where(mask, outcome.assign, -1)
    groups = region_groups(plan)[1]
    found = check_rotation(assign, problem, plan.index, match, groups)
    violations = dropped + _live_only(found, mask, plan.index)
    tables = rotation_tables(plan, match, problem, assign, table)
    ratio = tables["exposure"]["ratio"].dropna().to_numpy()
    cv = float(ratio.std() / ratio.mean()) if ratio.size and ratio.mean() > 0 else 0.0
    return RotationResult(
        flights=table,
        calendar=tables["calendar"],
        schedule=tables["schedule"],
        exposure=tables["exposure"],
        print_orders=tables["print_orders"],
        violations=violations,
        exposure_cv=cv,
        min_gap=min_gap,
        site_gap=pd.Series(problem.gap, index=plan.index, name="gap"),
        neighbour_distance=float(neighbour_distance),
        neighbour_pairs=len(pairs),
        match=match,
        solver=solver,
        status=outcome.status,
        cost=outcome.cost,
        gap=outcome.gap,
    )


def _with_live(
    problem: RotationProblem,
    mask: np.ndarray | None,
    dropped: list[Violation],
    site_ids: pd.Index,
    item_ids: pd.Index,
) -> tuple[RotationProblem, list[Violation]]:
    """Return the problem with its live cells: dark sites place nothing, locks there drop."""
    if mask is None:
        return problem, dropped
    lock = problem.locked.copy()
    rows, cols = np.nonzero((lock >= 0) & ~mask)
    items = [str(i) for i in item_ids]
    for r, c in zip(rows, cols, strict=True):
        item = items[int(lock[r, c])]
        at = Violation(None, site=str(site_ids[int(r)]), flight=int(c) + 1, entry=item)
        dropped = [*dropped, replace(at, code="rotation_lock_not_live", params={"item": item})]
    lock[rows, cols] = -1
    eligible = problem.eligible & np.asarray(mask.any(axis=1))[:, None]
    fair = fair_shares(eligible, problem.weight, mask.sum(axis=1))
    changed = replace(problem, eligible=eligible, locked=lock, fair=fair, live=mask)
    return changed, dropped


def _live_only(
    violations: list[Violation], mask: np.ndarray | None, site_ids: pd.Index
) -> list[Violation]:
    """Return the violations without the empty cells that are dark on purpose."""
    if mask is None:
        return violations
    position = {str(s): k for k, s in enumerate(site_ids)}

    def dark(v: Violation) -> bool:
        return v.rule == "unplaced" and not mask[position[str(v.site)], int(v.flight or 1) - 1]

    return [v for v in violations if not dark(v)]


def _check_solver(solver: str) -> None:
    if solver not in SOLVERS:
        allowed = ", ".join(SOLVERS)
        raise ProfileError(code="content_solver_unknown", solver=solver, allowed=allowed)


def _improve(
    problem: RotationProblem, assign: np.ndarray, *, solver: str, time_limit: float
) -> ExactRotation:
    """Return the greedy `assign` as it is, or improved by the exact solver."""
    if solver == "greedy":
        return ExactRotation(assign, np.nan, np.nan, np.nan, GREEDY_STATUS)
    cells = cell_count(problem)
    if cells > MAX_CELLS:
        status = Notice(code="rotation_exact_too_large", cells=cells, most=MAX_CELLS)
        return ExactRotation(assign, np.nan, np.nan, np.nan, status)
    return solve_exact(problem, start=assign, time_limit=time_limit)


def _problem_from(
    plan: gpd.GeoDataFrame,
    match: MatchResult,
    *,
    flights: int,
    min_gap: int | None,
    distance: float,
    locked: Mapping[tuple[str, int], str] | pd.DataFrame | None,
) -> tuple[RotationProblem, list[Violation], np.ndarray]:
    eligible = match.eligible.reindex(index=plan.index).to_numpy(dtype=bool)
    raw = match.scores.reindex(index=plan.index).to_numpy(dtype=float)
    top = raw.max() if raw.size else 0.0
    suitability = raw / top if top > 0 else np.zeros_like(raw)
    weight = site_weights(plan)
    options = eligible.sum(axis=1)
    if min_gap is None:
        gap = np.clip(np.minimum(flights - 1, options - 1), 0, None)
    else:
        gap = np.full(len(plan), min_gap)
    ptr, idx, pairs = neighbour_lists(plan, distance)
    lock, dropped = _lock_array(locked, plan.index, match.items, flights, match.unusable)
    group = region_groups(plan)[0]
    problem = RotationProblem(
        eligible=eligible,
        suitability=suitability,
        weight=weight,
        gap=gap.astype(np.int64),
        nbr_ptr=ptr,
        nbr_idx=idx,
        locked=lock,
        themes=_theme_matrix(match.items),
        group=group,
        fair=fair_shares(eligible, weight, flights),
    )
    return problem, dropped, pairs
