"""Rotation calendar: binding constraints on hand-made layouts, random plans, real Almaty stops."""

from __future__ import annotations

import json
from datetime import date
from itertools import combinations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from shapely.geometry import Point
from typer.testing import CliRunner

from nudge._errors import InputFileError, ProfileError
from nudge.cli import app
from nudge.content import campaign_from_file, load_library, plan_rotation, write_rotation
from nudge.content.library import ContentLibrary
from nudge.content.schema import THEMES, item_from_raw
from nudge.evaluation.rollout import dated_plan, flight_calendar, plan_rollout
from nudge.evaluation.rollout_store import save_rollout
from nudge.i18n import error_text, problem_text

LON, LAT = 76.95, 43.25
M = 1 / 111_000
START = date(2025, 1, 6)


@pytest.fixture(scope="module")
def campaign():
    return campaign_from_file()


def proverbs(n: int, *, themes: list[str] | None = None, **extra: object) -> ContentLibrary:
    library = ContentLibrary()
    for i in range(n):
        theme = (themes or ["diligence"])[i % len(themes or ["diligence"])]
        raw = {
            "id": f"p{i}",
            "kind": "proverb",
            "text_kk": f"Еңбек мәтін {i}",
            "themes": theme,
            "source": "T",
            **extra,
        }
        library.proverbs.append(item_from_raw("proverbs", raw)[0])
    return library


def plan_at(offsets_m: list[tuple[float, float]], **columns: list) -> gpd.GeoDataFrame:
    n = len(offsets_m)
    data = {
        "site_id": [f"s{i}" for i in range(n)],
        "kind": ["banner"] * n,
        "score": [10.0] * n,
        **columns,
    }
    return gpd.GeoDataFrame(
        data,
        geometry=[Point(LON + dx * M * 1.37, LAT + dy * M) for dx, dy in offsets_m],
        crs="EPSG:4326",
    )


def test_two_sites_100_m_apart_never_share_an_item(campaign) -> None:
    plan = plan_at([(0, 0), (100, 0)])
    result = plan_rotation(plan, proverbs(2), flights=6, start=START, campaign=campaign, min_gap=0)
    cal = result.calendar
    assert (cal.loc["s0"] != cal.loc["s1"]).all()
    assert result.neighbour_pairs == 1
    assert result.violation_counts["neighbour"] == 0


def test_far_sites_may_share(campaign) -> None:
    plan = plan_at([(0, 0), (2000, 0)])
    result = plan_rotation(plan, proverbs(1), flights=2, start=START, campaign=campaign, min_gap=0)
    assert result.neighbour_pairs == 0
    assert result.violations == []
    assert set(result.calendar.to_numpy().ravel()) == {"p0"}


def test_gap_rule_binds(campaign) -> None:
    plan = plan_at([(0, 0)])
    result = plan_rotation(plan, proverbs(3), flights=9, start=START, campaign=campaign, min_gap=2)
    row = result.calendar.loc["s0"].tolist()
    for k in range(len(row)):
        assert row[k] not in row[k + 1 : k + 3]
    assert result.violations == []
    assert result.exposure["placements"].tolist() == [3, 3, 3]
    assert result.exposure_cv == pytest.approx(0.0)


def test_default_gap_means_no_repeat_when_library_is_large_enough(campaign) -> None:
    plan = plan_at([(0, 0), (300, 0), (3000, 0)])
    result = plan_rotation(plan, proverbs(20), flights=13, start=START, campaign=campaign)
    for _, row in result.calendar.iterrows():
        assert row.nunique() == 13
    assert result.violations == []


def test_unmeetable_rules_are_reported_not_hidden(campaign) -> None:
    plan = plan_at([(0, 0), (100, 0)])
    result = plan_rotation(plan, proverbs(1), flights=3, start=START, campaign=campaign, min_gap=1)
    counts = result.violation_counts
    assert counts["neighbour"] == 3
    assert counts["gap"] == 4
    messages = [v.message for v in result.violations if v.rule == "neighbour"]
    assert all("neighbouring site s1" in m for m in messages)
    assert result.assignments == 6


