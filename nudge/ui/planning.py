"""Scoring and planning steps of the Plan page, chained in the order the page needs them."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from nudge.osm import datasets
from nudge.placement import ScoreResult, candidates_from_dataset, load_profile, score_candidates
from nudge.placement.demand import demand_from_features
from nudge.placement.scoring import rescore
from nudge.placement.selection import PlanResult, plan_sites
from nudge.ui.files import save_uploads


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
        demand_from_features(city.features),
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
