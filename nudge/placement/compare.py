"""Comparing two plans: the sites they share and where their coverage differs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nudge.placement._report import PlanResult


@dataclass(frozen=True, slots=True)
class PlanComparison:
    """How plan `b` differs from plan `a`.

    Attributes
    ----------
    common, only_a, only_b
        Site ids in both plans, only in `a`, only in `b` (in pick order).
    covered_a, covered_b, difference
        Covered demand weight of each plan and ``covered_b - covered_a``.
    share_a, share_b
        Covered shares of total demand.
    by_district
        Per district: ``sites_a``, ``sites_b``, ``covered_a``, ``covered_b``,
        ``difference`` (weight) and ``share_difference``.
    """

    common: tuple[str, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    covered_a: float
    covered_b: float
    difference: float
    share_a: float
    share_b: float
    by_district: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """Return the comparison as a JSON-ready mapping."""
        return {
            "common": list(self.common),
            "only_a": list(self.only_a),
            "only_b": list(self.only_b),
            "covered_a": round(self.covered_a, 6),
            "covered_b": round(self.covered_b, 6),
            "difference": round(self.difference, 6),
            "share_a": round(self.share_a, 6),
            "share_b": round(self.share_b, 6),
            "by_district": self.by_district,
        }


def compare_plans(a: PlanResult, b: PlanResult) -> PlanComparison:
    """Compare two plans made on the same demand.

    Parameters
    ----------
    a, b
        The plans, e.g. two solvers' plans, or a plan and an existing layout
        evaluated with `MaximalCoverage.evaluate`.

    Returns
    -------
    PlanComparison
        Shared and distinct sites and the coverage difference, overall and
        per district.
    """
    ids_a, ids_b = a.site_ids, b.site_ids
    set_a, set_b = set(ids_a), set(ids_b)
    districts = list(dict.fromkeys([*a.by_district, *b.by_district]))
    by_district: dict[str, dict[str, Any]] = {}
    for name in districts:
        da, db = a.by_district.get(name, {}), b.by_district.get(name, {})
        cov_a, cov_b = float(da.get("covered_weight", 0.0)), float(db.get("covered_weight", 0.0))
        by_district[name] = {
            "sites_a": int(da.get("sites", 0)),
            "sites_b": int(db.get("sites", 0)),
            "covered_a": round(cov_a, 6),
            "covered_b": round(cov_b, 6),
            "difference": round(cov_b - cov_a, 6),
            "share_difference": round(
                float(db.get("covered_share", 0.0)) - float(da.get("covered_share", 0.0)), 6
            ),
        }
    return PlanComparison(
        common=tuple(s for s in ids_b if s in set_a),
        only_a=tuple(s for s in ids_a if s not in set_b),
        only_b=tuple(s for s in ids_b if s not in set_a),
        covered_a=a.covered_weight,
        covered_b=b.covered_weight,
        difference=b.covered_weight - a.covered_weight,
        share_a=a.covered_share,
        share_b=b.covered_share,
        by_district=by_district,
    )
