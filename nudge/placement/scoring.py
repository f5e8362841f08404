"""Score candidate sites with an explainable footfall proxy.

``score = sum(contrib_<signal>)``, each contribution being
``100 * weight * signal / sum(weights)`` with every signal scaled to 0..1, so
the app can say exactly why a site ranks high. Without pedestrian counts the
score carries an uncertainty band from perturbing the weights; with counts
(see `nudge.placement.calibration`) the weights can be fitted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from nudge._errors import EmptyDataError, Notice
from nudge.osm.datasets import CityDataset
from nudge.placement.network import walk_network_from_streets
from nudge.placement.profiles import SIGNALS, Profile, load_profile
from nudge.placement.signals import (
    BUILT,
    PEDESTRIAN_STREET,
    departures_near,
    gravity_euclidean,
    gravity_network,
    land_use_mix,
    places_from_dataset,
    road_class_values,
    route_coverage,
    scale_unit,
    transit_service_levels,
    weighted_columns,
    with_buildings,
)

PROXY_NOTE = (
    "Scores are a footfall PROXY estimated from OpenStreetMap (places, transit, street network), "
    "not pedestrian counts; calibrate with real counts where you have them."
)
NO_STREETS_NOTE = Notice(code="score_no_streets")
NO_ROUTES_NOTE = Notice(code="score_no_routes")
NO_BUILDINGS_NOTE = Notice(code="score_no_buildings")
_MIX_EXCLUDE = {"crossing", "worship", "historic", PEDESTRIAN_STREET, BUILT}


@dataclass(frozen=True)
class Uncertainty:
    """How much scores and the top of the ranking move when the weights are perturbed."""

    draws: int
    top_n: int
    top_n_stability: float  # mean share of the base top-N that stays in a draw's top-N
    concentration: float


@dataclass(frozen=True)
class ScoreResult:
    """Scored candidates and everything that produced them."""

    candidates: gpd.GeoDataFrame
    profile: Profile
    distance: str  # "network" or "euclidean"
    signals: tuple[str, ...]
    uncertainty: Uncertainty | None
    warnings: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    note: str = PROXY_NOTE

    def summary(self) -> dict[str, Any]:
        """Return the figures ``nudge score --json`` prints."""
        c = self.candidates
        scores = c.loc[~c["excluded"].to_numpy(dtype=bool), "score"]
        out: dict[str, Any] = {
            "candidates": len(c),
            "excluded": int(c["excluded"].sum()),
            "by_kind": {str(k): int(v) for k, v in c["kind"].value_counts().items()},
            "by_source": {str(k): int(v) for k, v in c["source"].value_counts().items()},
            "score_min": round(float(scores.min()), 2) if len(scores) else None,
            "score_max": round(float(scores.max()), 2) if len(scores) else None,
            "score_median": round(float(scores.median()), 2) if len(scores) else None,
            "signals": list(self.signals),
            "weights": {k: round(v, 4) for k, v in self.profile.weights.items()},
            "distance": self.distance,
            "profile": self.profile.name,
            "warnings": list(self.warnings),
            "note": self.note,
        }
        if self.uncertainty is not None:
            out["top_n"] = self.uncertainty.top_n
            out["top_n_stability"] = round(self.uncertainty.top_n_stability, 3)
        return out


def signal_matrix(
    candidates: gpd.GeoDataFrame, dataset: CityDataset, *, profile: Profile
) -> tuple[pd.DataFrame, str, list[str]]:
    """Return every signal (scaled 0..1) for every candidate, the distance used, and warnings."""
    notes: list[str] = []
    crs = candidates.geometry.estimate_utm_crs()
    cand_xy = shapely.get_coordinates(candidates.geometry.to_crs(crs).array)
    places = places_from_dataset(dataset.features, dataset.streets, crs=crs)
    network = walk_network_from_streets(dataset.streets, crs=crs)
    if network is None:
        notes.append(NO_STREETS_NOTE)
        gravity = gravity_euclidean(cand_xy, places, profile=profile)
        centrality = np.zeros(len(cand_xy))
        distance = "euclidean"
    else:
        gravity = gravity_network(cand_xy, places, network, profile=profile)
        closeness, betweenness = network.centrality(cutoff=profile.centrality_cutoff_m)
        node, _ = network.snap(cand_xy)
        centrality = 0.5 * scale_unit(closeness[node]) + 0.5 * scale_unit(
            np.log1p(betweenness[node])
        )
        distance = "network"
    cats = places.categories
    # Within a few minutes' walk straight lines are used even where streets exist: the walk
    # is about 1.25 times the straight line there, nearly everywhere, while snapping a stop
    # and a building to the nearest network node can put them on the wrong side of a road
    # whose sidewalks are mapped apart (docs/validation.md has the figures).
    near_places = with_buildings(places, dataset.buildings, crs=crs)
    near = gravity_euclidean(cand_xy, near_places, profile=profile.near())
    transit_access = scale_unit(weighted_columns(gravity, cats, profile.transit_categories))
    service, service_note = _transit_service(cand_xy, dataset, profile=profile, crs=crs)
    if service is None:
        service = transit_access
    if service_note is not None:
        notes.append(service_note)
    if dataset.buildings is None:
        notes.append(NO_BUILDINGS_NOTE)
    dwell = scale_unit(weighted_columns(gravity, cats, {**profile.dwell_categories}))
    area = candidates["area_m2"].astype(float).fillna(0.0).to_numpy()
    if area.any():
        dwell = 0.7 * dwell + 0.3 * scale_unit(np.log1p(area))
    table = pd.DataFrame(
        {
            "transit_service": service,
            "built_intensity": scale_unit(near[:, -1]),
            "destinations": scale_unit(
                weighted_columns(near, near_places.categories, profile.destination_categories)
            ),
            "poi_gravity": scale_unit(weighted_columns(gravity, cats, profile.poi_categories)),
            "transit_access": transit_access,
            "centrality": centrality,
            "road_class": road_class_values(
                candidates, dataset.streets, crs=crs, table=profile.road_class
            ),
            "dwell": dwell,
            "land_use_mix": land_use_mix(gravity, cats, exclude=_MIX_EXCLUDE),
        },
        index=candidates.index,
    )
    return table[list(SIGNALS)], distance, notes


def _transit_service(
    cand_xy: np.ndarray, dataset: CityDataset, *, profile: Profile, crs: CRS
) -> tuple[np.ndarray | None, Notice | None]:
    """Return the scaled transit service level, or None (with the reason) to fall back."""
    if dataset.departures is not None and len(dataset.departures):
        departures = departures_near(
            cand_xy, dataset.departures, crs=crs, radius=profile.transit_radius_m
        )
        return scale_unit(np.log1p(departures)), None
    routes = dataset.routes
    if routes is None:
        return None, NO_ROUTES_NOTE
    stops = dataset.features.loc[dataset.features["category"] == "transit_stop"]
    coverage = route_coverage(stops, routes, crs=crs, radius=profile.transit_radius_m)
    if coverage < profile.transit_min_coverage:
        share = f"{100 * coverage:.0f}"
        return None, Notice(code="score_routes_sparse", share=share)
    levels = transit_service_levels(
        cand_xy,
        routes,
        crs=crs,
        radius=profile.transit_radius_m,
        mode_weights=profile.transit_modes,
    )
    return scale_unit(np.log1p(levels)), None


def contributions(signals: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Return ``contrib_<signal>`` columns (0..100 in total) and their sum ``score``."""
    w = np.array([weights.get(s, 0.0) for s in signals.columns])
    parts = 100.0 * signals.to_numpy() * (w / w.sum())
    out = pd.DataFrame(parts, index=signals.index, columns=[f"contrib_{s}" for s in signals])
    out.insert(0, "score", parts.sum(axis=1))
    return out