def test_locked_assignments_are_kept_and_unusable_locks_reported(campaign) -> None:
    library = proverbs(6)
    library.proverbs[5]["status"] = "retired"
    plan = plan_at([(0, 0), (100, 0), (200, 0)])
    locked = {("s1", 2): "p3", ("s0", 1): "p3", ("s2", 3): "p5"}
    result = plan_rotation(plan, library, flights=4, start=START, campaign=campaign, locked=locked)
    assert result.calendar.loc["s1"].iloc[1] == "p3"
    assert result.calendar.loc["s0"].iloc[0] == "p3"
    assert "p5" not in set(result.calendar.to_numpy().ravel())
    locks = [v for v in result.violations if v.rule == "locked"]
    assert [(v.site_id, v.flight, v.item_id) for v in locks] == [("s2", 3, "p5")]
    assert "retired" in locks[0].message
    schedule = result.schedule.set_index(["site_id", "flight"])
    assert bool(schedule.loc[("s1", 2), "locked"])
    with pytest.raises(InputFileError, match="unknown site"):
        plan_rotation(
            plan, library, flights=4, start=START, campaign=campaign, locked={("nope", 1): "p1"}
        )


def test_locks_from_a_table(campaign) -> None:
    plan = plan_at([(0, 0)])
    table = pd.DataFrame({"site_id": ["s0"], "flight": [2], "item_id": ["p4"]})
    result = plan_rotation(
        plan, proverbs(5), flights=3, start=START, campaign=campaign, locked=table
    )
    assert result.calendar.loc["s0"].iloc[1] == "p4"


def test_retired_and_unconsented_people_never_used(campaign) -> None:
    library = proverbs(4, status="retired")
    for i, consent in enumerate([True, False]):
        raw = {
            "id": f"d{i}",
            "family_name": f"Example family {i}",
            "field": "rail",
            "region": "Almaty",
            "generations": 3,
            "story_kk": "Әулет.",
            "consent": consent,
            "is_example": True,
        }
        library.dynasties.append(item_from_raw("dynasties", raw)[0])
    plan = plan_at([(0, 0), (0, 2000)], kind=["exhibition", "banner"])
    result = plan_rotation(
        plan, library, flights=3, start=START, campaign=campaign, include_examples=True
    )
    used = set(result.calendar.to_numpy().ravel()) - {""}
    assert used == {"d0"}
    assert result.violation_counts["unplaced"] == 3  # the banner has nothing left to show
    exposure = result.exposure.set_index("item_id")
    assert exposure.loc["d1", "never_placed_because"] == "no consent to publication"
    assert exposure.loc["p0", "placements"] == 0


def test_each_region_sees_every_theme(campaign) -> None:
    themes = list(THEMES[:5])
    library = proverbs(10, themes=themes)
    offsets = [(i * 800.0, d * 5000.0) for d in range(3) for i in range(4)]
    districts = [f"D{d}" for d in range(3) for _ in range(4)]
    plan = plan_at(offsets, district=districts)
    result = plan_rotation(plan, library, flights=2, start=START, campaign=campaign)
    schedule = result.schedule.merge(
        result.exposure[["item_id", "themes"]], on="item_id", how="left"
    )
    for _, rows in schedule.groupby("region"):
        seen = {t for ts in rows["themes"] for t in ts.split(";")}
        assert seen == set(themes)
    assert result.violation_counts["theme"] == 0


def test_fair_exposure_with_weights(campaign) -> None:
    rng = np.random.default_rng(3)
    offsets = [(float(x), float(y)) for x, y in rng.uniform(0, 20000, size=(60, 2))]
    plan = plan_at(offsets, score=list(rng.lognormal(2, 0.5, 60)))
    result = plan_rotation(plan, proverbs(15), flights=10, start=START, campaign=campaign)
    assert result.violations == []
    assert result.exposure_cv < 0.15
    total = (plan["score"].to_numpy() * 10).sum()
    assert result.exposure["exposure"].sum() == pytest.approx(total, rel=1e-3)


def test_outputs_and_print_orders(tmp_path, campaign) -> None:
    plan = plan_at([(0, 0), (0, 900), (900, 0)], kind=["banner", "banner", "citylight"])
    result = plan_rotation(
        plan, proverbs(8), flights=4, start=START, campaign=campaign, flight_weeks=2
    )
    assert result.flights["start"].tolist()[:2] == [START, date(2025, 1, 20)]
    assert result.flights["end"].tolist()[0] == date(2025, 1, 19)
    orders = result.print_orders
    assert orders["copies"].sum() == result.assignments == 12
    assert set(orders["format"]) == {"banner_6x3", "citylight"}
    f1 = orders[(orders["flight"] == 1) & (orders["format"] == "banner_6x3")]
    assert f1["copies"].sum() == 2
    written = write_rotation(result, tmp_path / "cal.csv")
    calendar = pd.read_csv(written["calendar"])
    assert calendar.columns[:3].tolist() == ["site_id", "name", "format"]
    assert calendar.shape == (3, 3 + 4)
    assert len(pd.read_csv(written["schedule"])) == 12
    import openpyxl

    book = openpyxl.load_workbook(written["xlsx"], read_only=True)
    assert book.sheetnames == ["calendar", "schedule", "exposure", "print_orders", "violations"]
    summary = result.as_dict(out="cal.csv")
    assert {"sites", "flights", "assignments", "violations", "exposure_cv", "out"} <= set(summary)


