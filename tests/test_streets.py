from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nudge.osm.streets import node_count, streets_from_edges, streets_from_lines


def _lines() -> gpd.GeoDataFrame:
    # A cross: one primary street east-west, a residential street north-south through its
    # middle vertex, and a separate footway.
    return gpd.GeoDataFrame(
        {
            "highway": ["primary", "residential", "footway", "proposed"],
            "name": ["Абай даңғылы", "B", None, "C"],
            "oneway": ["yes", None, None, None],
        },
        geometry=[
            shapely.LineString([(76.90, 43.20), (76.91, 43.20), (76.92, 43.20)]),
            shapely.LineString([(76.91, 43.21), (76.91, 43.20), (76.91, 43.19)]),
            shapely.LineString([(76.95, 43.25), (76.951, 43.251)]),
            shapely.LineString([(76.96, 43.25), (76.961, 43.251)]),
        ],
        crs=4326,
    )


def test_lines_are_split_at_shared_coordinates() -> None:
    streets = streets_from_lines(_lines())
    # primary and residential split at the crossing: 4 edges, plus the footway; proposed dropped
    assert len(streets) == 5
    assert node_count(streets) == 7
    centre = streets.loc[streets["highway"] != "footway"]
    shared = set(centre["u"]) | set(centre["v"])
    assert len(shared) == 5  # four ends and the crossing
    assert streets["oneway"].sum() == 2
    assert streets.loc[0, "name"] == "Абай даңғылы"
    # 0.01 degree of longitude at 43.2 N is about 812 m
    assert streets.loc[0, "length_m"] == pytest.approx(812, rel=0.01)


def test_walk_and_drive_flags() -> None:
    streets = streets_from_lines(_lines())
    foot = streets.loc[streets["highway"] == "footway"].iloc[0]
    assert foot["walk"] and not foot["drive"]
    assert streets.loc[streets["highway"] == "primary", "drive"].all()


def test_geometry_round_trip_keeps_all_coordinates() -> None:
    streets = streets_from_lines(_lines())
    coords = shapely.get_coordinates(streets.geometry.array)
    # 4 edges of 2 vertices each + footway's 2 vertices
    assert len(coords) == 10
    assert np.isclose(coords[:, 1].min(), 43.19)


def test_edges_with_index_levels_and_list_tags() -> None:
    edges = gpd.GeoDataFrame(
        {"u": [1, 2], "v": [2, 3], "key": [0, 0], "highway": [["primary", "secondary"], "steps"]},
        geometry=[
            shapely.LineString([(24.90, 60.10), (24.91, 60.10)]),
            shapely.LineString([(24.91, 60.10), (24.91, 60.11)]),
        ],
        crs=4326,
    ).set_index(["u", "v", "key"])
    streets = streets_from_edges(edges)
    assert streets["highway"].tolist() == ["primary", "steps"]
    assert streets["u"].tolist() == [1, 2]
    assert node_count(streets) == 3


def test_segments_are_joined_between_intersections_keeping_osm_ids() -> None:
    # way 1: nodes 10-11-12-13 (three segments), way 2: nodes 20-11-21 crossing at node 11
    pts = {10: (24.90, 60.10), 11: (24.91, 60.10), 12: (24.92, 60.10), 13: (24.93, 60.10),
           20: (24.91, 60.11), 21: (24.91, 60.09)}  # fmt: skip
    segs = [(1, 10, 11), (1, 11, 12), (1, 12, 13), (2, 20, 11), (2, 11, 21)]
    edges = gpd.GeoDataFrame(
        {"id": [s[0] for s in segs], "u": [s[1] for s in segs], "v": [s[2] for s in segs],
         "highway": ["primary"] * 3 + ["footway"] * 2, "name": ["A"] * 3 + [None] * 2},
        geometry=[shapely.LineString([pts[a], pts[b]]) for _, a, b in segs],
        crs=4326,
    )  # fmt: skip
    from nudge.osm.streets import streets_from_segments

    streets = streets_from_segments(edges)
    pairs = {(int(u), int(v)) for u, v in zip(streets["u"], streets["v"], strict=True)}
    assert pairs == {(10, 11), (11, 13), (20, 11), (11, 21)}
    assert streets.loc[streets["u"] == 11, "highway"].tolist() == ["primary", "footway"]
