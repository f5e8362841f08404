from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from nudge._errors import InputFileError
from nudge.i18n import error_text
from nudge.io.exports import write_geoframe


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"name": pd.array(["Бәйтерек", pd.NA], dtype="string"), "score": [91.5, 40.0],
         "rank": pd.array([1, pd.NA], dtype="Int64")},
        geometry=[shapely.Point(71.4303, 51.1283), shapely.box(71.40, 51.10, 71.41, 51.11)],
        crs=4326,
        index=pd.Index(["banner/1", "banner/2"], name="candidate_id"),
    )  # fmt: skip
    frame["point"] = gpd.GeoSeries(shapely.centroid(frame.geometry.array), crs=4326)
    return frame


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_vector_formats_round_trip(tmp_path: Path, sites: gpd.GeoDataFrame, suffix: str) -> None:
    path = write_geoframe(sites, tmp_path / f"out{suffix}")
    back = gpd.read_parquet(path) if suffix == ".parquet" else gpd.read_file(path)
    assert back["candidate_id"].tolist() == ["banner/1", "banner/2"]
    assert back["name"].iloc[0] == "Бәйтерек"
    assert back.crs.to_epsg() == 4326
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_tables_have_lat_lon(tmp_path: Path, sites: gpd.GeoDataFrame, suffix: str) -> None:
    path = write_geoframe(sites, tmp_path / f"out{suffix}")
    back = pd.read_csv(path) if suffix == ".csv" else pd.read_excel(path)
    assert back.loc[0, "lat"] == pytest.approx(51.1283)
    assert back.loc[0, "lon"] == pytest.approx(71.4303)
    assert "geometry" not in back.columns
    assert back.loc[1, "lat"] == pytest.approx(51.105, abs=0.006)


def test_unknown_extension(tmp_path: Path, sites: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputFileError, match=r"\.geojson") as info:
        write_geoframe(sites, tmp_path / "out.shp")
    assert info.value.code == "export_unknown_format"
    assert info.value.params["name"] == "out.shp"
    assert "пішімдердің" in error_text(info.value, "kk")
