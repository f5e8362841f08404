"""The Plan page's map: scored candidate sites, the planner's marks and a plan's chosen sites.

The sites are one canvas layer (see `nudge.ui.maps._sites_js`), sent as compact columns, and
a change of weights reaches the map as a small script of numbers (`rescore_script`) that
recolours the sites in place, so the map is drawn once per set of candidates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element
from folium.template import Template

from nudge.ui.maps._base import (
    DEFAULT_SOURCE,
    SCORE_COLOURS,
    MapSource,
    add_street_backdrop,
    base_map,
    escape_text,
    lat_lon,
    present,
    score_palette,
    tooltip_html,
)
from nudge.ui.maps._sites_js import SITES_JS

COORDINATE_STEP = 1e-5
"""Site coordinates are sent in steps of 1e-5 degrees (about a metre)."""


@dataclass(frozen=True, slots=True)
class CandidateLabels:
    """Words of the candidate map's tooltips in the user's language, and its decimal mark."""

    score: str = "score"
    rank: str = "rank"
    excluded: str = "excluded"
    locked: str = "locked"
    chosen: str = "chosen"
    site: str = "site"
    decimal: str = "."


def candidates_map(
    candidates: gpd.GeoDataFrame,
    *,
    streets: gpd.GeoDataFrame | None = None,
    chosen: gpd.GeoDataFrame | None = None,
    labels: CandidateLabels | None = None,
    source: MapSource = DEFAULT_SOURCE,
) -> folium.Map:
    """Map scored candidate sites coloured by score, with a plan's chosen sites on top.

    What the planner picks, locks or excludes, and new scores, are drawn by `marks_layer`
    and `rescore_script`, which the app sends without reloading the map.

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
    _SitesLayer(site_columns(candidates, words)).add_to(m)
    if chosen is not None and len(chosen):
        group = folium.FeatureGroup(name=escape_text(words.chosen))
        add_chosen(group, chosen, words)
        group.add_to(m)
    return m


def marks_layer(
    candidates: gpd.GeoDataFrame,
    *,
    locked: Iterable[str] = (),
    excluded: Iterable[str] = (),
    selected: str | None = None,
    chosen: gpd.GeoDataFrame | None = None,
    labels: CandidateLabels | None = None,
) -> folium.FeatureGroup:
    """Return rings around the sites the planner locked, excluded or picked, and a plan's sites.

    `chosen` are the ``chosen`` sites of the plan shown (drawn as in `candidates_map`).
    """
    words = labels or CandidateLabels()
    group = folium.FeatureGroup(name="marks")
    if chosen is not None and len(chosen):
        add_chosen(group, chosen, words)
    marks = [(i, words.locked, "#1565c0") for i in locked if i in candidates.index]
    marks += [(i, words.excluded, "#616161") for i in excluded if i in candidates.index]
    if selected is not None and selected in candidates.index:
        marks.append((selected, words.site, "#000000"))
    for cid, word, colour in marks:
        point = candidates.geometry.loc[cid]
        name = candidates["name"].loc[cid] if "name" in candidates else None
        folium.CircleMarker(
            [point.y, point.x], radius=11, color=colour, weight=3, fill=False,
            tooltip=folium.Tooltip(tooltip_html(name if present(name) else cid, [(word, cid)])),
        ).add_to(group)  # fmt: skip
    return group


def add_chosen(
    target: folium.Map | folium.FeatureGroup, chosen: gpd.GeoDataFrame, words: CandidateLabels
) -> None:
    """Draw a plan's chosen sites as large blue markers (tooltips end with the site id)."""
    lat, lon = lat_lon(chosen)
    for i, row in enumerate(chosen.itertuples(index=False)):  # a plan: tens of sites
        title = row.name if present(getattr(row, "name", None)) else row.site_id
        tip = tooltip_html(title, [(words.chosen, f"#{row.pick_order}"), (words.site, row.site_id)])
        folium.CircleMarker(
            [float(lat[i]), float(lon[i])], radius=9, color="#0d47a1", weight=3, fill=True,
            fill_color="#42a5f5", fill_opacity=0.95, tooltip=folium.Tooltip(tip),
        ).add_to(target)  # fmt: skip


