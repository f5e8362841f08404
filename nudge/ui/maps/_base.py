"""What every map shares: where tiles and scripts come from, colours, escaping, base map, points.

Every text that comes from users, OpenStreetMap or the registry goes through `escape_text`
before it reaches a tooltip: folium does not escape tooltip text, and puts it inside a
JavaScript template literal, so `escape_text` also neutralises backticks, ``$`` and
backslashes. Layers with many points are clustered in the browser (`CLUSTER_FROM`), drawn
as circle markers on a canvas.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import FastMarkerCluster
from folium.template import Template

from nudge.settings import (
    DEFAULT_MAP_ASSETS_URL,
    DEFAULT_TILE_ATTRIBUTION,
    DEFAULT_TILE_URL,
    Settings,
)

CLUSTER_FROM = 400
"""Layers with at least this many points are clustered."""
KAZAKHSTAN_CENTER = (48.0, 67.0)
KAZAKHSTAN_BOUNDS = ((40.5, 46.5), (55.5, 87.4))
RETURNED_OBJECTS = ("last_clicked", "last_object_clicked", "last_object_clicked_tooltip")
"""The only map events the app listens to: a pan or zoom does not rerun the page.

The tooltip of the clicked object tells a site (its tooltip ends with its id) from a cluster
of sites (no tooltip).
"""
TILES_ATTRIBUTION = DEFAULT_TILE_ATTRIBUTION


@dataclass(frozen=True, slots=True)
class MapSource:
    """Where a map's tiles and scripts come from (see `nudge.settings.Settings`).

    Leaflet and the cluster plugin are served by the app itself from ``static/leaflet/``
    (Streamlit's static serving), never from a CDN, so maps work offline and on an intranet;
    only the tiles come from `tile_url`, which an administrator may point at the ministry's
    own tile server.
    """

    tile_url: str = DEFAULT_TILE_URL
    attribution: str = DEFAULT_TILE_ATTRIBUTION
    assets_url: str = DEFAULT_MAP_ASSETS_URL

    def js(self, *names: str) -> list[tuple[str, str]]:
        """Return folium's ``default_js`` entries for the given files of the assets folder."""
        return [(n.replace(".", "_"), self.assets_url + n) for n in names]


def map_source(settings: Settings) -> MapSource:
    """Return the map source of a process's settings."""
    return MapSource(settings.tile_url, settings.tile_attribution, settings.map_assets_url)


DEFAULT_SOURCE = MapSource()
SCORE_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
STATUS_COLOURS = {
    "planned": "#9e9e9e",
    "ordered": "#7e57c2",
    "installed": "#1e88e5",
    "verified": "#2e7d32",
    "damaged": "#e53935",
    "replaced": "#fb8c00",
    "removed": "#424242",
}
CATEGORY_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
)  # fmt: skip
_EXTRA_ESCAPES = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def escape_text(value: object) -> str:
    """Return `value` as text safe for a folium tooltip or popup (None and NaN give "")."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True).translate(_EXTRA_ESCAPES)


def tooltip_html(title: object, lines: Iterable[tuple[object, object]] = ()) -> str:
    """Return a small tooltip: an escaped bold title and escaped ``label: value`` lines."""
    parts = [f"<b>{escape_text(title)}</b>"] if escape_text(title) else []
    parts += [f"{escape_text(k)}: {escape_text(v)}" for k, v in lines if escape_text(v)]
    return "<br>".join(parts)


class _PointCluster(FastMarkerCluster):
    """Circle markers from rows ``[lat, lon, colour, tooltip, radius]``, clustered in bulk."""

    def __init__(self, data: Any, *, source: MapSource = DEFAULT_SOURCE, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.default_js = source.js("leaflet.markercluster.js")
        self.default_css = source.js("MarkerCluster.css", "MarkerCluster.Default.css")

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var data = {{ this.data|tojson }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                var markers = [];
                for (var i = 0; i < data.length; i++) {
                    var r = data[i];
                    var m = L.circleMarker([r[0], r[1]], {radius: r[4], color: "#333",
                        weight: 1, fillColor: r[2], fillOpacity: 0.85});
                    if (r[3]) { m.bindTooltip(r[3]); }
                    markers.push(m);
                }
                cluster.addLayers(markers);
                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}"""
    )


def base_map(
    bounds: Sequence[float] | None = None,
    *,
    height: str = "100%",
    zoom: int = 5,
    source: MapSource = DEFAULT_SOURCE,
) -> folium.Map:
    """Return a base map fitted to ``[west, south, east, north]`` (or Kazakhstan).

    The map loads Leaflet from `source` (the app's own copy by default), nothing from a CDN.
    """
    m = folium.Map(
        location=KAZAKHSTAN_CENTER,
        zoom_start=zoom,
        tiles=source.tile_url,
        attr=source.attribution,
        prefer_canvas=True,
        control_scale=True,
        height=height,
    )
    m.default_js = source.js("leaflet.js")
    m.default_css = source.js("leaflet.css")
    if bounds is not None and len(bounds) == 4 and all(np.isfinite(bounds)):
        w, s, e, n = (float(v) for v in bounds)
        m.fit_bounds([[s, w], [n, e]])
    else:
        m.fit_bounds([list(KAZAKHSTAN_BOUNDS[0]), list(KAZAKHSTAN_BOUNDS[1])])
    return m


