"""Map builders: escaping at the map boundary, clustering, the pure click interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from jinja2.utils import htmlsafe_json_dumps

from nudge.ui import maps

XSS = "<img src=x onerror=alert(1)>"
TEMPLATE_BREAK = "`);alert(2);//${alert(3)}\\"


def _html(m) -> str:  # type: ignore[no-untyped-def]
    return m.get_root().render()


def _candidates(n: int, name: str = XSS) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(1)
    lon, lat = 76.9 + rng.random(n) * 0.05, 43.23 + rng.random(n) * 0.05
    return gpd.GeoDataFrame(
        {
            "name": [name] + [f"street {i}" for i in range(1, n)],
            "score": np.linspace(90, 10, n),
            "rank": pd.array(np.arange(1, n + 1), dtype="Int64"),
            "excluded": [False] * (n - 1) + [True],
            "exclusion_reason": [None] * (n - 1) + [f"within 50 m of historic site {XSS!r}"],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
        index=pd.Index([f"banner/{i:06d}" for i in range(n)], name="candidate_id"),
    )


def _present(text: str, html: str) -> bool:
    """Return whether `text` is in the page as it is or as data encoded by Jinja's tojson."""
    return text in html or str(htmlsafe_json_dumps(text))[1:-1] in html


def _assert_escaped(html: str) -> None:
    assert XSS not in html
    assert str(htmlsafe_json_dumps(XSS))[1:-1] not in html  # not even as JSON data
    assert _present("&lt;img src=x onerror=alert(1)&gt;", html)


@pytest.mark.parametrize("n", [5, maps.CLUSTER_FROM + 5])
def test_candidate_names_and_reasons_are_escaped(n: int) -> None:
    html = _html(maps.candidates_map(_candidates(n)))
    _assert_escaped(html)
    # however many, the sites are dots on one canvas: no cluster to click, no marker each
    assert "markerClusterGroup" not in html and "window.nudgeSites" in html


def test_template_literal_cannot_be_broken_out_of() -> None:
    html = _html(maps.candidates_map(_candidates(3, name=TEMPLATE_BREAK)))
    assert "`);alert(2)" not in html and "${alert(3)}" not in html
    assert _present("&#96;);alert(2);//&#36;{alert(3)}&#92;", html)


def test_marks_and_chosen_sites_are_escaped() -> None:
    cands = _candidates(4)
    chosen = gpd.GeoDataFrame(
        {"site_id": [cands.index[0]], "name": [XSS], "pick_order": [1]},
        geometry=[cands.geometry.iloc[0]],
        crs=4326,
    )
    m = maps.candidates_map(cands, chosen=chosen)
    maps.marks_layer(cands, locked=[cands.index[0]], selected=cands.index[1]).add_to(m)
    html = _html(m)
    _assert_escaped(html)
    shown = "&lt;img src=x onerror=alert(1)&gt;"
    assert html.count(shown) + html.count(str(htmlsafe_json_dumps(shown))[1:-1]) >= 3


def test_feature_map_escapes_osm_names_and_groups_categories() -> None:
    feats = gpd.GeoDataFrame(
        {"category": ["park", "park", "mall"], "name": [XSS, None, "Mega"]},
        geometry=[
            shapely.Point(76.9, 43.2),
            shapely.Point(76.91, 43.21),
            shapely.Point(76.92, 43.2),
        ],
        crs=4326,
    )
    feats["point"] = feats.geometry
    html = _html(maps.features_map(feats, labels={"park": "Саябақ", "mall": "<b>Mall</b>"}))
    _assert_escaped(html)
    assert _present("Саябақ (2)", html) and _present("&lt;b&gt;Mall&lt;/b&gt; (1)", html)


@pytest.mark.parametrize("n", [3, 600])
def test_installation_map_escapes_registry_text(n: int) -> None:
    frame = pd.DataFrame(
        {
            "id": range(1, n + 1),
            "lat": 43.2 + np.arange(n) * 1e-4,
            "lon": 76.9 + np.arange(n) * 1e-4,
            "kind": "banner",
            "status": "installed",
            "city": [XSS] * n,
            "content_id": "p-001",
        }
    )
    m = maps.installations_map(frame, status_labels={"installed": "орнатылған"}, kind_labels={})
    maps.pin_layer((43.2, 76.9), label=XSS).add_to(m)
    _assert_escaped(_html(m))


def test_region_choropleth_escapes_names_and_colours_by_value() -> None:
    square = shapely.box(70, 45, 71, 46)
    m = maps.regions_map(
        {"ALA": square, "AST": shapely.box(71, 50, 72, 51)},
        {"ALA": 4.0},
        names={"ALA": XSS, "AST": "Астана"},
        caption="Орнатулар",
    )
    html = _html(m)
    _assert_escaped(html)
    assert "#bdbdbd" in html  # a region without a value is grey


