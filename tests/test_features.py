from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from nudge.osm.features import (
    FEATURE_COLUMNS,
    combine_features,
    features_from_geofabrik,
    features_from_tags,
    names_from_tags,
    osm_ids,
    osm_ids_from_geometry,
)


def test_osm_ids() -> None:
    assert osm_ids(pd.Series(["node", "Way"]), pd.Series([1, 2])).tolist() == ["node/1", "way/2"]
    geoms = gpd.GeoSeries([shapely.Point(0, 0), shapely.box(0, 0, 1, 1)])
    ids = osm_ids_from_geometry(pd.Series(["5", "relation/6"]), geoms)
    assert ids.tolist() == ["node/5", "relation/6"]


def test_names_from_columns_and_tags_json() -> None:
    frame = pd.DataFrame(
        {
            "name": ["Бәйтерек", " "],
            "tags": ['{"name:kk": "Бәйтерек", "name:en": "Baiterek"}', None],
        }
    )
    names = names_from_tags(frame)
    assert names.loc[0, "name_kk"] == "Бәйтерек"
    assert names.loc[0, "name_en"] == "Baiterek"
    assert pd.isna(names.loc[1, "name"])
    assert pd.isna(names.loc[1, "name_ru"])


def test_features_from_tags_schema_and_points() -> None:
    frame = gpd.GeoDataFrame(
        {"amenity": ["university", "parking"], "name:ru": ["КазНУ", None]},
        geometry=[shapely.box(76.92, 43.22, 76.93, 43.23), shapely.Point(76.9, 43.2)],
        crs=4326,
    )
    out = features_from_tags(frame, ids=pd.Series(["way/1", "node/2"]), source="test")
    assert list(out.columns) == FEATURE_COLUMNS
    assert len(out) == 1  # parking is not a public-space category
    row = out.iloc[0]
    assert (row["category"], row["subcategory"], row["name_ru"]) == (
        "education",
        "university",
        "КазНУ",
    )
    assert row["geometry"].geom_type == "Polygon"
    assert row["geometry"].contains(row["point"])


def test_geofabrik_layer() -> None:
    frame = gpd.GeoDataFrame(
        {"osm_id": ["1", "2", "3"], "fclass": ["bus_stop", "helipad", "railway_station"],
         "name": ["Алматы 1", "", None]},
        geometry=shapely.points([(76.9, 43.3), (76.9, 43.31), (76.9, 43.32)]),
        crs=4326,
    )  # fmt: skip
    out = features_from_geofabrik(frame, source="transport_p.shp")
    assert out["osm_id"].tolist() == ["node/1", "node/3"]
    assert out["category"].tolist() == ["transit_stop", "transit_station"]


def test_combine_drops_duplicate_elements() -> None:
    frame = gpd.GeoDataFrame(
        {"highway": ["bus_stop"]}, geometry=[shapely.Point(71.4, 51.1)], crs=4326
    )
    a = features_from_tags(frame, ids=pd.Series(["node/9"]), source="a")
    b = features_from_tags(frame, ids=pd.Series(["node/9"]), source="b")
    out = combine_features([a, b])
    assert len(out) == 1
    assert out.loc[0, "source"] == "a"
    assert len(combine_features([])) == 0
