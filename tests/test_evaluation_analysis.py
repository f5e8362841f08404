"""The campaign's effect: stepped-wedge mixed model, difference in differences, synthetic control.

The property tests draw survey panels with a planted effect from the model each analysis
assumes and count how often the 95 % interval covers it. With 200 simulations a correct
interval covers the truth 190 times on average (SD 3.1); the tests ask for at least 184
(92 %), which a correct interval misses with probability 2 % (binomial, one-sided) while an
interval that covers only 90 % passes with probability 17 % — and far less for worse. The
seeds are fixed, so the outcome does not change from run to run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.stats import binom

from nudge._errors import InputFileError, RecordError
from nudge.evaluation._effect_models import convex_weights
from nudge.evaluation.analysis import (
    ASSUMPTIONS,
    EffectResult,
    Schedule,
    assumption_texts,
    caveat_text,
    effect_lines,
    estimate_effect,
    estimate_effects,
    panel_from_estimates,
    panel_from_file,
    schedule_from_file,
    schedule_from_plan,
    schedule_from_steps,
)
from nudge.evaluation.rollout import plan_rollout
from nudge.i18n import error_text

SIMS = 200
COVERED = 0.92
PROOF = {
    "kk": "байланыс, дәлел емес",
    "ru": "связь, а не доказательство",
    "en": "association, not proof",
}
SW_UNITS = [f"U{i:02d}" for i in range(12)]
SW_STEPS = {u: 1 + i // 3 for i, u in enumerate(SW_UNITS)}  # 4 steps of 3 units
YEARS = [2024, 2025, 2026, 2027, 2028]


def _frame(units: list[str], periods: list[int], values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": np.repeat(units, len(periods)),
            "period": np.tile(periods, len(units)),
            "estimate": values.reshape(-1),
        }
    )


def _sw_values(effect: float, sims: int, seed: int) -> np.ndarray:
    """Draw `sims` panels (sims × units × waves) of the Hussey–Hughes model."""
    rng = np.random.default_rng(seed)
    steps = np.array([SW_STEPS[u] for u in SW_UNITS])
    x = np.arange(len(YEARS))[None, :] >= steps[:, None]
    trend = 0.5 + 0.02 * np.arange(len(YEARS))
    units = rng.normal(0.0, 0.03, (sims, len(SW_UNITS), 1))
    noise = rng.normal(0.0, 0.035, (sims, len(SW_UNITS), len(YEARS)))
    return trend + effect * x + units + noise


Draw = Callable[..., np.ndarray]
DID_UNITS = [f"D{i:02d}" for i in range(16)]
DID_STEPS = {u: (None, None, 2, 3)[i % 4] for i, u in enumerate(DID_UNITS)}  # half never


def _did_values(effect: float, sims: int, seed: int) -> np.ndarray:
    """Draw panels of a phased rollout: unit levels, a common trend, the effect, noise."""
    rng = np.random.default_rng(seed)
    starts = np.array([99 if DID_STEPS[u] is None else DID_STEPS[u] for u in DID_UNITS])
    x = np.arange(len(YEARS))[None, :] >= starts[:, None]
    trend = 0.4 + np.array([0.0, 0.03, 0.01, 0.05, 0.04])
    units = rng.normal(0.0, 0.08, (sims, len(DID_UNITS), 1))
    noise = rng.normal(0.0, 0.03, (sims, len(DID_UNITS), len(YEARS)))
    return trend + effect * x + units + noise


def _sw_schedule(*, randomised: bool = True) -> Schedule:
    return schedule_from_steps(SW_STEPS, YEARS, randomised=randomised, design="stepped-wedge")


def _did_schedule() -> Schedule:
    steps = {u: (None if s is None else s) for u, s in DID_STEPS.items()}
    return schedule_from_steps(steps, YEARS, randomised=True, design="phased", first_period=2025)


def _run(
    values: np.ndarray, units: list[str], schedule: Schedule, design: str
) -> list[EffectResult]:
    base = _frame(units, YEARS, values[0])
    return [
        estimate_effect(base.assign(estimate=v.reshape(-1)), schedule, design=design)
        for v in values
    ]


def _covers(result: EffectResult, value: float) -> bool:
    low, high = result.ci_low, result.ci_high
    return low is not None and high is not None and low <= value <= high


def test_the_threshold_is_a_proper_binomial_bound() -> None:
    assert binom.cdf(COVERED * SIMS - 1, SIMS, 0.95) < 0.025  # a correct interval fails rarely
    assert binom.sf(COVERED * SIMS - 1, SIMS, 0.85) < 0.01  # an 85 % interval hardly ever passes


@pytest.mark.parametrize(
    ("design", "draw", "units", "schedule"),
    [
        ("stepped-wedge", _sw_values, SW_UNITS, _sw_schedule),
        ("did", _did_values, DID_UNITS, _did_schedule),
    ],
)
def test_a_planted_effect_is_covered_in_95_percent_of_200_simulations(
    design: str, draw: Draw, units: list[str], schedule: Callable[[], Schedule]
) -> None:
    values = draw(0.04, SIMS, seed=13)
    results = _run(values, units, schedule(), design)
    covered = np.mean([_covers(r, 0.04) for r in results])
    assert covered >= COVERED
    assert np.mean([r.effect for r in results]) == pytest.approx(0.04, abs=0.004)  # unbiased
    assert {r.design for r in results} == {design}


@pytest.mark.parametrize(
    ("design", "draw", "units", "schedule"),
    [
        ("stepped-wedge", _sw_values, SW_UNITS, _sw_schedule),
        ("did", _did_values, DID_UNITS, _did_schedule),
    ],
)
def test_a_planted_null_is_rejected_about_five_percent_of_the_time(
    design: str, draw: Draw, units: list[str], schedule: Callable[[], Schedule]
) -> None:
    values = draw(0.0, SIMS, seed=29)
    results = _run(values, units, schedule(), design)
    rate = np.mean([(r.p_value or 0.0) < 0.05 for r in results])
    assert 0.01 <= rate <= 0.10
    agree = [((r.p_value or 0.0) < 0.05) == (not _covers(r, 0.0)) for r in results]
    assert all(agree)  # the p-value and the interval tell the same story


def test_textbook_two_by_two_difference_in_differences() -> None:
    panel = pd.DataFrame(
        {
            "unit": ["A", "A", "B", "B", "C", "C", "D", "D"],
            "period": [1, 2] * 4,
            "estimate": [0.30, 0.42, 0.34, 0.44, 0.31, 0.35, 0.29, 0.31],
        }
    )
    schedule = Schedule({"A": 2, "B": 2, "C": None, "D": None}, randomised=True)
    result = estimate_effect(panel, schedule)
    treated = (0.42 + 0.44) / 2 - (0.30 + 0.34) / 2
    control = (0.35 + 0.31) / 2 - (0.31 + 0.29) / 2
    assert result.design == "did"
    assert result.effect == pytest.approx(treated - control, abs=1e-12)  # 0.08
    assert result.df == 3 and result.se is not None and result.se > 0
    assert result.n_units == 4 and result.n_periods == 2 and result.n_treated_units == 2
    assert _covers(result, result.effect)


def test_mixed_model_recovers_an_almost_noiseless_effect() -> None:
    rng = np.random.default_rng(3)
    values = _sw_values(0.05, 1, seed=3)[0] * 0 + 0.4 + rng.normal(0, 0.05, (12, 1))
    steps = np.array([SW_STEPS[u] for u in SW_UNITS])
    values = values + 0.01 * np.arange(5) + 0.05 * (np.arange(5) >= steps[:, None])
    values = values + rng.normal(0, 1e-4, values.shape)
    result = estimate_effect(_frame(SW_UNITS, YEARS, values), _sw_schedule())
    assert result.design == "stepped-wedge" and result.df == 10
    assert result.effect == pytest.approx(0.05, abs=2e-4)
    assert result.se is not None and result.se < 1e-3


def _mix_panel(effect: float) -> tuple[pd.DataFrame, Schedule]:
    rng = np.random.default_rng(8)
    periods = list(range(2018, 2026))
    donors = 0.4 + np.cumsum(rng.normal(0, 0.03, (len(periods), 4)), axis=0)
    treated = donors @ np.array([0.5, 0.3, 0.2, 0.0]) + effect * (np.array(periods) >= 2023)
    names = ["ALA", "AST", "SHY", "KGD", "KST"]
    wide = pd.DataFrame(np.column_stack([treated, donors]), index=periods, columns=names)
    panel = wide.melt(ignore_index=False, var_name="unit", value_name="estimate")
    panel = panel.rename_axis("period").reset_index()
    starts = dict.fromkeys(wide.columns) | {"ALA": 2023}
    return panel, Schedule(starts, randomised=False)


def test_synthetic_control_recovers_a_convex_mix_and_the_gap() -> None:
    panel, schedule = _mix_panel(0.06)
    result = estimate_effect(panel, schedule)
    fit = result.synthetic
    assert result.design == "synthetic" and fit is not None and fit.unit == "ALA"
    assert fit.weights == pytest.approx({"AST": 0.5, "SHY": 0.3, "KGD": 0.2, "KST": 0.0}, abs=1e-6)
    assert fit.rmspe_pre == pytest.approx(0.0, abs=1e-6)
    assert result.effect == pytest.approx(0.06, abs=1e-6)
    assert [fit.gaps[str(y)] for y in range(2023, 2026)] == pytest.approx([0.06] * 3, abs=1e-6)
    assert result.p_value == pytest.approx(1 / 5)  # the treated unit has the largest ratio
    assert max(fit.placebo_ratios, key=fit.placebo_ratios.__getitem__) == "ALA"
    assert result.se is None and result.ci_low is None
    assert "analysis.assume_convex_hull" in result.assumptions


def test_synthetic_control_with_few_pre_periods_says_the_weights_are_not_unique() -> None:
    panel, schedule = _mix_panel(0.06)
    early = Schedule({**schedule.starts, "ALA": 2020}, randomised=False)
    result = estimate_effect(panel, early)
    assert [n.code for n in result.notes] == ["analysis_note_weights_not_unique"]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_association_not_proof_when_the_rollout_was_not_randomised(lang: str) -> None:
    values = _sw_values(0.04, 1, seed=1)[0]
    panel = _frame(SW_UNITS, YEARS, values)
    chosen = estimate_effect(panel, _sw_schedule(randomised=False))
    drawn = estimate_effect(panel, _sw_schedule(randomised=True))
    assert not chosen.causal and drawn.causal
    assert chosen.effect == pytest.approx(drawn.effect)  # same numbers, other words
    said = "\n".join(effect_lines(chosen, lang)).lower()
    assert PROOF[lang] in said
    assert PROOF[lang] in json.dumps(chosen.as_dict(lang), ensure_ascii=False).lower()
    assert PROOF[lang] in (caveat_text(chosen, lang) or "").lower()
    assert PROOF[lang] not in "\n".join(effect_lines(drawn, lang)).lower()
    assert caveat_text(drawn, lang) is None and drawn.as_dict(lang)["caveat"] is None
    assert "analysis.assume_order_unrelated" in chosen.assumptions
    assert "analysis.assume_order_unrelated" not in drawn.assumptions


def test_a_plan_with_locked_units_is_not_fully_random() -> None:
    plan = plan_rollout(steps=4, seed=5, locks={"ALA": 1})
    values = np.random.default_rng(1).normal(0.5, 0.05, (20, 5))
    panel = _frame(plan.schedule["unit"].tolist(), YEARS, values)
    schedule = schedule_from_plan(plan, YEARS)
    result = estimate_effect(panel, schedule)
    assert schedule.randomised and schedule.locked == ("ALA",) and not result.causal
    assert "analysis_note_locked" in [n.code for n in result.notes]
    assert PROOF["kk"] in "\n".join(effect_lines(result, "kk"))


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_assumption_has_plain_words(lang: str) -> None:
    values = _sw_values(0.04, 1, seed=2)[0]
    result = estimate_effect(_frame(SW_UNITS, YEARS, values), _sw_schedule(randomised=False))
    texts = assumption_texts(result, lang)
    assert len(texts) == len(result.assumptions) and all(len(t) > 30 for t in texts)
    assert not any(t.startswith("analysis.") for t in texts)  # every key has a text
    codes = {c for codes in ASSUMPTIONS.values() for c in codes}
    from nudge.i18n import load_messages

    assert {f"analysis.{c}" for c in codes} <= set(load_messages(lang))


def test_plan_steps_become_periods_after_the_baseline_wave() -> None:
    plan = plan_rollout(steps=4, seed=2)
    schedule = schedule_from_plan(plan, [2027, 2025, 2026, 2028, 2029, 2025])
    by_step = plan.schedule.set_index("unit")["step"]
    assert {schedule.starts[u] for u in by_step.index[by_step == 1]} == {2026}
    assert {schedule.starts[u] for u in by_step.index[by_step == 4]} == {2029}
    later = schedule_from_plan(plan, [2025, 2026, 2027, 2028, 2029], first_period=2027)
    assert {later.starts[u] for u in by_step.index[by_step == 4]} == {None}  # after the panel
    assert schedule.seed == 2 and schedule.design == "stepped-wedge" and schedule.causal


def test_auto_picks_the_design_of_the_rollout() -> None:
    sw = _frame(SW_UNITS, YEARS, _sw_values(0.04, 1, seed=4)[0])
    assert estimate_effect(sw, _sw_schedule()).design == "stepped-wedge"
    undeclared = Schedule(_sw_schedule().starts, randomised=True)  # all start, staggered
    assert estimate_effect(sw, undeclared).design == "stepped-wedge"
    did = _frame(DID_UNITS, YEARS, _did_values(0.04, 1, seed=4)[0])
    assert estimate_effect(did, Schedule(_did_schedule().starts, randomised=True)).design == "did"
    assert estimate_effect(did, _did_schedule()).design == "did"
    assert estimate_effect(sw, _sw_schedule(), design="did").design == "did"


def test_estimates_of_the_survey_become_a_panel_per_index() -> None:
    rows = []
    values = _sw_values(0.04, 2, seed=6)
    for k, name in enumerate(["work_success", "ready_to_retrain"]):
        frame = _frame(SW_UNITS, YEARS, values[k]).rename(
            columns={"unit": "region", "period": "year"}
        )
        rows.append(frame.assign(index=name, n=300, se=0.03, suppressed=False))
    table = pd.concat(rows, ignore_index=True)
    table.loc[0, ["suppressed", "estimate"]] = [True, np.nan]
    panel = panel_from_estimates(table)
    assert list(panel.columns[:3]) == ["unit", "period", "estimate"] and len(panel) == 119
    results = estimate_effects(panel, _sw_schedule())
    _raises("analysis_index_needed", lambda: estimate_effect(panel, _sw_schedule()), "several")
    assert [r.index for r in results] == ["work_success", "ready_to_retrain"]
    assert results[1].n_observations == 60 and results[0].n_observations == 59


def test_panel_and_schedule_files(tmp_path: Path) -> None:
    panel = _frame(SW_UNITS, YEARS, _sw_values(0.04, 1, seed=7)[0])
    path = tmp_path / "panel.csv"
    panel.rename(columns={"unit": "region", "period": "year"}).to_csv(path, index=False)
    read = panel_from_file(path)
    assert read["period"].tolist() == panel["period"].tolist()
    assert read["estimate"].to_numpy() == pytest.approx(panel["estimate"].to_numpy())
    table = tmp_path / "schedule.csv"
    pd.DataFrame({"unit": SW_UNITS, "step": [SW_STEPS[u] for u in SW_UNITS]}).to_csv(table)
    from_csv = schedule_from_file(table, YEARS)
    assert from_csv.starts == _sw_schedule().starts and not from_csv.randomised
    assert schedule_from_file(table, YEARS, randomised=True).causal
    starts = tmp_path / "starts.csv"
    pd.DataFrame({"unit": ["A", "B"], "start": ["2026", "never"]}).to_csv(starts, index=False)
    assert schedule_from_file(starts, YEARS).starts == {"A": 2026, "B": None}
    plan = plan_rollout(units=pd.DataFrame({"unit": SW_UNITS}), steps=4, seed=9)
    payload = tmp_path / "plan.json"
    payload.write_text(json.dumps(plan.as_dict()), encoding="utf-8")
    from_json = schedule_from_file(payload, YEARS)
    assert from_json.randomised and from_json.seed == 9 and from_json.design == "stepped-wedge"
    assert from_json.starts == schedule_from_plan(plan, YEARS).starts


# --- Errors: a clear message with a code whose text exists in kk, ru and en ---------------


def _sw_panel() -> pd.DataFrame:
    return _frame(SW_UNITS, YEARS, _sw_values(0.04, 1, seed=11)[0])


def _raises(code: str, call: Callable[[], object], match: str) -> None:
    with pytest.raises((RecordError, InputFileError), match=match) as info:
        call()
    assert info.value.code == code
    assert error_text(info.value, "kk") != str(info.value)  # said in Kazakh, not English


def test_too_few_units_or_periods() -> None:
    few = Schedule({u: SW_STEPS[u] + 2024 for u in SW_UNITS[:3]}, randomised=True)
    panel = _sw_panel()
    _raises(
        "analysis_too_few_units",
        lambda: estimate_effect(panel[panel.unit.isin(SW_UNITS[:3])], few),
        "3 unit",
    )
    one = panel[panel.period == 2026]
    sched = Schedule(dict.fromkeys(SW_UNITS, 2026), randomised=True)
    _raises("analysis_too_few_periods", lambda: estimate_effect(one, sched), "1 period")
    _raises(
        "analysis_too_few_periods",
        lambda: schedule_from_steps({"A": 1}, [2024], randomised=True),
        "1 period",
    )


def test_no_treated_or_no_control_observations() -> None:
    panel = _sw_panel()
    never = Schedule(dict.fromkeys(SW_UNITS), randomised=True)
    _raises("analysis_no_treated", lambda: estimate_effect(panel, never), "No unit had")
    always = Schedule(dict.fromkeys(SW_UNITS, 2000), randomised=True)
    _raises("analysis_no_control", lambda: estimate_effect(panel, always), "Every unit had")


def test_schedule_and_panel_must_name_the_same_units() -> None:
    panel = _sw_panel()
    extra = Schedule({**_sw_schedule().starts, "ZZZ": 2026}, randomised=True)
    _raises("analysis_unknown_units", lambda: estimate_effect(panel, extra), "ZZZ")
    fewer = Schedule(
        {u: s for u, s in _sw_schedule().starts.items() if u != "U00"}, randomised=True
    )
    _raises("analysis_unscheduled_units", lambda: estimate_effect(panel, fewer), "U00")


def test_bad_panels_and_designs() -> None:
    panel = _sw_panel()
    sched = _sw_schedule()
    _raises(
        "analysis_panel_lacks",
        lambda: estimate_effect(panel.drop(columns="estimate"), sched),
        "estimate",
    )
    doubled = pd.concat([panel, panel.iloc[[0]]])
    _raises("analysis_duplicate_cells", lambda: estimate_effect(doubled, sched), "U00 2024")
    _raises("analysis_design", lambda: estimate_effect(panel, sched, design="rct"), "rct")
    same = Schedule(dict.fromkeys(SW_UNITS, 2026), randomised=True)
    _raises(
        "analysis_singular",
        lambda: estimate_effect(panel, same, design="stepped-wedge"),
        "told apart",
    )
    _raises("analysis_singular", lambda: estimate_effect(panel, same, design="did"), "told apart")
    text = Schedule(dict.fromkeys(SW_UNITS, "spring"), randomised=True)
    _raises("analysis_schedule_periods", lambda: estimate_effect(panel, text), "compared")
    _raises(
        "analysis_first_period",
        lambda: schedule_from_steps(SW_STEPS, YEARS, first_period=2030, randomised=True),
        "2030",
    )


def test_synthetic_control_errors() -> None:
    panel, schedule = _mix_panel(0.06)
    two = Schedule({**schedule.starts, "AST": 2023}, randomised=False)
    _raises(
        "analysis_synthetic_treated",
        lambda: estimate_effect(panel, two, design="synthetic"),
        "exactly one",
    )
    late = Schedule({**schedule.starts, "ALA": 2019}, randomised=False)
    _raises("analysis_synthetic_small", lambda: estimate_effect(panel, late), "1 and 4")
    gaps = panel[~((panel.unit != "ALA") & (panel.period == 2018) & (panel.unit != "AST"))]
    _raises("analysis_synthetic_small", lambda: estimate_effect(gaps, schedule), "5 and 1")


def test_bad_schedule_files(tmp_path: Path) -> None:
    bad_json = tmp_path / "plan.json"
    bad_json.write_text("{not json", encoding="utf-8")
    _raises("analysis_schedule_json", lambda: schedule_from_file(bad_json, YEARS), "JSON")
    empty_json = tmp_path / "empty.json"
    empty_json.write_text('{"design": "phased"}', encoding="utf-8")
    _raises("analysis_schedule_file", lambda: schedule_from_file(empty_json, YEARS), "schedule")
    cases: dict[str, tuple[dict[str, list[object]], str]] = {
        "nostep.csv": ({"unit": ["A"], "flight": ["F1"]}, "no step or start"),
        "badstep.csv": ({"unit": ["A", "B"], "step": ["1", "two"]}, "step of B"),
        "nounit.csv": ({"name": ["A"], "step": [1]}, "no unit"),
        "twice.csv": ({"unit": ["A", "A"], "step": [1, 2]}, "A is repeated"),
        "badstart.csv": ({"unit": ["A"], "start": ["soon"]}, "start of A"),
    }
    for name, (columns, match) in cases.items():
        path = tmp_path / name
        pd.DataFrame(columns).to_csv(path, index=False)
        _raises("analysis_schedule_file", partial(schedule_from_file, path, YEARS), match)
    panel = tmp_path / "panel.csv"
    pd.DataFrame({"region": ["A"], "value2": [1]}).to_csv(panel, index=False)
    _raises("analysis_panel_columns", lambda: panel_from_file(panel), "period, estimate")


def test_donor_weights_are_the_constrained_least_squares_optimum() -> None:
    rng = np.random.default_rng(3)
    donors = 0.4 + np.cumsum(rng.normal(0, 0.03, (6, 5)), axis=0)
    target = donors @ np.array([0.2, 0.5, 0.0, 0.3, 0.0]) + rng.normal(0, 0.01, 6)
    ours = convex_weights(target, donors)
    slsqp = minimize(
        lambda w: np.sum((target - donors @ w) ** 2),
        np.full(5, 0.2),
        method="SLSQP",
        bounds=[(0, 1)] * 5,
        constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert ours.sum() == pytest.approx(1.0) and (ours >= 0).all()
    assert ours == pytest.approx(slsqp.x, abs=1e-5)
    assert np.sum((target - donors @ ours) ** 2) <= slsqp.fun * (1 + 1e-9)


def test_a_region_with_every_cell_suppressed_is_left_out_with_a_note() -> None:
    panel = _sw_panel()
    panel.loc[panel["unit"] == "U05", "estimate"] = np.nan
    result = estimate_effect(panel, _sw_schedule())
    assert result.n_units == 11 and result.n_observations == 55
    assert [n.code for n in result.notes] == ["analysis_note_empty_cells"]
    assert "U05 2024" in result.notes[0] and "U05" in result.as_dict("ru")["notes"][0]


def test_the_summary_names_the_index_in_the_users_language() -> None:
    values = _sw_values(0.04, 1, seed=1)[0]
    panel = _frame(SW_UNITS, YEARS, values).assign(index="work_success")
    (result,) = estimate_effects(panel, _sw_schedule(randomised=True))
    code = "work_success"
    assert result.index == code
    labels = {code: "Еңбек — табысқа жету жолы"}
    assert "Еңбек — табысқа жету жолы" in effect_lines(result, "kk", labels=labels)[0]
    assert code not in effect_lines(result, "kk", labels=labels)[0]
    assert code in effect_lines(result, "kk")[0]  # no labels: the code, never nothing