def test_escape_text_handles_missing_values() -> None:
    assert maps.escape_text(None) == maps.escape_text(float("nan")) == maps.escape_text(pd.NA) == ""
    assert maps.escape_text('a"b') == "a&quot;b"
    assert maps.tooltip_html("T", [("k", None), ("n", 2)]) == "<b>T</b><br>n: 2"


def test_score_colours_run_red_to_green() -> None:
    colours = maps.score_colour([0, 100, np.nan, 150])
    assert colours[0].lower().startswith("#d7191c")
    assert colours[1].lower().startswith("#1a9641")
    assert colours[2] == "#9e9e9e"
    assert colours[3] == colours[1]


def test_point_from_click_prefers_the_clicked_object() -> None:
    returned = {
        "last_clicked": {"lat": 43.0, "lng": 76.0},
        "last_object_clicked": {"lat": 43.5, "lng": 76.5},
    }
    assert maps.point_from_click(returned) == (43.5, 76.5)
    assert maps.point_from_click({"last_clicked": {"lat": 43.0, "lng": 436.0}}) == (43.0, 76.0)
    assert maps.point_from_click({"last_clicked": {"lat": "x", "lng": 1}}) is None
    assert maps.point_from_click({"last_clicked": None}) is None
    assert maps.point_from_click(None) is None


def test_nearest_id_respects_the_distance() -> None:
    ids = np.array(["a", "b"])
    lat, lon = np.array([43.2, 43.3]), np.array([76.9, 76.9])
    assert maps.nearest_id((43.2003, 76.9), ids, lat, lon, max_distance_m=60) == "a"  # ~33 m
    assert maps.nearest_id((43.2010, 76.9), ids, lat, lon, max_distance_m=60) is None  # ~111 m
    assert maps.nearest_id((43.2, 76.9), [], [], [], max_distance_m=60) is None


def test_interpret_click_picks_a_site_once() -> None:
    cands = _candidates(10)
    target = cands.geometry.iloc[4]
    returned = {"last_object_clicked": {"lat": target.y + 1e-5, "lng": target.x}}
    click = maps.interpret_click(returned, cands)
    assert click == maps.Click((target.y + 1e-5, target.x), cands.index[4])
    again = maps.interpret_click(returned, cands, previous=click.point)
    assert again == maps.Click(None, None)  # a rerun returns the same click: nothing new
    far = maps.interpret_click({"last_clicked": {"lat": 10.0, "lng": 10.0}}, cands)
    assert far.point == (10.0, 10.0) and far.site_id is None
    assert maps.interpret_click({"last_clicked": {"lat": 1.0, "lng": 2.0}}).site_id is None


def test_base_map_fits_bounds_or_kazakhstan() -> None:
    html = _html(maps.base_map([76.8, 43.1, 77.0, 43.3]))
    assert "[[43.1, 76.8], [43.3, 77.0]]" in html
    assert "[[40.5, 46.5], [55.5, 87.4]]" in _html(maps.base_map(None))


def test_maps_load_leaflet_from_the_app_not_a_cdn() -> None:
    from nudge.settings import settings_from_env
    from nudge.ui.maps import features_map, map_source

    source = map_source(
        settings_from_env({"NUDGE_TILE_URL": "https://tiles.gov.kz/{z}/{x}/{y}.png"})
    )
    pts = [shapely.Point(76.9 + i / 100, 43.2) for i in range(500)]  # clustered: the plugin too
    features = gpd.GeoDataFrame(
        {"category": ["retail_food"] * 500, "name": ["shop"] * 500}, geometry=pts, crs=4326
    )
    m = features_map(features, labels={"retail_food": "Shops"}, source=source)
    links: list[str] = []

    def walk(element):  # type: ignore[no-untyped-def]
        links.extend(url for _, url in getattr(element, "default_js", []))
        links.extend(url for _, url in getattr(element, "default_css", []))
        for child in getattr(element, "_children", {}).values():
            walk(child)

    walk(m)
    assert links and all(u.startswith("/app/static/leaflet/") for u in links), links
    assert any(u.endswith("leaflet.markercluster.js") for u in links)
    html = m.get_root().render()
    assert "tiles.gov.kz" in html and "cdn" not in html.lower()
    root = Path(__file__).resolve().parents[1] / "static" / "leaflet"
    for url in set(links):
        assert (root / url.rsplit("/", 1)[-1]).is_file(), url  # shipped with the app


def test_streets_are_a_backdrop_shown_when_tiles_fail(helsinki_dataset) -> None:  # type: ignore[no-untyped-def]
    from nudge.ui.maps import features_map

    city = helsinki_dataset
    m = features_map(city.features, labels={"park": "Parks"}, streets=city.streets)
    html = m.get_root().render()
    assert 'tiles.on("tileerror"' in html and "map.removeLayer(layer)" in html
    assert '"MultiLineString"' in html or '"LineString"' in html
    assert len(html) < 2_000_000  # simplified main streets only, not every footway
    plain = features_map(city.features, labels={"park": "Parks"})
    assert "tileerror" not in plain.get_root().render()


