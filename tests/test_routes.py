"""Stops of public-transport route relations, and the transit service level built from them."""

from __future__ import annotations

import bz2
import json
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nudge.osm.datasets import dataset_from_dir, dataset_from_files, save_dataset
from nudge.osm.files import layers_from_file
from nudge.osm.routes import (
    ROUTE_STOP_COLUMNS,
    empty_route_stops,
    route_count,
    route_stops_from_elements,
    route_stops_from_file,
)
from nudge.placement import candidates_from_dataset, score_candidates
from nudge.placement.signals import route_coverage, transit_service_levels

# Three stops on a line, a platform drawn as a way between the first two, and a tram stop.
# Relation 200 is bus 5 one way (its last stop is node 3, and platform node 9 after it),
# relation 201 the same bus back (starting at node 999, outside this "clipped extract"),
# relation 202 tram 7; relation 300 is a turn restriction and 301 a hiking route: neither
# carries passengers who board.
NODES = {
    1: (71.4300, 51.1280),
    2: (71.4320, 51.1280),
    3: (71.4340, 51.1280),
    4: (71.4305, 51.1282),
    5: (71.4311, 51.1282),
    8: (71.4360, 51.1290),
    9: (71.4341, 51.1281),
}
NODE_TAGS = {1: "bus_stop", 2: "bus_stop", 3: "bus_stop", 9: "bus_stop"}
PLATFORM_WAY = (100, [4, 5])
STREET_WAY = (101, [1, 2, 3])
RELATION_TAGS = {
    200: {"type": "route", "route": "bus", "ref": "5", "name": "5: A-C"},
    201: {"type": "route", "route": "bus", "ref": "5", "name": "5: C-A"},
    202: {"type": "route", "route": "tram", "ref": "7", "name": "7"},
    300: {"type": "restriction", "restriction": "no_left_turn"},
    301: {"type": "route", "route": "hiking", "name": "Trail"},
}
# members in order, each ``type/ref:role`` (way 101 in relation 200 has no role)
RELATION_MEMBERS = {
    200: "node/1:stop way/100:platform way/101: node/2:stop node/3:stop node/9:platform",
    201: "node/999:stop node/3:stop_entry_only node/2:stop node/1:stop_exit_only",
    202: "node/8:stop node/2:platform node/1:stop",
    300: "way/101:from node/2:via way/101:to",
    301: "node/1:stop node/2:stop",
}


def _members(spec: str) -> list[tuple[str, int, str]]:
    """Return the relation members written ``type/ref:role`` as (type, ref, role)."""
    members = []
    for item in spec.split():
        ref, _, role = item.partition(":")
        kind, _, number = ref.partition("/")
        members.append((kind, int(number), role))
    return members


RELATIONS = [(rid, tags, _members(RELATION_MEMBERS[rid])) for rid, tags in RELATION_TAGS.items()]

# (relation, member node or way, last?) for every row the routes above must give.
EXPECTED = {
    ("relation/200", "stop", 1, False),
    ("relation/200", "platform", 100, False),
    ("relation/200", "stop", 2, False),
    ("relation/200", "stop", 3, True),
    ("relation/200", "platform", 9, True),
    ("relation/201", "stop_entry_only", 3, False),
    ("relation/201", "stop", 2, False),
    ("relation/201", "stop_exit_only", 1, True),
    ("relation/202", "stop", 8, False),
    ("relation/202", "platform", 2, False),
    ("relation/202", "stop", 1, True),
}


