"""Validation of the footfall score against measured counts, beside naive baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nudge._errors import InputFileError
from nudge.placement import counts_from_file, load_profile
from nudge.placement.validation import (
    MIN_COUNTS,
    Validation,
    baselines_at,
    blocked_predictions,
    fitted_weights,
    rank_agreement,
    validate_profile,
)

# --- rank agreement ----------------------------------------------------------------------------


def test_perfect_order() -> None:
    y = np.arange(1.0, 21.0)
    got = rank_agreement(y, 3 * y + 7, draws=200)
    assert got.spearman == pytest.approx(1.0)
    assert got.kendall == pytest.approx(1.0)
    assert (got.spearman_low, got.spearman_high) == pytest.approx((1.0, 1.0))
    assert got.top_decile_hit == 1.0


def test_reversed_order() -> None:
    y = np.arange(1.0, 21.0)
    got = rank_agreement(y, -y, draws=200)
    assert got.spearman == pytest.approx(-1.0)
    assert got.kendall == pytest.approx(-1.0)
    assert got.top_decile_hit == 0.0


def test_top_decile_hit() -> None:
    y = np.arange(20.0)  # the top decile is the two busiest places, 19 and 18
    x = y.copy()
    x[19] = -1.0  # the busiest is scored lowest; the score's top two are 18 and 17
    got = rank_agreement(y, x, draws=200)
    assert got.top_decile_hit == 0.5
    assert 0 < got.spearman < 1


def test_bootstrap_interval_holds_the_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    y = rng.lognormal(5, 1, 60)
    x = np.log(y) + rng.normal(0, 1, 60)
    got = rank_agreement(y, x, draws=500, seed=3)
    assert got.spearman_low < got.spearman < got.spearman_high
    assert 0.3 < got.spearman < 0.9
    assert rank_agreement(y, x, draws=500, seed=3) == got
    assert got.as_dict()["spearman_ci95"] == [
        round(got.spearman_low, 3),
        round(got.spearman_high, 3),
    ]


def test_a_constant_predictor_agrees_with_nothing() -> None:
    got = rank_agreement(np.arange(20.0), np.ones(20), draws=100)
    assert got.spearman == 0.0
    assert got.kendall == 0.0


# --- baselines, fitting, blocked cross-validation ----------------------------------------------


def test_baselines() -> None:
    cluster = [(0, 0), (50, 0), (0, 50), (-50, 0), (0, -50)]
    places = np.array([*cluster, (2000, 0)], dtype=float)
    xy = np.array([(0, 0), (2000, 0), (1000, 0)], dtype=float)
    got = baselines_at(xy, places)
    assert got["places_within_300m"].tolist() == [5.0, 1.0, 0.0]
    # the centre is the place with the most places within 500 m: the cluster
    assert got["near_city_centre"].tolist() == pytest.approx([0.0, -2000.0, -1000.0])
    empty = baselines_at(xy, np.zeros((0, 2)))
    assert empty["places_within_300m"].tolist() == [0.0, 0.0, 0.0]


def test_fitted_weights_move_towards_the_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 2))
    y = np.expm1(2.0 * x[:, 0])  # only the first signal explains log(1 + count)
    prior = np.array([0.0, 2.0])
    assert fitted_weights(x, y, prior, shrink=0.0) == pytest.approx([1.0, 0.0], abs=1e-6)
    assert fitted_weights(x, y, prior, shrink=1.0) == pytest.approx([0.0, 1.0])
    assert fitted_weights(x, y, prior) == pytest.approx([0.5, 0.5], abs=1e-6)


def test_blocked_predictions_leave_each_block_out() -> None:
    rng = np.random.default_rng(2)
    n = 90
    xy = rng.uniform(0, 3000, (n, 2))  # a 3 x 3 km area, 1 km blocks
    x = rng.uniform(0, 1, (n, 3))
    y = np.expm1(3 * x[:, 0] + rng.normal(0, 0.2, n))
    prior = np.array([1.0, 1.0, 1.0])
    pred, blocks = blocked_predictions(x, y, xy, prior, block_m=1000.0)
    assert blocks == 9
    assert pred.shape == (n,)
    # a block's predictions do not depend on that block's own counts
    block = (np.floor(xy[:, 0] / 1000) * 3 + np.floor(xy[:, 1] / 1000)).astype(int)
    own = block == block[0]
    changed = y.copy()
    changed[own] = changed[own][::-1] * 50
    pred2, _ = blocked_predictions(x, changed, xy, prior, block_m=1000.0)
    assert pred2[own] == pytest.approx(pred[own])
    assert not np.allclose(pred2[~own], pred[~own])
    # one block: nothing to hold out against
    _, one = blocked_predictions(x, y, xy, prior, block_m=10_000.0)
    assert one == 1


# --- real data: HSL boardings at 95 stops of central Helsinki ----------------------------------


@pytest.fixture(scope="module")
def hsl_counts(shared_data: Path) -> Path:
    path = shared_data / "footfall" / "helsinki" / "hsl_boardings_2016-11.csv"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="module")
def helsinki(helsinki_dataset):  # type: ignore[no-untyped-def]
    # the score's new signals need the route relations and buildings of the extract
    assert helsinki_dataset.routes is not None
    assert len(helsinki_dataset.routes)
    assert helsinki_dataset.buildings is not None
    assert len(helsinki_dataset.buildings)
    return helsinki_dataset


@pytest.fixture(scope="module")
def banner_validation(hsl_counts: Path, helsinki) -> Validation:  # type: ignore[no-untyped-def]
    table, problems = counts_from_file(hsl_counts)
    return validate_profile(table, helsinki, profile=load_profile("banner"), problems=problems)


def test_helsinki_banner_score_tracks_boardings(banner_validation: Validation) -> None:
    v = banner_validation
    assert v.matched == 95
    assert v.counts == 6708
    assert v.outside == 6708 - 95
    assert v.what == "boardings"
    assert v.profile == "banner"
    assert v.default.spearman >= 0.5
    assert v.default.spearman_low < v.default.spearman < v.default.spearman_high
    assert set(v.baselines) == {"places_within_300m", "near_city_centre"}
    for baseline in v.baselines.values():
        assert v.default.spearman > baseline.spearman


def test_helsinki_calibrated_blocked_cv(banner_validation: Validation) -> None:
    v = banner_validation
    assert v.blocks > 1
    assert v.block_m == 1000.0
    assert v.calibrated is not None
    assert v.calibrated.spearman >= 0.55
    assert sum(v.calibrated_weights.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in v.calibrated_weights.values())
    assert v.calibrated_weights["transit_service"] > 0


def test_helsinki_validation_table_and_summary(banner_validation: Validation) -> None:
    v = banner_validation
    t = v.table
    assert len(t) == 95
    assert {"lat", "lon", "count", "score", "calibrated_cv", *v.baselines} <= set(t.columns)
    assert t["score"].between(0, 100).all()
    assert t["count"].max() > 10_000  # the central railway station
    s = v.summary()
    assert s["matched"] == 95
    assert s["beats_baselines"] is True
    assert s["default"]["spearman"] == pytest.approx(v.default.spearman, abs=5e-4)
    assert s["calibrated_blocked_cv"]["spearman"] >= 0.55
    assert s["problems"] == []


# --- refusals ---------------------------------------------------------------------------------


def _counts(lat_lon_count: list[tuple[float, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(lat_lon_count, columns=["lat", "lon", "count"])
    frame["row"] = np.arange(2, len(frame) + 2)
    return frame


def _central(n: int, count: float | None = None) -> pd.DataFrame:
    lat = 60.165 + 0.001 * np.arange(n)
    return _counts([(a, 24.94, 10.0 * (i + 1) if count is None else count)
                    for i, a in enumerate(lat)])  # fmt: skip


def test_unknown_kind_of_counts(helsinki) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError, match=r"boardings, pedestrians, not walkers"):
        validate_profile(_central(12), helsinki, profile=load_profile("banner"), what="walkers")  # type: ignore[arg-type]


def test_too_few_counts_inside_the_area(helsinki) -> None:  # type: ignore[no-untyped-def]
    counts = pd.concat([_central(3), _counts([(43.25, 76.9, 5.0)] * 4)], ignore_index=True)
    with pytest.raises(InputFileError, match=r"Only 3 counted place\(s\).*\(4 lie outside it\)"):
        validate_profile(counts, helsinki, profile=load_profile("banner"))
    assert MIN_COUNTS == 10


def test_counts_that_do_not_vary(helsinki) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError, match="All counts are equal"):
        validate_profile(_central(12, count=7.0), helsinki, profile=load_profile("banner"))


def test_counts_at_one_place_are_averaged(helsinki) -> None:  # type: ignore[no-untyped-def]
    counts = pd.concat([_central(12), _central(1, count=30.0)], ignore_index=True)
    v = validate_profile(
        counts, helsinki, profile=load_profile("exhibition"), what="pedestrians", block_m=300.0
    )
    assert v.matched == 12
    assert v.counts == 13
    assert v.what == "pedestrians"
    assert v.profile == "exhibition"
    first = v.table.sort_values("lat").iloc[0]
    assert first["count"] == pytest.approx(20.0)
    assert v.blocks > 1
