"""Folium maps of the app: public spaces, scored candidate sites, installations, regions.

Each builder returns a `folium.Map` that the app hands to streamlit-folium at
the end; nothing here imports Streamlit. Every text that comes from users,
OpenStreetMap or the registry goes through `escape_text` before it reaches a
tooltip: folium does not escape tooltip text, and puts it inside a JavaScript
template literal, so `escape_text` also neutralises backticks, ``$`` and
backslashes. Layers with many points are clustered in the browser
(`CLUSTER_FROM`), drawn as circle markers on a canvas.

Map clicks are read by pure functions (`point_from_click`, `nearest_id`,
`interpret_click`) that tests call with plain dicts.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import CssLink, Element, JavascriptLink
from folium.elements import JSCSSMixin
from folium.plugins import FastMarkerCluster
from folium.template import Template

from nudge.geo.distance import distance_m
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
    palette = _score_palette()
    values = np.asarray(scores, dtype=float)
    index = np.rint(np.clip(np.nan_to_num(values, nan=0.0), 0.0, 100.0)).astype(int)
    return np.where(np.isfinite(values), palette[index], "#9e9e9e").astype(object)


def _score_palette() -> np.ndarray:
    """Return the 101 colours of the scores 0, 1, ..., 100."""
    scale = cm.LinearColormap(list(SCORE_COLOURS), vmin=0, vmax=100)
    return np.array([scale(v) for v in range(101)], dtype=object)


def _xy(frame: gpd.GeoDataFrame, column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    geoms = frame[column] if column is not None else frame.geometry
    series = gpd.GeoSeries(geoms, crs=frame.crs)
    series = series.to_crs(4326) if series.crs is not None else series
    pts = shapely.point_on_surface(series.array)
    xy = shapely.get_coordinates(pts)
    if len(xy) != len(frame):  # empty geometries give no coordinates
        xy = np.array([[p.x, p.y] if not p.is_empty else [np.nan, np.nan] for p in pts])
    return xy[:, 1], xy[:, 0]


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
    lat, lon = _xy(features, column) if len(features) else (np.array([]), np.array([]))
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
        tips = [tooltip_html(n if _present(n) else label) for n in names[mask]]
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


def _present(value: object) -> bool:
    return escape_text(value) != ""


@dataclass(frozen=True, slots=True)
class CandidateLabels:
    """Words of the candidate map's tooltips in the user's language."""

    score: str = "score"
    rank: str = "rank"
    excluded: str = "excluded"
    locked: str = "locked"
    chosen: str = "chosen"
    site: str = "site"


def candidates_map(
    candidates: gpd.GeoDataFrame,
    *,
    streets: gpd.GeoDataFrame | None = None,
    chosen: gpd.GeoDataFrame | None = None,
    labels: CandidateLabels | None = None,
    source: MapSource = DEFAULT_SOURCE,
) -> folium.Map:
    """Map scored candidate sites coloured by score, with a plan's chosen sites on top.

    What the planner picks, locks or excludes is drawn by `marks_layer`, which
    the app adds without reloading the map.

    Parameters
    ----------
    candidates
        Scored candidates indexed by ``candidate_id`` (``name``, ``score``,
        ``rank``, ``excluded``, ``exclusion_reason``, Point geometry).
    chosen
        The ``chosen`` sites of a plan (``site_id``, ``pick_order``...), drawn
        as large blue markers.
    labels
        Tooltip words in the user's language.
    """
    words = labels or CandidateLabels()
    bounds = list(candidates.total_bounds) if len(candidates) else None
    m = base_map(bounds, source=source)
    add_street_backdrop(m, streets)
    group = folium.FeatureGroup(name=escape_text(words.site))
    _CandidateLayer(candidates, words, source=source).add_to(group)
    group.add_to(m)
    if chosen is not None and len(chosen):
        add_chosen(m, chosen, words)
    return m


def marks_layer(
    candidates: gpd.GeoDataFrame,
    *,
    locked: Iterable[str] = (),
    excluded: Iterable[str] = (),
    selected: str | None = None,
    labels: CandidateLabels | None = None,
) -> folium.FeatureGroup:
    """Return rings around the sites the planner locked, excluded or picked."""
    words = labels or CandidateLabels()
    group = folium.FeatureGroup(name="marks")
    marks = [(i, words.locked, "#1565c0") for i in locked if i in candidates.index]
    marks += [(i, words.excluded, "#616161") for i in excluded if i in candidates.index]
    if selected is not None and selected in candidates.index:
        marks.append((selected, words.site, "#000000"))
    for cid, word, colour in marks:
        point = candidates.geometry.loc[cid]
        name = candidates["name"].loc[cid] if "name" in candidates else None
        folium.CircleMarker(
            [point.y, point.x], radius=11, color=colour, weight=3, fill=False,
            tooltip=folium.Tooltip(tooltip_html(name if _present(name) else cid, [(word, cid)])),
        ).add_to(group)  # fmt: skip
    return group


class _Script(Element):
    """Script text added to a figure as it is (branca would compile it as a Jinja template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the script text."""
        del kwargs
        return self.text


class _CandidateLayer(JSCSSMixin, folium.MacroElement):
    """Scored candidates as circle markers, sent as compact columns (tens of thousands of sites).

    Names and reasons are escaped here; the browser builds each tooltip (title, score, rank,
    exclusion and, last, the site id that `nudge.ui.planning.site_from_click` reads back).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                var d = {{ this.data|tojson }}, w = d.words, markers = [];
                for (var i = 0; i < d.lat.length; i++) {
                    var id = d.id[i];
                    var tip = "<b>" + (d.name[i] >= 0 ? d.names[d.name[i]] : id) + "</b>";
                    if (d.score[i] !== null) { tip += "<br>" + w.score + ": " + d.score[i]; }
                    if (d.rank[i] !== null) { tip += "<br>" + w.rank + ": " + d.rank[i]; }
                    if (d.reason[i] !== null) { tip += "<br>" + w.excluded + ": " + d.reason[i]; }
                    tip += "<br>" + w.site + ": " + d.id[i];
                    var m = L.circleMarker([d.lat[i], d.lon[i]], {radius: 6, color: "#333",
                        weight: 1, fillColor: d.palette[d.colour[i]], fillOpacity: 0.85});
                    markers.push(m.bindTooltip(tip));
                }
                {% if this.cluster %}
                var layer = L.markerClusterGroup({{ this.options|tojavascript }});
                layer.addLayers(markers);
                {% else %}
                var layer = L.featureGroup(markers);
                {% endif %}
                return layer.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}"""
    )

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 - folium's own class attributes
    default_css: list[tuple[str, str]] = []  # noqa: RUF012

    def __init__(
        self, candidates: gpd.GeoDataFrame, words: CandidateLabels, *, source: MapSource
    ) -> None:
        super().__init__()
        self._name = "CandidateLayer"
        self.cluster = len(candidates) >= CLUSTER_FROM
        self.options = {"chunkedLoading": True, "disableClusteringAtZoom": 17}
        self.data = _candidate_columns(candidates, words)
        if self.cluster:
            self.default_js = source.js("leaflet.markercluster.js")
            self.default_css = source.js("MarkerCluster.css", "MarkerCluster.Default.css")

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Add the plugin links and the script, without compiling megabytes of data as Jinja."""
        figure = self.get_root()
        for name, url in self.default_js:
            figure.header.add_child(JavascriptLink(url), name=name)  # type: ignore[attr-defined]
        for name, url in self.default_css:
            figure.header.add_child(CssLink(url), name=name)  # type: ignore[attr-defined]
        script = self._template.module.script(self, kwargs)
        figure.script.add_child(_Script(script), name=self.get_name())  # type: ignore[attr-defined]


