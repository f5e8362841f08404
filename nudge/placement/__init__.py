"""Where could a banner or an exhibition go, how many people pass or stay there, which to choose.

- `candidates_from_dataset`, `candidates_from_file`, `mark_exclusions`: candidate sites.
- `score_candidates`: the explainable footfall-proxy score (`ScoreResult`).
- `load_profile`, `profile_from_file`: signal weights per kind of site.
- `counts_from_file`, `calibrate_profile`: fitting weights to real pedestrian counts.
- `plan_sites`, `MaximalCoverage`, `demand_from_features`, `compare_plans`: choosing the best
  set of sites (``nudge.placement.selection``; files around a plan in ``plan_files``).
"""

from __future__ import annotations

from nudge.placement._report import plan_explanation
from nudge.placement.calibration import Calibration, calibrate_profile, counts_from_file
from nudge.placement.candidates import (
    candidates_from_dataset,
    candidates_from_file,
    candidates_from_points,
    mark_exclusions,
)
from nudge.placement.compare import PlanComparison, compare_plans
from nudge.placement.demand import (
    combine_demand,
    default_demand_weights,
    demand_from_features,
    demand_from_footfall,
    demand_from_layer,
)
from nudge.placement.profiles import SIGNALS, Profile, load_profile, profile_from_file
from nudge.placement.scoring import ScoreResult, rescore, score_candidates
from nudge.placement.selection import (
    PLAN_COLUMNS,
    RADIUS_BY_KIND,
    MaximalCoverage,
    PlanResult,
    plan_sites,
)

__all__ = [
    "PLAN_COLUMNS",
    "RADIUS_BY_KIND",
    "SIGNALS",
    "Calibration",
    "MaximalCoverage",
    "PlanComparison",
    "PlanResult",
    "Profile",
    "ScoreResult",
    "calibrate_profile",
    "candidates_from_dataset",
    "candidates_from_file",
    "candidates_from_points",
    "combine_demand",
    "compare_plans",
    "counts_from_file",
    "default_demand_weights",
    "demand_from_features",
    "demand_from_footfall",
    "demand_from_layer",
    "load_profile",
    "mark_exclusions",
    "plan_explanation",
    "plan_sites",
    "profile_from_file",
    "rescore",
    "score_candidates",
]
