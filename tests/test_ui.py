"""Compositions the app's pages share: uploads, rescoring, campaign options, forms."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from nudge._errors import InputFileError
from nudge.content.campaign import campaign_for_settings
from nudge.content.schema import item_from_raw
from nudge.i18n import error_text, region_name
from nudge.placement import PlanResult, candidates_from_dataset, score_candidates
from nudge.settings import Settings
from nudge.ui import campaign as ui_campaign
from nudge.ui import files as ui_files
from nudge.ui import installations as ui_installations
from nudge.ui import library as ui_library
from nudge.ui import loading as ui_loading
from nudge.ui import planning as ui_planning

PLACES = [
    ("transit_stop", "bus_stop", 500, 500, "Stop"),
    ("mall", "mall", 300, 500, "Mall"),
    ("education", "school", 700, 300, "School"),
    ("park", "park", 200, 800, "Park"),
    ("historic", "monument", 520, 500, "Monument"),
]


@pytest.fixture
def city(make_city):  # type: ignore[no-untyped-def]
    return make_city(size=1000, block=100, places=PLACES)


def test_reweighted_matches_a_full_rescoring(city) -> None:  # type: ignore[no-untyped-def]
    cands = candidates_from_dataset(city, kind="banner")
    base = score_candidates(cands, city, draws=20)
    weights = {"poi_gravity": 1.0, "transit_access": 0.0, "road_class": 0.5}
    fast = ui_planning.reweighted(base, weights)
    full = score_candidates(cands, city, profile=base.profile.with_weights(weights), draws=0)
    assert fast.candidates["score"].to_numpy() == pytest.approx(full.candidates["score"].to_numpy())
    assert (fast.candidates["rank"] == full.candidates["rank"]).all()
    assert "score_low" in fast.candidates and fast.uncertainty is not None  # band redrawn
    assert ui_planning.reweighted(base, dict(base.profile.weights)) is base
    table = ui_planning.contribution_table(fast, str(fast.candidates.index[0]))
    assert table["points"].sum() == pytest.approx(fast.candidates["score"].iloc[0])


def test_save_uploads_keeps_shapefile_parts_together(tmp_path: Path) -> None:
    files = [("roads.shp", b"a"), ("roads.dbf", b"b"), ("../../etc/passwd", b"c"), ("a.shp", b"d")]
    paths = ui_files.save_uploads([*files, ("roads.shp", b"e")], tmp_path)
    assert [p.name for p in paths] == ["roads.shp", "roads.dbf", "passwd", "a.shp", "04_roads.shp"]
    assert all(p.parent == tmp_path for p in paths)
    names = [p.name for p in ui_files.readable_files(paths)]
    assert names == ["roads.shp", "passwd", "a.shp", "04_roads.shp"]


def test_dataset_from_uploads_refuses_nothing_and_bad_files(settings: Settings) -> None:
    with pytest.raises(InputFileError, match="at least one") as info:
        ui_loading.dataset_from_uploads([], settings=settings, name="x")
    assert error_text(info.value, "kk") == "Жүктеу үшін кемінде бір OSM файлын таңдаңыз."
    with pytest.raises(InputFileError) as info:
        ui_loading.dataset_from_uploads([("city.osm", b"")], settings=settings, name="x")
    assert info.value.code == "osm_file_empty"
    kazakh = "city.osm файлы бос; деректерді қайта экспорттаңыз немесе басқа файл таңдаңыз."
    assert error_text(info.value, "kk").endswith(kazakh)
    assert not (settings.data_dir / "x").exists()


def test_campaign_options_round_trip_and_keep_other_overrides(settings: Settings) -> None:
    path = ui_campaign.campaign_file(settings)
    path.parent.mkdir(parents=True)
    path.write_text('[formats.banner_6x3]\nmax_words = 6\nsite_kinds = ["banner"]\n', "utf-8")
    assert ui_campaign.campaign_options(settings) == ui_campaign.CampaignOptions()
    ui_campaign.save_campaign_options(
        settings,
        ui_campaign.CampaignOptions(require_russian=True, flight_weeks=2, exclusion_buffer_m=75.0),
    )
    assert ui_campaign.campaign_options(settings) == ui_campaign.CampaignOptions(True, 2, 75.0)
    data = tomllib.loads(path.read_text("utf-8"))
    assert data["formats"]["banner_6x3"]["max_words"] == 6
    campaign = campaign_for_settings(settings)
    assert campaign.require_russian and campaign.formats["banner_6x3"].max_words == 6
    with pytest.raises(InputFileError, match="1–52 weeks") as info:
        ui_campaign.save_campaign_options(settings, ui_campaign.CampaignOptions(False, 0, 50))
    assert info.value.params == {"weeks": 0, "buffer": "50"}
    assert "(берілгені: 0)" in error_text(info.value, "kk")
    path.write_text("[rotation\n", "utf-8")
    with pytest.raises(InputFileError, match="not valid TOML") as info:
        ui_campaign.campaign_options(settings)
    assert info.value.code == "campaign_settings_invalid"
    assert "науқан баптаулары" in error_text(info.value, "kk")


def test_entry_as_text_is_read_back_by_the_schema() -> None:
    item, problems = item_from_raw(
        "dynasties",
        {
            "id": "d-1",
            "family_name": "Ахметовтер",
            "field": "теміржол",
            "region": "ALA",
            "generations": 3,
            "story_kk": "Үш ұрпақ теміржолда еңбек етті.",
            "members": [{"name": "Асқар", "role": "машинист", "years": "1960–1995"}],
            "consent": True,
            "themes": ["family-tradition", "mastery"],
        },
    )
    assert problems == []
    text = ui_library.entry_as_text(item)
    assert text["members"] == "Асқар|машинист|1960–1995"
    assert text["consent"] == "yes" and text["themes"] == "family-tradition; mastery"
    again, problems = item_from_raw("dynasties", text)
    assert problems == [] and again == item


def test_region_labels_in_three_languages() -> None:
    assert region_name("ALA", "kk") == "Алматы"
    assert region_name("AKM", "ru") == "Акмолинская область"
    assert region_name("AKM", "en") == "Akmola Region"
    assert region_name("XXX", "kk") == "XXX"


def test_log_with_photo_assigns_the_district(shared_data: Path, tmp_path: Path) -> None:
    from datetime import date

    from nudge.registry import (
        add_user,
        district_layer_from_file,
        engine_from_url,
        upgrade_database,
    )

    engine = engine_from_url(f"sqlite:///{tmp_path / 'r.sqlite'}")
    upgrade_database(engine)
    admin = add_user(engine, username="admin", password="long-enough-pw", role="admin")
    layer = district_layer_from_file(shared_data / "osm/almaty/almaty_districts_osm_2019.geojson")
    done = ui_installations.log_with_photo(
        engine,
        user=admin,
        fields={"lat": 43.2567, "lon": 76.9286, "kind": "banner", "installed_on": date(2026, 5, 1)},
        photo=None,
        photo_dir=tmp_path / "photos",
        districts=layer,
    )
    assert done.record.region_code == "ALA"
    assert done.record.district == "Almaly"
    assert done.evidence is None


def test_region_values_tell_zero_from_unknown() -> None:
    from nudge.registry.indicators import Populations
    from nudge.ui.indicators import region_values

    rows = pd.DataFrame({"region": ["ALA"], "installations": [3], "installations_per_100k": [0.1]})
    pops = Populations(regions={"ALA": 2_000_000, "AST": 1_000_000})
    counts = region_values(rows, "installations", ["ALA", "AST", "KGD"], pops)
    assert counts == {"ALA": 3.0, "AST": 0.0, "KGD": 0.0}  # nothing counted is zero
    rates = region_values(rows, "installations_per_100k", ["ALA", "AST", "KGD"], pops)
    assert rates == {"ALA": 0.1, "AST": 0.0, "KGD": None}  # no population: unknown


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Абай", "Сәтбаев", "Достық"]},
        geometry=gpd.points_from_xy([76.9000, 76.9002, 76.9500], [43.2400, 43.2400, 43.2500]),
        crs=4326,
        index=pd.Index(["banner/000001", "banner/000002", "banner/000003"]),
    )


def test_a_marker_click_picks_the_site_its_tooltip_names() -> None:
    sites = _sites()
    # the click lands nearer to banner/000001, but the marker clicked is banner/000002
    returned = {
        "last_object_clicked": {"lat": 43.2400, "lng": 76.90005},
        "last_object_clicked_tooltip": "Сәтбаевұпай: 71,2орын: banner/000002",
        "last_clicked": {"lat": 43.2400, "lng": 76.90005},
    }
    click = ui_planning.site_from_click(returned, sites)
    assert click.site_id == "banner/000002" and not click.cluster
    again = ui_planning.site_from_click(returned, sites, previous=click.seen)
    assert again.site_id is None and again.seen == click.seen  # a rerun is no new click


def test_a_cluster_click_never_changes_the_selection() -> None:
    sites = _sites()
    cluster = {
        "last_object_clicked": {"lat": 43.2400, "lng": 76.9001},
        "last_object_clicked_tooltip": None,
        "last_clicked": None,
    }
    click = ui_planning.site_from_click(cluster, sites)
    assert click.cluster and click.site_id is None
    blank = {**cluster, "last_object_clicked_tooltip": "  "}
    assert ui_planning.site_from_click(blank, sites).site_id is None


def test_a_bare_map_click_picks_the_nearest_site_within_reach() -> None:
    sites = _sites()
    first = {
        "last_object_clicked": {"lat": 43.24, "lng": 76.9002},
        "last_object_clicked_tooltip": "Сәтбаев banner/000002",
    }
    seen = ui_planning.site_from_click(first, sites).seen
    near = {**first, "last_clicked": {"lat": 43.2501, "lng": 76.9501}}  # object click unchanged
    click = ui_planning.site_from_click(near, sites, previous=seen)
    assert click.site_id == "banner/000003"
    far = {**first, "last_clicked": {"lat": 43.30, "lng": 77.0}}
    assert ui_planning.site_from_click(far, sites, previous=seen).site_id is None
    assert ui_planning.site_from_click(None, sites).site_id is None
    assert ui_planning.site_from_click({}, sites.iloc[:0]).site_id is None


def test_a_saved_plan_payload_gives_the_same_plan_back() -> None:
    import json

    from nudge.ui.planning import plan_from_payload, plan_payload

    lat, lon = 43.238, 76.945
    chosen = gpd.GeoDataFrame(
        {
            "site_id": ["banner/1", "banner/2"],
            "kind": ["banner", "banner"],
            "name": ["Абай", None],
            "score": [0.9, 0.4],
            "pick_order": np.array([1, 2], dtype=np.int64),
            "locked": np.array([True, False]),
            "marginal_gain": [3.0, 1.5],
            "covered_weight": [3.0, 2.0],
            "district": ["Алмалы", ""],
        },
        geometry=gpd.points_from_xy([lon, lon + 0.01], [lat, lat]),
        crs=4326,
    )
    plan = PlanResult(
        chosen=chosen,
        covered_weight=4.5,
        total_weight=10.0,
        covered_share=0.45,
        upper_bound=5.0,
        solver="greedy",
        gap=0.1,
        by_district={"Алмалы": {"sites": np.int64(1), "site_ids": ["banner/1"]}},
        explanation="Plan of 2 sites",
        warnings=("w1",),
        kind="banner",
        radius=300.0,
        min_spacing=50.0,
        distance="straight-line",
        status="greedy",
        seconds=0.2,
    )
    payload = json.loads(json.dumps(plan_payload(plan)))  # what the database keeps
    back = plan_from_payload(payload)
    assert back.site_ids == plan.site_ids
    assert back.chosen["locked"].tolist() == [True, False]
    assert back.chosen["name"].tolist()[0] == "Абай"
    assert back.by_district == {"Алмалы": {"sites": 1, "site_ids": ["banner/1"]}}
    assert (back.covered_share, back.warnings, back.kind) == (0.45, ("w1",), "banner")
    assert back.chosen.geometry.x.tolist() == pytest.approx(chosen.geometry.x.tolist())
