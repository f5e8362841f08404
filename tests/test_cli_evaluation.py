"""CLI of rollouts and the analysis: ``nudge rollout design|power``, ``nudge evaluate effect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nudge.cli import build_app
from nudge.evaluation.power import design_power, stepped_wedge_matrix

runner = CliRunner()
UNITS = ["ABY", "AKM", "AKT", "ALR", "ATY", "EKR", "JMB", "JTS"]
YEARS = [2024, 2025, 2026, 2027]


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(["_evaluation"]), list(args))
    return result.exit_code, result.output


def test_rollout_design_is_evaluate_design() -> None:
    args = ["design", "--steps", "3", "--seed", "4", "--lock", "ALA=1", "--json"]
    code_new, new = _invoke("rollout", *args)
    code_old, old = _invoke("evaluate", *args)
    assert code_new == code_old == 0
    assert json.loads(new) == json.loads(old)
    assert json.loads(new)["locks"] == {"ALA": 1}


def test_rollout_power_matches_the_hussey_hughes_formula() -> None:
    code, out = _invoke(
        "rollout",
        "power",
        "--units",
        "20",
        "--steps",
        "4",
        "--per-unit",
        "200",
        "--icc",
        "0.05",
        "--baseline",
        "0.5",
        "--change",
        "0.04",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    expected = design_power(
        stepped_wedge_matrix([5, 5, 5, 5]), per_unit=200, icc=0.05, baseline=0.5, change=0.04
    )
    assert result["units_per_step"] == [5, 5, 5, 5]
    assert result["power"]["variance"] == pytest.approx(expected.variance, rel=1e-12)
    assert result["power"]["power"] == pytest.approx(expected.power, rel=1e-12)
    assert result["power"]["mdc"] == pytest.approx(expected.mdc, rel=1e-12)


def test_rollout_power_of_a_phased_design_and_in_kazakh() -> None:
    code, out = _invoke(
        "rollout",
        "power",
        "--units",
        "10",
        "--steps",
        "2",
        "--design",
        "phased",
        "--per-unit",
        "100",
        "--icc",
        "0.02",
        "--sd",
        "1.0",
    )
    assert code == 0
    assert "Дизайн: phased, 2 қадамдағы 10 бірлік" in out and "0,0" in out
    code, out = _invoke("rollout", "power", "--units", "3", "--steps", "4")
    assert code != 0  # more steps than units


def _panel_file(tmp_path: Path, *, effect: float = 0.05) -> Path:
    rng = np.random.default_rng(2)
    steps = {u: (None, 1, 2)[i % 3] for i, u in enumerate(UNITS)}
    starts = np.array([99 if steps[u] is None else steps[u] for u in UNITS])
    x = np.arange(len(YEARS))[None, :] >= starts[:, None]
    values = 0.4 + rng.normal(0, 0.05, (len(UNITS), 1)) + effect * x
    values = values + rng.normal(0, 0.01, values.shape)
    frame = pd.DataFrame(
        {
            "region": np.repeat(UNITS, len(YEARS)),
            "year": np.tile(YEARS, len(UNITS)),
            "index": "work_success",
            "estimate": values.reshape(-1),
            "n": 300,
            "suppressed": False,
        }
    )
    path = tmp_path / "estimates.csv"
    frame.to_csv(path, index=False)
    schedule = pd.DataFrame({"unit": UNITS, "step": [steps[u] for u in UNITS]})
    schedule.to_csv(tmp_path / "schedule.csv", index=False)
    return path


def test_evaluate_effect_from_estimates_and_a_csv_schedule(tmp_path: Path) -> None:
    panel = _panel_file(tmp_path)
    schedule = str(tmp_path / "schedule.csv")
    code, out = _invoke(
        "evaluate",
        "effect",
        "--estimates",
        str(panel),
        "--schedule",
        schedule,
        "--json",
        "--lang",
        "en",
    )
    assert code == 0, out
    result = json.loads(out)["results"][0]
    assert result["design"] == "did" and result["index"] == "work_success"
    assert result["ci_low"] < 0.05 < result["ci_high"]
    assert not result["causal"] and "association, not proof" in result["caveat"]
    code, out = _invoke("evaluate", "effect", "--estimates", str(panel), "--schedule", schedule)
    assert code == 0 and "байланыс, дәлел емес" in out  # Kazakh by default
    code, out = _invoke(
        "evaluate",
        "effect",
        "--estimates",
        str(panel),
        "--schedule",
        schedule,
        "--randomised",
        "--lang",
        "ru",
    )
    assert code == 0 and "связь, а не доказательство" not in out and "по жребию" in out


def test_evaluate_effect_with_the_json_of_rollout_design(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    pd.DataFrame({"unit": UNITS}).to_csv(units, index=False)
    code, out = _invoke("rollout", "design", str(units), "--steps", "3", "--seed", "6", "--json")
    plan = tmp_path / "plan.json"
    plan.write_text(out, encoding="utf-8")
    steps = {r["unit"]: r["step"] for r in json.loads(out)["schedule"]}
    rng = np.random.default_rng(4)
    rows = [
        {"region": u, "year": y, "estimate": 0.4 + 0.03 * (i >= steps[u]) + rng.normal(0, 0.01)}
        for u in UNITS
        for i, y in enumerate(YEARS)
    ]
    panel = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(panel, index=False)
    code, out = _invoke(
        "evaluate", "effect", "--estimates", str(panel), "--schedule", str(plan), "--json"
    )
    assert code == 0, out
    payload = json.loads(out)
    assert payload["schedule"] == {"randomised": True, "seed": 6, "design": "stepped-wedge"}
    result = payload["results"][0]
    assert result["design"] == "stepped-wedge" and result["causal"] and result["caveat"] is None
    assert result["ci_low"] < 0.03 < result["ci_high"]


def test_evaluate_effect_from_respondent_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    starts = {u: (9999, 2025, 2026)[i % 3] for i, u in enumerate(UNITS)}
    paths = []
    for year in YEARS[:3]:
        n = 2400
        region = rng.choice(UNITS, n)
        share = 0.4 + 0.2 * np.array([year >= starts[r] for r in region])
        frame = pd.DataFrame(
            {
                "region": region,
                "weight": 1.0,
                "year": year,
                "q1": np.where(rng.random(n) < share, 5, 1),
            }
        )
        for item in ("q2", "q3", "q4", "q5"):
            frame[item] = rng.integers(1, 6, n)
        paths += ["--data", str(tmp_path / f"wave{year}.csv")]
        frame.to_csv(paths[-1], index=False)
    questionnaire = tmp_path / "map.toml"
    questionnaire.write_text(
        '[columns]\nregion = "region"\nweight = "weight"\nyear = "year"\n'
        '[indices.work_success]\nkind = "agreement"\nitems = ["q1"]\nscale = [1, 5]\n'
        "agree = [4, 5]\n",
        encoding="utf-8",
    )
    schedule = tmp_path / "starts.csv"
    pd.DataFrame(
        {"unit": UNITS, "start": ["" if starts[u] == 9999 else starts[u] for u in UNITS]}
    ).to_csv(schedule, index=False)
    code, out = _invoke(
        "evaluate",
        "effect",
        *paths,
        "--map",
        str(questionnaire),
        "--schedule",
        str(schedule),
        "--design",
        "did",
        "--json",
    )
    assert code == 0, out
    result = json.loads(out)["results"][0]
    assert result["index"] == "work_success" and result["n_observations"] == 24
    assert result["ci_low"] < 0.2 < result["ci_high"]


def test_evaluate_effect_refuses_two_sources_and_bad_designs(tmp_path: Path) -> None:
    panel = _panel_file(tmp_path)
    schedule = str(tmp_path / "schedule.csv")
    result = runner.invoke(
        build_app(["_evaluation"]),
        [
            "evaluate",
            "effect",
            "--estimates",
            str(panel),
            "--data",
            str(panel),
            "--schedule",
            schedule,
        ],
    )
    assert result.exit_code != 0 and "not both" in str(result.exception)
    result = runner.invoke(
        build_app(["_evaluation"]),
        [
            "evaluate",
            "effect",
            "--estimates",
            str(panel),
            "--schedule",
            schedule,
            "--design",
            "synthetic",
        ],
    )
    assert result.exit_code != 0 and "exactly one treated unit" in str(result.exception)