def _uncertainty(
    signals: pd.DataFrame,
    weights: dict[str, float],
    eligible: np.ndarray,
    *,
    draws: int,
    top_n: int,
    concentration: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Uncertainty]:
    """Perturb the weights (Dirichlet around the profile) and measure the spread."""
    w = np.array([weights.get(s, 0.0) for s in signals.columns])
    active = w > 0
    rng = np.random.default_rng(seed)
    sample = np.zeros((draws, len(w)))
    sample[:, active] = rng.dirichlet(concentration * w[active] / w[active].sum(), size=draws)
    x = signals.to_numpy()
    scores = 100.0 * x @ sample.T  # candidates × draws
    low, high = np.percentile(scores, [5, 95], axis=1)
    n = min(top_n, int(eligible.sum()))
    in_top = np.zeros(len(x))
    stability = 1.0
    if n > 0:
        idx = np.flatnonzero(eligible)
        base = x[idx] @ (w / w.sum())
        base_top = set(idx[np.argpartition(-base, n - 1)[:n]])
        tops = idx[np.argpartition(-scores[idx], n - 1, axis=0)[:n]]  # n × draws
        np.add.at(in_top, tops.ravel(), 1.0 / draws)
        stability = float(np.mean([len(base_top & set(col)) / n for col in tops.T]))
    info = Uncertainty(draws=draws, top_n=n, top_n_stability=stability, concentration=concentration)
    return low, high, in_top, info