def rescore_script(candidates: pd.DataFrame | None) -> str:
    """Return the browser script that shows new scores on a map of `candidates_map`.

    `candidates` are the same sites in the same order as the map's, with new ``score`` and
    ``rank`` columns; None restores the scores the map was drawn with. The script holds
    numbers only. The app sends it with each rerun; the browser recolours the sites once per
    new set of scores.
    """
    if candidates is None:
        return "window.nudgeSites && window.nudgeSites.rescore(null);\n"
    payload: dict[str, Any] = _score_columns(candidates)
    text = json.dumps(payload, separators=(",", ":"))
    payload["key"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"window.nudgeSites && window.nudgeSites.rescore({json.dumps(payload)});\n"


def site_columns(candidates: gpd.GeoDataFrame, words: CandidateLabels) -> dict[str, Any]:
    """Return the candidates as compact JSON-ready columns for the browser, texts escaped.

    Ids share their common prefix, names are sent once each (a few hundred street names for
    tens of thousands of sites), coordinates as whole steps of `COORDINATE_STEP` from the
    south-west corner, scores in tenths, exclusion reasons for the excluded sites only.
    """
    n = len(candidates)
    lat, lon = lat_lon(candidates) if n else (np.array([]), np.array([]))
    ids = [escape_text(i) for i in candidates.index.astype(str)]
    prefix = _common_prefix(ids)
    raw = candidates["name"] if "name" in candidates else pd.Series([None] * n)
    codes, uniques = pd.factorize(pd.Series(_texts(raw), dtype=object), use_na_sentinel=True)
    out = np.flatnonzero(candidates["excluded"].to_numpy(dtype=bool))
    reasons = _texts(candidates.get("exclusion_reason", pd.Series([None] * n)).to_numpy()[out])
    lat0, lat_steps = _steps(lat)
    lon0, lon_steps = _steps(lon)
    return {
        "prefix": prefix,
        "id": [i[len(prefix) :] for i in ids],
        "names": list(uniques),
        "name": codes.tolist(),
        "lat0": lat0,
        "lat": lat_steps,
        "lon0": lon0,
        "lon": lon_steps,
        **_score_columns(candidates),
        "reason": {str(i): r or "✓" for i, r in zip(out.tolist(), reasons, strict=True)},
        "palette": [*score_palette().tolist(), "#9e9e9e", "#616161"],
        "words": {k: escape_text(getattr(words, k)) for k in ("score", "rank", "excluded", "site")},
        "decimal": escape_text(words.decimal)[:1] or ".",
    }


def _common_prefix(ids: list[str]) -> str:
    """Return the prefix all ids share, up to its last ``/`` (``banner/`` say), or ""."""
    if len(ids) < 2:
        return ""
    first, last = min(ids), max(ids)
    pairs = enumerate(zip(first, last, strict=False))
    size = next((k for k, (a, b) in pairs if a != b), len(first))
    return first[: first.rfind("/", 0, size) + 1]


def _steps(values: np.ndarray) -> tuple[int, list[int | None]]:
    """Return the smallest value and each value's distance from it in coordinate steps."""
    steps = np.rint(np.asarray(values, dtype=float) / COORDINATE_STEP)
    ok = np.isfinite(steps)
    origin = int(steps[ok].min()) if ok.any() else 0
    offsets = np.where(ok, steps - origin, 0).astype(np.int64).tolist()
    return origin, [v if good else None for v, good in zip(offsets, ok.tolist(), strict=True)]


def _score_columns(candidates: pd.DataFrame) -> dict[str, list[int | None]]:
    """Return scores in whole tenths and ranks, None where missing."""
    column = candidates["score"] if "score" in candidates else pd.Series(np.nan, candidates.index)
    scores = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    tenths = np.rint(np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 100.0) * 10).astype(int)
    known = np.isfinite(scores)
    rank = pd.to_numeric(candidates["rank"], errors="coerce") if "rank" in candidates else None
    ranks = np.full(len(candidates), np.nan) if rank is None else rank.to_numpy(dtype=float)
    return {
        "score": [int(t) if ok else None for t, ok in zip(tenths, known, strict=True)],
        "rank": [int(r) if np.isfinite(r) else None for r in ranks],
    }


def _texts(values: Iterable[object]) -> list[str | None]:
    return [escape_text(v) or None for v in values]


class _Script(Element):
    """Script text added to a figure as it is (branca would compile it as a Jinja template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the script text."""
        del kwargs
        return self.text


class _SitesLayer(folium.MacroElement):
    """Candidate sites as dots on one canvas, hovered and clicked one at a time."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(L, map, d){
                {{ this.code }}
            })(L, {{ this._parent.get_name() }}, {{ this.data|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()
        self._name = "SitesLayer"
        self.data = data
        self.code = SITES_JS

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Add the script without compiling megabytes of data as a Jinja template."""
        script = self._template.module.script(self, kwargs)
        figure = self.get_root()
        figure.script.add_child(_Script(script), name=self.get_name())  # type: ignore[attr-defined]


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