def _osm_xml() -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in NODES.items():
        tag = f'<tag k="highway" v="{NODE_TAGS[nid]}"/>' if nid in NODE_TAGS else ""
        lines.append(f'<node id="{nid}" lat="{lat}" lon="{lon}" version="1">{tag}</node>')
    for wid, refs, tags in (
        (*PLATFORM_WAY, {"public_transport": "platform"}),
        (*STREET_WAY, {"highway": "primary"}),
    ):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{nds}{tag}</way>')
    for rid, tags, members in RELATIONS:
        mem = "".join(f'<member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members)
        tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<relation id="{rid}" version="1">{mem}{tag}</relation>')
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def _elements() -> list[dict[str, object]]:
    """Return the same data as an Overpass answer (``out body; >; out skel;``)."""
    elements: list[dict[str, object]] = [
        {"type": "node", "id": nid, "lat": lat, "lon": lon}
        | ({"tags": {"highway": NODE_TAGS[nid]}} if nid in NODE_TAGS else {})
        for nid, (lon, lat) in NODES.items()
    ]
    elements += [
        {
            "type": "way",
            "id": PLATFORM_WAY[0],
            "nodes": PLATFORM_WAY[1],
            "tags": {"public_transport": "platform"},
        },
        {
            "type": "way",
            "id": STREET_WAY[0],
            "nodes": STREET_WAY[1],
            "tags": {"highway": "primary"},
        },
    ]
    elements += [
        {
            "type": "relation",
            "id": rid,
            "tags": tags,
            "members": [{"type": t, "ref": r, "role": role} for t, r, role in members],
        }
        for rid, tags, members in RELATIONS
    ]
    return elements


def _locations() -> dict[int, tuple[float, float]]:
    """Return where each node, and the platform way (at the mean of its points), stands."""
    way = np.array([NODES[n] for n in PLATFORM_WAY[1]]).mean(axis=0)
    return {**NODES, PLATFORM_WAY[0]: (float(way[0]), float(way[1]))}


def _check_stops(stops: gpd.GeoDataFrame) -> None:
    """Check a route-stop table against `EXPECTED`, locations included."""
    assert list(stops.columns) == ROUTE_STOP_COLUMNS
    assert stops.crs.to_epsg() == 4326
    assert set(stops["route_id"]) == {"relation/200", "relation/201", "relation/202"}
    assert route_count(stops) == 3
    got = set()
    places = _locations()
    for row in stops.itertuples():
        xy = (row.geometry.x, row.geometry.y)
        match = [ref for ref, loc in places.items() if np.allclose(xy, loc, rtol=0, atol=1e-7)]
        assert len(match) == 1, row
        got.add((row.route_id, row.role, match[0], bool(row.last)))
    assert got == EXPECTED
    by_route = stops.drop_duplicates("route_id").set_index("route_id")
    assert by_route.loc["relation/200", ["route", "ref", "name"]].tolist() == ["bus", "5", "5: A-C"]
    assert by_route.loc["relation/202", "route"] == "tram"


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "routes.osm"
    path.write_text(_osm_xml(), encoding="utf-8")
    return path


def test_routes_from_osm_xml(osm_file: Path) -> None:
    _check_stops(route_stops_from_file(osm_file))


def test_routes_from_osm_bz2(osm_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "routes.osm.bz2"
    packed.write_bytes(bz2.compress(osm_file.read_bytes()))
    _check_stops(route_stops_from_file(packed))


def test_routes_file_format_overrides_the_name(osm_file: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "export.dat"
    shutil.copy(osm_file, disguised)
    _check_stops(route_stops_from_file(disguised, file_format="osm"))


def test_routes_from_overpass_elements() -> None:
    _check_stops(route_stops_from_elements(_elements()))


def test_routes_from_overpass_out_geom() -> None:
    """With ``out geom`` the members carry their own locations and no node elements come."""
    elements = []
    for rid, tags, members in RELATIONS:
        out = []
        for t, r, role in members:
            m: dict[str, object] = {"type": t, "ref": r, "role": role}
            if t == "node" and r in NODES:
                m |= {"lon": NODES[r][0], "lat": NODES[r][1]}
            elif t == "way" and r == PLATFORM_WAY[0]:
                m["geometry"] = [{"lon": NODES[n][0], "lat": NODES[n][1]} for n in PLATFORM_WAY[1]]
            out.append(m)
        elements.append({"type": "relation", "id": rid, "tags": tags, "members": out})
    _check_stops(route_stops_from_elements(elements))


def test_no_routes_gives_an_empty_table(tmp_path: Path) -> None:
    assert route_stops_from_elements([{"type": "node", "id": 1, "lat": 0.0, "lon": 0.0}]).empty
    path = tmp_path / "plain.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="1" lon="1"/></osm>\n', "utf-8"
    )
    stops = route_stops_from_file(path)
    assert stops.empty
    assert list(stops.columns) == ROUTE_STOP_COLUMNS
    assert route_count(stops) == 0
    assert list(empty_route_stops().columns) == ROUTE_STOP_COLUMNS


def test_layers_of_xml_and_overpass_json_carry_routes(osm_file: Path, tmp_path: Path) -> None:
    assert route_count(layers_from_file(osm_file).routes) == 3
    js = tmp_path / "answer.json"
    js.write_text(json.dumps({"version": 0.6, "elements": _elements()}), "utf-8")
    assert route_count(layers_from_file(js).routes) == 3


def test_helsinki_routes(helsinki_pbf: Path) -> None:
    stops = route_stops_from_file(helsinki_pbf, file_format="pbf")
    assert route_count(stops) > 100
    kinds = set(stops.drop_duplicates("route_id")["route"])
    assert {"bus", "tram", "train", "subway"} <= kinds
    # rows keep member order: once a route has reached its last stop, it stays there
    ended = stops.groupby("route_id")["last"].cummax()
    assert (ended == stops["last"]).all()
    # many routes end outside this clipped extract; those that end inside are flagged
    ends_inside = stops.groupby("route_id")["last"].any()
    assert 0.2 < ends_inside.mean() < 0.8
    assert stops["last"].mean() < 0.2
    lon, lat = shapely.get_coordinates(stops.geometry.array).T
    assert lon.min() > 24.9
    assert lon.max() < 25.0
    assert lat.min() > 60.1
    assert lat.max() < 60.2


def test_helsinki_dataset_keeps_routes(helsinki_dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert helsinki_dataset.meta["routes"] == route_count(helsinki_dataset.routes) > 100
    folder = save_dataset(helsinki_dataset, tmp_path / "helsinki")
    assert (folder / "routes.parquet").is_file()
    again = dataset_from_dir(folder)
    assert route_count(again.routes) == helsinki_dataset.meta["routes"]
    stops = helsinki_dataset.features.loc[helsinki_dataset.features["category"] == "transit_stop"]
    crs = stops.geometry.estimate_utm_crs()
    assert route_coverage(stops, helsinki_dataset.routes, crs=crs, radius=50.0) > 0.5


# --- Almaty: an old extract whose route relations name no stops, and shapefiles with none ----


@pytest.fixture(scope="module")
def almaty_2013(shared_data: Path):  # type: ignore[no-untyped-def]
    path = shared_data / "osm" / "almaty" / "almaty_2013.osm.pbf"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return dataset_from_files([path])


@pytest.fixture(scope="module")
def almaty_geofabrik(shared_data: Path):  # type: ignore[no-untyped-def]
    path = shared_data / "osm" / "almaty" / "geofabrik_shp"
    if not path.is_dir():
        pytest.skip(f"{path} is missing")
    return dataset_from_files([path])


def _score_stops(dataset, *, every: int = 1):  # type: ignore[no-untyped-def]
    cands = candidates_from_dataset(dataset, kind="banner")
    stops = cands.loc[cands["category"] == "transit_stop"].iloc[::every]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return score_candidates(stops, dataset, draws=0)


def test_almaty_2013_routes_name_no_stops(shared_data: Path) -> None:
    path = shared_data / "osm" / "almaty" / "almaty_2013.osm.pbf"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    # its three bus relations list only ways, no stop or platform members: each is kept as
    # its line, which serves the stops it passes (within LINE_MATCH_M)
    stops = route_stops_from_file(path)
    assert list(stops.columns) == ROUTE_STOP_COLUMNS
    assert stops["role"].tolist() == ["line"] * 3
    assert stops["route_id"].nunique() == 3
    assert set(stops.geom_type) == {"MultiLineString"}


def test_almaty_2013_dataset_says_routes_and_buildings(almaty_2013, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(almaty_2013.meta["routes"], int)
    assert isinstance(almaty_2013.meta["buildings"], int)
    assert almaty_2013.meta["buildings"] > 8000
    folder = save_dataset(almaty_2013, tmp_path / "almaty")
    assert (folder / "routes.parquet").is_file()
    assert (folder / "buildings.parquet").is_file()
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    assert meta["routes"] == almaty_2013.meta["routes"]
    assert meta["buildings"] == almaty_2013.meta["buildings"]
    again = dataset_from_dir(folder)
    assert again.routes is not None
    assert again.buildings is not None
    assert len(again.buildings) == almaty_2013.meta["buildings"]


def test_almaty_2013_every_stop_gets_a_service_level(almaty_2013) -> None:  # type: ignore[no-untyped-def]
    result = _score_stops(almaty_2013)
    service = result.candidates["signal_transit_service"].to_numpy(dtype=float)
    assert len(service) > 150
    assert np.isfinite(service).all()
    assert (service > 0).all()  # the stop itself is a stop nearby
    codes = [getattr(n, "code", None) for n in result.warnings]
    assert "score_routes_sparse" in codes
    assert "score_no_routes" not in codes
    sparse = next(n for n in result.warnings if getattr(n, "code", None) == "score_routes_sparse")
    assert "1%" in sparse  # the three lines pass 1% of its 198 stops
    # the fallback is said, and it is the stops-and-stations signal, not zero
    np.testing.assert_allclose(service, result.candidates["signal_transit_access"])


def test_almaty_geofabrik_says_routes_are_missing(almaty_geofabrik, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert almaty_geofabrik.routes is None
    assert almaty_geofabrik.buildings is None
    assert almaty_geofabrik.meta["routes"] is None
    assert almaty_geofabrik.meta["buildings"] is None
    folder = save_dataset(almaty_geofabrik, tmp_path / "almaty")
    assert not (folder / "routes.parquet").exists()
    assert not (folder / "buildings.parquet").exists()
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    assert meta["routes"] is None
    assert meta["buildings"] is None
    assert dataset_from_dir(folder).routes is None


def test_almaty_geofabrik_scoring_warns_no_routes(almaty_geofabrik) -> None:  # type: ignore[no-untyped-def]
    cands = candidates_from_dataset(almaty_geofabrik, kind="banner")
    stops = cands.loc[cands["category"] == "transit_stop"].iloc[::4]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score_candidates(stops, almaty_geofabrik, draws=0)
    said = " ".join(str(w.message) for w in caught)
    assert "no public-transport route relations" in said
    assert "transit_service signal is missing" in said
    codes = [getattr(n, "code", None) for n in result.warnings]
    assert "score_no_routes" in codes
    assert "score_no_buildings" in codes
    service = result.candidates["signal_transit_service"].to_numpy(dtype=float)
    assert (service > 0).all()
    np.testing.assert_allclose(service, result.candidates["signal_transit_access"])


# --- transit_service_levels on synthetic points ------------------------------------------------


def _routes(rows: list[tuple[str, str, str | None, str | None, bool, float, float]], at):  # type: ignore[no-untyped-def]
    """Return a route-stop table from (route_id, route, ref, name, last, x_m, y_m) rows."""
    frame = pd.DataFrame(
        [(rid, kind, ref, name, "stop", last) for rid, kind, ref, name, last, _, _ in rows],
        columns=ROUTE_STOP_COLUMNS[:-1],
    )
    points = [shapely.Point(at(x, y)) for *_, x, y in rows]
    return gpd.GeoDataFrame(frame, geometry=points, crs=4326)


MODES = {"bus": 1.0, "tram": 1.0, "train": 3.0}


def _levels(routes, sites_m, at, *, radius=50.0, mode_weights=MODES):  # type: ignore[no-untyped-def]
    """Return the service levels at sites given in metres east/north of the origin."""
    sites = gpd.GeoSeries([shapely.Point(at(x, y)) for x, y in sites_m], crs=4326)
    crs = sites.estimate_utm_crs()
    xy = shapely.get_coordinates(sites.to_crs(crs).array)
    return transit_service_levels(xy, routes, crs=crs, radius=radius, mode_weights=mode_weights)


def test_both_directions_of_a_line_count_once(at) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(
        [
            ("relation/1", "bus", "5", "5: A-B", False, 10, 0),
            ("relation/2", "bus", "5", "5: B-A", False, -10, 0),
            ("relation/3", "tram", "5", None, False, 0, 20),
        ],
        at,
    )
    # bus 5 both ways is one line; tram 5 is another line with the same number
    assert _levels(routes, [(0, 0)], at).tolist() == [2.0]


def test_lines_without_ref_are_told_apart_by_name(at) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(
        [
            ("relation/1", "bus", None, "Airport", False, 5, 0),
            ("relation/2", "bus", None, "Airport", False, -5, 0),
            ("relation/3", "bus", None, None, False, 0, 5),
            ("relation/4", "bus", None, None, False, 0, -5),
        ],
        at,
    )
    assert _levels(routes, [(0, 0)], at).tolist() == [3.0]


def test_last_stop_does_not_count(at) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(
        [
            ("relation/1", "bus", "9", None, True, 0, 0),
            ("relation/1", "bus", "9", None, False, 500, 0),
            ("relation/2", "bus", "10", None, False, 0, 5),
        ],
        at,
    )
    assert _levels(routes, [(0, 0), (500, 0)], at).tolist() == [1.0, 1.0]
    only_last = routes.iloc[[0]]
    assert _levels(only_last, [(0, 0)], at).tolist() == [0.0]


def test_a_train_counts_three(at) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(
        [
            ("relation/1", "train", "R", None, False, 0, 10),
            ("relation/2", "bus", "5", None, False, 0, -10),
            ("relation/3", "share_taxi", "A", None, False, 10, 0),
        ],
        at,
    )
    # a kind missing from the weights counts as one route
    assert _levels(routes, [(0, 0)], at).tolist() == pytest.approx([5.0])
    weights = {"train": 3.0, "bus": 1.0, "share_taxi": 0.5}
    assert _levels(routes, [(0, 0)], at, mode_weights=weights).tolist() == pytest.approx([4.5])


def test_radius_is_respected(at) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(
        [
            ("relation/1", "bus", "1", None, False, 40, 0),
            ("relation/2", "bus", "2", None, False, 60, 0),
            ("relation/3", "bus", "3", None, False, 0, 120),
        ],
        at,
    )
    assert _levels(routes, [(0, 0)], at).tolist() == [1.0]
    assert _levels(routes, [(0, 0)], at, radius=100.0).tolist() == [2.0]
    assert _levels(routes, [(0, 0)], at, radius=130.0).tolist() == [3.0]
    assert _levels(routes, [(0, 0), (5000, 5000)], at, radius=130.0).tolist() == [3.0, 0.0]


def test_no_boarding_stops_gives_zero(at) -> None:  # type: ignore[no-untyped-def]
    assert _levels(empty_route_stops(), [(0, 0), (10, 10)], at).tolist() == [0.0, 0.0]


def test_route_lines_serve_only_where_no_route_names_its_stops() -> None:
    from pyproj import CRS

    crs = CRS.from_epsg(32643)
    to_wgs = gpd.GeoSeries(
        [shapely.LineString([(0, 0), (1000, 0)]), shapely.Point(500, 300)], crs=crs
    ).to_crs(4326)
    line = gpd.GeoDataFrame(
        {
            "route_id": ["relation/1"],
            "route": ["bus"],
            "ref": ["7"],
            "name": [None],
            "role": ["line"],
            "last": [False],
        },
        geometry=[to_wgs.iloc[0]],
        crs=4326,
    )
    sites = np.array([[500.0, 10.0], [500.0, 100.0]])
    only_lines = transit_service_levels(sites, line, crs=crs, radius=50, mode_weights={})
    assert only_lines.tolist() == [1.0, 0.0]  # 10 m from the line: served; 100 m: not
    stop = line.assign(route_id="relation/2", ref="8", role="stop").set_geometry([to_wgs.iloc[1]])
    both = gpd.GeoDataFrame(pd.concat([line, stop], ignore_index=True), crs=4326)
    levels = transit_service_levels(sites, both, crs=crs, radius=50, mode_weights={})
    assert levels.tolist() == [0.0, 0.0]  # stops are known: the line no longer counts
