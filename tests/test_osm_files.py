from __future__ import annotations

import bz2
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from nudge._errors import InputFileError
from nudge.i18n import error_text
from nudge.osm.files import layers_from_file, sniff_kind

OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="nudge-test">
  <node id="1" lat="51.1280" lon="71.4300" version="1">
    <tag k="highway" v="bus_stop"/><tag k="name" v="Хан Шатыр"/><tag k="name:kk" v="Хан Шатыр"/>
  </node>
  <node id="2" lat="51.1290" lon="71.4300" version="1"/>
  <node id="3" lat="51.1290" lon="71.4320" version="1"/>
  <node id="4" lat="51.1300" lon="71.4320" version="1"/>
  <node id="5" lat="51.1300" lon="71.4300" version="1"/>
  <node id="6" lat="51.1280" lon="71.4340" version="1">
    <tag k="amenity" v="place_of_worship"/>
  </node>
  <node id="7" lat="51.1270" lon="71.4300" version="1"/>
  <way id="10" version="1">
    <nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="2"/>
    <tag k="leisure" v="park"/><tag k="name:ru" v="Парк"/>
  </way>
  <way id="11" version="1">
    <nd ref="7"/><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="primary"/><tag k="name" v="Қабанбай батыр даңғылы"/>
  </way>
  <way id="12" version="1">
    <nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="footway"/>
  </way>