def test_regions_map_tells_zero_from_unknown_and_shows_cities() -> None:
    from nudge.ui.maps import regions_map

    boxes = {"ALA": shapely.box(76.7, 43.1, 77.1, 43.4), "AST": shapely.box(71.2, 51.0, 71.6, 51.3),
             "KGD": shapely.box(72.0, 47.0, 76.0, 50.0)}  # fmt: skip
    cities = pd.DataFrame({"name": ["Almaty"], "lat": [43.25], "lon": [76.9], "value": [5.0]})
    points = pd.DataFrame({"lat": [43.24, 43.26], "lon": [76.89, 76.91]})
    m = regions_map(
        boxes, {"ALA": 5.0, "AST": 0.0, "KGD": None}, names={"KGD": "Қарағанды"},
        caption="Орнатулар", unknown="дерек жоқ", cities=cities, points=points,
    )  # fmt: skip
    html = m.get_root().render()
    assert json.dumps("дерек жоқ")[1:-1] in html  # Karaganda: unknown (escaped in the GeoJSON)
    assert '"dash": "4 3"' in html and html.count('"dash": null') == 2  # Almaty 5, Astana 0
    assert "circleMarker" in html and "Almaty" in html  # the city as a proportional circle
    assert "fitBounds" in html  # zoomed to the records, not the whole country


def test_installations_map_draws_the_planned_sites() -> None:
    from nudge.ui.maps import installations_map

    planned = pd.DataFrame(
        {"plan_name": ["spring"], "site_id": ["s1"], "name": ["<b>Абай</b>"], "lat": [43.24],
         "lon": [76.9], "kind": ["banner"], "region_code": ["ALA"]}
    )  # fmt: skip
    empty = pd.DataFrame(columns=["id", "lat", "lon", "kind", "status"])
    m = installations_map(
        empty, status_labels={}, kind_labels={}, planned=planned, planned_label="жоспарланған",
        bounds=[76.8, 43.2, 77.0, 43.3],
    )  # fmt: skip
    html = m.get_root().render()
    assert '"dashArray": "3 3"' in html
    assert "<b>Абай</b>" not in html  # the name is escaped


def test_candidate_tooltips_end_with_the_site_id_a_click_reads_back() -> None:
    cands = _candidates(maps.CLUSTER_FROM + 5)
    m = maps.candidates_map(cands, labels=maps.CandidateLabels(site="Орын"))
    html = _html(m)
    # the id (the ids' shared prefix and the rest) is the tooltip's last word
    assert 'return s + "<br>" + w.site + ": " + id;' in html
    assert "var id = d.prefix + d.id[i]" in html
    assert _present('"prefix": "banner/"', html) and _present('"000404"', html)
    assert _present("Орын", html)
    assert html.count("L.circleMarker(") == 1  # one marker, where the mouse is: not 405


def test_site_columns_are_compact_and_give_the_sites_back() -> None:
    from nudge.ui.maps.candidates import COORDINATE_STEP, site_columns

    cands = _candidates(50)
    cols = site_columns(cands, maps.CandidateLabels(decimal=","))
    assert cols["prefix"] == "banner/"  # the ids' shared prefix is sent once
    assert [cols["prefix"] + i for i in cols["id"]] == list(cands.index)
    lat = (cols["lat0"] + np.array(cols["lat"])) * COORDINATE_STEP
    lon = (cols["lon0"] + np.array(cols["lon"])) * COORDINATE_STEP
    assert lat == pytest.approx(cands.geometry.y.to_numpy(), abs=COORDINATE_STEP)
    assert lon == pytest.approx(cands.geometry.x.to_numpy(), abs=COORDINATE_STEP)
    assert cols["score"][0] == 900 and cols["score"][-1] == 100  # tenths: 90.0 and 10.0
    assert cols["rank"][:3] == [1, 2, 3]
    assert list(cols["reason"]) == ["49"]  # reasons of the excluded sites only, escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in cols["reason"]["49"]
    assert cols["decimal"] == ","
    assert len(cols["palette"]) == 103  # 0..100, missing, excluded


def test_rescore_script_sends_numbers_only_with_a_key_per_set_of_scores() -> None:
    cands = _candidates(20)
    script = maps.rescore_script(cands)
    assert script.startswith("window.nudgeSites && window.nudgeSites.rescore({")
    payload = json.loads(script[script.index("({") + 1 : script.rindex(")")])
    assert payload["score"] == [round(v * 10) for v in cands["score"]]
    assert payload["rank"] == list(range(1, 21))
    assert "<" not in script and "street" not in script  # no text: nothing to escape
    again = json.loads(maps.rescore_script(cands.copy()).split("rescore(")[1].rstrip(");\n"))
    other = maps.rescore_script(cands.assign(score=cands["score"] / 2))
    assert again["key"] == payload["key"] and payload["key"] not in other
    assert maps.rescore_script(None) == "window.nudgeSites && window.nudgeSites.rescore(null);\n"
