"""One district layer for plan and registry: names (by language) and the point lookup."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nudge._errors import EmptyDataError
from nudge.geo.districts import (
    NAME_FIELDS,
    DistrictLayer,
    district_layer_from_file,
    district_names,
    name_fields,
)
from nudge.placement import plan_files


def _osm_districts() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["Медеуский район", "Алмалинский район"],
            "name:kk": ["Медеу ауданы", None],
            "name:ru": ["Медеуский район", "Алмалинский район"],
            "name_en": ["Medeu", "Almaly"],
        },
        geometry=[shapely.box(76.90, 43.20, 77.00, 43.30), shapely.box(76.80, 43.20, 76.90, 43.30)],
        crs=4326,
    )


def test_name_fields_prefer_the_users_language_then_name() -> None:
    assert name_fields() == NAME_FIELDS == ("district", "district_name", "name_en", "name", "NAME")
    assert name_fields(lang="kk")[:5] == ("district", "district_name", "name:kk", "name_kk", "name")
    assert name_fields(lang="ru")[2:5] == ("name:ru", "name_ru", "name")
    assert name_fields(lang="en")[2:5] == ("name:en", "name_en", "name")
    assert name_fields(lang="xx") == NAME_FIELDS


def test_district_names_follow_the_language_row_by_row() -> None:
    frame = _osm_districts()
    assert district_names(frame).tolist() == ["Medeu", "Almaly"]
    # Almaly has no name:kk: it falls back to OSM's name, never to the Latin name_en
    assert district_names(frame, lang="kk").tolist() == ["Медеу ауданы", "Алмалинский район"]
    assert district_names(frame, lang="ru").tolist() == ["Медеуский район", "Алмалинский район"]
    # a population table in English picks the English names whatever the language
    names = district_names(frame, lang="kk", population={"Medeu": 1.0, "Almaly": 2.0})
    assert names.tolist() == ["Medeu", "Almaly"]


def test_district_names_refuse_missing_columns_and_repeats() -> None:
    frame = _osm_districts()
    with pytest.raises(EmptyDataError) as info:
        district_names(frame[["geometry"]])
    assert info.value.code == "districts_name_column_missing"
    with pytest.raises(EmptyDataError) as info:
        district_names(frame, column="nope")
    assert info.value.code == "districts_column_missing"
    frame["district"] = "same"
    with pytest.raises(EmptyDataError) as info:
        district_names(frame)
    assert info.value.code == "districts_names_repeated"


def test_one_file_names_districts_alike_in_the_plan_and_the_registry(tmp_path: Path) -> None:
    frame = _osm_districts()
    frame["district"] = ["Medeu district", "Almaly district"]  # both district and name_en
    path = tmp_path / "d.geojson"
    frame.to_file(path, driver="GeoJSON")
    registry = district_layer_from_file(path)
    plan = DistrictLayer.from_frame(plan_files.districts_from_file(path))
    assert registry.names == plan.names == ("Medeu district", "Almaly district")
    kk = district_layer_from_file(path, lang="kk")
    assert kk.names == DistrictLayer.from_frame(frame, lang="kk").names


def test_district_lookup_is_one_for_points_and_geometries() -> None:
    layer = DistrictLayer.from_frame(_osm_districts())
    lat = np.array([43.25, 43.25, 43.25, 50.0, np.nan])
    lon = np.array([76.95, 76.85, 76.90, 70.0, 76.9])
    found = layer.districts_of_points(lat, lon)
    # on the shared border the first district of the layer wins
    assert found.tolist() == ["Medeu", "Almaly", "Medeu", None, None]
    points = gpd.GeoSeries(gpd.points_from_xy(lon[:4], lat[:4]), crs=4326).to_crs(32643)
    assert layer.districts_of(points).tolist() == found[:4].tolist()
    empty = DistrictLayer((), ())
    assert empty.districts_of_points([43.25], [76.95]).tolist() == [None]


def test_a_geojson_layer_falls_back_per_district(tmp_path: Path) -> None:
    box = json.loads(shapely.to_geojson(shapely.box(0, 0, 1, 1)))
    path = tmp_path / "d.geojson"
    features = [
        {"type": "Feature", "properties": {"name": "A", "name:kk": "Ә"}, "geometry": box},
        {"type": "Feature", "properties": {"name": "B"}, "geometry": box},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert district_layer_from_file(path).names == ("A", "B")
    assert district_layer_from_file(path, lang="kk").names == ("Ә", "B")


def test_district_labels_map_stored_names_to_the_readers_language(tmp_path: Path) -> None:
    from nudge.geo.districts import district_labels

    folder = tmp_path / "districts"
    folder.mkdir()
    _osm_districts().to_file(folder / "almaty.geojson", driver="GeoJSON")
    assert district_labels(folder, lang="kk") == {
        "Medeu": "Медеу ауданы",
        "Almaly": "Алмалинский район",
    }
    assert district_labels(tmp_path / "none", lang="ru") == {}
