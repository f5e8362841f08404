"""The result of site selection and the words that explain it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np

from nudge.i18n import Translator, format_number, translator
from nudge.placement._greedy import explain_order
from nudge.placement._problem import NO_LIMIT, CoverageProblem, Solution

PLAN_COLUMNS = [
    "site_id",
    "kind",
    "name",
    "score",
    "pick_order",
    "locked",
    "marginal_gain",
    "covered_weight",
    "district",
    "geometry",
]
OUTSIDE = "(outside districts)"


@dataclass(frozen=True, slots=True)
class PlanResult:
    """A plan of sites and everything that explains it.

    Attributes
    ----------
    chosen
        One row per chosen site (EPSG:4326), columns `PLAN_COLUMNS`, in pick
        order: locked sites first, then the others in the order a greedy
        restricted to the plan picks them.
    covered_weight, total_weight, covered_share
        Demand weight within the radius of a chosen site, all demand weight,
        and their ratio.
    upper_bound
        No plan with the same count or budget covers more weight than this.
    solver
        ``"greedy"``, ``"exact"`` or ``"given"`` (a plan evaluated as it is).
    gap
        Relative gap between the covered weight and the best possible one.
    by_district
        Per district name: ``sites``, ``site_ids``, ``covered_weight``,
        ``total_weight``, ``covered_share``, ``min``, ``max``.
    explanation
        The plan in words: overall coverage, each site, each district.
    warnings
        Things the planner should know (ignored ids, missing scores...).
    kind, radius, min_spacing, distance
        What was planned and how coverage was measured (``distance`` is
        ``"straight-line"`` or ``"cost matrix"``).
    status
        How the solver ended (``"optimal"``, ``"time limit reached"``...).
    seconds
        Time spent solving.
    """

    chosen: gpd.GeoDataFrame
    covered_weight: float
    total_weight: float
    covered_share: float
    upper_bound: float
    solver: str
    gap: float
    by_district: dict[str, dict[str, Any]]
    explanation: str
    warnings: tuple[str, ...]
    kind: str
    radius: float
    min_spacing: float
    distance: str
    status: str
    seconds: float

    @property
    def site_ids(self) -> list[str]:
        """Return the ids of the chosen sites in pick order."""
        return [str(s) for s in self.chosen["site_id"]]

    def summary(self) -> dict[str, Any]:
        """Return the plan's figures as a JSON-ready mapping (without the sites)."""
        return {
            "chosen": len(self.chosen),
            "kind": self.kind,
            "covered_weight": round(self.covered_weight, 6),
            "total_weight": round(self.total_weight, 6),
            "covered_share": round(self.covered_share, 6),
            "upper_bound": round(self.upper_bound, 6),
            "solver": self.solver,
            "status": self.status,
            "gap": round(self.gap, 6),
            "radius": self.radius,
            "min_spacing": self.min_spacing,
            "distance": self.distance,
            "seconds": round(self.seconds, 3),
            "by_district": self.by_district,
            "warnings": list(self.warnings),
        }


def district_table(
    p: CoverageProblem,
    chosen: np.ndarray,
    *,
    demand_groups: np.ndarray,
    site_ids: np.ndarray,
) -> dict[str, dict[str, Any]]:
    """Return the per-district sites and coverage of a plan."""
    if not len(p.group_names):
        return {}
    hit = np.asarray(p.coverage[:, chosen].sum(axis=1)).ravel() > 0
    names = [*p.group_names, OUTSIDE]
    out: dict[str, dict[str, Any]] = {}
    for g, name in enumerate(names):
        code = g if g < len(p.group_names) else -1
        in_dem = demand_groups == code
        picked = chosen[p.groups[chosen] == code]
        total = float(p.weights[in_dem].sum())
        if code == -1 and not len(picked) and total == 0:
            continue
        covered = float(p.weights[in_dem & hit].sum())
        row: dict[str, Any] = {
            "sites": len(picked),
            "site_ids": [str(s) for s in site_ids[picked]],
            "covered_weight": round(covered, 6),
            "total_weight": round(total, 6),
            "covered_share": round(covered / total, 6) if total > 0 else 0.0,
        }
        if code >= 0:
            row["min"] = int(p.group_min[g])
            row["max"] = None if p.group_max[g] >= NO_LIMIT else int(p.group_max[g])
        out[name] = row
    return out


def explain(
    result_head: dict[str, Any], chosen: gpd.GeoDataFrame, by_district: dict[str, dict[str, Any]]
) -> str:
    """Return the plan in words: overall, per site in pick order, per district."""
    h = result_head
    spacing = f", sites at least {h['min_spacing']:g} m apart" if h["min_spacing"] > 0 else ""
    lines = [
        f"Plan of {len(chosen)} {h['kind']} sites ({h['status']}; {h['distance']} distance, "
        f"radius {h['radius']:g} m{spacing}).",
        f"It covers {h['covered_weight']:,.1f} of {h['total_weight']:,.1f} demand weight "
        f"({100 * h['covered_share']:.1f}%); no plan of the same size covers more than "
        f"{h['upper_bound']:,.1f} (gap {100 * h['gap']:.2f}%).",
    ]
    if len(chosen):
        lines.append("Sites in pick order (each adds the demand not yet covered):")
    for row in chosen.itertuples(index=False):
        name = f' "{row.name}"' if isinstance(row.name, str) and row.name else ""
        where = f", {row.district}" if isinstance(row.district, str) else ""
        lock = ", locked" if row.locked else ""
        lines.append(
            f"  {row.pick_order}. {row.site_id}{name}: adds {row.marginal_gain:,.1f}, "
            f"covers {row.covered_weight:,.1f} on its own{where}{lock}"
        )
    if by_district:
        lines.append("By district:")
    for name, d in by_district.items():
        limits = ""
        if "min" in d:
            hi = "any" if d["max"] is None else d["max"]
            limits = f" (quota {d['min']}..{hi})"
        lines.append(
            f"  {name}: {d['sites']} sites{limits}, {100 * d['covered_share']:.1f}% of its "
            f"demand covered ({d['covered_weight']:,.1f} of {d['total_weight']:,.1f})"
        )
    return "\n".join(lines)


