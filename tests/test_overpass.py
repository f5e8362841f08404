from __future__ import annotations

import shapely

from nudge.osm.overpass import element_geometry, elements_to_frame

ELEMENTS = [
    {"type": "node", "id": 1, "lat": 51.128, "lon": 71.43, "tags": {"highway": "bus_stop",
                                                                    "name": "Хан Шатыр"}},
    {"type": "node", "id": 2, "lat": 51.1, "lon": 71.4},  # untagged way node
    {
        "type": "way", "id": 10, "tags": {"leisure": "park", "name:kk": "Орталық саябақ"},
        "geometry": [{"lat": 51.0, "lon": 71.0}, {"lat": 51.0, "lon": 71.01},
                     {"lat": 51.01, "lon": 71.01}, {"lat": 51.0, "lon": 71.0}],
    },
    {
        "type": "way", "id": 11, "tags": {"highway": "primary"},
        "geometry": [{"lat": 51.0, "lon": 71.0}, {"lat": 51.0, "lon": 71.02}],
    },
    {"type": "way", "id": 12, "tags": {"shop": "mall"}, "center": {"lat": 51.2, "lon": 71.5}},
    {
        "type": "relation", "id": 20, "tags": {"type": "multipolygon", "amenity": "marketplace"},
        "members": [
            {"type": "way", "role": "outer", "geometry": [
                {"lat": 51.0, "lon": 71.1}, {"lat": 51.0, "lon": 71.11},
                {"lat": 51.01, "lon": 71.11}]},
            {"type": "way", "role": "outer", "geometry": [
                {"lat": 51.01, "lon": 71.11}, {"lat": 51.0, "lon": 71.1}]},
        ],
    },
]  # fmt: skip


def test_geometries_by_element_kind() -> None:
    assert element_geometry(ELEMENTS[0]).equals(shapely.Point(71.43, 51.128))
    assert element_geometry(ELEMENTS[2]).geom_type == "Polygon"
    assert element_geometry(ELEMENTS[3]).geom_type == "LineString"
    assert element_geometry(ELEMENTS[4]).equals(shapely.Point(71.5, 51.2))
    market = element_geometry(ELEMENTS[5])
    assert market.geom_type == "Polygon"
    assert market.area > 0


def test_frame_keeps_tagged_elements_with_tags_as_columns() -> None:
    frame = elements_to_frame(ELEMENTS)
    assert len(frame) == 5
    assert frame.crs.to_epsg() == 4326
    assert frame["osm_type"].tolist() == ["node", "way", "way", "way", "relation"]
    assert frame.loc[0, "name"] == "Хан Шатыр"
    assert frame.loc[1, "name:kk"] == "Орталық саябақ"


def test_empty_response() -> None:
    frame = elements_to_frame([])
    assert frame.empty
    assert "osm_type" in frame.columns
