"""Checks and tables that turn the planner's inputs into model arrays."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge._errors import EmptyDataError, Notice
from nudge.placement._options import KINDS
from nudge.placement._problem import Reason, number, raise_infeasible, reason

CostSpec = float | Mapping[str, float] | pd.Series | None


def check_options(*, kind: str, radius: float | None, min_spacing: float) -> None:
    problems: list[Reason] = []
    if kind not in KINDS:
        problems.append(reason(code="plan_unknown_kind", kind=kind, kinds=", ".join(KINDS)))
    if radius is not None and not radius > 0:
        problems.append(reason(code="plan_radius_not_positive", radius=number(radius)))
    if not min_spacing >= 0:
        problems.append(reason(code="plan_spacing_negative", spacing=number(min_spacing)))
    if problems:
        raise_infeasible(problems)


def check_arrays(coverage: Any, weights: np.ndarray, costs: np.ndarray, n_sites: int) -> None:
    n_dem = coverage.shape[0]
    if len(weights) != n_dem:
        msg = f"There are {len(weights)} weights for {n_dem} demand points."
        raise EmptyDataError(msg)
    if len(costs) != n_sites or coverage.shape[1] != n_sites:
        msg = (
            f"Costs ({len(costs)}) and the cost matrix ({coverage.shape[1]}) "
            f"must match the {n_sites} sites."
        )
        raise EmptyDataError(msg)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise EmptyDataError(code="demand_weights_invalid")
    if not weights.sum() > 0:
        raise EmptyDataError(code="demand_nothing_to_cover")


def candidate_table(
    candidates: gpd.GeoDataFrame, kind: str, warnings: list[str]
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Return the candidates of `kind` (EPSG:4326) and which of them may be chosen."""
    table = candidates
    if "kind" in table.columns:
        table = table[table["kind"] == kind]
    if not len(table):
        found = sorted(candidates["kind"].unique().tolist()) if "kind" in candidates else []
        raise EmptyDataError(
            code="plan_no_candidates_of_kind", kind=kind, found=", ".join(map(str, found))
        )
    if candidates.crs is None:
        raise EmptyDataError(code="plan_candidates_without_crs")
    missing = (table.geometry.isna() | table.geometry.is_empty).to_numpy()
    if missing.any():
        warnings.append(Notice(code="plan_candidates_without_location", n=int(missing.sum())))
        table = table[~missing]
    ids = table.index.astype(str)
    if ids.duplicated().any():
        dupes = sorted(set(ids[ids.duplicated()]))[:5]
        raise EmptyDataError(code="plan_candidate_ids_repeated", ids=", ".join(dupes))
    if "score" not in table.columns:
        warnings.append(Notice(code="plan_candidates_without_score"))
    excluded = (
        table["excluded"].fillna(False).astype(bool).to_numpy()
        if "excluded" in table.columns
        else np.zeros(len(table), dtype=bool)
    )
    sites = gpd.GeoDataFrame(
        {
            "kind": kind,
            "name": table["name"].to_numpy() if "name" in table.columns else None,
            "score": (
                pd.to_numeric(table["score"], errors="coerce").fillna(0.0).to_numpy()
                if "score" in table.columns
                else 0.0
            ),
            "district": None,
        },
        geometry=table.geometry.to_crs("EPSG:4326").to_numpy(),
        crs="EPSG:4326",
        index=pd.Index(ids, name="site_id"),
    )
    return sites, ~excluded


