"""The osmnx code path, with the network calls replaced by recorded-shape answers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pandas as pd
import pytest
import requests
import shapely

from nudge._errors import EmptyDataError, InvalidQueryError, OnlineSourceError
from nudge.i18n import error_text
from nudge.osm import _online


def _features_answer(*args: object, **kwargs: object) -> gpd.GeoDataFrame:
    index = pd.MultiIndex.from_tuples([("node", 1), ("way", 2)], names=["element", "id"])
    return gpd.GeoDataFrame(
        {"highway": ["bus_stop", None], "leisure": [None, "park"], "name": ["A", "B"]},
        geometry=[shapely.Point(71.43, 51.13), shapely.box(71.40, 51.10, 71.41, 51.11)],
        index=index,
        crs=4326,
    )


@pytest.fixture(autouse=True)
def _no_route_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer route-relation queries with nothing, so no test reaches the network."""
    monkeypatch.setattr(ox._overpass, "_overpass_request", lambda data: {"elements": []})


ROUTE_ANSWER = {
    "elements": [
        {"type": "relation", "id": 7, "tags": {"type": "route", "route": "bus", "ref": "32"},
         "members": [{"type": "node", "ref": 1, "role": "platform"},
                     {"type": "node", "ref": 2, "role": "platform"},
                     {"type": "way", "ref": 9, "role": ""}]},
        {"type": "node", "id": 1, "lat": 51.13, "lon": 71.43},
        {"type": "node", "id": 2, "lat": 51.14, "lon": 71.44},
        {"type": "way", "id": 9, "nodes": [1, 2]},
    ]
}  # fmt: skip


def _features_with_buildings(
    *args: object, tags: dict | None = None, **kw: object
) -> gpd.GeoDataFrame:
    if tags == {"building": True}:
        index = pd.MultiIndex.from_tuples([("way", 5)], names=["element", "id"])
        square = shapely.box(71.4300, 51.1300, 71.4303, 51.1302)  # about 21 x 22 m
        return gpd.GeoDataFrame(
            {"building": ["apartments"], "building:levels": ["9"]}, geometry=[square],
            index=index, crs=4326,
        )  # fmt: skip
    return _features_answer()


def test_online_load_keeps_routes_and_buildings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ox, "features_from_polygon", _features_with_buildings)
    monkeypatch.setattr(ox, "graph_from_polygon", _graph_answer)
    monkeypatch.setattr(ox._overpass, "_overpass_request", lambda data: ROUTE_ANSWER)
    layers = _online.layers_from_bbox((71.3, 51.0, 71.5, 51.2), cache_dir=tmp_path / "cache")
    assert layers.routes is not None and layers.buildings is not None
    assert layers.routes["route_id"].unique().tolist() == ["relation/7"]
    assert layers.routes["last"].tolist() == [False, True]
    assert len(layers.buildings) == 1
    assert layers.buildings["floor_area_m2"].iloc[0] == pytest.approx(
        9 * layers.buildings["footprint_m2"].iloc[0]
    )
    assert 400 < layers.buildings["footprint_m2"].iloc[0] < 550


def test_a_refused_route_query_keeps_the_load_and_marks_routes_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refused(data: object) -> dict:
        raise requests.exceptions.ConnectionError("refused")

    monkeypatch.setattr(ox, "features_from_polygon", _features_answer)
    monkeypatch.setattr(ox, "graph_from_polygon", _graph_answer)
    monkeypatch.setattr(ox._overpass, "_overpass_request", refused)
    layers = _online.layers_from_bbox((71.3, 51.0, 71.5, 51.2), cache_dir=tmp_path / "cache")
    assert layers.routes is None  # missing, not an empty (zero) table
    assert len(layers.features) == 2


def _graph_answer(*args: object, **kwargs: object) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="epsg:4326")
    g.add_node(1, x=71.40, y=51.10)
    g.add_node(2, x=71.41, y=51.10)
    g.add_edge(1, 2, key=0, highway="primary", name="Мәңгілік Ел", oneway=False, length=700.0)
    return g


def test_polygon_download_normalises_osmnx_frames(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ox, "features_from_polygon", _features_answer)
    monkeypatch.setattr(ox, "graph_from_polygon", _graph_answer)
    layers = _online.layers_from_bbox((71.3, 51.0, 71.5, 51.2), cache_dir=tmp_path / "cache")
    assert layers.features["osm_id"].tolist() == ["node/1", "way/2"]
    assert layers.features["category"].tolist() == ["transit_stop", "park"]
    assert layers.streets["name"].tolist() == ["Мәңгілік Ел"]
    assert (tmp_path / "cache").is_dir()


