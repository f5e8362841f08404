"""A big folium map rendered once and cached, so a click reruns in a fraction of a second.

`streamlit_folium.st_folium` renders the whole folium map to HTML and JavaScript on every
rerun (seconds for tens of thousands of candidate sites). Here the map is rendered once per
`token` (whatever the map is built from) and kept with `st.cache_resource`; each rerun only
renders the small layer of marks (`feature_group_to_add`, drawn without reloading the map),
with a script to run before it (new scores, say), and hands the cached text to the
streamlit-folium component, as `st_folium` itself does. The component keeps its key while the
map's parts stay the same, so the browser keeps its map (and its view) across reruns.

The last map event is also kept in ``st.session_state[key]`` (the component's ``on_change``),
so a page can read a click before it draws the map, and AppTest can set one. A click is sent
to the app at once, not after streamlit-folium's 250 ms debounce (`_CLICKS_AT_ONCE`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import folium
import folium.elements
import streamlit as st
import streamlit_folium as sf

from nudge.ui.maps import RETURNED_OBJECTS

_CLICKS_AT_ONCE = """
map_div.on("click", function () {
    /* streamlit-folium sends a click 250 ms late (a debounce for pans); the app listens to
       clicks only, so send them at once, after every click handler has run. The later,
       debounced send finds nothing new. Left to streamlit-folium if its internals differ. */
    setTimeout(function () {
        var g = window.__GLOBAL_DATA__, st = window.Streamlit;
        if (!g || !st || typeof st.setComponentValue !== "function" || !g.returned_objects) {
            return;
        }
        var all = {last_clicked: g.lat_lng_clicked, last_object_clicked: g.last_object_clicked,
                   last_object_clicked_tooltip: g.last_object_clicked_tooltip}, data = {};
        if (!g.returned_objects.every(function (k) { return k in all; })) { return; }
        Object.keys(all).forEach(function (k) {
            if (g.returned_objects.indexOf(k) >= 0) { data[k] = all[k]; }
        });
        if (JSON.stringify(g.previous_data) !== JSON.stringify(data)) {
            g.previous_data = data;
            st.setComponentValue(data);
        }
    }, 0);
});
"""


@dataclass(frozen=True, slots=True)
class MapParts:
    """A folium map as the streamlit-folium component draws it."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    defaults: dict[str, Any]
    digest: str


def map_parts(m: folium.Map) -> MapParts:
    """Render `m` once into the texts and links the streamlit-folium component takes."""
    m.get_root().render()
    html, header = sf._get_html(m), sf._get_header(m)
    script = sf._get_map_string(m) + _CLICKS_AT_ONCE
    css: list[str] = []
    js: list[str] = []
    for element in _walk(m):
        css.extend(href for _, href in getattr(element, "default_css", []))
        js.extend(src for _, src in getattr(element, "default_js", []))
    return MapParts(
        script=script,
        header=header,
        html=html,
        map_id=sf.get_full_id(m),
        css_links=tuple(dict.fromkeys(css)),
        js_links=tuple(dict.fromkeys(js)),
        defaults=dict.fromkeys(RETURNED_OBJECTS),  # clicks only: a pan does not rerun
        digest=hashlib.sha256(script.encode()).hexdigest()[:16],
    )


def _walk(element: Any) -> Any:
    if isinstance(element, folium.elements.JSCSSMixin):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_parts(token: str, _build: Callable[[], folium.Map]) -> MapParts:
    """Return the rendered parts of the map `_build` makes, once per `token` (per process)."""
    del token  # the cache key only: what the map is built from
    return map_parts(_build())


def _layer_script(layer: folium.FeatureGroup) -> str:
    carrier = folium.Map(tiles=None)
    return sf._get_feature_group_string(layer, map=carrier, idx=0)


def show_cached_map(
    parts: MapParts,
    *,
    key: str,
    height: int = 520,
    layer: folium.FeatureGroup | None = None,
    script: str = "",
) -> dict[str, Any]:
    """Draw cached map parts with `layer` on top; return the last map event (clicks only).

    The map is reloaded in the browser only when its parts change; a new `layer` is swapped
    in place and `script` (trusted code of the map's own, such as
    `nudge.ui.maps.rescore_script`) runs before it whenever either changes: the view stays.
    """
    widget = f"{key}_{parts.digest}"
    overlay = script + ("" if layer is None else _layer_script(layer))

    def remember() -> None:
        st.session_state[key] = st.session_state.get(widget, {})

    value = sf._component_func(
        script=parts.script, header=parts.header, html=parts.html, id=parts.map_id,
        key=widget, height=height, width=None, returned_objects=list(RETURNED_OBJECTS),
        default=parts.defaults, zoom=None, center=None,
        feature_group=overlay or None,
        return_on_hover=False, layer_control=None, pixelated=False,
        css_links=list(parts.css_links), js_links=list(parts.js_links),
        on_change=remember, wrap_longitude=False,
    )  # fmt: skip
    kept = st.session_state.get(key)
    return kept if isinstance(kept, dict) else value if isinstance(value, dict) else {}
