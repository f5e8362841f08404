"""Rollout plans: steps, seeds, strata, locked units, the CLI that prints their power."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nudge._errors import InfeasibleError, InputFileError, RecordError
from nudge.cli import build_app
from nudge.evaluation.power import stepped_wedge_matrix
from nudge.evaluation.rollout import (
    parse_locks,
    plan_rollout,
    units_from_file,
    units_from_regions,
)

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
