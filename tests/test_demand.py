"""Demand points for site selection: weighted features and user layers."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from nudge._errors import EmptyDataError
from nudge.i18n import error_text
from nudge.placement.demand import (
    combine_demand,
    default_demand_weights,
    demand_from_features,
    demand_from_layer,
)


@pytest.fixture
def features() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "osm_id": ["node/1", "way/2", "way/3", "node/4", "node/5"],
            "category": ["transit_stop", "mall", "square_pedestrian", "worship", "unknown"],
        },
        geometry=[
            Point(71.40, 51.10),
            box(71.41, 51.11, 71.42, 51.12),
            LineString([(71.43, 51.13), (71.44, 51.13)]),
            Point(71.45, 51.14),
            Point(71.46, 51.15),
        ],
        crs="EPSG:4326",
    )


def test_default_weights_cover_every_taxonomy_category() -> None:
    weights = default_demand_weights()
    assert weights["transit_station"] == 8.0
    assert weights["worship"] == 0.0
    assert len(weights) == 16


def test_features_become_weighted_points(features: gpd.GeoDataFrame) -> None:
    demand = demand_from_features(features)
    assert list(demand.columns) == ["category", "weight", "geometry"]
    assert demand["category"].tolist() == ["transit_stop", "mall", "square_pedestrian"]
    assert demand["weight"].tolist() == [3.0, 8.0, 4.0]
    assert (demand.geom_type == "Point").all()
    assert demand.geometry.iloc[1].within(features.geometry.iloc[1])
    assert demand.geometry.iloc[2].distance(features.geometry.iloc[2]) == pytest.approx(0, abs=1e-9)
    assert demand.index.tolist() == [0, 1, 2]


def test_weights_can_be_overridden_and_zeroed(features: gpd.GeoDataFrame) -> None:
    demand = demand_from_features(features, weights={"mall": 0, "worship": 2.5})
    assert demand["category"].tolist() == ["transit_stop", "square_pedestrian", "worship"]
    assert demand["weight"].tolist() == [3.0, 4.0, 2.5]
    with pytest.raises(EmptyDataError, match=r"zero or positive numbers"):
        demand_from_features(features, weights={"mall": -1})


def test_features_without_demand_are_refused(features: gpd.GeoDataFrame) -> None:
    with pytest.raises(EmptyDataError, match=r"no 'category' column"):
        demand_from_features(features.drop(columns="category"))
    with pytest.raises(EmptyDataError, match=r"None of the features has a positive demand weight"):
        demand_from_features(features[features["category"] == "worship"])


def test_any_layer_with_a_weight_column() -> None:
    layer = gpd.GeoDataFrame(
        {"people": [120, 0, 30]},
        geometry=[box(0, 0, 10, 10), Point(5, 5), Point(20, 20)],
        crs="EPSG:32642",
    )
    demand = demand_from_layer(layer, weight_column="people", category="population")
    assert demand["weight"].tolist() == [120.0, 30.0]
    assert (demand["category"] == "population").all()
    assert demand.geometry.iloc[0].within(layer.geometry.iloc[0])
    ones = demand_from_layer(layer, weight_column=None)
    assert ones["weight"].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(EmptyDataError, match=r"no weight column"):
        demand_from_layer(layer)
    with pytest.raises(EmptyDataError, match=r"1 missing or negative"):
        demand_from_layer(layer.assign(people=[1, -1, 2]), weight_column="people")


def test_layers_combine_in_wgs84(features: gpd.GeoDataFrame) -> None:
    pop = gpd.GeoDataFrame(
        {"weight": [5.0]}, geometry=[Point(500_000, 5_640_000)], crs="EPSG:32642"
    )
    both = combine_demand(demand_from_features(features), demand_from_layer(pop))
    assert len(both) == 4
    assert both.crs.to_epsg() == 4326
    assert both["weight"].sum() == pytest.approx(20.0)


def test_demand_errors_in_the_users_language() -> None:
    layer = gpd.GeoDataFrame({"people": [1, -1]}, geometry=[Point(0, 0), Point(1, 1)], crs=3857)
    with pytest.raises(EmptyDataError) as info:
        demand_from_layer(layer, weight_column="people")
    assert (info.value.code, info.value.params) == (
        "demand_column_bad_values",
        {"column": "people", "n": 1},
    )
    assert error_text(info.value, "kk") == "people сұраныс бағанында 1 бос немесе теріс мән бар."
    with pytest.raises(EmptyDataError) as info:
        demand_from_layer(layer)
    assert error_text(info.value, "ru") == (
        "В данных спроса нет столбца weight; есть столбцы: people, geometry."
    )


def test_footfall_demand_weighs_a_served_stop_above_a_kiosk(helsinki_dataset) -> None:  # type: ignore[no-untyped-def]
    from nudge.placement import demand_from_footfall

    demand = demand_from_footfall(helsinki_dataset)
    assert demand["weight"].between(0, 100).all() and (demand["weight"] > 0).all()
    median = demand.groupby("category")["weight"].median()
    # the estimate behind the banner score: stops with many routes draw more than shops
    assert median["transit_station"] > median["transit_stop"] > median["retail_food"]
    assert set(demand.columns) >= {"category", "weight", "category_weight", "geometry"}
    assert demand.crs.to_epsg() == 4326
