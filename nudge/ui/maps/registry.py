"""Maps of the registry and the indicators: installations, a clicked pin, regions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import branca.colormap as cm
import folium
import numpy as np
import pandas as pd
import shapely

from nudge.ui.maps._base import (
    DEFAULT_SOURCE,
    STATUS_COLOURS,
    MapSource,
    add_points,
    base_map,
    column_or_none,
    escape_text,
    tooltip_html,
)


def installations_map(
    installations: pd.DataFrame,
    *,
    status_labels: Mapping[str, str],
    kind_labels: Mapping[str, str],
    bounds: Sequence[float] | None = None,
    planned: pd.DataFrame | None = None,
    planned_label: str = "planned",
    source: MapSource = DEFAULT_SOURCE,
) -> folium.Map:
    """Map installations coloured by status (clustered when many).

    Parameters
    ----------
    installations
        Rows with ``id``, ``lat``, ``lon``, ``kind``, ``status`` and optional
        ``city``, ``content_id`` (as from `nudge.registry.installations_frame`).
    status_labels, kind_labels
        Status and kind → label in the user's language.
    bounds
        ``[west, south, east, north]`` to fit; default the installations'
        bounds, else Kazakhstan.
    """
    frame = installations
    if bounds is None and len(frame):
        pad = 0.01
        bounds = [
            frame["lon"].min() - pad, frame["lat"].min() - pad,
            frame["lon"].max() + pad, frame["lat"].max() + pad,
        ]  # fmt: skip
    m = base_map(bounds, source=source)
    if len(frame):
        status = frame["status"].astype(str).to_numpy()
        colours = np.array([STATUS_COLOURS.get(s, "#9e9e9e") for s in status], dtype=object)
        tips = [
            tooltip_html(
                f"#{i} {kind_labels.get(k, k)}",
                [("", status_labels.get(s, s)), ("", c), ("", content)],
            ).replace("<br>: ", "<br>")
            for i, k, s, c, content in zip(
                frame["id"], frame["kind"], status, column_or_none(frame, "city"),
                column_or_none(frame, "content_id"), strict=True,
            )
        ]  # fmt: skip
        add_points(
            m,
            frame["lat"].to_numpy(float),
            frame["lon"].to_numpy(float),
            colours=colours,
            tooltips=tips,
            radius=6,
            source=source,
        )
    if planned is not None and len(planned):
        group = folium.FeatureGroup(name=f"{escape_text(planned_label)} ({len(planned)})")
        lat, lon = planned["lat"].to_numpy(float), planned["lon"].to_numpy(float)
        names = planned["name"].fillna(planned["site_id"]).astype(str).to_numpy()
        plans = planned["plan_name"].astype(str).to_numpy()
        for i in range(len(planned)):  # the sites of stored plans: a few hundred
            folium.CircleMarker(
                [lat[i], lon[i]], radius=5, color="#6a1b9a", weight=2, fill=False,
                dash_array="3 3",
                tooltip=folium.Tooltip(tooltip_html(names[i], [(planned_label, plans[i])])),
            ).add_to(group)  # fmt: skip
        group.add_to(m)
        folium.LayerControl(collapsed=True).add_to(m)
    return m


def pin_layer(pin: tuple[float, float] | None, *, label: str = "") -> folium.FeatureGroup:
    """Return a layer with a marker where the user clicked (empty without a pin)."""
    group = folium.FeatureGroup(name="pin")
    if pin is not None:
        folium.Marker(list(pin), tooltip=folium.Tooltip(tooltip_html(label))).add_to(group)
    return group


def regions_map(
    boundaries: Mapping[str, shapely.Geometry],
    values: Mapping[str, float | None],
    *,
    names: Mapping[str, str],
    caption: str,
    tolerance: float = 0.02,
    unknown: str = "no data",
    cities: pd.DataFrame | None = None,
    points: pd.DataFrame | None = None,
    source: MapSource = DEFAULT_SOURCE,
) -> folium.Map:
    """Return a choropleth of Kazakhstan's regions, with cities and records on top.

    Parameters
    ----------
    boundaries
        Region code → polygon (EPSG:4326).
    values
        Region code → value; regions without a value are drawn grey.
    names
        Region code → name in the user's language.
    caption
        Legend caption (the indicator).
    tolerance
        Simplification of the outlines, in degrees (keeps the page light).
    unknown
        Tooltip word for regions without a value (drawn hatched grey): a region with a value
        of 0 is drawn as 0, not as unknown.
    cities
        ``name``, ``lat``, ``lon``, ``value``: proportional circles, so a city is visible at
        the scale of the country.
    points
        ``lat``, ``lon`` of the records counted (small dots); the map zooms to them.
    """
    bounds = None
    if points is not None and len(points):
        pad = 0.2
        bounds = [points["lon"].min() - pad, points["lat"].min() - pad,
                  points["lon"].max() + pad, points["lat"].max() + pad]  # fmt: skip
    m = base_map(bounds, source=source)
    finite = [float(v) for v in values.values() if v is not None and np.isfinite(v)]
    top = max(finite) if finite else 0.0
    scale = cm.LinearColormap(["#f7fbff", "#6baed6", "#08306b"], vmin=0, vmax=max(top, 1.0))
    features = []
    for code, geom in boundaries.items():
        value = values.get(code)
        if value is not None and not np.isfinite(value):
            value = None
        shown = escape_text(unknown) if value is None else f"{value:,.4g}"
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": code,
                    "colour": "#bdbdbd" if value is None else scale(float(value)),
                    "dash": "4 3" if value is None else None,
                    "label": tooltip_html(names.get(code, code), [(caption, shown)]),
                },
                "geometry": json.loads(shapely.to_geojson(shapely.simplify(geom, tolerance))),
            }
        )
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"], "color": "#555", "weight": 1,
            "fillOpacity": 0.35 if f["properties"]["dash"] else 0.8,
            "dashArray": f["properties"]["dash"],
        },
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
    ).add_to(m)  # fmt: skip
    if points is not None and len(points):
        add_points(m, points["lat"].to_numpy(float), points["lon"].to_numpy(float),
                   colours=["#1e88e5"] * len(points), tooltips=[""] * len(points), radius=3,
                   source=source)  # fmt: skip
    if cities is not None and len(cities):
        sizes = cities["value"].to_numpy(dtype=float)
        radius = 4 + 22 * np.sqrt(np.clip(sizes, 0, None) / max(float(sizes.max()), 1.0))
        lat, lon = cities["lat"].to_numpy(dtype=float), cities["lon"].to_numpy(dtype=float)
        for i, name in enumerate(cities["name"].astype(str)):  # a few dozen cities at most
            folium.CircleMarker(
                [lat[i], lon[i]], radius=float(radius[i]), color="#08306b", weight=1, fill=True,
                fill_color="#fd8d3c", fill_opacity=0.7,
                tooltip=folium.Tooltip(tooltip_html(name, [(caption, f"{sizes[i]:,.4g}")])),
            ).add_to(m)  # fmt: skip
    return m  # no branca legend: it needs d3 from a CDN; the page states the scale