@st.composite
def random_case(draw):
    n = draw(st.integers(1, 14))
    m = draw(st.integers(1, 8))
    flights = draw(st.integers(1, 5))
    coords = draw(
        st.lists(st.tuples(st.floats(0, 1500), st.floats(0, 1500)), min_size=n, max_size=n)
    )
    retired = draw(st.lists(st.booleans(), min_size=m, max_size=m))
    min_gap = draw(st.one_of(st.none(), st.integers(0, 3)))
    distance = draw(st.sampled_from([0.0, 200.0, 500.0]))
    return coords, retired, flights, min_gap, distance


@given(random_case())
@example(([(0.0, 0.0), (0.0, 495.0)], [False], 1, None, 500.0))  # a pair on the boundary
@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_plans_keep_or_report_every_rule(case) -> None:
    coords, retired, flights, min_gap, distance = case
    library = proverbs(len(retired), themes=list(THEMES[:3]))
    for entry, off in zip(library.proverbs, retired, strict=True):
        entry["status"] = "retired" if off else "active"
    plan = plan_at(coords)
    result = plan_rotation(
        plan,
        library,
        flights=flights,
        start=START,
        campaign=campaign_from_file(),
        min_gap=min_gap,
        neighbour_distance=distance,
    )
    cal = result.calendar
    active = {e["id"] for e in library.proverbs if e["status"] == "active"}
    used = set(cal.to_numpy().ravel()) - {""}
    assert used <= active
    counts = result.violation_counts
    assert counts["unplaced"] == (0 if active else len(coords) * flights)
    # independent recount of neighbour clashes
    # (pairs within 1% of the distance may count either way: the plan is in degrees)
    xy = np.array(coords)
    clashes = borderline = 0
    for i, j in combinations(range(len(coords)), 2):
        apart = np.hypot(*(xy[i] - xy[j]))
        same = int(((cal.iloc[i] == cal.iloc[j]) & (cal.iloc[i] != "")).sum())
        if distance > 0 and apart < distance * 0.99:
            clashes += same
        elif distance > 0 and apart < distance * 1.01:
            borderline += same
    assert clashes <= counts["neighbour"] <= clashes + borderline
    # independent recount of gap breaks
    gaps = result.site_gap.to_numpy()
    breaks = 0
    for s in range(len(coords)):
        row = cal.iloc[s].tolist()
        for f in range(flights):
            earlier = row[max(0, f - int(gaps[s])) : f]
            breaks += int(row[f] != "" and row[f] in earlier)
    assert counts["gap"] == breaks
    if len(active) >= 3 * flights and distance == 0:
        assert counts["gap"] == 0


def test_real_almaty_plan_rotated_over_a_year(almaty_plan, settings, campaign, tmp_path) -> None:
    library = load_library(settings)
    if len(library.proverbs) < 80:
        pytest.skip("the shipped proverb library has not landed yet")
    result = plan_rotation(
        almaty_plan,
        library,
        flights=13,
        start=START,
        campaign=campaign,
        flight_weeks=4,
        city="Almaty",
    )
    assert len(result.calendar) == len(almaty_plan) == 200
    assert result.assignments == 200 * 13
    counts = result.violation_counts
    assert counts["neighbour"] == 0
    assert counts["gap"] == 0
    assert counts["unplaced"] == 0
    assert counts["theme"] == 0
    for _, row in result.calendar.iterrows():
        assert row.nunique() == 13
    assert result.flights["end"].iloc[-1] == date(2026, 1, 4)
    assert result.exposure_cv < 0.25
    written = write_rotation(result, tmp_path / "almaty.csv")
    assert written["xlsx"].stat().st_size > 0


