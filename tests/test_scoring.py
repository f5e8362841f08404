from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nudge._errors import EmptyDataError
from nudge.i18n import notice_text
from nudge.placement import SIGNALS, candidates_from_dataset, load_profile, score_candidates
from nudge.placement.scoring import contributions


def _two_sites(at) -> gpd.GeoDataFrame:  # type: ignore[no-untyped-def]
    return gpd.GeoDataFrame(
        {"kind": "banner", "name": ["by the station", "empty field"], "source": "user",
         "excluded": False, "exclusion_reason": pd.NA, "highway": pd.NA, "area_m2": np.nan},
        geometry=[shapely.Point(at(510, 500)), shapely.Point(at(950, 60))],
        crs=4326,
        index=pd.Index(["near", "far"], name="candidate_id"),
    )  # fmt: skip


CENTRE = [
    ("transit_station", "", 500, 520, "Вокзал"),
    ("transit_stop", "", 480, 500, "Аялдама"),
    ("retail_food", "", 520, 480, "Дүкен"),
    ("education", "", 450, 450, "Мектеп"),
    ("market", "", 550, 550, "Базар"),
]


@pytest.mark.parametrize("streets", [True, False])
def test_site_by_station_outranks_empty_field(make_city, at, streets: bool) -> None:  # type: ignore[no-untyped-def]
    city = make_city(places=CENTRE, streets=streets)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score_candidates(_two_sites(at), city, draws=0)
    codes = {getattr(w.message.args[0], "code", None) for w in caught}
    assert ("score_no_streets" in codes) == (not streets)
    # the synthetic city has no route relations or buildings: both are said, not zero silently
    assert {"score_no_routes", "score_no_buildings"} <= codes
    c = result.candidates
    assert c.loc["near", "score"] > c.loc["far", "score"] + 20
    assert c.loc["near", "contrib_transit_service"] > c.loc["far", "contrib_transit_service"]
    assert result.distance == ("network" if streets else "euclidean")
    if not streets:
        assert "straight-line" in result.warnings[0]
        assert "түзу сызықпен есептеледі" in notice_text(result.warnings[0], "kk")
        assert (c["contrib_centrality"] == 0).all()
    assert "transit_service" in notice_text(result.warnings[-2], "ru")


