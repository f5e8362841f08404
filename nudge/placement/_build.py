"""Turn a plan's arrays and options into the numeric problem: locks, exclusions, quotas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np

from nudge._errors import InfeasibleError, Notice
from nudge.placement import _districts, _inputs
from nudge.placement._options import PlanOptions
from nudge.placement._problem import CoverageProblem, check_feasible, default_score_weight


def build_problem(
    *,
    coverage: Any,
    weights: np.ndarray,
    sites: gpd.GeoDataFrame,
    eligible: np.ndarray,
    costs: np.ndarray,
    conflicts: np.ndarray,
    cells: np.ndarray,
    demand_districts: Sequence[str | None] | np.ndarray | None,
    options: PlanOptions,
    warnings: list[str],
) -> tuple[CoverageProblem, np.ndarray]:
    """Apply locks, exclusions and quotas and check feasibility.

    Returns
    -------
    problem, demand_groups
        The checked problem, and the district index of each demand point
        (-1 outside every district). Notes are appended to `warnings`.
    """
    o = options
    _inputs.check_arrays(coverage, weights, costs, len(sites))
    ids = sites.index.to_numpy().astype(str)
    locked, eligible = _inputs.lock_and_exclude(ids, eligible, o.locked, o.excluded, warnings)
    conflicts = _without_locked_pairs(conflicts, locked, o.min_spacing, warnings)
    known = None if o.group_names is None else list(o.group_names)
    groups, demand_groups, names = _inputs.group_codes(sites, demand_districts, known)
    low, high = _quota_limits(o, names, weights, demand_groups, warnings)
    max_sites = o.count or int(min(len(ids), max(1, (o.budget or 1) / max(costs.min(), 1e-9))))
    score_weight = (
        default_score_weight(weights, max_sites)
        if o.score_weight is None
        else float(o.score_weight)
    )
    problem = CoverageProblem(
        coverage=coverage,
        weights=weights,
        scores=np.nan_to_num(sites["score"].to_numpy(dtype=float), nan=0.0),
        costs=costs,
        eligible=eligible | locked,
        locked=locked,
        conflicts=conflicts,
        cells=cells,
        groups=groups,
        group_names=tuple(names),
        group_min=low,
        group_max=high,
        count=o.count,
        budget=o.budget,
        score_weight=score_weight,
        site_labels=tuple(ids),
        min_spacing=float(o.min_spacing),
        noun=o.kind,
    )
    check_feasible(problem)
    return problem, demand_groups


def _without_locked_pairs(
    conflicts: np.ndarray, locked: np.ndarray, spacing: float, warnings: list[str]
) -> np.ndarray:
    """Drop the spacing conflicts between two locked sites (both stay), with a warning."""
    if not len(conflicts):
        return conflicts
    pair_locked = locked[conflicts[:, 0]] & locked[conflicts[:, 1]]
    if not pair_locked.any():
        return conflicts
    n_pairs = int(pair_locked.sum())
    warnings.append(Notice(code="plan_locked_too_close", n=n_pairs, spacing=spacing))
    return conflicts[~pair_locked]


def _quota_limits(
    o: PlanOptions,
    names: list[str],
    weights: np.ndarray,
    demand_groups: np.ndarray,
    warnings: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Return the minimum and maximum number of sites per district."""
    if o.quota is not None and not names:
        raise InfeasibleError(code="quota_needs_districts")
    shares = o.population
    if shares is None and names and isinstance(o.quota, str):
        shares = _inputs.demand_shares(weights, demand_groups, names)
        if o.quota.strip().lower() == "proportional":
            warnings.append(Notice(code="plan_shares_from_demand"))
    return _districts.quota_bounds(o.quota, names, count=o.count, shares=shares)