def score_candidates(
    candidates: gpd.GeoDataFrame,
    dataset: CityDataset,
    *,
    profile: Profile | None = None,
    draws: int = 200,
    top_n: int = 50,
    concentration: float = 50.0,
    seed: int = 0,
) -> ScoreResult:
    """Score candidate sites 0–100 with one contribution column per signal.

    Parameters
    ----------
    candidates
        From `candidates_from_dataset` or `candidates_from_file`.
    dataset
        The city dataset the candidates belong to.
    profile
        Signal weights; by default the shipped profile of the candidates' kind.
    draws, top_n, concentration, seed
        Weight perturbation for the uncertainty band: `draws` Dirichlet samples
        around the profile's weights (higher `concentration` = closer), and the
        size of the top of the ranking whose stability is reported. ``draws=0``
        skips it.

    Returns
    -------
    ScoreResult
        Candidates with ``score``, ``rank``, ``contrib_*`` for each signal,
        ``signal_*`` (0..1), and with draws ``score_low``, ``score_high``
        (5th and 95th percentiles) and ``top_share``.
    """
    if candidates.empty:
        raise EmptyDataError(code="scoring_no_candidates")
    if profile is None:
        kinds = candidates["kind"].dropna().unique()
        profile = load_profile(str(kinds[0]) if len(kinds) == 1 else "banner")
    sig, distance, notes = signal_matrix(candidates, dataset, profile=profile)
    old = [c for c in candidates.columns if c.startswith(("signal_", "contrib_"))]
    base = candidates.drop(columns=[*old, "score"], errors="ignore").join(sig.add_prefix("signal_"))
    params = {"draws": draws, "top_n": top_n, "concentration": concentration, "seed": seed}
    out, info = _combine(base, sig, profile, params)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return ScoreResult(out, profile, distance, SIGNALS, info, tuple(notes), params)


def _combine(
    candidates: gpd.GeoDataFrame, sig: pd.DataFrame, profile: Profile, params: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, Uncertainty | None]:
    """Add score, contributions, rank and (with draws) the uncertainty band to `candidates`."""
    parts = contributions(sig, profile.weights)
    band = ["score_low", "score_high", "top_share", "rank"]
    out = candidates.drop(columns=[*parts.columns, *band], errors="ignore").join(parts)
    eligible = ~out["excluded"].to_numpy(dtype=bool)
    rank = pd.Series(np.nan, index=out.index)
    rank[eligible] = out.loc[eligible, "score"].rank(ascending=False, method="min")
    out["rank"] = rank.astype("Int64")
    info = None
    if params["draws"] > 0:
        low, high, share, info = _uncertainty(
            sig,
            profile.weights,
            eligible,
            draws=params["draws"],
            top_n=params["top_n"],
            concentration=params["concentration"],
            seed=params["seed"],
        )
        out["score_low"], out["score_high"], out["top_share"] = low, high, share
    return out, info


def rescore(result: ScoreResult, weights: dict[str, float]) -> ScoreResult:
    """Return the scores with new signal weights, reusing the signals already computed.

    The signals do not depend on the weights, so changing them (a slider in the
    app) only recombines the signals, re-ranks and redraws the uncertainty band:
    the same result as `score_candidates` with the new weights, much faster.
    """
    profile = result.profile.with_weights(weights)
    if profile.weights == result.profile.weights:
        return result
    sig = result.candidates[[f"signal_{s}" for s in result.signals]]
    sig.columns = list(result.signals)
    out, info = _combine(result.candidates, sig, profile, result.parameters)
    return replace(result, candidates=out, profile=profile, uncertainty=info)