def add_points(
    target: folium.Map | folium.FeatureGroup,
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    colours: Sequence[str] | np.ndarray,
    tooltips: Sequence[str] | np.ndarray,
    radius: float = 6.0,
    cluster: bool | None = None,
    source: MapSource = DEFAULT_SOURCE,
) -> None:
    """Add circle markers; `tooltips` must already be escaped (see `tooltip_html`).

    With `cluster` None, layers of `CLUSTER_FROM` points or more are clustered.
    """
    lat_a, lon_a = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    ok = np.isfinite(lat_a) & np.isfinite(lon_a)
    cols, tips = np.asarray(colours, dtype=object)[ok], np.asarray(tooltips, dtype=object)[ok]
    lat_a, lon_a = lat_a[ok], lon_a[ok]
    if cluster is None:
        cluster = len(lat_a) >= CLUSTER_FROM
    if cluster:
        rows = [
            [float(a), float(b), str(c), str(t), radius]
            for a, b, c, t in zip(lat_a, lon_a, cols, tips, strict=True)
        ]
        options = {"chunkedLoading": True, "disableClusteringAtZoom": 17}
        _PointCluster(rows, options=options, source=source).add_to(target)
        return
    for a, b, c, t in zip(lat_a, lon_a, cols, tips, strict=True):
        folium.CircleMarker(
            [float(a), float(b)],
            radius=radius,
            color="#333",
            weight=1,
            fill=True,
            fill_color=str(c),
            fill_opacity=0.85,
            tooltip=folium.Tooltip(str(t)) if t else None,
        ).add_to(target)


def score_colour(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Return a colour per score 0–100, red (low) to green (high); grey where missing."""
    palette = score_palette()
    values = np.asarray(scores, dtype=float)
    index = np.rint(np.clip(np.nan_to_num(values, nan=0.0), 0.0, 100.0)).astype(int)
    return np.where(np.isfinite(values), palette[index], "#9e9e9e").astype(object)


def score_palette() -> np.ndarray:
    """Return the 101 colours of the scores 0, 1, ..., 100."""
    scale = cm.LinearColormap(list(SCORE_COLOURS), vmin=0, vmax=100)
    return np.array([scale(v) for v in range(101)], dtype=object)


def lat_lon(frame: gpd.GeoDataFrame, column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return latitudes and longitudes of a frame's geometries (a point on each surface)."""
    geoms = frame[column] if column is not None else frame.geometry
    series = gpd.GeoSeries(geoms, crs=frame.crs)
    series = series.to_crs(4326) if series.crs is not None else series
    pts = shapely.point_on_surface(series.array)
    xy = shapely.get_coordinates(pts)
    if len(xy) != len(frame):  # empty geometries give no coordinates
        xy = np.array([[p.x, p.y] if not p.is_empty else [np.nan, np.nan] for p in pts])
    return xy[:, 1], xy[:, 0]


def present(value: object) -> bool:
    """Return whether `value` shows as some text (not None, NaN or blank)."""
    return escape_text(value) != ""


def column_or_none(frame: pd.DataFrame, name: str) -> list[Any]:
    """Return a column as a list, or Nones when the frame lacks it."""
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


BACKDROP_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "pedestrian")
"""Street classes drawn as the backdrop when tiles cannot load: the shape of a city."""


class _ShowWhenTilesFail(folium.MacroElement):
    """Script that shows a layer only once the map's tiles fail to load (offline, intranet)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function(){
                var map = {{ this.map_name }}, layer = {{ this.layer_name }};
                var tiles = {{ this.tiles_name }}, failed = 0;
                map.removeLayer(layer);
                tiles.on("tileerror", function(){
                    failed += 1;
                    if (failed >= 2 && !map.hasLayer(layer)) { layer.addTo(map); }
                });
            })();
        {% endmacro %}"""
    )

    def __init__(self, map_name: str, layer_name: str, tiles_name: str) -> None:
        super().__init__()
        self.map_name, self.layer_name, self.tiles_name = map_name, layer_name, tiles_name


def add_street_backdrop(m: folium.Map, streets: gpd.GeoDataFrame | None) -> None:
    """Draw the dataset's main streets as a light backdrop, shown only when tiles fail.

    Offline or on an intranet without a tile server the background stays blank; the city's
    own streets (trunk to tertiary and pedestrian ones, simplified to about 5 m) let a planner
    still see where things are.
    """
    if streets is None or streets.empty or "highway" not in streets.columns:
        return
    major = streets.loc[streets["highway"].isin(BACKDROP_CLASSES).to_numpy()]
    if major.empty:
        return
    lines = shapely.simplify(np.asarray(major.geometry.to_crs(4326).array), 0.00005)
    merged = shapely.line_merge(shapely.union_all(lines))
    geometry = json.loads(shapely.to_geojson(shapely.set_precision(merged, 0.00001)))
    tiles = next((c for c in m._children.values() if isinstance(c, folium.TileLayer)), None)
    if tiles is None:
        return
    layer = folium.GeoJson(
        {"type": "Feature", "properties": {}, "geometry": geometry},
        name="streets",
        style_function=lambda _: {"color": "#9e9e9e", "weight": 1.5, "opacity": 0.8},
        control=False,
    )
    layer.add_to(m)
    _ShowWhenTilesFail(m.get_name(), layer.get_name(), tiles.get_name()).add_to(m)
