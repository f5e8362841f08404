from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from nudge._errors import DatasetError, EmptyDataError, InvalidQueryError
from nudge.i18n import error_text
from nudge.osm import datasets


def test_slug_from_text() -> None:
    assert datasets.slug_from_text("Astana, Kazakhstan") == "astana-kazakhstan"
    assert datasets.slug_from_text("Шымкент") == "шымкент"
    assert datasets.slug_from_text("Helsinki.osm") == "helsinki-osm"


def test_parse_bbox() -> None:
    assert datasets.parse_bbox("76.8,43.1,77.1,43.4") == (76.8, 43.1, 77.1, 43.4)
    with pytest.raises(InvalidQueryError, match="wrong order"):
        datasets.parse_bbox("77.1,43.1,76.8,43.4")
    with pytest.raises(InvalidQueryError, match="four numbers"):
        datasets.parse_bbox("76.8,43.1,77.1")
    with pytest.raises(InvalidQueryError, match="±180"):
        datasets.parse_bbox("76,43,200,44")
    with pytest.warns(UserWarning, match="outside Kazakhstan"):
        datasets.parse_bbox("24.9,60.1,25.0,60.2")


def test_helsinki_dataset_round_trip(helsinki_pbf: Path, tmp_path: Path) -> None:
    ds = datasets.dataset_from_files([helsinki_pbf])
    folder = datasets.save_dataset(ds, tmp_path / "helsinki")
    back = datasets.dataset_from_dir(folder)
    assert len(back.features) == len(ds.features)
    assert len(back.streets) == len(ds.streets)
    assert back.features.crs.to_epsg() == 4326
    assert isinstance(back.features["point"], gpd.GeoSeries)
    assert back.features["point"].crs.to_epsg() == 4326
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["features"] == len(ds.features)
    assert meta["nodes"] == back.streets[["u", "v"]].stack().nunique()
    w, s, e, n = meta["bbox"]
    assert 24.9 < w < e < 25.0
    assert 60.1 < s < n < 60.2
    summary = datasets.dataset_summary(back)
    assert sum(summary["by_category"].values()) == summary["features"]
    listed = datasets.list_datasets(tmp_path)
    assert listed["slug"].tolist() == ["helsinki"]


def test_failed_write_keeps_old_dataset_and_leaves_no_temp(
    helsinki_pbf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = datasets.dataset_from_files([helsinki_pbf])
    folder = datasets.save_dataset(ds, tmp_path / "city")
    before = (folder / "meta.json").read_text()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        datasets.save_dataset(ds, folder)
    assert (folder / "meta.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city"]


def test_empty_sources_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text('{"version": 0.6, "elements": []}')
    with pytest.raises(EmptyDataError, match="no public spaces or streets"):
        datasets.dataset_from_files([path])


def test_incomplete_folder(tmp_path: Path) -> None:
    (tmp_path / "features.parquet").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"missing streets\.parquet, meta\.json"):
        datasets.dataset_from_dir(tmp_path)


def test_bbox_errors_carry_codes_and_speak_kazakh() -> None:
    with pytest.raises(InvalidQueryError) as info:
        datasets.parse_bbox("77.1,43.1,76.8,43.4")
    assert info.value.code == "bbox_wrong_order"
    assert info.value.params == {"bbox": (77.1, 43.1, 76.8, 43.4), "fixed": "76.8,43.1,77.1,43.4"}
    assert "қате ретпен" in error_text(info.value, "kk")
    assert "76.8,43.1,77.1,43.4" in error_text(info.value, "kk")
    with pytest.raises(InvalidQueryError) as info:
        datasets.parse_bbox("76.8,43.1")
    assert (info.value.code, info.value.params) == ("bbox_not_numbers", {"text": "76.8,43.1"})
    assert "төрт сан" in error_text(info.value, "kk")
    with pytest.raises(InvalidQueryError) as info:
        datasets.parse_bbox("76,43,200,44")
    assert info.value.code == "bbox_out_of_range"
    assert "неверном" not in error_text(info.value, "ru") and "±180" in error_text(info.value, "ru")
    with pytest.raises(InvalidQueryError) as info:
        datasets.dataset_from_place("  ", cache_dir=Path("unused"))
    assert (
        error_text(info.value, "kk")
        == "Орынның атауы бос; қаланы жазыңыз, мысалы: «Астана, Қазақстан»."
    )


def test_dataset_errors_carry_codes(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        datasets.dataset_from_dir(tmp_path / "nowhere")
    assert info.value.code == "dataset_incomplete"
    assert info.value.params["missing"] == "features.parquet, streets.parquet, meta.json"
    assert "толық емес" in error_text(info.value, "kk")
    empty = tmp_path / "empty.json"
    empty.write_text('{"version": 0.6, "elements": []}')
    with pytest.raises(EmptyDataError) as info:
        datasets.dataset_from_files([empty])
    assert info.value.code == "no_data_in_sources"
    assert error_text(info.value, "kk").startswith("empty.json ішінде")


def test_damaged_folder_is_a_dataset_error(tmp_path: Path) -> None:
    for name in ("features.parquet", "streets.parquet", "meta.json"):
        (tmp_path / name).write_bytes(b"not parquet")
    with pytest.raises(DatasetError, match="could not be read") as info:
        datasets.dataset_from_dir(tmp_path)
    assert info.value.code == "dataset_unreadable"
    assert "бүлінген" in error_text(info.value, "kk")


def test_combined_almaty_sources(shared_data: Path) -> None:
    base = shared_data / "osm/almaty"
    ds = datasets.dataset_from_files([base / "geofabrik_shp", base / "almaty_points.geojson"])
    # the points file repeats transport_p and traffic_p: each element is kept once
    assert ds.features["osm_id"].is_unique
    assert ds.meta["by_category"]["transit_stop"] == 814
    assert ds.meta["streets"] == len(ds.streets) > 50_000
    assert ds.meta["source"] == ["geofabrik_shp", "almaty_points.geojson"]


@pytest.mark.network
def test_place_online(tmp_path: Path) -> None:
    ds = datasets.dataset_from_place("Esil District, Astana, Kazakhstan", cache_dir=tmp_path)
    assert ds.meta["by_category"].get("transit_stop", 0) > 10
    assert ds.has_streets


@pytest.mark.network
def test_place_that_does_not_geocode(tmp_path: Path) -> None:
    with pytest.raises(InvalidQueryError, match="could not be found"):
        datasets.dataset_from_place("Qwzxv Nowhere-town 12345", cache_dir=tmp_path)


def test_sources_a_thousand_km_apart_are_not_one_city(shared_data: Path) -> None:
    from nudge._errors import InputFileError
    from nudge.i18n import error_text
    from nudge.osm.datasets import dataset_from_files

    astana = shared_data / "osm/astana/astana_pois.geojson"
    almaty = shared_data / "osm/almaty/almaty_points.geojson"
    with pytest.raises(InputFileError, match="km apart, so they are not one city") as info:
        dataset_from_files([astana, almaty])
    assert info.value.code == "sources_far_apart"
    assert "бір қала емес" in error_text(info.value, "kk")
    # roads and points of one city still combine
    base = shared_data / "osm/almaty"
    city = dataset_from_files([base / "geofabrik_shp", almaty])
    assert len(city.features) and len(city.streets)
