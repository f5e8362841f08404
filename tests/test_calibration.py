from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nudge._errors import InputFileError, ProfileError
from nudge.i18n import error_text, problem_text
from nudge.placement import SIGNALS, calibrate_profile, counts_from_file, load_profile


def _scored(n: int = 40, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = 71.40 + rng.uniform(0, 0.05, n)
    lat = 51.10 + rng.uniform(0, 0.03, n)
    return gpd.GeoDataFrame(
        {f"signal_{s}": rng.uniform(0, 1, n) for s in load_profile("banner").weights},
        geometry=shapely.points(lon, lat),
        crs=4326,
        index=pd.Index([f"banner/{i:06d}" for i in range(n)], name="candidate_id"),
    )


def _counts_csv(path: Path, scored: gpd.GeoDataFrame, counts: np.ndarray) -> None:
    lines = ["lat,lon,count,period"]
    lines += [
        f"{p.y:.7f},{p.x:.7f},{c:.1f},2026-05" for p, c in zip(scored.geometry, counts, strict=True)
    ]
    lines += ["43.2,abc,12,2026-05", "51.12,71.42,-5,2026-05", "51.12,71.42,many,2026-05"]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def test_fit_recovers_the_weights_behind_the_counts(tmp_path: Path) -> None:
    scored = _scored()
    truth = {"transit_access": 600.0, "road_class": 200.0}
    counts = 50 + sum(w * scored[f"signal_{s}"].to_numpy() for s, w in truth.items())
    path = tmp_path / "counts.csv"
    _counts_csv(path, scored, counts)
    table, problems = counts_from_file(path)
    assert len(table) == len(scored)
    assert [(p.row, p.column) for p in problems] == [
        (42, "lat/lon"),
        (43, "count"),
        (44, "count"),
    ]
    cal = calibrate_profile(scored, table, profile=load_profile("banner"), problems=problems)
    assert cal.weights["transit_access"] == pytest.approx(0.75, abs=0.02)
    assert cal.weights["road_class"] == pytest.approx(0.25, abs=0.02)
    assert cal.weights["dwell"] == pytest.approx(0.0, abs=0.02)
    assert cal.spearman_loo > 0.95
    assert cal.r2_loo > 0.95
    assert cal.matched == len(scored)
    assert cal.profile.weights["transit_access"] == pytest.approx(cal.weights["transit_access"])
    assert len(cal.summary()["problems"]) == 3


def test_noise_only_counts_fit_poorly(tmp_path: Path) -> None:
    scored = _scored(seed=3)
    noise = np.random.default_rng(9).uniform(0, 100, len(scored))
    path = tmp_path / "counts.csv"
    _counts_csv(path, scored, noise)
    table, _ = counts_from_file(path)
    try:
        cal = calibrate_profile(scored, table, profile=load_profile("banner"))
    except ProfileError:
        return  # no signal rises with pure noise: also an honest answer
    assert cal.r2_loo < 0.5


def test_too_few_counts_and_far_counts(tmp_path: Path) -> None:
    scored = _scored(n=10)
    path = tmp_path / "counts.csv"
    path.write_text("lat,lon,count\n" + "\n".join(
        f"{p.y},{p.x},{i}" for i, p in enumerate(scored.geometry[:4])
    ) + "\n43.25,76.9,100\n", "utf-8")  # fmt: skip
    table, _ = counts_from_file(path)
    with pytest.raises(ProfileError, match=f"needs counts at {len(SIGNALS) + 2} or more"):
        calibrate_profile(scored, table, profile=load_profile("banner"))


def test_counts_file_without_required_columns(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("place;count\nBaiterek;10\n", "utf-8")
    with pytest.raises(InputFileError, match="needs latitude and longitude columns"):
        counts_from_file(path)
    path.write_text("широта;долгота;visitors\n51.1;71.4;10\n", "utf-8")
    with pytest.raises(InputFileError, match="needs a 'count' column"):
        counts_from_file(path)
    path.write_text("latitude;longitude;pedestrians\n51.1;71.4;10\n", "cp1251")
    table, problems = counts_from_file(path)
    assert table["count"].tolist() == [10] and problems == []


def test_count_problems_and_errors_in_the_users_language(tmp_path: Path) -> None:
    scored = _scored(n=10)
    path = tmp_path / "counts.csv"
    _counts_csv(path, scored[:4], np.arange(4.0))
    table, problems = counts_from_file(path)
    assert [(p.code, p.params) for p in problems] == [
        ("placement_bad_coordinates", {}),
        ("counts_bad_count", {"value": "-5"}),
        ("counts_bad_count", {"value": "many"}),
    ]
    assert problem_text(problems[2], "kk") == "«many» мәні 0-ге тең немесе одан үлкен сан емес."
    far = pd.DataFrame(
        {"lat": [43.25], "lon": [76.9], "count": [1.0], "period": [None], "row": [9]}
    )
    with pytest.raises(ProfileError) as info:
        calibrate_profile(scored, pd.concat([table, far]), profile=load_profile("banner"))
    assert info.value.code == "calibration_too_few_counts"
    need = len(SIGNALS) + 2
    assert info.value.params == {"need": need, "matched": 4}
    assert error_text(info.value, "kk").startswith(
        f"Калибрлеу үшін кемінде {need} әртүрлі үміткер орындағы санау деректері керек; "
        "сәйкес келгені: 4."
    )