</osm>
"""


@pytest.fixture
def osm_xml(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def test_sniff_by_content_not_extension(tmp_path: Path, osm_xml: Path) -> None:
    disguised = tmp_path / "export.dat"
    shutil.copy(osm_xml, disguised)
    assert sniff_kind(disguised) == "xml"
    js = tmp_path / "a.txt"
    js.write_text(json.dumps({"version": 0.6, "elements": []}))
    assert sniff_kind(js) == "overpass_json"


def test_xml_and_bz2(tmp_path: Path, osm_xml: Path) -> None:
    layers = layers_from_file(osm_xml)
    feats = layers.features.set_index("osm_id")
    assert set(feats.index) == {"node/1", "node/6", "way/10"}
    assert feats.loc["node/1", "category"] == "transit_stop"
    assert feats.loc["node/1", "name_kk"] == "Хан Шатыр"
    assert feats.loc["way/10", "category"] == "park"
    assert feats.loc["way/10", "geometry"].geom_type == "Polygon"
    assert feats.loc["node/6", "category"] == "worship"
    assert len(layers.streets) >= 2
    assert {"primary", "footway"} <= set(layers.streets["highway"])
    packed = tmp_path / "tiny.osm.bz2"
    packed.write_bytes(bz2.compress(osm_xml.read_bytes()))
    assert len(layers_from_file(packed).features) == 3


def test_overpass_json_file(tmp_path: Path) -> None:
    data = {
        "elements": [
            {"type": "node", "id": 1, "lat": 43.2, "lon": 76.9, "tags": {"amenity": "school"}},
            {
                "type": "way",
                "id": 2,
                "tags": {"highway": "secondary", "name": "Абай даңғылы"},
                "geometry": [{"lat": 43.2, "lon": 76.9}, {"lat": 43.2, "lon": 76.91}],
            },
        ]
    }
    path = tmp_path / "overpass.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    layers = layers_from_file(path)
    assert layers.features["osm_id"].tolist() == ["node/1"]
    assert layers.streets["name"].tolist() == ["Абай даңғылы"]


def test_zipped_geofabrik_shapefiles(tmp_path: Path) -> None:
    roads = gpd.GeoDataFrame(
        {"osm_id": ["1", "2"], "code": [5113, 5122], "fclass": ["primary", "residential"],
         "name": ["A", "B"], "oneway": ["F", "B"]},
        geometry=[shapely.LineString([(76.9, 43.2), (76.91, 43.2), (76.92, 43.2)]),
                  shapely.LineString([(76.91, 43.21), (76.91, 43.2)])],
        crs=4326,
    )  # fmt: skip
    pois = gpd.GeoDataFrame(
        {"osm_id": ["7"], "code": [2082], "fclass": ["school"], "name": ["№ 1 мектеп"]},
        geometry=[shapely.Point(76.905, 43.201)],
        crs=4326,
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    roads.to_file(folder / "gis_osm_roads_free_1.shp")
    pois.to_file(folder / "gis_osm_pois_free_1.shp")
    archive = tmp_path / "kazakhstan-latest-free.shp.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    for source in (folder, archive):
        layers = layers_from_file(source)
        assert layers.features["osm_id"].tolist() == ["node/7"]
        assert len(layers.streets) == 3
        assert layers.streets["oneway"].tolist() == [True, True, False]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"hello, this is not OSM", "cannot tell what kind"),
        (b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18garbage", "could not read"),
        (b'<?xml version="1.0"?>\n<osm version="0.6">\n<node id="1" lat="1" lon="2">', "truncated"),
        (b'{"type": "FeatureCollection", "features": [', "could not read"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.osm.pbf"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=match):
        layers_from_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist") as info:
        layers_from_file(tmp_path / "nowhere.osm")
    assert info.value.code == "osm_file_missing"
    assert info.value.params == {"path": "nowhere.osm"}
    assert error_text(info.value, "kk") == "nowhere.osm файлы жоқ; файлдың жолын тексеріңіз."


@pytest.mark.parametrize(
    ("content", "code", "kazakh"),
    [
        (b"", "osm_file_empty", "файлы бос"),
        (b"hello, this is not OSM", "osm_file_unknown_kind", "түрін анықтау мүмкін болмады"),
        (b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18garbage", "osm_file_unreadable", "бүлінген"),
        (
            b'<?xml version="1.0"?>\n<osm version="0.6">\n<node id="1">',
            "osm_xml_truncated",
            "</osm>",
        ),
    ],
)
def test_bad_files_say_why_in_kazakh(
    tmp_path: Path, content: bytes, code: str, kazakh: str
) -> None:
    path = tmp_path / "bad.osm.pbf"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        layers_from_file(path)
    assert info.value.code == code
    assert info.value.params["path"] == path.name
    assert kazakh in error_text(info.value, "kk")
    assert error_text(info.value, "kk") != str(info.value)


def test_empty_folder_and_table_without_coordinates_are_coded(tmp_path: Path) -> None:
    import pandas as pd

    folder = tmp_path / "nothing"
    folder.mkdir()
    with pytest.raises(InputFileError) as info:
        layers_from_file(folder)
    assert info.value.code == "osm_folder_empty"
    assert "қалтасы бос" in error_text(info.value, "kk")
    path = tmp_path / "t.parquet"
    pd.DataFrame({"amenity": ["school"]}).to_parquet(path)
    with pytest.raises(InputFileError, match="needs latitude and longitude columns") as info:
        layers_from_file(path)
    assert info.value.params == {"file": path.name, "columns": "amenity"}
    assert error_text(info.value, "kk").startswith(f"{path.name} ішінде ендік пен бойлық")


def test_table_without_coordinates(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "t.parquet"
    pd.DataFrame({"amenity": ["school"]}).to_parquet(path)
    with pytest.raises(InputFileError, match="needs latitude and longitude columns"):
        layers_from_file(path)


# --- real data -------------------------------------------------------------------------------


def test_helsinki_pbf(helsinki_pbf: Path) -> None:
    layers = layers_from_file(helsinki_pbf)
    counts = layers.features["category"].value_counts()
    assert 1500 < len(layers.features) < 3000
    assert counts["transit_stop"] > 100
    assert counts["worship"] > 5
    assert counts["historic"] > 5
    assert layers.features["osm_id"].str.match(r"^(node|way|relation)/\d+$").all()
    assert layers.features["osm_id"].is_unique
    assert 3500 < len(layers.streets) < 6000  # intersection to intersection
    assert layers.streets["walk"].sum() > 2300
    assert layers.streets["length_m"].gt(0).mean() > 0.99


def test_almaty_geofabrik_layers(shared_data: Path) -> None:
    layers = layers_from_file(shared_data / "osm/almaty/geofabrik_shp")
    subs = layers.features["subcategory"].value_counts()
    # counts from SOURCE_geofabrik.md: transport_p bus_stop 811, tram_stop 3, railway_station 14
    assert subs["bus_stop"] == 811
    assert subs["tram_stop"] == 3
    assert (layers.features["subcategory"] == "railway_station").sum() == 14 + 1
    assert subs["crossing"] == 993
    assert subs["traffic_signals"] == 479
    # 25,028 roads, 5,873.9 km (two 'unknown' ways are not streets)
    assert layers.streets["length_m"].sum() / 1000 == pytest.approx(5873.9, rel=0.002)
    assert 40_000 < layers.streets[["u", "v"]].stack().nunique() < 60_000


def test_astana_pois_parquet_and_malls(shared_data: Path) -> None:
    pois = layers_from_file(shared_data / "osm/astana/pois_astana_osm.parquet").features
    counts = pois["category"].value_counts()
    assert counts["transit_stop"] == 1192
    assert counts["crossing"] == 3334 + 846
    assert (pois["subcategory"] == "bus_stop").sum() == 890
    assert "node/2636792628" in set(pois["osm_id"])
    malls = layers_from_file(
        shared_data / "osm/astana/astana_shopping_malls_overpass_2022-04-30.geojson"
    ).features
    assert len(malls) == 36  # the features tagged shop=mall
    assert "Хан Шатыр" in set(malls["name"])
    assert (malls["geometry"].geom_type != "Point").sum() > 10


def test_csv_of_points_is_read_by_the_one_table_reader(tmp_path: Path) -> None:
    """Windows-1251, semicolons and decimal commas, as Excel saves on Russian Windows."""
    path = tmp_path / "points.csv"
    text = (
        "lat;lon;amenity;name;shop\n"
        "51,1280;71,4300;school;Школа;\n"
        "51,1290;71,4310;;Булочная;bakery\n"
    )
    path.write_bytes(text.encode("cp1251"))
    assert sniff_kind(path) == "csv"
    features = layers_from_file(path).features
    assert features["subcategory"].tolist() == ["school", "bakery"]  # an empty cell is no tag
    assert features["name"].tolist() == ["Школа", "Булочная"]
    assert features.geometry.x.round(4).tolist() == [71.43, 71.431]
