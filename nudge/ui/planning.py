"""Scoring and planning steps of the Plan page, chained in the order the page needs them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import pandas as pd
from sqlalchemy.engine import Engine

from nudge.db import SavedWork, list_work, load_work, save_work
from nudge.osm import datasets
from nudge.placement import (
    ScoreResult,
    candidates_from_dataset,
    load_profile,
    plan_explanation,
    score_candidates,
)
from nudge.placement._report import PLAN_COLUMNS
from nudge.placement.calibration import counts_from_file
from nudge.placement.demand import demand_from_footfall
from nudge.placement.scoring import rescore
from nudge.placement.selection import PlanResult, plan_sites
from nudge.placement.validation import CountKind, Validation, scatter_png, validate_profile
from nudge.ui.files import file_bytes, save_uploads, with_upload
from nudge.ui.maps import nearest_id, point_from_click


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


@dataclass(frozen=True, slots=True)
class SiteClick:
    """What a click on the Plan map means.

    Attributes
    ----------
    seen
        The click as handled; pass it back as `previous` so a rerun does not handle it twice.
    site_id
        The site picked, or None (no new click, a click away from every site, a cluster).
    cluster
        The click hit a cluster of sites: the map zooms into it, the selection stays.
    """

    seen: tuple[Any, ...]
    site_id: str | None = None
    cluster: bool = False


def site_from_click(
    returned: Mapping[str, Any] | None,
    sites: gpd.GeoDataFrame,
    *,
    previous: tuple[Any, ...] | None = None,
    max_distance_m: float = 60.0,
) -> SiteClick:
    """Interpret a streamlit-folium result on the Plan map: the site a new click picked.

    A click on a site's marker carries the marker's tooltip, which ends with the site id
    (see `nudge.ui.maps.candidates_map`): that site is picked, however close others are. A
    click on a cluster carries no tooltip and picks nothing. A click on the bare map picks the
    site nearest to it within `max_distance_m`.

    Parameters
    ----------
    returned
        The dict `st_folium` returned (``last_object_clicked``, its tooltip, ``last_clicked``).
    sites
        Sites that may be picked (index = id, Point geometry in EPSG:4326).
    previous
        `SiteClick.seen` of the click handled before (Streamlit returns it again on reruns).
    """
    data = returned or {}
    target = point_from_click({"last_clicked": data.get("last_object_clicked")})
    tip = data.get("last_object_clicked_tooltip")
    tip = tip if isinstance(tip, str) and tip.strip() else None
    bare = point_from_click({"last_clicked": data.get("last_clicked")})
    seen = (target, tip, bare)
    old = tuple(previous) if previous is not None else (None, None, None)
    if target is not None and (target, tip) != tuple(old[:2]):
        if tip is None:  # a cluster: Leaflet zooms into it, the selection stays
            return SiteClick(seen, None, cluster=True)
        words = [w for w in tip.replace(":", " ").split() if w in sites.index]
        return SiteClick(seen, words[-1] if words else _nearest(target, sites, max_distance_m))
    if bare is not None and bare != old[2]:
        return SiteClick(seen, _nearest(bare, sites, max_distance_m))
    return SiteClick(seen)


def _nearest(point: tuple[float, float], sites: gpd.GeoDataFrame, limit: float) -> str | None:
    if not len(sites):
        return None
    xy = sites.geometry.to_crs(4326) if sites.crs is not None else sites.geometry
    ids = sites.index.astype(str).to_numpy()
    return nearest_id(point, ids, xy.y.to_numpy(), xy.x.to_numpy(), max_distance_m=limit)


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


def explanation_text(plan: PlanResult, lang: str | None) -> str:
    """Return why the plan chose its sites, in the user's language (kk, ru or en)."""
    return plan_explanation(plan, lang)


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


PLAN_FIELDS = tuple(f.name for f in fields(PlanResult) if f.name not in ("chosen", "warnings"))
"""The `PlanResult` fields a saved plan keeps beside its sites."""


def _plain(value: Any) -> Any:
    """Return numpy scalars as Python values for JSON (anything else as text)."""
    return value.item() if hasattr(value, "item") else str(value)


def plan_payload(plan: PlanResult) -> dict[str, Any]:
    """Return a plan as JSON data: its sites as GeoJSON and every figure that explains it."""
    chosen = json.loads(plan.chosen.to_crs(4326).to_json(na="null", default=_plain))
    figures = {name: getattr(plan, name) for name in PLAN_FIELDS}
    data = {"chosen": chosen, "warnings": list(plan.warnings), **figures}
    return cast(dict[str, Any], json.loads(json.dumps(data, default=_plain)))


def plan_from_payload(payload: Mapping[str, Any]) -> PlanResult:
    """Return the `PlanResult` a `plan_payload` was made from (sites in pick order)."""
    features = payload["chosen"].get("features", [])
    chosen = gpd.GeoDataFrame.from_features(features, crs=4326)
    columns = [c for c in PLAN_COLUMNS if c in chosen.columns or c == "geometry"]
    chosen = chosen.reindex(columns=columns) if len(chosen) else _empty_chosen()
    figures = {name: payload[name] for name in PLAN_FIELDS}
    return PlanResult(chosen=chosen, warnings=tuple(payload.get("warnings", ())), **figures)


def _empty_chosen() -> gpd.GeoDataFrame:
    columns = [c for c in PLAN_COLUMNS if c != "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry=[], crs=4326)


def save_plan(
    engine: Engine,
    plan: PlanResult,
    *,
    dataset: str,
    owner: str,
    name: str,
    expected_version: int | None,
) -> SavedWork:
    """Save a plan of `owner` for `dataset` on the server (see `nudge.db.save_work`).

    A save that names an existing plan must give the version it was opened at;
    when someone saved it since, `nudge.db.StaleVersionError` says who and when.
    """
    payload = plan_payload(plan)
    return save_work(
        engine,
        kind="plan",
        dataset=dataset,
        owner=owner,
        name=name,
        payload=payload,
        expected_version=expected_version,
    )


def saved_plans(engine: Engine, *, dataset: str, owner: str) -> list[SavedWork]:
    """Return the saved plans of `owner` for `dataset`, newest first (without payloads)."""
    return list_work(engine, kind="plan", dataset=dataset, owner=owner)


def open_plan(engine: Engine, work_id: int, *, owner: str) -> tuple[SavedWork, PlanResult]:
    """Return a saved plan of `owner` and the plan it holds."""
    work = load_work(engine, work_id, owner=owner)
    return work, plan_from_payload(work.payload or {})