def _candidate_columns(candidates: gpd.GeoDataFrame, words: CandidateLabels) -> dict[str, Any]:
    """Return the candidates as compact JSON-ready columns, texts escaped.

    Names are sent once each (a few hundred street names for tens of thousands of sites),
    colours as palette indexes.
    """
    n = len(candidates)
    lat, lon = _xy(candidates) if n else (np.array([]), np.array([]))
    scores = pd.to_numeric(candidates.get("score"), errors="coerce").to_numpy(dtype=float)
    out = candidates["excluded"].to_numpy(dtype=bool)
    index = np.rint(np.clip(np.nan_to_num(scores, nan=0.0), 0, 100)).astype(int)
    colour = np.where(out, 102, np.where(np.isfinite(scores), index, 101))
    ranks = pd.to_numeric(candidates["rank"], errors="coerce") if "rank" in candidates else None
    reasons = candidates.get("exclusion_reason", pd.Series([None] * n, index=candidates.index))
    raw = candidates["name"] if "name" in candidates else pd.Series([None] * n)
    codes, uniques = pd.factorize(pd.Series(_texts(raw), dtype=object), use_na_sentinel=True)
    return {
        "id": [escape_text(i) for i in candidates.index.astype(str)],
        "names": list(uniques),
        "name": codes.tolist(),
        "lat": np.round(lat, 6).tolist(),
        "lon": np.round(lon, 6).tolist(),
        "score": [round(float(v), 1) if np.isfinite(v) else None for v in scores],
        "rank": [None] * n if ranks is None else [None if pd.isna(r) else int(r) for r in ranks],
        "reason": [
            (escape_text(r) or "✓") if o else None for r, o in zip(reasons, out, strict=True)
        ],
        "colour": colour.tolist(),
        "palette": [*_score_palette().tolist(), "#9e9e9e", "#616161"],
        "words": {k: escape_text(getattr(words, k)) for k in ("score", "rank", "excluded", "site")},
    }