def test_place_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_result(query: str) -> gpd.GeoDataFrame:
        msg = f"Nominatim geocoder returned 0 results for query {query!r}."
        raise ox._errors.InsufficientResponseError(msg)

    monkeypatch.setattr(ox, "geocode_to_gdf", no_result)
    with pytest.raises(InvalidQueryError, match="could not be found"):
        _online.polygon_from_place("Nowhere", cache_dir=tmp_path)

    monkeypatch.setattr(
        ox, "geocode_to_gdf", lambda q: gpd.GeoDataFrame(geometry=[shapely.Point(1, 2)])
    )
    with pytest.raises(InvalidQueryError, match="not an area"):
        _online.polygon_from_place("A point", cache_dir=tmp_path)

    def offline(query: str) -> gpd.GeoDataFrame:
        raise requests.exceptions.ConnectionError("no route")

    monkeypatch.setattr(ox, "geocode_to_gdf", offline)
    with pytest.raises(OnlineSourceError, match="could not be reached"):
        _online.polygon_from_place("Astana", cache_dir=tmp_path)


def test_empty_area(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def nothing(*args: object, **kwargs: object) -> gpd.GeoDataFrame:
        msg = "No matching features."
        raise ox._errors.InsufficientResponseError(msg)

    monkeypatch.setattr(ox, "features_from_polygon", nothing)
    with pytest.raises(EmptyDataError, match="no public spaces"):
        _online.layers_from_bbox((71.3, 51.0, 71.31, 51.01), cache_dir=tmp_path)


def test_online_errors_carry_codes_and_speak_kazakh(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_result(query: str) -> gpd.GeoDataFrame:
        msg = f"Nominatim geocoder returned 0 results for query {query!r}."
        raise ox._errors.InsufficientResponseError(msg)

    monkeypatch.setattr(ox, "geocode_to_gdf", no_result)
    with pytest.raises(InvalidQueryError) as info:
        _online.polygon_from_place("Nowhere", cache_dir=tmp_path)
    assert (info.value.code, info.value.params) == ("place_not_found", {"place": "Nowhere"})
    assert error_text(info.value, "kk").startswith("Nominatim «Nowhere» орнын таппады.")

    def offline(query: str) -> gpd.GeoDataFrame:
        raise requests.exceptions.ConnectionError("no route")

    monkeypatch.setattr(ox, "geocode_to_gdf", offline)
    with pytest.raises(OnlineSourceError) as info:
        _online.polygon_from_place("Astana", cache_dir=tmp_path)
    assert (info.value.code, info.value.params) == (
        "osm_service_unreachable",
        {"service": "Nominatim"},
    )
    assert "Интернет байланысын тексеріңіз" in error_text(info.value, "kk")

    def nothing(*args: object, **kwargs: object) -> gpd.GeoDataFrame:
        msg = "No matching features."
        raise ox._errors.InsufficientResponseError(msg)

    monkeypatch.setattr(ox, "features_from_polygon", nothing)
    with pytest.raises(EmptyDataError) as info:
        _online.layers_from_bbox((71.3, 51.0, 71.31, 51.01), cache_dir=tmp_path)
    assert info.value.code == "area_no_public_spaces"
    assert "bbox:71.3,51,71.31,51.01 аумағында қоғамдық орындар жоқ" in error_text(info.value, "kk")


def test_overpass_refusal_is_an_online_source_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refused(*args: object, **kwargs: object) -> gpd.GeoDataFrame:
        msg = "'overpass-api.de' responded: 503 Service Unavailable <html>...</html>"
        raise ox._errors.ResponseStatusCodeError(msg)

    monkeypatch.setattr(ox, "features_from_polygon", refused)
    with pytest.raises(OnlineSourceError, match="refused the request") as info:
        _online.layers_from_bbox((71.3, 51.0, 71.31, 51.01), cache_dir=tmp_path)
    assert (info.value.code, info.value.params) == ("osm_service_refused", {"service": "Overpass"})
    assert "сұрауды қабылдамады" in error_text(info.value, "kk")
    assert "отклонила запрос" in error_text(info.value, "ru")

    monkeypatch.setattr(ox, "features_from_polygon", _features_answer)
    monkeypatch.setattr(ox, "graph_from_polygon", refused)
    with pytest.raises(OnlineSourceError, match="refused the request"):
        _online.layers_from_bbox((71.3, 51.0, 71.31, 51.01), cache_dir=tmp_path)


def test_polygon_file(tmp_path: Path) -> None:
    path = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(71.3, 51.0, 71.5, 51.2)], crs=4326).to_file(path)
    assert _online.polygon_from_file(path).bounds == (71.3, 51.0, 71.5, 51.2)
    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(71.3, 51.0)], crs=4326).to_file(points)
    with pytest.raises(Exception, match="holds no polygon") as info:
        _online.polygon_from_file(points)
    assert getattr(info.value, "code", None) == "polygon_file_no_polygon"
    assert "полигон жоқ" in error_text(info.value, "kk")
