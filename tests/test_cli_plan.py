"""The ``nudge plan`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from nudge.cli import app
from nudge.osm.files import empty_streets

runner = CliRunner()
X0, Y0 = 500_000.0, 5_640_000.0


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """Write a small city dataset: features.parquet and scored banner candidates."""
    folder = tmp_path / "tiny"
    (folder / "scores").mkdir(parents=True)
    xy = np.array([[0, 0], [0, 600], [0, 1200], [3000, 0], [3000, 600], [3000, 1200]], float)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0] + X0, xy[:, 1] + Y0), crs=32642).to_crs(4326)
    features = gpd.GeoDataFrame(
        {
            "osm_id": [f"node/{i}" for i in range(6)],
            "category": [
                "transit_station",
                "mall",
                "transit_stop",
                "retail_food",
                "crossing",
                "worship",
            ],
            "name": None,
        },
        geometry=pts.to_numpy(),
        crs=4326,
    )
    features.to_parquet(folder / "features.parquet")
    empty_streets().to_parquet(folder / "streets.parquet")
    (folder / "meta.json").write_text(json.dumps({"slug": "tiny"}), "utf-8")
    candidates = gpd.GeoDataFrame(
        {
            "candidate_id": [f"banner/{i}" for i in range(6)],
            "kind": "banner",
            "name": [f"Stop {i}" for i in range(6)],
            "excluded": [False] * 5 + [True],
            "exclusion_reason": [None] * 5 + ["worship"],
            "score": [50.0, 40, 30, 20, 10, 90],
        },
        geometry=pts.to_numpy(),
        crs=4326,
    )
    candidates.to_parquet(folder / "scores" / "banner.parquet")
    districts = gpd.GeoDataFrame(
        {"district": ["West", "East"]},
        geometry=[
            box(X0 - 500, Y0 - 500, X0 + 1500, Y0 + 2000),
            box(X0 + 1500, Y0 - 500, X0 + 4000, Y0 + 2000),
        ],
        crs=32642,
    ).to_crs(4326)
    districts.to_file(folder / "districts.geojson")
    return folder


def invoke(*args: str) -> dict:
    # public spaces weigh by category here, for round figures (footfall: test below)
    result = runner.invoke(app, ["plan", *args, "--weigh-by", "category", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_plan_writes_the_sites_and_prints_the_figures(city: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.geojson"
    result = invoke(
        str(city), "--type", "banner", "--count", "2", "--radius", "100", "--out", str(out)
    )
    for key in (
        "chosen",
        "covered_weight",
        "total_weight",
        "covered_share",
        "upper_bound",
        "solver",
        "gap",
        "by_district",
        "out",
    ):
        assert key in result
    assert result["chosen"] == 2
    assert result["covered_weight"] == pytest.approx(16.0)  # station 8 + mall 8
    assert result["total_weight"] == pytest.approx(8 + 8 + 3 + 1 + 0.5)
    assert result["solver"] == "greedy"
    assert result["out"] == str(out)
    plan = gpd.read_file(out)
    assert plan["site_id"].tolist() == ["banner/0", "banner/1"]


def test_plan_with_quotas_locks_and_exclusions(city: Path, tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("banner/4\n", encoding="utf-8")
    exclude = tmp_path / "exclude.csv"
    exclude.write_text("site_id\nbanner/1\n", encoding="utf-8")
    out = tmp_path / "plan.xlsx"
    result = invoke(
        str(city),
        "--count",
        "3",
        "--radius",
        "100",
        "--districts",
        str(city / "districts.geojson"),
        "--quota",
        "1:2",
        "--lock",
        str(lock),
        "--exclude",
        str(exclude),
        "--solver",
        "exact",
        "--out",
        str(out),
    )
    plan = pd.read_excel(out, sheet_name="plan")
    assert set(plan["site_id"]) == {"banner/0", "banner/2", "banner/4"}
    assert plan.loc[plan["site_id"] == "banner/4", "locked"].item()
    assert result["by_district"]["West"]["sites"] == 2
    assert result["by_district"]["East"]["sites"] == 1
    assert result["solver"] == "exact"


def test_lock_file_with_existing_structures_adds_them(city: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing.geojson"
    gpd.GeoDataFrame(
        {"name": ["Old billboard"]},
        geometry=gpd.points_from_xy([X0 + 3000], [Y0 + 1200]),
        crs=32642,
    ).to_file(existing)
    result = invoke(
        str(city),
        "--count",
        "2",
        "--radius",
        "100",
        "--lock",
        str(existing),
        "--out",
        str(tmp_path / "p.csv"),
    )
    plan = pd.read_csv(tmp_path / "p.csv")
    assert plan["site_id"].tolist() == ["existing/0001", "banner/0"]
    assert result["chosen"] == 2


def test_compare_with_an_earlier_plan(city: Path, tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.txt"
    earlier.write_text("banner/2\nbanner/3\n", encoding="utf-8")
    result = invoke(
        str(city),
        "--count",
        "2",
        "--radius",
        "100",
        "--compare",
        str(earlier),
        "--out",
        str(tmp_path / "p.gpkg"),
    )
    comparison = result["comparison"]
    assert comparison["only_a"] == ["banner/2", "banner/3"]
    assert comparison["difference"] == pytest.approx(16 - 4)


def test_incomplete_dataset_without_scores_is_explained(city: Path) -> None:
    (city / "meta.json").unlink()
    result = runner.invoke(
        app, ["plan", str(city), "--type", "exhibition", "--count", "2", "--json"]
    )
    assert result.exit_code != 0
    assert "not a complete nudge dataset" in str(result.exception)


def test_missing_scores_are_computed_and_kept(helsinki_dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from nudge.osm.datasets import save_dataset

    folder = save_dataset(helsinki_dataset, tmp_path / "helsinki")
    out = tmp_path / "plan.geojson"
    result = runner.invoke(
        app,
        ["plan", str(folder), "--type", "exhibition", "--count", "5", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert (folder / "scores" / "exhibition.parquet").is_file()
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["chosen"] == 5
    assert 0 < summary["covered_share"] <= 1
    assert len(gpd.read_file(out)) == 5


def test_infeasible_plan_is_explained(city: Path) -> None:
    result = runner.invoke(app, ["plan", str(city), "--count", "9", "--json"])
    assert result.exit_code != 0
    assert "Only 5 candidate sites may be chosen, fewer than the 9" in str(result.exception)


def test_json_is_alone_on_stdout_with_the_exact_solver(city: Path, tmp_path: Path) -> None:
    env = {"NUDGE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nudge",
            "plan",
            str(city),
            "--count",
            "2",
            "--solver",
            "exact",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # exactly one JSON object, no solver banner
    assert result["out"] == str(city / "plans" / "banner-plan.geojson")
    assert result["solver"] == "exact"


def test_plan_weighs_demand_by_estimated_footfall(helsinki_dir: Path) -> None:
    result = runner.invoke(
        app, ["plan", str(helsinki_dir), "--type", "banner", "--count", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "estimated footfall" in summary["demand"]
    # footfall weights are banner scores (0-100 each), not category weights (at most 8 each)
    assert summary["total_weight"] > 8 * summary["chosen"]
    bad = runner.invoke(app, ["plan", str(helsinki_dir), "--count", "5", "--weigh-by", "people"])
    assert bad.exit_code != 0 and "--weigh-by must be one of" in str(bad.exception)


def test_plan_names_osm_districts_in_the_asked_language(city: Path, tmp_path: Path) -> None:
    layer = gpd.read_file(city / "districts.geojson").drop(columns="district")
    layer["name"] = ["Батыс", "Шығыс"]  # OSM's local name
    layer["name:ru"] = ["Западный", "Восточный"]
    layer["name_en"] = ["West", "East"]
    path = tmp_path / "osm_districts.geojson"
    layer.to_file(path)
    common = (str(city), "--count", "2", "--radius", "100", "--districts", str(path))
    assert set(invoke(*common)["by_district"]) == {"West", "East"}
    assert set(invoke(*common, "--lang", "ru")["by_district"]) == {"Западный", "Восточный"}
    assert set(invoke(*common, "--lang", "kk")["by_district"]) == {"Батыс", "Шығыс"}
