"""The vocabulary of a plan: kinds of site, solvers, and the options one plan is built with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from nudge.placement._districts import QuotaSpec

__all__ = [
    "KINDS",
    "RADIUS_BY_KIND",
    "SOLVERS",
    "Kind",
    "PlanOptions",
    "QuotaSpec",
    "Solver",
    "text_ids",
]

Kind = Literal["banner", "exhibition", "career"]
"""What is planned: a banner, an exhibition or a career stand."""
Solver = Literal["greedy", "exact"]
"""``"greedy"``: lazy greedy plus swaps; ``"exact"``: HiGHS, warm-started by the greedy."""
KINDS: tuple[Kind, ...] = get_args(Kind)
SOLVERS: tuple[Solver, ...] = get_args(Solver)
RADIUS_BY_KIND: dict[Kind, float] = {"banner": 300.0, "exhibition": 500.0, "career": 500.0}
"""Default service radius of each kind, metres."""


@dataclass(frozen=True)
class PlanOptions:
    """The constraints and context of one plan, as `MaximalCoverage` applies them.

    Attributes
    ----------
    kind
        What is planned (one of `KINDS`, or any noun for a cost matrix), used in messages.
    radius
        Service radius, in the units of the distances.
    distance
        How distances are measured (``"straight-line"``, ``"cost matrix"``).
    count, budget
        Number of sites and/or total budget.
    min_spacing
        Minimum distance between two chosen sites (0: none).
    quota
        District quotas; see `nudge.placement._districts.quota_bounds`.
    population
        Population per district for proportional quotas.
    locked, excluded
        Site ids that must be in, or must stay out of, the plan.
    score_weight
        Weight of the score term (None: a tie-breaker).
    group_names
        District names in group order (None: the names found on sites and demand).
    """

    kind: str
    radius: float
    distance: str
    count: int | None = None
    budget: float | None = None
    min_spacing: float = 0.0
    quota: QuotaSpec = None
    population: Mapping[str, float] | None = None
    locked: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    score_weight: float | None = None
    group_names: tuple[str, ...] | None = None


def text_ids(ids: Iterable[object]) -> tuple[str, ...]:
    """Return site ids as a tuple of text (for `PlanOptions.locked` and `excluded`)."""
    return tuple(str(i) for i in ids)
