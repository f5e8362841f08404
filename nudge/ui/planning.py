"""Scoring and planning steps of the Plan page, chained in the order the page needs them."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd

from nudge.osm import datasets
from nudge.placement import ScoreResult, candidates_from_dataset, load_profile, score_candidates
from nudge.placement.calibration import counts_from_file
from nudge.placement.demand import demand_from_footfall
from nudge.placement.scoring import rescore
from nudge.placement.selection import PlanResult, plan_sites
from nudge.placement.validation import CountKind, Validation, scatter_png, validate_profile
from nudge.ui.files import file_bytes, save_uploads, with_upload


def score_dataset(
    city: datasets.CityDataset, *, kind: str, profile: str, spacing: float, buffer: float
) -> ScoreResult:
    """Propose and score the candidate sites of one kind with a shipped profile."""
    cands = candidates_from_dataset(city, kind=kind, spacing=spacing, exclusion_buffer=buffer)
    return score_candidates(cands, city, profile=load_profile(profile))


def reweighted(result: ScoreResult, weights: Mapping[str, float]) -> ScoreResult:
    """Return the scores with new signal weights (see `nudge.placement.scoring.rescore`)."""
    return rescore(result, dict(weights))


def contribution_table(result: ScoreResult, site_id: str) -> pd.DataFrame:
    """Return one candidate's signals: value 0–1, weight and points of the score."""
    row = result.candidates.loc[site_id]
    return pd.DataFrame(
        {
            "signal": list(result.signals),
            "value": [float(row[f"signal_{s}"]) for s in result.signals],
            "weight": [float(result.profile.weights.get(s, 0.0)) for s in result.signals],
            "points": [float(row[f"contrib_{s}"]) for s in result.signals],
        }
    )


@dataclass(frozen=True)
class PlanRequest:
    """What the planner asked for on the Plan page."""

    kind: str
    count: int | None = None
    budget: float | None = None
    cost: float | None = None
    min_spacing: float = 250.0
    radius: float | None = None
    quota: str | None = None
    solver: str = "greedy"
    locked: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def plan_from_scores(
    scores: ScoreResult,
    city: datasets.CityDataset,
    request: PlanRequest,
    *,
    districts: gpd.GeoDataFrame | None = None,
) -> PlanResult:
    """Choose sites from scored candidates, with the city's public spaces as demand."""
    quota: Any = request.quota.strip() if request.quota and request.quota.strip() else None
    return plan_sites(
        scores.candidates,
        demand_from_footfall(city),
        kind=request.kind,
        count=request.count,
        budget=request.budget,
        cost=request.cost,
        min_spacing=request.min_spacing,
        radius=request.radius,
        districts=districts,
        quota=quota if districts is not None else None,
        locked=request.locked,
        excluded=request.excluded,
        solver=request.solver,
        time_limit=30.0,
    )


def districts_from_upload(name: str, data: bytes) -> gpd.GeoDataFrame:
    """Read uploaded district polygons (GeoJSON or GeoPackage) with a name column."""
    from nudge.placement.plan_files import districts_from_file

    with tempfile.TemporaryDirectory(prefix="nudge-districts-") as tmp:
        path = save_uploads([(name, data)], Path(tmp))[0]
        return districts_from_file(path)


def registry_plan_name(dataset: str, kind: str, label: str) -> str:
    """Return the name a plan is stored under in the registry."""
    return f"{dataset}/{kind}/{label}"[:120]


def validation_from_upload(
    name: str, data: bytes, city: datasets.CityDataset, *, profile: str, what: str
) -> Validation:
    """Check a shipped profile against uploaded counts (see `nudge.placement.validation`)."""
    table, problems = with_upload(name, data, counts_from_file)
    return validate_profile(
        table, city, profile=load_profile(profile), what=cast(CountKind, what), problems=problems
    )


def validation_table(result: Validation, labels: Mapping[str, str]) -> pd.DataFrame:
    """Return one row per predictor: Spearman, its 95% interval, Kendall, top-decile hit.

    `labels` names the predictors (``default``, ``calibrated``, ``places_within_300m``,
    ``near_city_centre``) and the columns (``predictor``, ``spearman``, ``interval``,
    ``kendall``, ``top_decile``) in the user's language.
    """
    rows = [("default", result.default), ("calibrated", result.calibrated)]
    rows += list(result.baselines.items())
    return pd.DataFrame(
        [
            {
                labels["predictor"]: labels.get(key, key),
                labels["spearman"]: round(a.spearman, 2),
                labels["interval"]: f"{a.spearman_low:.2f} – {a.spearman_high:.2f}",
                labels["kendall"]: round(a.kendall, 2),
                labels["top_decile"]: round(a.top_decile_hit, 2),
            }
            for key, a in rows
            if a is not None
        ]
    )


def validation_png(result: Validation, *, credit: str = "") -> bytes:
    """Return the scatter plot of score against counts as PNG bytes."""
    return file_bytes(lambda p: scatter_png(result, p, credit=credit), ".png")
