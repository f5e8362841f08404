"""One district layer for plan and registry: names (by language) and the point lookup."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nudge._errors import EmptyDataError, InputFileError
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


def _feature_collection(path: Path, geometries: list, **extra: object) -> Path:
    features = [
        {"type": "Feature", "properties": {"name": f"D{k}"}, "geometry": g}
        for k, g in enumerate(geometries)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


def test_a_district_file_in_metres_without_its_crs_is_refused(tmp_path: Path) -> None:
    metres = json.loads(shapely.to_geojson(shapely.box(2_776_000, 8_437_000, 2_786_000, 8_447_000)))
    path = _feature_collection(tmp_path / "metres.geojson", [metres])
    with pytest.raises(InputFileError, match="not degrees") as info:
        district_layer_from_file(path)
    assert info.value.code == "coordinates_not_degrees"


def test_a_district_file_names_its_crs_and_is_read_in_degrees(tmp_path: Path) -> None:
    utm = _osm_districts().to_crs(32643)  # UTM zone 43N, as a city GIS office would save it
    geoms = [json.loads(shapely.to_geojson(g)) for g in utm.geometry]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32643"}}
    layer = district_layer_from_file(_feature_collection(tmp_path / "utm.geojson", geoms, crs=crs))
    # Medeu holds the point at 77.0 E 43.25 N, Almaly the one at 76.85 E
    assert layer.districts_of_points([43.25, 43.25], [76.95, 76.85]).tolist() == ["D0", "D1"]


@pytest.mark.parametrize(
    ("geometries", "code"),
    [
        ([{"type": "Point", "coordinates": [76.9, 43.2]}], "district_layer_empty"),
        (
            [
                json.loads(shapely.to_geojson(shapely.box(76.8, 43.2, 76.9, 43.3))),
                {"type": "LineString", "coordinates": [[76.9, 43.2], [77.0, 43.3]]},
            ],
            "district_not_polygon",
        ),
        ([{"type": "Polygon", "coordinates": "not a ring"}], "district_layer_unreadable"),
    ],
)
def test_a_district_file_of_other_geometries_is_refused(
    geometries: list, code: str, tmp_path: Path
) -> None:
    with pytest.raises(InputFileError) as info:
        district_layer_from_file(_feature_collection(tmp_path / "d.geojson", geometries))
    assert info.value.code == code


def test_a_district_file_with_an_unknown_crs_is_refused(tmp_path: Path) -> None:
    box = json.loads(shapely.to_geojson(shapely.box(76.8, 43.2, 76.9, 43.3)))
    crs = {"type": "name", "properties": {"name": "EPSG:99999999"}}
    with pytest.raises(InputFileError, match="EPSG:99999999"):
        district_layer_from_file(_feature_collection(tmp_path / "d.geojson", [box], crs=crs))


@pytest.mark.parametrize("crs", [{"type": "name", "properties": None}, "EPSG:4326", [1, 2]])
def test_a_crs_member_of_another_shape_is_read_as_no_crs(crs: object, tmp_path: Path) -> None:
    box = json.loads(shapely.to_geojson(shapely.box(76.8, 43.2, 76.9, 43.3)))
    layer = district_layer_from_file(_feature_collection(tmp_path / "d.geojson", [box], crs=crs))
    assert layer.districts_of_points([43.25], [76.85]).tolist() == ["D0"]