def test_contributions_add_up_to_score(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city(places=CENTRE)
    result = score_candidates(candidates_from_dataset(city, kind="banner"), city)
    c = result.candidates
    contrib = c[[f"contrib_{s}" for s in result.signals]].sum(axis=1)
    assert np.allclose(contrib, c["score"])
    assert c["score"].between(0, 100).all()
    # with the shipped banner weights, dwell contributes nothing
    assert (c["contrib_dwell"] == 0).all()
    assert result.candidates["rank"].min() == 1
    assert (c["score_low"] <= c["score"] + 1e-9).all()
    assert (c["score_high"] >= c["score"] - 1e-9).all()
    assert 0 < result.uncertainty.top_n_stability <= 1
    assert "PROXY" in result.summary()["note"]


def test_contributions_formula() -> None:
    signals = pd.DataFrame({"a": [1.0, 0.5], "b": [0.0, 1.0]})
    out = contributions(signals, {"a": 3.0, "b": 1.0})
    assert out["contrib_a"].tolist() == [75.0, 37.5]
    assert out["score"].tolist() == [75.0, 62.5]


def test_profile_weights_change_the_ranking(make_city, at) -> None:  # type: ignore[no-untyped-def]
    city = make_city(places=CENTRE)
    sites = _two_sites(at)
    only_road = load_profile("banner").with_weights({**dict.fromkeys(SIGNALS, 0), "road_class": 1})
    c = score_candidates(sites, city, profile=only_road, draws=0).candidates
    # the site by the station faces the primary street; the field is 40 m from any street
    assert c.loc["near", "score"] == pytest.approx(100.0)
    assert c.loc["far", "score"] == pytest.approx(0.0)


def test_excluded_candidates_are_scored_but_not_ranked(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city(places=[*CENTRE, ("worship", "", 500, 500, "Мешіт")])
    c = score_candidates(candidates_from_dataset(city, kind="banner"), city, draws=20).candidates
    assert c["excluded"].any()
    assert c.loc[c["excluded"], "rank"].isna().all()
    assert c.loc[~c["excluded"], "rank"].notna().all()
    assert c.loc[c["excluded"], "top_share"].eq(0).all()


def test_empty_candidates(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city()
    with pytest.raises(EmptyDataError, match="no candidate sites"):
        score_candidates(candidates_from_dataset(city, kind="career"), city)


def test_exhibition_dwell_favours_big_squares(make_city) -> None:  # type: ignore[no-untyped-def]
    city = make_city(
        places=[("square_pedestrian", "", 500, 500, "Алаң"), ("park", "", 100, 900, "Саябақ"),
                ("mall", "", 520, 480, "Mall"), ("transit_station", "", 480, 520, "Вокзал")]
    )  # fmt: skip
    c = score_candidates(candidates_from_dataset(city, kind="exhibition"), city).candidates
    by_name = c.set_index("name")
    assert by_name.loc["Алаң", "contrib_dwell"] > by_name.loc["Саябақ", "contrib_dwell"]


# --- real data -------------------------------------------------------------------------------


def test_helsinki_banners(helsinki_dataset) -> None:  # type: ignore[no-untyped-def]
    city = helsinki_dataset
    result = score_candidates(candidates_from_dataset(city, kind="banner"), city, draws=50)
    c = result.candidates
    assert result.distance == "network"
    assert c["score"].between(0, 100).all()
    top = c.sort_values("score", ascending=False).head(20)
    # the busiest street of central Helsinki is among the top banner sites
    assert (top["street_name"] == "Mannerheimintie").any() or (top["source"] == "transit").any()
    assert c["score"].std() > 5


def test_astana_stops_centre_above_median_edge_below(shared_data: Path) -> None:
    from nudge.osm.datasets import dataset_from_files

    city = dataset_from_files([shared_data / "osm/astana/pois_astana_osm.parquet"])
    with pytest.warns(UserWarning, match="straight-line"):
        result = score_candidates(candidates_from_dataset(city, kind="banner"), city, draws=0)
    c = result.candidates
    median = c["score"].median()
    khan_shatyr = c.loc["banner/node/4109037548"]  # bus stop "Хан Шатыр", by the largest mall
    assert khan_shatyr["signal_poi_gravity"] > c["signal_poi_gravity"].median()
    # a stop on the empty southern edge of the city
    south = c.loc[c.geometry.y.idxmin()]
    assert south["score"] < median
    assert result.distance == "euclidean"


def test_almaty_central_avenue_above_city_median(shared_data: Path) -> None:
    from nudge.osm.datasets import dataset_from_files

    base = shared_data / "osm/almaty"
    city = dataset_from_files([base / "geofabrik_shp", base / "almaty_points.geojson"])
    c = score_candidates(candidates_from_dataset(city, kind="banner"), city, draws=0).candidates
    assert len(c) > 15_000
    abai = c.loc[c["street_name"] == "Абай даңғылы", "score"]
    assert len(abai) > 100
    assert abai.median() > c["score"].median() + 10


def test_rescore_equals_a_full_scoring_with_the_new_weights(make_city) -> None:  # type: ignore[no-untyped-def]
    from nudge.placement import rescore

    city = make_city(places=CENTRE)
    cands = candidates_from_dataset(city, kind="banner")
    first = score_candidates(cands, city, draws=30)
    weights = {"road_class": 0.9, "transit_access": 0.05}
    fast = rescore(first, weights)
    full = score_candidates(cands, city, profile=first.profile.with_weights(weights), draws=30)
    assert np.allclose(fast.candidates["score"], full.candidates["score"])
    assert fast.candidates["rank"].tolist() == full.candidates["rank"].tolist()
    assert np.allclose(fast.candidates["score_high"], full.candidates["score_high"])
    assert fast.uncertainty == full.uncertainty
    assert rescore(first, {}) is first