def plan_explanation(plan: PlanResult, lang: str | None = "kk") -> str:
    """Return the plan in words in `lang` (kk, ru or en): overall, each site, each district.

    The sentences come from the ``plan_explain`` texts of the locale catalogues, the numbers
    are written as readers of `lang` write them (`nudge.i18n.format_number`). The plan's own
    `PlanResult.explanation` stays the English text of the command line.
    """
    tr = translator(lang)

    def num(value: float, decimals: int = 1) -> str:
        return format_number(value, tr.lang, decimals=decimals)

    def metres(value: float) -> str:
        return num(value, 0 if float(value).is_integer() else 1)

    spacing = tr("plan_explain.spacing", spacing=metres(plan.min_spacing))
    lines = [
        tr("plan_explain.head", n=len(plan.chosen), kind=tr(f"kinds.{plan.kind}"),
           status=_status_text(plan.status, tr), distance=_coded(tr, "distance", plan.distance),
           radius=metres(plan.radius), spacing=spacing if plan.min_spacing > 0 else ""),
        tr("plan_explain.covers", covered=num(plan.covered_weight), total=num(plan.total_weight),
           share=num(100 * plan.covered_share), bound=num(plan.upper_bound),
           gap=num(100 * plan.gap, 2)),
    ]  # fmt: skip
    if len(plan.chosen):
        lines.append(tr("plan_explain.order"))
    for row in plan.chosen.itertuples(index=False):
        named = isinstance(row.name, str) and row.name
        lines.append("  " + tr(
            "plan_explain.site", order=row.pick_order, site=row.site_id,
            name=tr("plan_explain.name", name=row.name) if named else "",
            gain=num(row.marginal_gain), covers=num(row.covered_weight),
            where=f", {row.district}" if isinstance(row.district, str) else "",
            lock=tr("plan_explain.locked") if row.locked else "",
        ))  # fmt: skip
    if plan.by_district:
        lines.append(tr("plan_explain.districts"))
    for name, d in plan.by_district.items():
        limits = ""
        if "min" in d:
            high = tr("plan_explain.any") if d["max"] is None else d["max"]
            limits = tr("plan_explain.quota", min=d["min"], max=high)
        lines.append("  " + tr(
            "plan_explain.district", name=tr("plan_explain.outside") if name == OUTSIDE else name,
            sites=d["sites"], limits=limits, share=num(100 * d["covered_share"]),
            covered=num(d["covered_weight"]), total=num(d["total_weight"]),
        ))  # fmt: skip
    return "\n".join(lines)


def _coded(tr: Translator, prefix: str, code: str) -> str:
    """Return the text of a coded value (``time limit reached``), or the code when unknown."""
    key = f"plan_explain.{prefix}_" + code.replace(" ", "_").replace("-", "_")
    return tr(key) if tr.has(key) else code


def _status_text(status: str, tr: Translator) -> str:
    kept = ", greedy plan kept"
    if status.endswith(kept):
        return tr("plan_explain.status_kept", status=_coded(tr, "status", status[: -len(kept)]))
    return _coded(tr, "status", status)


def build_result(
    p: CoverageProblem,
    sol: Solution,
    *,
    sites: gpd.GeoDataFrame,
    demand_groups: np.ndarray,
    context: dict[str, Any],
    warnings: tuple[str, ...],
    seconds: float,
) -> PlanResult:
    """Return the `PlanResult` of a solution: the sites in pick order, figures, words."""
    order, gains = explain_order(p, sol.chosen)
    picked = sites.iloc[order]
    chosen = gpd.GeoDataFrame(
        {
            "site_id": picked.index.astype(str).to_numpy(),
            "kind": picked["kind"].to_numpy(),
            "name": picked["name"].to_numpy(),
            "score": picked["score"].to_numpy(dtype=float),
            "pick_order": np.arange(1, len(order) + 1),
            "locked": p.locked[order],
            "marginal_gain": gains,
            "covered_weight": p.gains()[order],
            "district": picked["district"].to_numpy(),
        },
        geometry=picked.geometry.to_numpy(),
        crs=sites.crs,
    )[PLAN_COLUMNS]
    total = p.total_weight
    by_district = district_table(
        p, order, demand_groups=demand_groups, site_ids=sites.index.to_numpy()
    )
    head = {
        **context,
        "covered_weight": sol.covered_weight,
        "total_weight": total,
        "covered_share": sol.covered_weight / total if total > 0 else 0.0,
        "upper_bound": sol.upper_bound,
        "gap": sol.gap,
        "min_spacing": p.min_spacing,
        "status": sol.status,
    }
    return PlanResult(
        chosen=chosen,
        covered_weight=float(head["covered_weight"]),
        total_weight=total,
        covered_share=float(head["covered_share"]),
        upper_bound=sol.upper_bound,
        solver=sol.solver,
        gap=sol.gap,
        by_district=by_district,
        explanation=explain(head, chosen, by_district),
        warnings=warnings,
        kind=str(context["kind"]),
        radius=float(context["radius"]),
        min_spacing=p.min_spacing,
        distance=str(context["distance"]),
        status=sol.status,
        seconds=seconds,
    )