def test_violations_and_rotation_errors_speak_the_users_language(campaign) -> None:
    plan = plan_at([(0, 0), (100, 0)])
    result = plan_rotation(plan, proverbs(1), flights=3, start=START, campaign=campaign, min_gap=1)
    neighbour = next(v for v in result.violations if v.rule == "neighbour")
    assert (neighbour.code, neighbour.params) == ("rotation_neighbour", {"neighbour": "s1"})
    assert problem_text(neighbour, "kk") == (
        "Осы кезеңде көрші s1 орнында да көрсетілді: бұл көрші орындарға сәйкес жазбалар тым аз."
    )
    gap = next(v for v in result.violations if v.rule == "gap")
    assert gap.code == "rotation_gap" and gap.params == {"n": 1, "before": gap.flight - 1, "gap": 1}
    assert "интервал — 1" in problem_text(gap, "ru")
    library = proverbs(3)
    library.proverbs[2]["status"] = "retired"
    locked = plan_rotation(
        plan_at([(0, 0)]),
        library,
        flights=2,
        start=START,
        campaign=campaign,
        locked={("s0", 1): "p2"},
    )
    (dropped,) = [v for v in locked.violations if v.rule == "locked"]
    assert dropped.params == {"item": "p2", "status": "retired"}
    assert problem_text(dropped, "kk") == (
        "Бекіту алынып тасталды: p2 жазбасының күйі — retired, ол орналастырылмайды."
    )
    with pytest.raises(InputFileError) as info:
        plan_rotation(
            plan, library, flights=4, start=START, campaign=campaign, locked={("nope", 1): "p1"}
        )
    assert info.value.params == {"n": 1, "flights": 4, "locks": "nope / 1 / p1"}
    assert "орын / кезең / жазба: nope / 1 / p1" in error_text(info.value, "kk")
    with pytest.raises(ProfileError) as flights:
        plan_rotation(plan, library, flights=0, start=START, campaign=campaign)
    assert "Кезеңдер саны (0)" in error_text(flights.value, "kk")
    with pytest.raises(ValueError, match=r"\(-1\) must not be negative"):
        plan_rotation(plan, library, flights=2, start=START, campaign=campaign, min_gap=-1)


# --- a rollout: regions stay dark until their first flight -----------------------------------


def _regional_plan(per_region: int = 4) -> gpd.GeoDataFrame:
    regions = ["ALA", "AST", "SHY"]
    offsets = [(i * 150.0, r * 3000.0) for r in range(3) for i in range(per_region)]
    names = [regions[r] for r in range(3) for _ in range(per_region)]
    return plan_at(offsets, region=names)


def test_a_rollout_keeps_regions_dark_until_their_first_flight(campaign) -> None:
    plan = _regional_plan()
    starts: dict[str, int | date] = {"Almaty": 1, "AST": 3, "SHY": date(2025, 3, 31)}  # flight 4
    result = plan_rotation(
        plan, proverbs(12), flights=6, start=START, campaign=campaign, region_starts=starts
    )
    calendar = result.calendar.to_numpy()
    first = {"ALA": 1, "AST": 3, "SHY": 4}
    for row, region in enumerate(plan["region"]):
        live = np.arange(1, 7) >= first[region]
        assert (calendar[row, ~live] == "").all()
        assert (calendar[row, live] != "").all()
    assert result.violations == []  # gap, neighbour, theme rules kept; dark cells not "unplaced"
    assert result.assignments == 4 * (6 + 4 + 3)


def test_a_rollout_keeps_the_other_rules_and_fair_shares_of_live_flights(campaign) -> None:
    plan = _regional_plan(6)
    result = plan_rotation(
        plan,
        proverbs(8),
        flights=5,
        start=START,
        campaign=campaign,
        min_gap=3,
        region_starts={"ALA": 2, "AST": 4, "SHY": 6},
    )
    assert result.violation_counts == dict.fromkeys(result.violation_counts, 0)
    placed = result.schedule.dropna(subset=["item_id"])
    for _, rows in placed.groupby(["site_id"]):
        flights = rows.sort_values("flight")
        for a, b in combinations(zip(flights["flight"], flights["item_id"], strict=True), 2):
            assert a[1] != b[1] or abs(a[0] - b[0]) > 3
    live_cells = 6 * (4 + 2 + 0)
    assert result.assignments == live_cells
    assert result.exposure["exposure"].sum() == pytest.approx(10.0 * live_cells)
    assert (result.calendar.loc[plan["site_id"][plan["region"] == "SHY"]] == "").all().all()


