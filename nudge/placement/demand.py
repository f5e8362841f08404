"""Demand for site selection: the weighted points a plan should reach.

By default the demand is the public spaces of a city dataset, one point per
feature, weighted by the footfall estimated there (`demand_from_footfall`); the
categories of ``nudge/placement/data/demand.toml`` say which places count
(`demand_from_features` weighs them by category alone). Any
other layer with a weight column (population points, residential buildings,
pedestrian counts) can be used instead or added.
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge._errors import EmptyDataError
from nudge.placement.candidates import candidates_from_points
from nudge.placement.profiles import Profile, load_profile
from nudge.placement.scoring import score_candidates

if TYPE_CHECKING:
    from nudge.osm.datasets import CityDataset

DEMAND_COLUMNS = ["category", "weight", "geometry"]


def default_demand_weights() -> dict[str, float]:
    """Return the default weight of each feature category, from ``demand.toml``."""
    text = resources.files("nudge.placement").joinpath("data/demand.toml").read_text("utf-8")
    return {str(k): float(v) for k, v in tomllib.loads(text)["weights"].items()}


def _points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Return a point per geometry: itself for points, a representative point otherwise."""
    is_point = (geometry.geom_type == "Point").to_numpy()
    if is_point.all():
        return geometry
    points = geometry.copy()
    points[~is_point] = geometry[~is_point].representative_point()
    return points


def demand_from_features(
    features: gpd.GeoDataFrame, *, weights: Mapping[str, float] | None = None
) -> gpd.GeoDataFrame:
    """Build weighted demand points from a city dataset's public spaces.

    Parameters
    ----------
    features
        The ``features`` of a city dataset: a ``category`` column and geometries.
    weights
        Weight per category, merged over the defaults of ``demand.toml``;
        categories with weight 0 (or unknown) are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        One point per kept feature, in the features' CRS, on their index, with
        columns ``category``, ``weight`` and ``geometry``.

    Raises
    ------
    EmptyDataError
        When the features lack a ``category`` column or none has a positive weight.
    """
    if "category" not in features.columns:
        raise EmptyDataError(code="demand_features_without_category")
    table = default_demand_weights()
    if weights is not None:
        table.update({str(k): float(v) for k, v in weights.items()})
    bad = {k: v for k, v in table.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise EmptyDataError(
            code="demand_category_weights_invalid",
            weights=", ".join(f"{k} = {v}" for k, v in bad.items()),
        )
    weight = features["category"].map(table).fillna(0.0).astype(float)
    keep = (weight > 0).to_numpy() & ~features.geometry.is_empty.to_numpy()
    keep &= features.geometry.notna().to_numpy()
    if not keep.any():
        found = sorted(features["category"].dropna().unique().tolist())
        raise EmptyDataError(code="demand_no_weighted_feature", found=", ".join(map(str, found)))
    kept = features.loc[keep]
    return gpd.GeoDataFrame(
        {"category": kept["category"].astype(str), "weight": weight[keep]},
        geometry=_points(kept.geometry),
        crs=features.crs,
        index=kept.index,
    )


def demand_from_layer(
    layer: gpd.GeoDataFrame, *, weight_column: str | None = "weight", category: str = "user"
) -> gpd.GeoDataFrame:
    """Build demand points from any layer, weighted by one of its columns.

    Parameters
    ----------
    layer
        Points, lines or polygons (population points, residential buildings...).
    weight_column
        Column holding each feature's weight; None gives every feature weight 1.
    category
        Value of the ``category`` column of the result.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category``, ``weight`` and ``geometry`` (points), rows with
        zero weight left out.

    Raises
    ------
    EmptyDataError
        When the weight column is missing, holds negative or non-numeric
        values, or no row has a positive weight.
    """
    if weight_column is None:
        weight = pd.Series(1.0, index=layer.index)
    elif weight_column not in layer.columns:
        raise EmptyDataError(
            code="demand_column_missing",
            column=weight_column,
            columns=", ".join(map(str, layer.columns)),
        )
    else:
        weight = pd.to_numeric(layer[weight_column], errors="coerce")
        bad = int((weight.isna() | (weight < 0)).sum())
        if bad:
            raise EmptyDataError(code="demand_column_bad_values", column=weight_column, n=bad)
    keep = (weight > 0).to_numpy() & layer.geometry.notna().to_numpy()
    keep &= ~layer.geometry.is_empty.to_numpy()
    if not keep.any():
        raise EmptyDataError(code="demand_layer_nothing_to_cover")
    kept = layer.loc[keep]
    return gpd.GeoDataFrame(
        {"category": category, "weight": weight[keep].astype(float)},
        geometry=_points(kept.geometry),
        crs=layer.crs,
        index=kept.index,
    )


def combine_demand(*layers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stack demand layers into one, in EPSG:4326, with a fresh index."""
    parts = [gpd.GeoDataFrame(d[DEMAND_COLUMNS]).to_crs("EPSG:4326") for d in layers if len(d)]
    if not parts:
        raise EmptyDataError(code="demand_layers_empty")
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


FOOTFALL_NOTE = (
    "Demand is the city's public spaces weighted by the estimated footfall at each (the banner "
    "score, 0-100: a stop served by many routes weighs more than a corner kiosk), so "
    "covered_weight is the estimated footfall the sites reach."
)


def demand_from_footfall(
    dataset: CityDataset, *, profile: Profile | None = None
) -> gpd.GeoDataFrame:
    """Build demand points from a dataset's public spaces, weighted by estimated footfall.

    Each public space that counts as demand (a positive weight in ``demand.toml``) weighs
    its footfall estimate: the score of the banner profile at that point (0–100), the same
    estimate that ranks banner sites (see docs/validation.md for what it rests on).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category``, ``weight`` (footfall 0–100), ``category_weight`` and points in
        EPSG:4326, on the features' index; places with no estimated footfall are left out.
    """
    base = demand_from_features(dataset.features)
    points = base.geometry.to_crs(4326)
    labels = [f"demand/{i}" for i in range(len(base))]
    sites = candidates_from_points(
        points.x.to_numpy(), points.y.to_numpy(), kind="banner", labels=labels
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plan's own scoring says what the data lacks
        scored = score_candidates(
            sites, dataset, profile=profile or load_profile("banner"), draws=0
        )
    footfall = scored.candidates.loc[labels, "score"].to_numpy(dtype=float)
    out = base.to_crs(4326).assign(category_weight=base["weight"], weight=footfall)
    out = out[["category", "weight", "category_weight", "geometry"]]
    keep = footfall > 0
    if not keep.any():
        raise EmptyDataError(code="demand_no_footfall")
    return out.loc[keep]
