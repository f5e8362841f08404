"""Regions, cities and districts of Kazakhstan, and populations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nudge._errors import InputFileError, RecordError
from nudge.geo.regions import (
    REGIONS,
    cities_of_points,
    city_name,
    district_layer_from_dir,
    district_layer_from_file,
    population_table_from_csv,
    region_boundaries,
    region_code,
    region_of_point,
    region_populations,
    regions_of_points,
)
from nudge.i18n import error_text

KNOWN = {
    (43.2389, 76.8897): "ALA",  # Almaty
    (51.1282, 71.4307): "AST",  # Astana
    (42.3154, 69.5870): "SHY",  # Shymkent
    (49.8047, 73.1094): "KGD",  # Karaganda
    (50.4111, 80.2275): "ABY",  # Semey
    (45.0156, 78.3739): "JTS",  # Taldykorgan
    (47.7833, 67.7000): "ULY",  # Zhezkazgan
    (51.2278, 51.3865): "WKR",  # Oral
    (43.6481, 51.1722): "MNG",  # Aktau
    (43.3, 68.25): "TRK",  # Turkistan
}


def test_twenty_units_with_boundaries() -> None:
    assert len(REGIONS) == 20
    boundaries = region_boundaries()
    assert set(boundaries) == {r.code for r in REGIONS}
    assert all(g.is_valid and not g.is_empty for g in boundaries.values())
    assert sum(r.is_city for r in REGIONS) == 3


def test_known_places_fall_in_their_region() -> None:
    lat, lon = zip(*KNOWN, strict=True)
    assert regions_of_points(lat, lon).tolist() == list(KNOWN.values())


def test_city_units_win_over_the_region_around_them() -> None:
    # Almaty city lies inside Almaty Region's outline; the city must be chosen.
    assert region_of_point(43.2389, 76.8897) == "ALA"
    assert region_of_point(43.35, 77.05) in {"ALA", "ALR"}


def test_point_outside_kazakhstan_is_refused_naming_coordinates() -> None:
    with pytest.raises(
        RecordError, match=r"lat 55\.755800, lon 37\.617300.*outside Kazakhstan"
    ) as info:
        region_of_point(55.7558, 37.6173)  # Moscow
    assert (info.value.code, info.value.params) == (
        "point_outside",
        {"lat": 55.7558, "lon": 37.6173},
    )
    assert error_text(info.value, "kk").startswith(
        "Нүкте (ендік 55.7558, бойлық 37.6173) Қазақстаннан тыс жерде; координаттарды тексеріңіз"
    )
    assert "за пределами Казахстана" in error_text(info.value, "ru")
    assert regions_of_points([0.0, np.nan], [0.0, 1.0]).tolist() == [None, None]


def test_swapped_coordinates_get_a_hint() -> None:
    with pytest.raises(RecordError, match="look swapped") as info:
        region_of_point(76.8897, 43.2389)
    assert info.value.code == "point_outside_swapped"
    assert "ендік пен бойлықтың орны ауысып кеткен" in error_text(info.value, "kk")


def test_region_code_accepts_names_in_three_languages() -> None:
    assert region_code("almaty region") == "ALR"
    assert region_code("Алматы") == "ALA"
    assert region_code("Қарағанды облысы") == "KGD"
    assert region_code("Восточно-Казахстанская область") == "EKR"
    with pytest.raises(RecordError, match="Unknown region 'Narnia'") as info:
        region_code("Narnia")
    assert error_text(info.value, "kk").startswith("«Narnia» өңірі белгісіз; ABY, AKM,")


def test_cities_from_geonames_and_city_units() -> None:
    cities = cities_of_points(
        [43.2389, 49.8047, 50.2839, 46.0, 51.1282],
        [76.8897, 73.1094, 57.1670, 70.0, 71.4307],
        ["ALA", "KGD", "AKT", "KGD", "AST"],
    )
    assert cities.tolist() == ["Almaty", "Karagandy", "Aktobe", None, "Astana"]
    assert city_name("Караганда") == "Karagandy"
    assert city_name("Nur-Sultan") == "Astana"


def test_almaty_districts_from_the_osm_layer(shared_data: Path) -> None:
    layer = district_layer_from_file(shared_data / "osm/almaty/almaty_districts_osm_2019.geojson")
    assert len(layer.names) == 8
    found = layer.districts_of_points([43.2389, 43.2050, 51.1282], [76.8897, 76.9000, 71.4307])
    assert found[0] in {"Almaly", "Medeu"}
    assert found[1] == "Bostandyk"
    assert found[2] is None


def test_district_layer_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "d.geojson"
    bad.write_text("not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="Cannot read the district layer") as info:
        district_layer_from_file(bad)
    assert error_text(info.value, "kk").startswith(
        "d.geojson аудандар қабатын оқу мүмкін болмады: "
    )
    bad.write_text('{"features": [{"geometry": {"type": "Point", "coordinates": [1, 2]}}]}')
    with pytest.raises(InputFileError, match=r"District 1 in .* has no name") as info:
        district_layer_from_file(bad)
    assert info.value.code == "district_unnamed"
    assert "{" not in error_text(info.value, "ru")
    bad.write_text('{"features": []}')
    with pytest.raises(InputFileError, match="holds no polygons") as info:
        district_layer_from_file(bad)
    assert error_text(info.value, "kk") == "d.geojson аудандар қабатында бірде-бір көпбұрыш жоқ."


def test_population_tables(shared_data: Path, tmp_path: Path) -> None:
    districts = population_table_from_csv(
        shared_data / "osm/almaty/almaty_district_population_reference.csv"
    )
    assert districts["Bostandyk"] == 362_200
    cities = population_table_from_csv(
        shared_data / "osm/kazakhstan/kz_city_population_bns_2026-02-01.csv"
    )
    assert cities["Almaty"] == 2_351_424
    assert sum(region_populations().values()) == pytest.approx(20_000_000, rel=0.05)
    bad = tmp_path / "p.csv"
    bad.write_text("town,people\nX,1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="needs a name column") as info:
        population_table_from_csv(bad)
    assert info.value.params["found"] == "town, people"
    assert "атау бағаны" in error_text(info.value, "kk")
    bad.write_text("name,population\nX,many\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="'many' of 'X'") as info:
        population_table_from_csv(bad)
    assert error_text(info.value, "kk") == (
        "p.csv файлындағы «X» үшін берілген тұрғындар саны «many» сан емес."
    )


def test_district_layers_from_a_folder(shared_data: Path, tmp_path: Path) -> None:
    assert district_layer_from_dir(tmp_path / "none") is None
    folder = tmp_path / "districts"
    folder.mkdir()
    source = shared_data / "osm/almaty/almaty_districts_osm_2019.geojson"
    (folder / "almaty.geojson").write_bytes(source.read_bytes())
    layer = district_layer_from_dir(folder)
    assert layer is not None
    assert len(layer.names) == 8