def test_a_rollout_with_the_exact_solver_and_a_mask(campaign) -> None:
    plan = _regional_plan(3)
    mask = np.ones((9, 4), dtype=bool)
    mask[0, 3] = False
    result = plan_rotation(
        plan,
        proverbs(6),
        flights=4,
        start=START,
        campaign=campaign,
        solver="exact",
        time_limit=10,
        region_starts={"ALA": 1, "AST": 2, "SHY": 3},
        live=mask,
    )
    calendar = result.calendar.to_numpy()
    assert calendar[0, 3] == "" and (calendar[0, :3] != "").all()
    assert (calendar[3:6, 0] == "").all() and (calendar[3:6, 1:] != "").all()
    assert (calendar[6:, :2] == "").all() and (calendar[6:, 2:] != "").all()
    assert result.violation_counts["unplaced"] == 0


def test_a_lock_before_the_region_starts_is_dropped_and_said(campaign) -> None:
    plan = _regional_plan(2)
    result = plan_rotation(
        plan,
        proverbs(6),
        flights=3,
        start=START,
        campaign=campaign,
        region_starts={"ALA": 1, "AST": 3, "SHY": 1},
        locked={("s2", 1): "p0"},
    )
    assert result.calendar.loc["s2"].iloc[0] == ""
    [dropped] = [v for v in result.violations if v.code == "rotation_lock_not_live"]
    assert (dropped.site_id, dropped.flight, dropped.item_id) == ("s2", 1, "p0")
    assert "p0" in problem_text(dropped, "ru")


def test_a_rollout_must_name_every_region_of_the_plan(campaign) -> None:
    with pytest.raises(InputFileError, match="SHY") as caught:
        plan_rotation(
            _regional_plan(1),
            proverbs(3),
            flights=2,
            start=START,
            campaign=campaign,
            region_starts={"ALA": 1, "AST": 2},
        )
    assert "SHY" in error_text(caught.value, "kk")


pytest_plugins = ["registry_support"]


def test_rotate_takes_a_saved_rollout(
    engine, registry_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    units = pd.DataFrame({"unit": ["ALA", "AST"]})
    rollout = plan_rollout(units, steps=2, seed=1, locks={"ALA": 1})
    dated = dated_plan(rollout, flight_calendar(2, start=date(2025, 3, 3), weeks=4))
    work = save_rollout(engine, dated, name="spring", owner="aigerim")
    plan = plan_at([(0, 0), (900, 0), (0, 5000), (900, 5000)], region=["ALA", "ALA", "AST", "AST"])
    plan.to_file(tmp_path / "plan.geojson", driver="GeoJSON")
    monkeypatch.setenv("NUDGE_DATABASE_URL", registry_url)
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "data"))
    args = ["rotate", str(tmp_path / "plan.geojson"), "--start", "2025-03-03", "--flights", "3"]
    out = tmp_path / "cal.csv"
    result = CliRunner().invoke(
        app, [*args, "--out", str(out), "--rollout", str(work.id), "--json"]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    summary = json.loads(result.stdout)
    assert summary["assignments"] == 2 * 3 + 2 * 2 and summary["violations"]["unplaced"] == 0
    calendar = pd.read_csv(out, keep_default_na=False).set_index("site_id")
    flights = [c for c in calendar.columns if c.startswith("F0")]
    assert (calendar.loc[["s2", "s3"], flights[0]] == "").all()
    assert (calendar.loc[["s2", "s3"], flights[1:]] != "").all().all()
    assert (calendar.loc[["s0", "s1"], flights] != "").all().all()


def test_a_rollout_needs_the_region_of_every_site(campaign) -> None:
    # sites in Almaty without a region column: the region is where they stand
    plan = plan_at([(0, 0), (900, 0)])
    result = plan_rotation(
        plan, proverbs(3), flights=2, start=START, campaign=campaign, region_starts={"ALA": 2}
    )
    assert (result.calendar.iloc[:, 0] == "").all() and (result.calendar.iloc[:, 1] != "").all()
    # the same sites moved to Helsinki are in no region: the user is told which, and how
    abroad = plan.set_geometry(plan.geometry.translate(24.94 - LON, 60.17 - LAT))
    with pytest.raises(InputFileError, match="s0, s1"):
        plan_rotation(
            abroad, proverbs(3), flights=2, start=START, campaign=campaign, region_starts={"ALA": 2}
        )
    result = plan_rotation(
        abroad,
        proverbs(3),
        flights=2,
        start=START,
        campaign=campaign,
        region="Алматы",
        region_starts={"ALA": 2},
    )
    assert (result.calendar.iloc[:, 0] == "").all() and (result.calendar.iloc[:, 1] != "").all()
