"""Rollout plans: steps, seeds, strata, locked units, the CLI that prints their power."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from registry_support import Users
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from nudge._errors import AccessDeniedError, InfeasibleError, InputFileError, RecordError
from nudge.cli import build_app
from nudge.db import StaleVersionError, save_work
from nudge.evaluation.power import stepped_wedge_matrix
from nudge.evaluation.rollout import (
    RolloutPlan,
    dated_plan,
    flight_calendar,
    parse_locks,
    plan_from_dict,
    plan_rollout,
    units_from_file,
    units_from_regions,
)
from nudge.evaluation.rollout_store import (
    FLIGHT_KIND,
    ROLLOUT_DATASET,
    export_rollout,
    is_randomised,
    list_rollouts,
    load_rollout,
    save_rollout,
)
from nudge.registry.events import list_event_items, set_event_status

runner = CliRunner()


def test_regions_are_the_default_units_spread_evenly() -> None:
    plan = plan_rollout(steps=3, seed=1)
    assert len(plan.schedule) == 20 == len(units_from_regions())
    assert plan.units_per_step() == [7, 7, 6]  # earlier steps take the extra unit
    assert set(plan.schedule["flight"]) == {"F1", "F2", "F3"}
    assert plan.seed == 1 and plan.design == "stepped-wedge"


def test_the_seed_is_recorded_and_reproduces_the_plan() -> None:
    first = plan_rollout(steps=4)
    again = plan_rollout(steps=4, seed=first.seed)
    assert first.schedule.equals(again.schedule)
    plans = {tuple(plan_rollout(steps=4, seed=s).schedule["unit"]) for s in range(5)}
    assert len(plans) > 1  # other seeds, other plans


def test_stratified_blocks_spread_over_every_step() -> None:
    plan = plan_rollout(steps=4, seed=3, stratify=["population"])
    by_pop = units_from_regions().sort_values("population", ascending=False)["unit"].tolist()
    assert plan.strata["1"] == by_pop[:4]  # the four largest form the first block
    for units in plan.strata.values():
        steps = plan.schedule.set_index("unit").loc[units, "step"]
        assert steps.nunique() == len(units)  # one of each block per step
    assert plan.stratify == ("population",)


def test_stratified_allocation_balances_population_better_than_chance() -> None:
    def spread(plan_steps: pd.Series, pop: pd.Series) -> float:
        return float(pop.groupby(plan_steps).sum().std())

    units = units_from_regions().set_index("unit")
    balanced, free = [], []
    for seed in range(30):
        s = plan_rollout(steps=4, seed=seed, stratify=["population"]).schedule.set_index("unit")
        f = plan_rollout(steps=4, seed=seed).schedule.set_index("unit")
        balanced.append(spread(s["step"], units["population"]))
        free.append(spread(f["step"], units["population"]))
    assert np.mean(balanced) < 0.7 * np.mean(free)


def test_two_stratifiers_split_at_the_median_then_sort(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    rows = [f"D{i},{1000 + i * 100},{i / 10:.1f},{0.3 + i / 100:.2f}" for i in range(10)]
    path.write_text("unit,population,urban_share,baseline\n" + "\n".join(rows), encoding="utf-8")
    units = units_from_file(path)
    plan = plan_rollout(units, steps=2, seed=4, stratify=["urban", "baseline"])
    assert plan.stratify == ("urban_share", "baseline")
    low_urban = {f"D{i}" for i in range(5)}
    for block in plan.strata.values():
        assert set(block) <= low_urban or not set(block) & low_urban  # blocks stay in a half


def test_locked_units_start_in_their_step() -> None:
    plan = plan_rollout(steps=4, seed=9, locks={"Astana": 1, "ALA": 1, "ULY": 4})
    steps = plan.schedule.set_index("unit")["step"]
    assert (steps["AST"], steps["ALA"], steps["ULY"]) == (1, 1, 4)
    assert plan.locks == {"AST": 1, "ALA": 1, "ULY": 4}
    assert plan.units_per_step() == [5, 5, 5, 5]
    assert plan.schedule.set_index("unit").loc[["AST", "ALA", "ULY"], "locked"].all()


def test_more_locked_units_than_a_step_holds_is_refused() -> None:
    locks = dict.fromkeys(["ALA", "AST", "SHY", "TRK", "JMB", "ALR"], 1)
    with pytest.raises(InfeasibleError, match="Step 1 holds 5 unit") as info:
        plan_rollout(steps=4, seed=1, locks=locks)
    assert info.value.code == "eval_lock_too_many"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 1}, "steps must be between 2"),
        ({"steps": 3, "design": "cluster"}, "unknown design"),
        ({"steps": 3, "stratify": ["income"]}, "cannot stratify by 'income'"),
        ({"steps": 3, "stratify": ["urban"]}, "urban_share is unknown for ABY"),
        ({"steps": 3, "locks": {"Atlantis": 1}}, "'Atlantis' is not among the units"),
        ({"steps": 3, "locks": {"ALA": 4}}, "cannot start in step 4"),
        ({"steps": 3, "flight_names": ["a"]}, "one flight name per step"),
    ],
)
def test_bad_options_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(RecordError, match=match):
        plan_rollout(seed=1, **kwargs)


def test_design_matrix_of_a_plan() -> None:
    plan = plan_rollout(steps=4, seed=2)
    assert np.array_equal(plan.design_matrix(), stepped_wedge_matrix([5, 5, 5, 5]))
    phased = plan_rollout(steps=2, seed=2, design="phased")
    x = phased.design_matrix()
    assert x.shape == (20, 2) and x[:, 0].sum() == 0 and x[:, 1].sum() == 10


def test_units_file_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("unit,population\nA,100\nA,abc\n,5\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="row 3: population is not a number") as info:
        units_from_file(path)
    assert "'A' is missing or repeated" in str(info.value)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("population\n5\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no unit column"):
        units_from_file(nocol)


def test_parse_locks() -> None:
    assert parse_locks(["ALA=1", " Astana = 2"]) == {"ALA": 1, "Astana": 2}
    with pytest.raises(RecordError, match="UNIT=STEP"):
        parse_locks(["ALA:1"])


def _invoke(*args: str, code: int = 0) -> dict:
    result = runner.invoke(build_app(["_evaluation"]), ["evaluate", *args])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args else {"text": result.stdout}


def test_cli_design_writes_the_schedule_and_prints_the_power(tmp_path: Path) -> None:
    out = tmp_path / "schedule.csv"
    result = _invoke(
        "design", "--steps", "4", "--seed", "11", "--lock", "ALA=1", "--stratify", "population",
        "--icc", "0.05", "--per-unit", "100", "--baseline", "0.3", "--change", "0.05",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert result["seed"] == 11 and result["locks"] == {"ALA": 1}
    assert result["power"]["power"] == pytest.approx(0.8564, abs=1e-4)
    assert result["power"]["mdc"] == pytest.approx(0.0463, abs=1e-4)
    schedule = pd.read_csv(out, encoding="utf-8-sig")
    assert len(schedule) == 20 and schedule.set_index("unit").loc["ALA", "step"] == 1


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "Power to detect"), ("ru", "Мощность для выявления"), ("kk", "анықтау қуаты")],
)
def test_cli_design_speaks_the_language(lang: str, words: str) -> None:
    text = _invoke(
        "design", "--seed", "1", "--icc", "0.05", "--per-unit", "100", "--baseline", "0.3",
        "--change", "0.05", "--lang", lang,
    )["text"]  # fmt: skip
    assert words in text


def test_cli_design_refuses_half_the_power_inputs() -> None:
    result = runner.invoke(build_app(["_evaluation"]), ["evaluate", "design", "--icc", "0.05"])
    assert result.exit_code != 0
    assert "--per-unit" in str(result.exception)


# --- dated flights and saved rollouts -----------------------------------------------------------

pytest_plugins = ["registry_support"]


def test_flight_calendar_in_weeks_and_in_months() -> None:
    weeks = flight_calendar(3, start=date(2027, 1, 4), weeks=4)
    assert weeks["start"].tolist() == [date(2027, 1, 4), date(2027, 2, 1), date(2027, 3, 1)]
    assert weeks["end"].tolist() == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 28)]
    months = flight_calendar(2, start=date(2027, 1, 31), months=1, names=["Jan", "Feb"])
    assert months["start"].tolist() == [date(2027, 1, 31), date(2027, 2, 28)]
    assert months["flight"].tolist() == ["Jan", "Feb"] and months["step"].tolist() == [1, 2]
    with pytest.raises(RecordError, match="--flight-weeks or --flight-months"):
        flight_calendar(2, start=date(2027, 1, 4))
    with pytest.raises(RecordError, match="--flight-weeks or --flight-months"):
        flight_calendar(2, start=date(2027, 1, 4), weeks=2, months=1)
    with pytest.raises(RecordError, match="one flight name per step"):
        flight_calendar(2, start=date(2027, 1, 4), weeks=2, names=["a"])


def test_a_dated_plan_gives_every_unit_its_first_flight_day() -> None:
    plan = plan_rollout(steps=4, seed=3, locks={"ALA": 1})
    dated = dated_plan(plan, flight_calendar(4, start=date(2027, 1, 4), weeks=8))
    starts = dated.region_starts()
    assert starts["ALA"] == date(2027, 1, 4) and len(starts) == 20
    expected = {s: date(2027, 1, 4) + pd.Timedelta(weeks=8 * (s - 1)) for s in range(1, 5)}
    for unit, step in zip(dated.schedule["unit"], dated.schedule["step"], strict=True):
        assert starts[unit] == expected[step]
    steps = zip(plan.schedule["unit"], plan.schedule["step"], strict=True)
    assert plan.region_starts() == dict(steps)
    assert dated.design_matrix().tolist() == plan.design_matrix().tolist()


def test_a_plan_reads_back_from_its_dict() -> None:
    plan = plan_rollout(steps=3, seed=9, stratify=["population"], locks={"AST": 2})
    dated = dated_plan(plan, flight_calendar(3, start=date(2027, 1, 4), months=3))
    payload = json.loads(json.dumps(dated.as_dict()))
    again = plan_from_dict(payload)
    assert again.as_dict() == dated.as_dict()
    assert (again.seed, again.locks, again.stratify) == (9, {"AST": 2}, ("population",))
    assert again.region_starts() == dated.region_starts()
    with pytest.raises(RecordError, match="lacks its schedule"):
        plan_from_dict({"design": "phased"})


def test_a_saved_rollout_is_shared_versioned_and_audited(engine: Engine) -> None:
    plan = dated_plan(
        plan_rollout(steps=2, seed=5), flight_calendar(2, start=date(2027, 3, 1), weeks=13)
    )
    work = save_rollout(engine, plan, name="spring", owner="aigerim")
    assert work.kind == "rollout" and work.version == 1 and work.dataset == ROLLOUT_DATASET
    [listed] = list_rollouts(engine)
    assert listed.id == work.id and listed.payload is None
    loaded, again = load_rollout(engine, work.id)
    assert again.region_starts() == plan.region_starts() and is_randomised(loaded)
    with pytest.raises(StaleVersionError):
        save_rollout(engine, plan, name="spring", owner="aigerim")
    moved = save_rollout(
        engine, plan, name="spring", owner="aigerim", randomised=False, expected_version=1
    )
    assert moved.version == 2 and not is_randomised(load_rollout(engine, work.id)[0])
    log = sa.table("audit_log", sa.column("table_name"), sa.column("action"))
    with engine.connect() as conn:
        actions = conn.execute(
            sa.select(log.c.action).where(log.c.table_name == "saved_work")
        ).scalars()
        assert sorted(actions) == ["create", "update"]
    rotation = save_work(engine, kind="rotation", dataset="x", owner="a", name="r", payload={})
    with pytest.raises(RecordError, match="not a rollout"):
        load_rollout(engine, rotation.id)
    with pytest.raises(RecordError):
        load_rollout(engine, 9999)


def _dated_regions(start: date) -> RolloutPlan:
    plan = plan_rollout(steps=4, seed=2, locks={"ALA": 1})
    return dated_plan(plan, flight_calendar(4, start=start, months=2))


def test_a_rollout_exported_twice_puts_each_region_once_in_the_plans_of_events(
    engine: Engine, users: Users
) -> None:
    plan = _dated_regions(date(2027, 1, 4))
    work = save_rollout(engine, plan, name="wedge", owner="planner")
    first = export_rollout(engine, work.id, user="planner", lang="ru")
    assert (first.stored, first.updated, first.errors) == (20, 0, [])
    again = export_rollout(engine, work.id, user="planner", lang="ru")
    assert (again.stored, again.updated, again.skipped_existing) == (0, 0, 20)
    items = {str(i.region_code): i for i in list_event_items(engine) if i.kind == FLIGHT_KIND}
    assert len(items) == 20 == len(list_event_items(engine))
    starts = plan.region_starts()
    assert all(items[r].planned_on == starts[r] and items[r].status == "planned" for r in items)
    assert items["ALA"].planned_on == date(2027, 1, 4) and "wedge" in items["ALA"].title
    assert items["ALA"].title.startswith("Старт кампании")
    set_event_status(engine, items["ALA"].id, "held", user="planner")
    later = _dated_regions(date(2027, 2, 1))
    save_rollout(engine, later, name="wedge", owner="planner", expected_version=1)
    moved = export_rollout(engine, work.id, user="planner")
    assert (moved.stored, moved.updated) == (0, 20)
    after = {i.region_code: i for i in list_event_items(engine)}
    assert len(after) == 20 and after["ALA"].status == "held"
    assert after["ALA"].planned_on == date(2027, 2, 1)


def test_a_coordinator_exports_only_the_own_region_and_bad_rollouts_are_refused(
    engine: Engine, users: Users
) -> None:
    work = save_rollout(engine, _dated_regions(date(2027, 1, 4)), name="w", owner="planner")
    mine = export_rollout(engine, work.id, user="aigerim")
    assert mine.stored == 1 and len(mine.errors) == 19
    assert [i.region_code for i in list_event_items(engine)] == ["ALA"]
    undated = save_rollout(engine, plan_rollout(steps=2, seed=1), name="u", owner="planner")
    with pytest.raises(RecordError, match="has no dates"):
        export_rollout(engine, undated.id, user="planner")
    towns = pd.DataFrame({"unit": ["T1", "T2", "ALA"]})
    dated = dated_plan(
        plan_rollout(towns, steps=2, seed=1), flight_calendar(2, start=date(2027, 1, 4), weeks=4)
    )
    other = save_rollout(engine, dated, name="towns", owner="planner")
    with pytest.raises(RecordError, match="T1, T2 are not region codes"):
        export_rollout(engine, other.id, user="planner")
    with pytest.raises(AccessDeniedError):
        export_rollout(engine, work.id, user="viewer")
    assert len(list_event_items(engine)) == 1
