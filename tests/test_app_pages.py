"""The Streamlit app through AppTest: every page in every language and role, widgets at work."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from nudge.content import load_library
from nudge.i18n import LANGUAGES, format_number, translator
from nudge.osm.datasets import CityDataset, dataset_from_layers, save_dataset
from nudge.osm.features import features_from_tags
from nudge.osm.files import OsmLayers
from nudge.osm.streets import streets_from_lines
from nudge.placement.selection import PlanResult
from nudge.registry import (
    UserInfo,
    add_user,
    engine_from_url,
    list_installations,
    list_users,
    upgrade_database,
)
from nudge.settings import Settings, settings_from_env
from nudge.ui import campaign as ui_campaign
from nudge.ui import loading as ui_loading

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORD = "correct-horse-1"
ORIGIN = (76.90, 43.24)  # central Almaty
PAGES_BY_ROLE = {
    "admin": ["data", "plan", "content", "registry", "indicators", "evaluation", "admin"],
    "planner": ["data", "plan", "registry", "indicators", "evaluation"],
    "designer": ["data", "content", "registry", "indicators", "evaluation"],
    "coordinator": ["registry", "indicators", "evaluation"],
    "viewer": ["indicators", "evaluation"],
}
ALL_PAGES = PAGES_BY_ROLE["admin"]
TITLES = {"evaluation": "evaluation_page.title"}  # the page's texts live in their own section


def _at(x_m: float, y_m: float) -> tuple[float, float]:
    return ORIGIN[0] + x_m / 80_900, ORIGIN[1] + y_m / 111_200


def small_city() -> CityDataset:
    """Return a 1 km street grid in Almaty with a few public spaces."""
    ticks = range(0, 1001, 100)
    lines = [shapely.LineString([_at(x, y) for x in ticks]) for y in ticks]
    lines += [shapely.LineString([_at(x, y) for y in ticks]) for x in ticks]
    classes = ["primary" if i == 5 else "residential" for i in range(len(lines))]
    streets = streets_from_lines(
        gpd.GeoDataFrame({"highway": classes, "name": "Абай даңғылы"}, geometry=lines, crs=4326)
    )
    places = [
        ("highway", "bus_stop", 500, 500, "Аялдама"), ("shop", "mall", 300, 500, "Mega"),
        ("amenity", "school", 700, 300, "Мектеп"), ("leisure", "park", 200, 800, "Саябақ"),
        ("amenity", "marketplace", 800, 800, "Базар"), ("place", "square", 500, 100, "Алаң"),
        ("historic", "monument", 520, 520, "<img src=x onerror=alert(1)>"),
    ]  # fmt: skip
    frame = gpd.GeoDataFrame(
        [{k: v, "name": n, "geometry": shapely.Point(_at(x, y))} for k, v, x, y, n in places],
        geometry="geometry",
        crs=4326,
    )
    ids = pd.Series([f"node/{i + 1}" for i in range(len(places))])
    feats = features_from_tags(frame, ids=ids, source="test")
    return dataset_from_layers([OsmLayers(feats, streets, "test")])


@dataclass
class Env:
    settings: Settings
    users: dict[str, UserInfo]
    engine: object


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    data = tmp_path_factory.mktemp("app") / "geo"
    values = {"NUDGE_DATA_DIR": str(data), "NUDGE_DATABASE_URL": f"sqlite:///{data}/nudge.sqlite"}
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    settings = settings_from_env()
    engine = engine_from_url(settings.database_url)
    upgrade_database(engine)
    add_user(engine, username="admin", password=PASSWORD, role="admin")
    for role in ("planner", "designer", "viewer"):
        add_user(engine, username=role, password=PASSWORD, role=role, by="admin")
    add_user(engine, username="coord", password=PASSWORD, role="coordinator", regions=["ALA"],
             by="admin")  # fmt: skip
    save_dataset(small_city(), settings.dataset_dir("almaty-test"), slug="almaty-test")
    yield Env(settings, {u.role: u for u in list_users(engine)}, engine)
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    engine.dispose()  # type: ignore[attr-defined]


def open_page(role: str | None, page: str | None, lang: str = "kk", env: Env | None = None,
              state: dict | None = None) -> AppTest:  # fmt: skip
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    if role is not None and env is not None:
        at.session_state["user"] = env.users[role]
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(f"app_pages/{page}.py").run()
    return at


def assert_clean(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_renders_in_every_language(env: Env, page: str, lang: str) -> None:
    at = open_page("admin", page, lang, env)
    assert_clean(at)
    assert at.title[0].value == translator(lang)(TITLES.get(page, f"{page}.title"))
    assert at.session_state["lang"] == lang


@pytest.mark.parametrize("role", list(PAGES_BY_ROLE))
def test_each_role_sees_its_pages_only(env: Env, role: str) -> None:
    at = open_page(role, None, "ru", env)
    assert_clean(at)
    for page in PAGES_BY_ROLE[role]:
        at.switch_page(f"app_pages/{page}.py").run()
        assert_clean(at)
        assert at.title[0].value == translator("ru")(TITLES.get(page, f"{page}.title"))
    for page in set(ALL_PAGES) - set(PAGES_BY_ROLE[role]):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app_pages/{page}.py")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_signed_out_visitors_get_the_sign_in_page(env: Env, lang: str) -> None:
    at = open_page(None, None, lang)
    assert_clean(at)
    assert at.title[0].value == translator(lang)("sign_in.title")
    at.text_input(key="username").set_value("admin")
    at.text_input(key="password").set_value("wrong password")
    at.button[0].click().run()
    assert [e.value for e in at.exception] == []
    assert translator(lang)("errors.AccessDeniedError") in at.error[0].value
    at.text_input(key="password").set_value(PASSWORD)
    at.button[0].click().run()
    assert at.session_state["user"].username == "admin"
    assert at.title[0].value == translator(lang)("data.title")


def test_first_run_creates_the_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "geo"
    monkeypatch.setenv("NUDGE_DATA_DIR", str(data))
    monkeypatch.delenv("NUDGE_DATABASE_URL", raising=False)
    at = open_page(None, None, "kk")
    assert_clean(at)
    assert (data / "nudge.sqlite").is_file()  # created and migrated on first run
    assert translator("kk")("sign_in.first_run") in at.info[0].value
    at.text_input(key="first_username").set_value("aigerim")
    at.text_input(key="first_pw").set_value(PASSWORD)
    at.text_input(key="first_pw2").set_value(PASSWORD + "x")
    at.button[0].click().run()
    assert at.error[0].value == translator("kk")("sign_in.passwords_differ")
    at.text_input(key="first_pw2").set_value(PASSWORD)
    at.button[0].click().run()
    assert at.session_state["user"].role == "admin"
    assert [u.username for u in list_users(engine_from_url(settings_from_env().database_url))] == [
        "aigerim"
    ]


def test_data_page_loads_a_city_by_name_offline(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_place(place: str, *, cache_dir: Path) -> CityDataset:
        calls.append((place, cache_dir))
        return small_city()

    monkeypatch.setattr(ui_loading.datasets, "dataset_from_place", fake_place)
    at = open_page("planner", "data", "en", env)
    at.text_input(key="data_place").set_value("Shymkent, Kazakhstan").run()
    at.button(key="data_download").click().run()
    assert_clean(at)
    assert calls == [("Shymkent, Kazakhstan", env.settings.cache_dir)]
    assert at.session_state["dataset"] == "shymkent-kazakhstan"
    assert (env.settings.dataset_dir("shymkent-kazakhstan") / "features.parquet").is_file()
    assert "shymkent-kazakhstan" in at.success[0].value


def test_data_page_reads_an_uploaded_file(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "points.geojson"
    small_city().features.drop(columns="point").to_file(path, driver="GeoJSON")
    at = open_page("admin", "data", "ru", env)
    at.file_uploader(key="data_files_0").set_value(
        [("points.geojson", path.read_bytes(), "application/geo+json")]
    )
    at.text_input(key="data_name_0").set_value("Мой город")
    at.run()
    at.button(key="data_load").click().run()
    assert_clean(at)
    slug = at.session_state["dataset"]
    assert (env.settings.dataset_dir(slug) / "meta.json").is_file()
    # the next load starts empty: no leftover files to merge in, no leftover name
    assert at.file_uploader(key="data_files_1").value in (None, [])
    assert at.text_input(key="data_name_1").value == ""


def test_data_page_loads_the_almaty_demo_with_its_attribution(env: Env) -> None:
    at = open_page("admin", "data", "kk", env)
    demos = [b.key for b in at.button if str(b.key).startswith("data_demo_")]
    assert demos == ["data_demo_almaty-2013", "data_demo_helsinki"]  # Almaty first
    captions = " ".join(c.value for c in at.caption)
    assert "OpenStreetMap" in captions and "ODbL" in captions and "2013-12-21" in captions
    at.button(key="data_demo_almaty-2013").click().run()
    assert_clean(at)
    assert at.session_state["dataset"] == "almaty-2013"
    meta = (env.settings.dataset_dir("almaty-2013") / "meta.json").read_text("utf-8")
    assert '"buildings": 8201' in meta


def test_upload_of_a_broken_file_shows_a_readable_message(env: Env) -> None:
    at = open_page("admin", "data", "kk", env)
    at.file_uploader(key="data_files_0").set_value(
        [("city.osm.pbf", b"not a pbf", "application/x")]
    )
    at.run()
    at.button(key="data_load").click().run()
    assert [e.value for e in at.exception] == []
    shown = at.error[0].value
    assert translator("kk")("errors.InputFileError") in shown
    # The explanation too is in Kazakh, and names the file, not the server's temporary folder.
    assert "city.osm.pbf файлының түрін анықтау мүмкін болмады" in shown
    assert "/tmp" not in shown and "nudge-upload" not in shown


def test_plan_page_runs_locks_compares_and_exports(env: Env) -> None:
    at = open_page("planner", "plan", "kk", env, {"dataset": "almaty-test"})
    assert_clean(at)
    # a legend for the score colours, and the signal points as bars inside the table
    assert at.number_input(key="plan_budget").format == "%.0f"  # 1000000, not 1000000.00
    legend = [m.value for m in at.markdown if "linear-gradient" in m.value]
    assert legend and translator("kk")("plan.legend_high") in legend[0]
    assert not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart")
    first = next(s for s in at.selectbox if str(s.key).startswith("plan_pick_")).value
    at.button(key="plan_lock").click().run()
    assert at.session_state["plan_locked"] == [first]
    at.number_input(key="plan_count").set_value(3)
    _submit(at, "plan.run", "kk")
    assert_clean(at)
    plans = at.session_state["plans"]
    assert len(plans) == 1
    plan = next(iter(plans.values()))[1]
    assert len(plan.chosen) == 3 and first in plan.site_ids
    at.number_input(key="plan_count").set_value(2)
    _submit(at, "plan.run", "kk")
    assert_clean(at)
    assert len(at.session_state["plans"]) == 2
    # the new plan is the one shown, with its figures (not the first plan's)
    second = list(at.session_state["plans"])[-1]
    assert at.selectbox(key="plan_result_pick").value == second
    share = at.session_state["plans"][second][1].covered_share
    covered = next(m for m in at.metric if m.label == translator("kk")("plan.covered"))
    assert covered.value == format_number(100 * share, "kk", decimals=1) + "%"  # e.g. 18,8%
    labels = [m.label for m in at.metric]
    assert translator("kk")("plan.common") in labels
    assert len(at.get("download_button")) >= 4


def _candidates(env: Env) -> gpd.GeoDataFrame:
    from nudge.placement import candidates_from_dataset

    buffer = ui_campaign.campaign_options(env.settings).exclusion_buffer_m
    return candidates_from_dataset(small_city(), kind="banner", exclusion_buffer=buffer)


def _clicked(site: str, point: shapely.Point, *, tooltip: bool = True) -> dict:
    where = {"lat": point.y, "lng": point.x}
    tip = f"Абай даңғылы ұпай: 50,0 орын: {site}" if tooltip else None
    return {"last_object_clicked": where, "last_object_clicked_tooltip": tip,
            "last_clicked": None}  # fmt: skip


def test_a_marker_click_shows_its_site_in_the_panel(env: Env) -> None:
    at = open_page("planner", "plan", "kk", env, {"dataset": "almaty-test"})
    first = at.session_state["plan_selected"]
    cands = _candidates(env)
    site = next(str(i) for i in cands.index[::-1] if str(i) != first)
    at.session_state["plan_map_almaty-test_banner"] = _clicked(site, cands.geometry.loc[site])
    at.run()
    assert_clean(at)
    assert at.session_state["plan_selected"] == site
    assert at.selectbox(key=f"plan_pick_{site}").value == site  # the panel shows the clicked site
    # a click on a cluster (no tooltip) right on another site zooms only: the selection stays
    other = next(str(i) for i in cands.index if str(i) not in (site, first))
    at.session_state["plan_map_almaty-test_banner"] = _clicked(
        other, cands.geometry.loc[other], tooltip=False
    )
    at.run()
    assert_clean(at)
    assert at.session_state["plan_selected"] == site


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_plan_explanation_speaks_the_users_language(env: Env, lang: str) -> None:
    at = open_page("planner", "plan", lang, env, {"dataset": "almaty-test", "plans": {}})
    at.number_input(key="plan_count").set_value(3)
    _submit(at, "plan.run", lang)
    assert_clean(at)
    tr = translator(lang)
    text = next(t.value for t in at.text if tr("plan_explain.order") in t.value)
    assert tr("kinds.banner") in text
    english = ("Plan of", "covers", "Sites in", "adds", "By district", "demand", "greedy",
               "straight-line", "locked", "on its own")  # fmt: skip
    assert [w for w in english if w in text] == []
    plan = next(iter(at.session_state["plans"].values()))[1]
    share = format_number(100 * plan.covered_share, lang, decimals=1)  # "18,8", not "18.8"
    assert any(f"{share}%" in s.value for s in at.success)


def _submit(at: AppTest, key: str, lang: str) -> None:
    label = translator(lang)(key)
    button = next(b for b in at.get("button") if getattr(b, "label", None) == label)
    button.click().run()


def test_plan_page_checks_the_score_against_counts_and_takes_the_fitted_weights(env: Env) -> None:
    from nudge.ui import planning as ui_planning

    city = small_city()
    rows = [f"{_at(x, y)[1]},{_at(x, y)[0]},{5000 - 2 * (x + y)}" for x in (100, 450, 800)
            for y in (100, 300, 500, 700)]  # fmt: skip
    data = ("lat,lon,count\n" + "\n".join(rows) + "\n").encode()
    result = ui_planning.validation_from_upload(
        "counts.csv", data, city, profile="banner", what="pedestrians"
    )
    assert result.matched == 12 and result.what == "pedestrians"
    at = open_page("planner", "plan", "kk", env,
                   {"dataset": "almaty-test", "w_banner_banner_validation": result})  # fmt: skip
    assert_clean(at)
    tr = translator("kk")
    table = next(d.value for d in at.dataframe if tr("plan.validate_spearman") in d.value.columns)
    assert tr("plan.validate_default") in table[tr("plan.validate_predictor")].tolist()
    assert len(at.get("image")) >= 1  # the scatter plot
    _submit(at, "plan.validate_use", "kk")
    assert_clean(at)
    fitted = {s: round(w, 2) for s, w in result.calibrated_weights.items()}
    slider = at.slider(key="w_banner_banner_transit_service")
    assert slider.value == pytest.approx(fitted["transit_service"])


def test_plan_page_explains_an_impossible_plan(env: Env) -> None:
    at = open_page("planner", "plan", "ru", env, {"dataset": "almaty-test"})
    at.number_input(key="plan_count").set_value(400)
    at.number_input(key="plan_min_sp").set_value(2000.0)
    _submit(at, "plan.run", "ru")
    assert [e.value for e in at.exception] == []
    shown = at.error[0].value
    assert translator("ru")("errors.InfeasibleError") in shown
    assert "cannot" not in shown and "The plan" not in shown  # the reasons are in Russian too


def test_plan_map_escapes_a_malicious_place_name(env: Env) -> None:
    at = open_page("planner", "plan", "en", env, {"dataset": "almaty-test"})
    at.selectbox(key="plan_kind").set_value("exhibition").run()
    assert_clean(at)
    maps = [str(e.proto) for e in at.get("component_instance")] or [str(at.main)]
    payload = "\n".join(maps)
    assert "<img src=x onerror=alert(1)>" not in payload


def test_content_editor_checks_inline_and_saves(env: Env) -> None:
    at = open_page("designer", "content", "kk", env)
    assert_clean(at)
    prefix = "content_field_proverbs__"
    at.text_input(key=prefix + "id").set_value("p-test-1")
    kind = at.selectbox(key=prefix + "kind")
    # choices in the designer's language, the entry keeps its code
    assert translator("kk")("entry_kinds.proverb") in kind.options
    kind.set_value("proverb")
    at.text_area(key=prefix + "text_kk").set_value("Eңбек етсең, ерінбей")  # Latin E
    themes = at.multiselect(key=prefix + "themes")
    assert translator("kk")("themes.diligence") in themes.options
    themes.set_value(["diligence"])
    at.text_input(key=prefix + "source").set_value("халық мақалы")
    at.run()
    # Said in the designer's language (Kazakh here), naming the word at fault.
    assert any("латын әріптері" in e.value and "Eңбек" in e.value for e in at.error)
    assert at.button(key="content_save").disabled
    at.text_area(key=prefix + "text_kk").set_value("Еңбек етсең ерінбей, тояды қарның тіленбей.")
    at.run()
    assert not at.button(key="content_save").disabled
    at.button(key="content_save").click().run()
    assert_clean(at)
    _, item = load_library(env.settings).get("p-test-1")
    assert item["text_kk"].startswith("Еңбек етсең") and item["themes"] == ["diligence"]


def small_city_plan() -> PlanResult:
    """Return a 4-banner plan of the small city, as the Plan page would keep it."""
    from nudge.placement import candidates_from_dataset, score_candidates
    from nudge.placement.demand import demand_from_features
    from nudge.placement.selection import plan_sites

    city = small_city()
    scores = score_candidates(candidates_from_dataset(city, kind="banner"), city, draws=0)
    return plan_sites(scores.candidates, demand_from_features(city.features), kind="banner",
                      count=4)  # fmt: skip


def test_content_rotation_for_a_plan_of_the_session(env: Env) -> None:
    plan = small_city_plan()
    state = {"dataset": "almaty-test", "plans": {"centre": ("almaty-test", plan)}}
    at = open_page("designer", "content", "en", env, state)
    at.number_input(key="rotation_flights").set_value(3)
    _submit(at, "content.build", "en")
    assert_clean(at)
    rotation = at.session_state["rotation"]
    assert rotation.calendar.shape == (4, 3)
    assert rotation.assignments > 0
    # the calendar shown says each entry's text, not only its code (kk-0017)
    shown = next(d.value for d in at.dataframe if d.value.shape == (4, 3))
    cells = [v for v in shown.to_numpy().ravel() if isinstance(v, str)]
    assert cells and all(" · " in v for v in cells)
    assert any(ch in "әғқңөұүһі" for v in cells for ch in v.split(" · ", 1)[1].lower())


def test_content_rotation_says_why_entries_suit_a_site_in_kazakh(env: Env) -> None:
    plan = small_city_plan()
    state = {"dataset": "almaty-test", "plans": {"centre": ("almaty-test", plan)}}
    at = open_page("designer", "content", "kk", env, state)
    at.number_input(key="rotation_flights").set_value(2)
    at.selectbox(key="rotation_solver").set_value("exact")
    _submit(at, "content.build", "kk")
    assert_clean(at)
    tr = translator("kk")
    assert any(c.value.startswith("Дәл әдіс: оңтайлы; құны") for c in at.caption)
    best = next(d.value for d in at.dataframe if tr("content.best_reasons") in d.value.columns)
    reasons = " ".join(best[tr("content.best_reasons")])
    assert len(best) == 5 and "радиуста" in reasons  # the rules' reasons, in Kazakh
    assert "within" not in reasons and "fits the format" not in reasons
    assert at.selectbox(key="rotation_site").value in plan.site_ids


def test_registry_logs_an_installation_and_indicators_count_it(env: Env) -> None:
    before = len(list_installations(env.engine))  # type: ignore[arg-type]
    at = open_page("coordinator", "registry", "kk", env, {"registry_pin": (43.2389, 76.8897)})
    assert_clean(at)
    _submit(at, "registry.log", "kk")
    assert_clean(at)
    records = list_installations(env.engine)  # type: ignore[arg-type]
    assert len(records) == before + 1 and records[-1].region_code == "ALA"
    assert at.session_state["registry_pin"] is None
    # the map's caption already counts the new record (it used to lag one behind)
    on_map = translator("kk")("registry.on_map", n=before + 1)
    assert on_map in [c.value for c in at.caption]
    view = open_page("viewer", "indicators", "kk", env)
    assert_clean(view)
    shown = {m.label: m.value for m in view.metric}
    assert shown[translator("kk")("indicators.installations")] == f"{before + 1:,}"
    headers = list(view.dataframe[0].value.columns)  # the table by region, in Kazakh
    assert {"Өңір коды", "Өңір", "Орнатулар", "Тұрғындар саны"} <= set(headers)


def test_registry_refuses_a_coordinator_outside_its_region(env: Env) -> None:
    at = open_page("coordinator", "registry", "ru", env, {"registry_pin": (51.128, 71.43)})
    _submit(at, "registry.log", "ru")
    assert [e.value for e in at.exception] == []
    shown = at.error[0].value
    assert translator("ru")("errors.AccessDeniedError") in shown
    assert "«coord» координирует регионы: Алматы" in shown and "«Астана»" in shown


def test_registry_flags_a_likely_duplicate_in_the_users_language(env: Env) -> None:
    pin = {"registry_pin": (43.2501, 76.9102)}
    first = open_page("coordinator", "registry", "kk", env, pin)
    _submit(first, "registry.log", "kk")
    assert_clean(first)
    # 5 m away: a different record (the same one twice is refused), but likely the same banner.
    again = open_page("coordinator", "registry", "kk", env, {"registry_pin": (43.25005, 76.9102)})
    _submit(again, "registry.log", "kk")
    assert_clean(again)
    older = list_installations(env.engine)[-2]  # type: ignore[arg-type]
    warnings = [w.value for w in again.warning]
    expected = translator("kk")("flags.duplicate")
    assert any(expected in w and f"№{older.id} орнату" in w for w in warnings), warnings


def test_registry_imports_publications_with_a_row_problem_table(env: Env) -> None:
    csv = (
        "түрі,атауы,күні,облыс,сілтеме\n"
        "tv,«Еңбек адамы»,2025-03-02,ALA,https://kaztv.kz/e\n"
        "zeppelin,Белгісіз,2025-03-03,ALA,\n"
        "news,Астана жаңалығы,2025-03-04,AST,\n"
    ).encode()
    at = open_page("coordinator", "registry", "kk", env)
    at.file_uploader(key="pub_import").set_value([("pubs.csv", csv, "text/csv")])
    at.run()
    at.button(key="pub_import_go").click().run()
    assert_clean(at)
    tr = translator("kk")
    assert tr("registry.pub_imported", stored=1, skipped=0, errors=2) in [
        s.value for s in at.success
    ]
    problems = next(
        d.value for d in at.dataframe if tr("columns.problem_message") in d.value.columns
    )
    assert list(problems[tr("columns.problem_row")]) == [3, 4]
    texts = list(problems[tr("columns.problem_message")])
    assert "zeppelin" in texts[0] and "жарияланым түрі белгісіз" in texts[0]
    assert "«Астана»" in texts[1]  # outside the coordinator's region, said in Kazakh


def test_admin_adds_a_user_and_saves_campaign_settings(env: Env) -> None:
    at = open_page("admin", "admin", "en", env)
    assert at.selectbox(key="new_role").value == "viewer"  # least rights unless chosen
    at.text_input(key="new_username").set_value("marat")
    at.text_input(key="new_password").set_value(PASSWORD)
    at.selectbox(key="new_role").set_value("coordinator")
    at.multiselect(key="new_regions").set_value(["AST"])
    _submit(at, "admin.create", "en")
    assert_clean(at)
    marat = next(u for u in list_users(env.engine) if u.username == "marat")  # type: ignore[arg-type]
    assert marat.role == "coordinator" and marat.regions == ("AST",)
    at.checkbox(key="campaign_russian").check()
    at.button(key="campaign_save").click().run()
    assert_clean(at)
    assert ui_campaign.campaign_options(env.settings).require_russian
    ui_campaign.save_campaign_options(env.settings, ui_campaign.CampaignOptions())


def _codes() -> set[str]:
    """Return the English codes a table must not show raw in kk or ru."""
    import tomllib

    from nudge.i18n import load_messages

    en = load_messages("en")
    sections = ("kinds", "statuses", "collections", "roles", "themes", "installation_kinds",
                "publication_kinds", "entry_kinds")  # fmt: skip
    codes = {k.split(".", 1)[1] for k in en if k.split(".", 1)[0] in sections}
    del tomllib
    return codes | {"None", "True", "False", "nan", "NaN", "<NA>"}


def _english_left(at: AppTest, codes: set[str], names: set[str]) -> list[str]:
    out = []
    for frame in at.dataframe:
        table = frame.value
        for label in table.columns:
            if isinstance(label, str) and re.fullmatch(r"[A-Za-z_]+", label):
                out.append(f"column {label!r}")
        values = table.drop(columns=[c for c in table.columns if c in names])  # user names
        for value in pd.unique(values.astype(str).to_numpy().ravel()):
            if value in codes:
                out.append(f"value {value!r} in {list(table.columns)[:4]}")
    return out


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_table_the_pages_show_speaks_the_users_language(env: Env, lang: str) -> None:
    codes = _codes()
    found: dict[str, list[str]] = {}
    state = {"dataset": "almaty-test", "plans": {"centre": ("almaty-test", small_city_plan())}}
    for page in ALL_PAGES:
        at = open_page("admin", page, lang, env, state)
        assert_clean(at)
        if page == "content":
            at.number_input(key="rotation_flights").set_value(2)
            _submit(at, "content.build", lang)
            assert_clean(at)
        if page == "registry":
            at = open_page("admin", page, lang, env, {**state, "registry_pin": (43.2389, 76.8897)})
            _submit(at, "registry.log", lang)
        assert at.dataframe, page
        tr = translator(lang)
        if left := _english_left(at, codes, {tr("columns.user"), tr("columns.username")}):
            found[page] = sorted(set(left))
    assert found == {}, "\n".join(f"{p}: {v}" for p, v in found.items())


def test_data_page_renames_and_deletes_a_dataset(env: Env) -> None:
    save_dataset(small_city(), env.settings.dataset_dir("to-rename"), slug="to-rename")
    at = open_page("admin", "data", "kk", env, {"dataset": "to-rename"})
    at.text_input(key="data_rename_to").set_value("Шымкент орталығы").run()
    at.button(key="data_rename").click().run()
    assert_clean(at)
    renamed = at.session_state["dataset"]
    assert renamed != "to-rename" and (env.settings.dataset_dir(renamed) / "meta.json").is_file()
    assert not env.settings.dataset_dir("to-rename").exists()
    assert at.button(key="data_delete").disabled  # only after saying yes
    at.checkbox(key="data_delete_sure").check().run()
    at.button(key="data_delete").click().run()
    assert_clean(at)
    assert not env.settings.dataset_dir(renamed).exists()
    assert renamed not in [p.name for p in env.settings.data_dir.iterdir()]


def test_a_sign_in_survives_a_browser_refresh(env: Env) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    at.text_input(key="username").set_value("planner")
    at.text_input(key="password").set_value(PASSWORD)
    _submit(at, "sign_in.submit", "en")
    assert_clean(at)
    token = at.query_params["session"]
    token = token[0] if isinstance(token, list) else token
    assert token and PASSWORD not in token
    # a refresh is a new session with the same address: signed in again, no password asked
    again = AppTest.from_file(APP, default_timeout=60)
    again.session_state["lang"] = "en"
    again.query_params["session"] = token
    again.run()
    assert_clean(again)
    assert again.session_state["user"].username == "planner"
    forged = AppTest.from_file(APP, default_timeout=60)
    forged.query_params["session"] = token[:-3] + "abc"
    forged.run()
    assert forged.session_state["user"] is None  # a changed token signs no one in
    again.button(key="sign_out").click().run()
    assert "session" not in again.query_params


def test_a_plan_saved_on_the_server_reopens_after_a_refresh(env: Env) -> None:
    at = open_page("planner", "plan", "kk", env, {"dataset": "almaty-test"})
    at.number_input(key="plan_count").set_value(3)
    _submit(at, "plan.run", "kk")
    assert_clean(at)
    label, (_, plan) = next(iter(at.session_state["plans"].items()))
    at.text_input(key=f"plan_save_name_{label}").set_value("Орталық · 3")
    at.button(key=f"plan_save_{label}").click().run()
    assert_clean(at)
    assert at.session_state["plan_saved"] == {"Орталық · 3": 1}
    # a browser refresh: a new session with no plans, which lists and reopens the saved one
    again = open_page("planner", "plan", "kk", env, {"dataset": "almaty-test"})
    assert again.session_state["plans"] == {}
    again.button(key="plan_open").click().run()
    assert_clean(again)
    reopened = again.session_state["plans"]["Орталық · 3"][1]
    assert reopened.site_ids == plan.site_ids
    assert reopened.covered_share == pytest.approx(plan.covered_share)
    assert again.selectbox(key="plan_result_pick").value == "Орталық · 3"
    # the reopened plan saves as version 2; the first session, still at version 1, is refused
    again.button(key="plan_save_Орталық · 3").click().run()
    assert again.session_state["plan_saved"] == {"Орталық · 3": 2}
    at.button(key=f"plan_save_{label}").click().run()
    assert at.session_state["plan_saved"] == {"Орталық · 3": 1}
    assert [e.value for e in at.error] and "2-нұсқа" in at.error[0].value  # saved since: v2
