"""Where could a banner or an exhibition go, how many people pass or stay there, which to choose.

- `candidates_from_dataset`, `candidates_from_file`, `mark_exclusions`: candidate sites.
- `score_candidates`: the explainable footfall-proxy score (`ScoreResult`).
- `load_profile`, `profile_from_file`: signal weights per kind of site.
- `counts_from_file`, `calibrate_profile`: fitting weights to real pedestrian counts.
- `plan_sites` and friends (``nudge.placement.selection``): choosing the best set of sites.
"""

from __future__ import annotations

from nudge.placement.calibration import Calibration, calibrate_profile, counts_from_file
from nudge.placement.candidates import (
    candidates_from_dataset,
    candidates_from_file,
    mark_exclusions,
)
from nudge.placement.profiles import SIGNALS, Profile, load_profile, profile_from_file
from nudge.placement.scoring import ScoreResult, score_candidates

__all__ = [
    "SIGNALS",
    "Calibration",
    "Profile",
    "ScoreResult",
    "calibrate_profile",
    "candidates_from_dataset",
    "candidates_from_file",
    "counts_from_file",
    "load_profile",
    "mark_exclusions",
    "profile_from_file",
    "score_candidates",
]