def _texts(values: Iterable[object]) -> list[str | None]:
    return [escape_text(v) or None for v in values]


def add_chosen(m: folium.Map, chosen: gpd.GeoDataFrame, words: CandidateLabels) -> None:
    """Draw a plan's chosen sites as numbered blue markers."""
    group = folium.FeatureGroup(name=escape_text(words.chosen))
    lat, lon = _xy(chosen)
    for i, row in enumerate(chosen.itertuples(index=False)):
        title = row.name if _present(getattr(row, "name", None)) else row.site_id
        tip = tooltip_html(title, [(words.chosen, f"#{row.pick_order}"), (words.site, row.site_id)])
        folium.CircleMarker(
            [float(lat[i]), float(lon[i])], radius=9, color="#0d47a1", weight=3, fill=True,
            fill_color="#42a5f5", fill_opacity=0.95, tooltip=folium.Tooltip(tip),
        ).add_to(group)  # fmt: skip
    group.add_to(m)


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
                frame["id"], frame["kind"], status, _column(frame, "city"),
                _column(frame, "content_id"), strict=True,
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


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


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


# --- reading clicks -------------------------------------------------------------------------


def point_from_click(returned: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Return ``(lat, lon)`` of the last click in a streamlit-folium result, or None.

    A click on a marker (``last_object_clicked``) wins over a click on the
    bare map (``last_clicked``).
    """
    if not returned:
        return None
    for key in ("last_object_clicked", "last_clicked"):
        point = returned.get(key)
        if isinstance(point, Mapping):
            lat, lon = point.get("lat"), point.get("lng", point.get("lon"))
            try:
                lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if math.isfinite(lat_f) and math.isfinite(lon_f) and abs(lat_f) <= 90:
                return lat_f, ((lon_f + 180.0) % 360.0) - 180.0
    return None


def nearest_id(
    point: tuple[float, float],
    ids: Sequence[str] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    max_distance_m: float,
) -> str | None:
    """Return the id of the point nearest to `point` within `max_distance_m`, or None."""
    if len(ids) == 0:
        return None
    dist = distance_m(np.asarray(lat, float), np.asarray(lon, float), point[0], point[1])
    dist = np.where(np.isfinite(dist), dist, np.inf)
    best = int(np.argmin(dist))
    return str(ids[best]) if dist[best] <= max_distance_m else None


@dataclass(frozen=True, slots=True)
class Click:
    """What a map click means: where it was, and the site it picked (if any)."""

    point: tuple[float, float] | None
    site_id: str | None


def interpret_click(
    returned: Mapping[str, Any] | None,
    sites: gpd.GeoDataFrame | None = None,
    *,
    max_distance_m: float = 60.0,
    previous: tuple[float, float] | None = None,
) -> Click:
    """Interpret a streamlit-folium result: the clicked point and the nearest site to it.

    Parameters
    ----------
    returned
        The dict `st_folium` returned (only ``last_clicked`` and
        ``last_object_clicked`` are read).
    sites
        Sites that may be picked (index = id, Point geometry in EPSG:4326).
    max_distance_m
        A click farther than this from every site picks none.
    previous
        The point already handled; the same point again means no new click
        (Streamlit reruns return the last click again).

    Returns
    -------
    Click
        ``Click(None, None)`` when there is no new click.
    """
    point = point_from_click(returned)
    if point is None or (previous is not None and np.allclose(point, previous, atol=1e-9)):
        return Click(None, None)
    if sites is None or not len(sites):
        return Click(point, None)
    lat, lon = _xy(sites)
    site = nearest_id(
        point, sites.index.astype(str).to_numpy(), lat, lon, max_distance_m=max_distance_m
    )
    return Click(point, site)


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


def score_legend_html(low: str, high: str, excluded: str) -> str:
    """Return a one-line legend of the score colours: a red-to-green bar and the grey of excluded.

    The labels are escaped; the app shows the result with ``unsafe_allow_html``.
    """
    gradient = ", ".join(SCORE_COLOURS)
    swatch = "display:inline-block;vertical-align:middle;border:1px solid #999;"
    return (
        '<div style="font-size:0.85rem;margin:0.2rem 0">'
        f"{escape_text(low)} 0 "
        f'<span style="{swatch}width:9rem;height:0.8rem;'
        f'background:linear-gradient(to right, {gradient})"></span>'
        f" 100 {escape_text(high)} &nbsp; "
        f'<span style="{swatch}width:0.8rem;height:0.8rem;background:#616161"></span> '
        f"{escape_text(excluded)}</div>"
    )
