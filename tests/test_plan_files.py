"""Files around a plan: reading ids, costs, population, quotas; writing the plan."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from nudge._errors import InputFileError
from nudge.i18n import error_text
from nudge.placement.plan_files import (
    costs_from_file,
    districts_from_file,
    plan_to_file,
    population_from_file,
    quota_from_file,
    site_ids_from_file,
)
from nudge.placement.selection import MaximalCoverage

CRS = "EPSG:32642"


@pytest.fixture
def plan():
    pts = [Point(500_000 + 1000 * i, 5_640_000) for i in range(3)]
    sites = gpd.GeoDataFrame(
        {"kind": "banner", "name": ["Вокзал", None, "Mall"], "score": [10.0, 20.0, 30.0]},
        geometry=pts,
        crs=CRS,
        index=pd.Index(["a", "b", "c"], name="candidate_id"),
    )
    demand = gpd.GeoDataFrame({"weight": [3.0, 2.0, 1.0]}, geometry=pts, crs=CRS)
    districts = gpd.GeoDataFrame(
        {"district": ["All"]}, geometry=[box(499_000, 5_639_000, 504_000, 5_641_000)], crs=CRS
    )
    model = MaximalCoverage.from_geodataframe(
        sites, demand, kind="banner", count=2, radius=100, districts=districts
    )
    return model.solve()


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".xlsx"])
def test_plan_exports_round_trip(plan, tmp_path: Path, suffix: str) -> None:
    path = plan_to_file(plan, tmp_path / "out" / f"plan{suffix}")
    assert path.is_file()
    if suffix in {".geojson", ".gpkg"}:
        back = gpd.read_file(path)
        assert back.crs.to_epsg() == 4326
        assert back.geometry.iloc[0].distance(plan.chosen.geometry.iloc[0]) < 1e-9
    elif suffix == ".csv":
        back = pd.read_csv(path)
        assert back["lon"].iloc[0] == pytest.approx(plan.chosen.geometry.x.iloc[0])
    else:
        back = pd.read_excel(path, sheet_name="plan")
        sheets = pd.read_excel(path, sheet_name=None)
        assert set(sheets) == {"plan", "districts", "summary"}
        assert sheets["districts"]["sites"].tolist() == [2]
    assert back["site_id"].tolist() == ["a", "b"]
    assert back["pick_order"].tolist() == [1, 2]
    assert back["name"].iloc[0] == "Вокзал"
    assert site_ids_from_file(path) == ["a", "b"]


def test_unknown_export_format(plan, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"Cannot write a plan to plan.shp"):
        plan_to_file(plan, tmp_path / "plan.shp")


def test_site_ids_from_text_and_tables(tmp_path: Path) -> None:
    text = tmp_path / "ids.txt"
    text.write_text("# existing\nbanner/1\n\nbanner/2\n", encoding="utf-8")
    assert site_ids_from_file(text) == ["banner/1", "banner/2"]
    table = tmp_path / "ids.csv"
    table.write_text("candidate_id,note\nbanner/3,x\n", encoding="utf-8")
    assert site_ids_from_file(table) == ["banner/3"]
    bad = tmp_path / "bad.csv"
    bad.write_text("foo\n1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"needs a column named one of site_id"):
        site_ids_from_file(bad, what="lock")
    with pytest.raises(InputFileError, match=r"does not exist"):
        site_ids_from_file(tmp_path / "missing.csv")


def test_costs_from_toml_and_csv(tmp_path: Path) -> None:
    toml = tmp_path / "cost.toml"
    toml.write_text('banner = 250000\n[site]\n"banner/7" = 400000\n', encoding="utf-8")
    assert costs_from_file(toml) == {"banner": 250000.0, "banner/7": 400000.0}
    csv = tmp_path / "cost.csv"
    csv.write_text("kind,cost\nbanner,100\nexhibition,900\n", encoding="utf-8")
    assert costs_from_file(csv) == {"banner": 100.0, "exhibition": 900.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,cost\nbanner,-1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"not zero or positive numbers for banner"):
        costs_from_file(bad)


def test_population_and_quota_tables(tmp_path: Path) -> None:
    pop = tmp_path / "pop.csv"
    pop.write_text("district_name,official_population,note\nMedeu,242100,x\nAlmaly,224600,y\n")
    assert population_from_file(pop) == {"Medeu": 242100.0, "Almaly": 224600.0}
    quota = tmp_path / "quota.csv"
    quota.write_text("district,min,max\nMedeu,2,5\nAlmaly,1,\n")
    assert quota_from_file(quota) == {"Medeu": "2:5", "Almaly": "1:"}
    pop.write_text("district,people\nMedeu,1\n")
    with pytest.raises(InputFileError, match=r"needs a name column \(district, ") as info:
        population_from_file(pop)
    assert info.value.code == "population_table_columns"
    pop.write_text("district,population\nMedeu,-5\nAlmaly,\n")
    with pytest.raises(InputFileError, match=r"missing or negative values in population"):
        population_from_file(pop)
    pop.write_text("district,population\nMedeu,many\n")
    with pytest.raises(InputFileError, match=r"Population 'many' of 'Medeu' in pop.csv"):
        population_from_file(pop)
    with pytest.raises(InputFileError, match=r"does not exist"):
        population_from_file(tmp_path / "none.csv")


def test_districts_must_be_polygons(tmp_path: Path, shared_data: Path) -> None:
    real = districts_from_file(shared_data / "osm" / "almaty" / "almaty_districts_osm_2019.geojson")
    assert len(real) == 8
    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs=4326).to_file(points)
    with pytest.raises(InputFileError, match=r"must hold only polygons"):
        districts_from_file(points)


def test_plan_file_errors_in_the_users_language(tmp_path: Path) -> None:
    bad = tmp_path / "cost.csv"
    bad.write_text("kind,cost\nbanner,-1\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        costs_from_file(bad)
    assert (info.value.code, info.value.params) == (
        "cost_file_bad_values",
        {"file": "cost.csv", "keys": "banner"},
    )
    assert error_text(info.value, "kk") == (
        "cost.csv файлында мыналардың құны нөл немесе оң сан емес: banner."
    )
    with pytest.raises(InputFileError) as info:
        site_ids_from_file(tmp_path / "locks.csv", what="lock")
    assert error_text(info.value, "ru") == "Файл locks.csv не существует."
    quota = tmp_path / "quota.csv"
    quota.write_text("district,low\nWest,1\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        quota_from_file(quota)
    assert info.value.code == "quota_file_columns_missing"
    assert "«min» және/немесе «max» бағандары" in error_text(info.value, "kk")
