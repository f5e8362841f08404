"""``nudge score`` on a real dataset folder."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from typer.testing import CliRunner

from nudge.cli import app
from nudge.placement import SIGNALS


def test_score_json_and_outputs(helsinki_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "banner.geojson"
    result = CliRunner().invoke(
        app, ["score", str(helsinki_dir), "--type", "banner", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["distance"] == "network"
    assert summary["candidates"] == summary["by_kind"]["banner"] > 300
    assert 0 < summary["excluded"] < summary["candidates"]
    assert 0 <= summary["score_min"] < summary["score_max"] <= 100
    assert summary["signals"] == list(SIGNALS)
    assert "PROXY" in summary["note"]
    written = gpd.read_file(out)
    assert len(written) == summary["candidates"]
    cached = gpd.read_parquet(helsinki_dir / "scores" / "banner.parquet")
    assert "contrib_transit_access" in cached.columns


def test_score_with_counts_calibrates_and_saves_profile(helsinki_dir: Path, tmp_path: Path) -> None:
    cache = helsinki_dir / "scores" / "banner.parquet"
    if not cache.is_file():  # this test run on its own
        assert CliRunner().invoke(app, ["score", str(helsinki_dir)]).exit_code == 0
    scored = gpd.read_parquet(cache)
    sample = scored.loc[~scored["excluded"]].iloc[::20].head(15)
    counts = 20 + 500 * sample["signal_transit_access"] + 100 * sample["signal_road_class"]
    path = tmp_path / "counts.csv"
    lines = ["lat,lon,count"] + [
        f"{p.y},{p.x},{c:.0f}" for p, c in zip(sample.geometry, counts, strict=True)
    ]
    path.write_text("\n".join([*lines, "60.17,not-a-number,5"]) + "\n", "utf-8")
    saved = tmp_path / "calibrated.toml"
    result = CliRunner().invoke(
        app,
        ["score", str(helsinki_dir), "--counts", str(path), "--save-profile", str(saved), "--json"],
    )
    assert result.exit_code == 0, result.output
    cal = json.loads(result.stdout)["calibration"]
    assert cal["matched"] >= 8
    assert cal["spearman_loo"] > 0.8
    assert cal["problems"][0]["row"] == len(sample) + 2
    assert saved.read_text().startswith("# nudge scoring profile")


def test_score_bad_profile_exits_2(helsinki_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[weights]\nfootfall = 1\n", "utf-8")
    result = CliRunner().invoke(app, ["score", str(helsinki_dir), "--profile", str(bad)])
    assert result.exit_code != 0
    assert "unknown signal" in str(result.exception) + result.output
