"""The Data page's map: the public spaces of a city dataset, one layer per category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np

from nudge.ui.maps._base import (
    CATEGORY_COLOURS,
    DEFAULT_SOURCE,
    MapSource,
    add_points,
    add_street_backdrop,
    base_map,
    escape_text,
    lat_lon,
    present,
    tooltip_html,
)


def features_map(
    features: gpd.GeoDataFrame,
    *,
    streets: gpd.GeoDataFrame | None = None,
    labels: Mapping[str, str],
    bounds: Sequence[float] | None = None,
    source: MapSource = DEFAULT_SOURCE,
) -> folium.Map:
    """Map the public spaces of a city dataset, one coloured, toggleable layer per category.

    Parameters
    ----------
    features
        ``features`` of a city dataset (``category``, ``name``, ``point``).
    labels
        Category key → label in the user's language (also the layer order).
    bounds
        ``[west, south, east, north]`` to fit; default the features' bounds.
    """
    if bounds is None and len(features):
        bounds = list(features.total_bounds)
    m = base_map(bounds, source=source)
    add_street_backdrop(m, streets)
    column = "point" if "point" in features.columns else None
    lat, lon = lat_lon(features, column) if len(features) else (np.array([]), np.array([]))
    categories = features["category"].astype(str).to_numpy() if len(features) else np.array([])
    names = np.asarray(
        features["name"].to_numpy() if "name" in features.columns else [None] * len(features),
        dtype=object,
    )
    for i, (key, label) in enumerate(labels.items()):
        mask = categories == key
        if not mask.any():
            continue
        group = folium.FeatureGroup(name=f"{escape_text(label)} ({int(mask.sum())})")
        tips = [tooltip_html(n if present(n) else label) for n in names[mask]]
        add_points(
            group,
            lat[mask],
            lon[mask],
            colours=[CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]] * int(mask.sum()),
            tooltips=tips,
            radius=5,
            source=source,
        )
        group.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
