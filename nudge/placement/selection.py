"""Site selection: the set of sites that together reach the most people.

The model is a maximal covering location problem (Church and ReVelle): a
demand point is covered when a chosen site lies within the service radius;
the plan maximises the covered demand weight plus a small term for the sites'
own scores (worth less in total than half the smallest demand weight, so it
only breaks ties). Planners can ask for a number of sites or a budget, a
minimum spacing between sites, district quotas (fixed or proportional to
population), sites that must stay (locked) and sites that must not be used.

`MaximalCoverage` builds the model, in the manner of spopt's location models:
`MaximalCoverage.from_cost_matrix` takes numpy arrays, and
`MaximalCoverage.from_geodataframe` checks and projects GeoDataFrames, then
delegates. Impossible constraints are explained in words before any solver
runs. `MaximalCoverage.solve` runs the lazy greedy with swaps (``"greedy"``) or
HiGHS (``"exact"``, warm-started by the greedy) and returns a `PlanResult`.
`plan_sites` does both in one call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge._errors import InfeasibleError, Notice
from nudge.geo.districts import DistrictLayer
from nudge.placement import _coverage, _districts, _inputs
from nudge.placement._build import build_problem
from nudge.placement._exact import solve_exact_warm
from nudge.placement._greedy import plan_bound, solve_greedy
from nudge.placement._inputs import CostSpec
from nudge.placement._options import (
    KINDS,
    RADIUS_BY_KIND,
    SOLVERS,
    Kind,
    PlanOptions,
    QuotaSpec,
    Solver,
    text_ids,
)
from nudge.placement._problem import (
    CoverageProblem,
    Solution,
    relative_gap,
)
from nudge.placement._report import PLAN_COLUMNS, PlanResult, build_result

__all__ = [
    "KINDS",
    "PLAN_COLUMNS",
    "RADIUS_BY_KIND",
    "SOLVERS",
    "Kind",
    "MaximalCoverage",
    "PlanOptions",
    "PlanResult",
    "QuotaSpec",
    "Solver",
    "plan_sites",
]


class MaximalCoverage:
    """A site-selection model: candidate sites, weighted demand and constraints.

    Build it with `from_geodataframe` or `from_cost_matrix`; both check the
    constraints and raise `InfeasibleError` with the reasons in words when no
    plan can meet them. Then call `solve`.

    Attributes
    ----------
    problem
        The numeric problem (coverage matrix, weights, constraints).
    sites
        One row per model column: index = site id, columns ``kind``, ``name``,
        ``score``, ``district``, geometry in EPSG:4326 (empty without geometry).
    demand_groups
        District index of each demand point (-1 outside every district).
    kind, radius, distance
        What is planned and how coverage is measured.
    warnings
        Notes collected while building the model.
    """

    def __init__(
        self,
        problem: CoverageProblem,
        *,
        sites: gpd.GeoDataFrame,
        demand_groups: np.ndarray,
        kind: str,
        radius: float,
        distance: str,
        warnings: Sequence[str] = (),
    ) -> None:
        self.problem = problem
        self.sites = sites
        self.demand_groups = demand_groups
        self.kind = kind
        self.radius = float(radius)
        self.distance = distance
        self.warnings = tuple(warnings)

    @classmethod
    def from_cost_matrix(
        cls,
        cost_matrix: Any,
        weights: Sequence[float] | np.ndarray,
        *,
        radius: float,
        count: int | None = None,
        budget: float | None = None,
        costs: Sequence[float] | np.ndarray | None = None,
        scores: Sequence[float] | np.ndarray | None = None,
        site_distances: Any = None,
        min_spacing: float = 0.0,
        site_districts: Sequence[str | None] | None = None,
        demand_districts: Sequence[str | None] | None = None,
        quota: QuotaSpec = None,
        population: Mapping[str, float] | None = None,
        locked: Iterable[str] = (),
        excluded: Iterable[str] = (),
        site_ids: Sequence[str] | None = None,
        score_weight: float | None = None,
        kind: str = "site",
    ) -> MaximalCoverage:
        """Build the model from a demand-by-site distance matrix.

        Parameters
        ----------
        cost_matrix
            Distances (or travel times), shape ``(n_demand, n_sites)``, dense
            or scipy sparse (missing entries are unreachable).
        weights
            Weight of each demand point.
        radius
            Service radius, in the units of `cost_matrix`.
        count, budget
            Number of sites (exact unless a budget is given too) and/or the
            total budget.
        costs
            Cost of each site (default 1).
        scores
            Score (0-100) of each site (default 0).
        site_distances
            Site-by-site distances for the minimum spacing.
        min_spacing
            Minimum distance between two chosen sites.
        site_districts, demand_districts
            District name of each site and demand point (None outside).
        quota
            District quotas; see `nudge.placement._districts.quota_bounds`.
        population
            Population per district for proportional quotas (default: demand
            weight per district).
        locked, excluded
            Site ids that must be in, or must stay out of, the plan.
        site_ids
            Id of each site (default ``"0"``, ``"1"``...).
        score_weight
            Weight of the score term (default: a tie-breaker).
        kind
            What is planned, used in messages.

        Returns
        -------
        MaximalCoverage
        """
        coverage = _coverage.coverage_from_costs(cost_matrix, radius)
        n_sites = coverage.shape[1]
        ids = np.asarray([str(i) for i in (range(n_sites) if site_ids is None else site_ids)])
        conflicts = (
            _coverage.conflicts_from_costs(site_distances, min_spacing)
            if site_distances is not None
            else np.zeros((0, 2), dtype=np.int64)
        )
        sites = gpd.GeoDataFrame(
            {
                "kind": kind,
                "name": None,
                "score": np.zeros(n_sites) if scores is None else np.asarray(scores, dtype=float),
                "district": site_districts if site_districts is not None else None,
            },
            geometry=gpd.GeoSeries([None] * n_sites),
            index=pd.Index(ids, name="site_id"),
        )
        warnings: list[str] = []
        options = PlanOptions(
            kind=kind,
            radius=radius,
            distance="cost matrix",
            count=count,
            budget=budget,
            min_spacing=min_spacing if site_distances is not None else 0.0,
            quota=quota,
            population=population,
            locked=text_ids(locked),
            excluded=text_ids(excluded),
            score_weight=score_weight,
        )
        built = build_problem(
            coverage=coverage,
            weights=np.asarray(weights, dtype=float).ravel(),
            sites=sites,
            eligible=np.ones(n_sites, dtype=bool),
            costs=np.ones(n_sites) if costs is None else np.asarray(costs, dtype=float),
            conflicts=conflicts,
            cells=np.arange(n_sites),
            demand_districts=demand_districts,
            options=options,
            warnings=warnings,
        )
        return cls._model(built, sites=sites, options=options, warnings=warnings)

    @classmethod
    def from_geodataframe(
        cls,
        candidates: gpd.GeoDataFrame,
        demand: gpd.GeoDataFrame,
        *,
        kind: Kind,
        count: int | None = None,
        budget: float | None = None,
        cost: CostSpec = None,
        min_spacing: float = 250.0,
        radius: float | None = None,
        districts: gpd.GeoDataFrame | None = None,
        quota: QuotaSpec = None,
        population: Mapping[str, float] | None = None,
        locked: Iterable[str] = (),
        excluded: Iterable[str] = (),
        score_weight: float | None = None,
        weight_column: str = "weight",
        lang: str | None = None,
    ) -> MaximalCoverage:
        """Build the model from scored candidates and weighted demand points.

        Parameters
        ----------
        candidates
            Candidate sites (see ``docs/data-model.md``): index ``candidate_id``,
            columns ``kind``, ``name``, ``excluded``, ``score``, Point geometry.
            Only rows of `kind` are used; rows marked ``excluded`` are never
            chosen (unless locked).
        demand
            Demand points with a weight column.
        kind
            ``"banner"``, ``"exhibition"`` or ``"career"``.
        count, budget, cost
            Number of sites and/or a budget; `cost` is one cost for every
            site, a mapping from kind and/or site id to cost, or a Series on
            the candidate ids (default 1 per site).
        min_spacing
            Minimum straight-line distance between two chosen sites, metres.
        radius
            Service radius in metres (default 300 for banners, 500 otherwise).
        districts
            District polygons with a name column, for quotas and reporting
            (named as `nudge.geo.districts.district_names` names them).
        quota
            ``"min:max"``, ``(min, max)``, ``"proportional"`` or a mapping
            from district name to ``(min, max)``.
        population
            Population per district name for proportional quotas (default:
            a ``population`` column of `districts`, else demand weight).
        locked, excluded
            Candidate ids that must be in, or must stay out of, the plan.
        score_weight
            Weight of the score term (default: a tie-breaker).
        weight_column
            Column of `demand` holding the weights.
        lang
            Interface language whose OSM district names (``name:kk``,
            ``name:ru``) are preferred; see `nudge.geo.districts.name_fields`.

        Returns
        -------
        MaximalCoverage
        """
        _inputs.check_options(kind=kind, radius=radius, min_spacing=min_spacing)
        radius = RADIUS_BY_KIND[kind] if radius is None else float(radius)
        warnings: list[str] = []
        sites, eligible = _inputs.candidate_table(candidates, kind, warnings)
        weights, demand_geom = _inputs.demand_table(demand, weight_column)
        crs = _coverage.metric_crs(sites, demand_geom)
        site_xy = _coverage.xy_in(sites, crs)
        coverage = _coverage.coverage_matrix(_coverage.xy_in(demand_geom, crs), site_xy, radius)
        demand_districts = None
        if districts is not None:
            layer = DistrictLayer.from_frame(districts, lang=lang, population=population)
            names = pd.Series(layer.names, index=districts.index)
            sites["district"] = layer.districts_of(sites.geometry)
            demand_districts = layer.districts_of(demand_geom)
            if len(sites) and sites["district"].isna().all():
                warnings.append(_districts.no_site_covered(len(districts), len(sites)))
            population = population or _inputs.population_column(districts, names)
        options = PlanOptions(
            kind=kind,
            radius=radius,
            distance="straight-line",
            count=count,
            budget=budget,
            min_spacing=float(min_spacing),
            quota=quota,
            population=population,
            locked=text_ids(locked),
            excluded=text_ids(excluded),
            score_weight=score_weight,
            group_names=None if districts is None else tuple(names),
        )
        built = build_problem(
            coverage=coverage,
            weights=weights,
            sites=sites,
            eligible=eligible,
            costs=_inputs.site_costs(cost, sites, kind, warnings),
            conflicts=_coverage.conflict_pairs(site_xy, min_spacing),
            cells=_coverage.spacing_cells(site_xy, min_spacing),
            demand_districts=demand_districts,
            options=options,
            warnings=warnings,
        )
        return cls._model(built, sites=sites, options=options, warnings=warnings)

    @classmethod
    def _model(
        cls,
        built: tuple[CoverageProblem, np.ndarray],
        *,
        sites: gpd.GeoDataFrame,
        options: PlanOptions,
        warnings: list[str],
    ) -> MaximalCoverage:
        problem, demand_groups = built
        return cls(
            problem,
            sites=sites,
            demand_groups=demand_groups,
            kind=options.kind,
            radius=options.radius,
            distance=options.distance,
            warnings=warnings,
        )

    def solve(
        self, *, solver: Solver = "greedy", time_limit: float = 60.0, mip_gap: float = 1e-6
    ) -> PlanResult:
        """Choose the sites.

        Parameters
        ----------
        solver
            ``"greedy"``: lazy greedy plus swaps, fast, with an upper bound on
            the optimum. ``"exact"``: HiGHS, warm-started by the greedy.
        time_limit
            Seconds the exact solver may run; the best plan found by then is
            returned with its optimality gap.
        mip_gap
            Relative gap at which the exact solver stops.

        Returns
        -------
        PlanResult

        Raises
        ------
        InfeasibleError
            When no plan meeting every constraint is found.
        """
        if solver not in SOLVERS:
            raise InfeasibleError(
                code="plan_unknown_solver", solver=solver, solvers=", ".join(SOLVERS)
            )
        start = time.perf_counter()
        if solver == "greedy":
            solution = solve_greedy(self.problem)
        else:
            solution = solve_exact_warm(self.problem, time_limit=time_limit, mip_gap=mip_gap)
        return self._result(solution, time.perf_counter() - start)

    def evaluate(self, site_ids: Iterable[str]) -> PlanResult:
        """Return the coverage and explanation of a given set of sites.

        Parameters
        ----------
        site_ids
            Ids of model sites; others are ignored with a warning.

        Returns
        -------
        PlanResult
            With solver ``"given"``; the constraints are not checked.
        """
        ids = pd.Index(self.sites.index.astype(str))
        wanted = [str(s) for s in site_ids]
        pos = ids.get_indexer(wanted)
        chosen = np.unique(pos[pos >= 0]).astype(np.int64)
        hit = np.asarray(self.problem.coverage[:, chosen].sum(axis=1)).ravel() > 0
        covered = float(self.problem.weights[hit].sum())
        bound = max(plan_bound(self.problem, chosen), covered)
        solution = Solution(
            chosen=chosen,
            covered_weight=covered,
            upper_bound=bound,
            gap=relative_gap(covered, bound),
            solver="given",
            status="given plan",
        )
        unknown = [w for w, q in zip(wanted, pos, strict=True) if q < 0]
        extra = (
            Notice(code="plan_given_not_candidates", n=len(unknown), ids=", ".join(unknown[:5])),
        )
        return self._result(solution, 0.0, extra=extra if unknown else ())

    def _result(self, sol: Solution, seconds: float, *, extra: Sequence[str] = ()) -> PlanResult:
        return build_result(
            self.problem,
            sol,
            sites=self.sites,
            demand_groups=self.demand_groups,
            context={"kind": self.kind, "radius": self.radius, "distance": self.distance},
            warnings=(*self.warnings, *extra),
            seconds=seconds,
        )


def plan_sites(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    kind: Kind | str,
    count: int | None = None,
    budget: float | None = None,
    cost: CostSpec = None,
    min_spacing: float = 250.0,
    radius: float | None = None,
    districts: gpd.GeoDataFrame | None = None,
    quota: QuotaSpec = None,
    population: Mapping[str, float] | None = None,
    locked: Iterable[str] = (),
    excluded: Iterable[str] = (),
    solver: Solver | str = "greedy",
    time_limit: float = 60.0,
    score_weight: float | None = None,
    lang: str | None = None,
) -> PlanResult:
    """Choose the sites of one kind that together cover the most demand.

    Parameters are those of `MaximalCoverage.from_geodataframe` and
    `MaximalCoverage.solve`; `kind` and `solver` may come as any text (from a
    form or a command line): an unknown one is refused with the known ones.

    Returns
    -------
    PlanResult
        The chosen sites (EPSG:4326), coverage figures, bound, gap,
        per-district table and explanation.

    Raises
    ------
    InfeasibleError
        When the constraints cannot all be met; the message says why.
    EmptyDataError
        When there are no candidates of `kind` or no demand.

    Examples
    --------
    >>> plan = plan_sites(candidates, demand, kind="banner", count=50)  # doctest: +SKIP
    >>> plan.covered_share, plan.chosen[["site_id", "marginal_gain"]]  # doctest: +SKIP
    """
    model = MaximalCoverage.from_geodataframe(
        candidates,
        demand,
        kind=cast("Kind", kind),  # checked there, with the other options
        count=count,
        budget=budget,
        cost=cost,
        min_spacing=min_spacing,
        radius=radius,
        districts=districts,
        quota=quota,
        population=population,
        locked=locked,
        excluded=excluded,
        score_weight=score_weight,
        lang=lang,
    )
    return model.solve(solver=cast("Solver", solver), time_limit=time_limit)  # checked there
