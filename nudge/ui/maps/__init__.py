"""Folium maps of the app: public spaces, scored candidate sites, installations, regions.

Each builder returns a `folium.Map` that the app hands to streamlit-folium at the end;
nothing here imports Streamlit. Every text that comes from users, OpenStreetMap or the
registry goes through `escape_text` before it reaches a tooltip.

Modules
-------
_base
    Where tiles and scripts come from (`MapSource`), colours, escaping, the base map, point
    layers (clustered when many) and the street backdrop shown when tiles fail.
features
    The Data page's map of public spaces (`features_map`).
candidates
    The Plan page's map: candidate sites on one canvas, recoloured in place by
    `rescore_script`; the planner's marks (`marks_layer`); the score legend.
registry
    Installations (`installations_map`), a clicked pin (`pin_layer`), regions (`regions_map`).
clicks
    Map clicks read by pure functions (`point_from_click`, `nearest_id`, `interpret_click`)
    that tests call with plain dicts.
"""

from __future__ import annotations

from nudge.ui.maps._base import (
    BACKDROP_CLASSES,
    CATEGORY_COLOURS,
    CLUSTER_FROM,
    DEFAULT_SOURCE,
    KAZAKHSTAN_BOUNDS,
    KAZAKHSTAN_CENTER,
    RETURNED_OBJECTS,
    SCORE_COLOURS,
    STATUS_COLOURS,
    TILES_ATTRIBUTION,
    MapSource,
    add_points,
    add_street_backdrop,
    base_map,
    escape_text,
    map_source,
    score_colour,
    tooltip_html,
)
from nudge.ui.maps.candidates import (
    CandidateLabels,
    add_chosen,
    candidates_map,
    marks_layer,
    rescore_script,
    score_legend_html,
)
from nudge.ui.maps.clicks import Click, interpret_click, nearest_id, point_from_click
from nudge.ui.maps.features import features_map
from nudge.ui.maps.registry import installations_map, pin_layer, regions_map

__all__ = [
    "BACKDROP_CLASSES",
    "CATEGORY_COLOURS",
    "CLUSTER_FROM",
    "DEFAULT_SOURCE",
    "KAZAKHSTAN_BOUNDS",
    "KAZAKHSTAN_CENTER",
    "RETURNED_OBJECTS",
    "SCORE_COLOURS",
    "STATUS_COLOURS",
    "TILES_ATTRIBUTION",
    "CandidateLabels",
    "Click",
    "MapSource",
    "add_chosen",
    "add_points",
    "add_street_backdrop",
    "base_map",
    "candidates_map",
    "escape_text",
    "features_map",
    "installations_map",
    "interpret_click",
    "map_source",
    "marks_layer",
    "nearest_id",
    "pin_layer",
    "point_from_click",
    "regions_map",
    "rescore_script",
    "score_colour",
    "score_legend_html",
    "tooltip_html",
]