def demand_table(demand: gpd.GeoDataFrame, weight_column: str) -> tuple[np.ndarray, gpd.GeoSeries]:
    if weight_column not in demand.columns:
        raise EmptyDataError(
            code="demand_column_missing",
            column=weight_column,
            columns=", ".join(map(str, demand.columns)),
        )
    weights = pd.to_numeric(demand[weight_column], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(weights) & (weights > 0) & demand.geometry.notna().to_numpy()
    if not keep.any():
        raise EmptyDataError(code="demand_nothing_to_cover")
    return weights[keep], demand.geometry[keep]


def lock_and_exclude(
    ids: np.ndarray,
    eligible: np.ndarray,
    locked_ids: Iterable[str],
    excluded_ids: Iterable[str],
    warnings: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    index = pd.Index(ids)
    lock = [str(s) for s in locked_ids]
    drop = [str(s) for s in excluded_ids]
    problems: list[Reason] = []
    unknown = [s for s in lock if s not in index]
    if unknown:
        listed = ", ".join(unknown[:10])
        problems.append(reason(code="plan_locked_not_candidates", ids=listed, n=len(unknown)))
    both = sorted(set(lock) & set(drop))
    if both:
        listed = ", ".join(both[:10])
        problems.append(reason(code="plan_locked_and_excluded", ids=listed, n=len(both)))
    if problems:
        raise_infeasible(problems)
    locked = index.isin(lock)
    if np.any(locked & ~eligible):
        names = list(ids[locked & ~eligible][:5])
        warnings.append(Notice(code="plan_locked_were_excluded", ids=", ".join(names)))
    missing = [s for s in drop if s not in index]
    if missing:
        warnings.append(Notice(code="plan_excluded_not_candidates", n=len(missing)))
    return locked, eligible & ~index.isin(drop)


def group_codes(
    sites: gpd.GeoDataFrame,
    demand_districts: Sequence[str | None] | np.ndarray | None,
    names: list[str] | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    site_d = sites["district"].to_numpy(dtype=object)
    dem_d = np.asarray(demand_districts if demand_districts is not None else [], dtype=object)
    if names is None:
        seen = {str(d) for d in site_d if isinstance(d, str)} | {
            str(d) for d in dem_d if isinstance(d, str)
        }
        names = sorted(seen)
    lookup = pd.Index(names)
    groups = lookup.get_indexer(pd.Index(site_d, dtype=object).fillna("\0"))
    if demand_districts is None:
        demand_groups = np.full(0, -1)
    else:
        demand_groups = lookup.get_indexer(pd.Index(dem_d, dtype=object).fillna("\0"))
    return groups.astype(np.int64), demand_groups.astype(np.int64), names


def demand_shares(weights: np.ndarray, groups: np.ndarray, names: list[str]) -> dict[str, float]:
    if len(groups) != len(weights):
        return {}
    sums = np.bincount(groups[groups >= 0], weights=weights[groups >= 0], minlength=len(names))
    return {n: float(s) for n, s in zip(names, sums, strict=True)}


def population_column(districts: gpd.GeoDataFrame, names: pd.Series) -> dict[str, float] | None:
    if "population" not in districts.columns:
        return None
    values = pd.to_numeric(districts["population"], errors="coerce")
    return {str(n): float(v) for n, v in zip(names, values, strict=True) if pd.notna(v)}


def site_costs(
    cost: CostSpec, sites: gpd.GeoDataFrame, kind: str, warnings: list[str]
) -> np.ndarray:
    """Return the cost of each site: per site, else per kind, else one for all (default 1)."""
    n = len(sites)
    if cost is None:
        return np.ones(n)
    if isinstance(cost, int | float | np.number):
        return np.full(n, float(cost))
    table = pd.Series(cost, dtype=float) if not isinstance(cost, pd.Series) else cost.astype(float)
    table.index = table.index.astype(str)
    base = float(table[kind]) if kind in table.index else 1.0
    if kind not in table.index and not table.index.isin(sites.index).all():
        warnings.append(Notice(code="plan_no_cost_for_kind", kind=kind))
    per_site = table.reindex(sites.index.astype(str))
    unknown = set(table.index) - set(KINDS) - set(sites.index.astype(str))
    if unknown:
        warnings.append(Notice(code="plan_cost_entries_unmatched", n=len(unknown)))
    return per_site.fillna(base).to_numpy(dtype=float)
