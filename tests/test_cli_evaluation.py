"""CLI of rollouts and the analysis: ``nudge rollout design|power``, ``nudge evaluate effect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from nudge.cli import build_app
from nudge.db import save_work
from nudge.evaluation.power import design_power, stepped_wedge_matrix
from nudge.registry.events import list_event_items

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


# --- saved rollouts (shared state) -------------------------------------------------------------

pytest_plugins = ["registry_support"]


@pytest.fixture
def db_env(
    engine: Engine, registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    """Point the CLI at the upgraded test database (SQLite, then PostgreSQL)."""
    monkeypatch.setenv("NUDGE_DATABASE_URL", registry_url)
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "data"))
    return engine


def _error(*args: str) -> str:
    """Return the message of the error a command stops with (and check that it stops)."""
    result = runner.invoke(build_app(["_evaluation"]), list(args))
    assert result.exit_code != 0
    return str(result.exception)


def _saved_design(tmp_path: Path, *extra: str) -> dict:
    units = tmp_path / "units.csv"
    pd.DataFrame({"unit": UNITS}).to_csv(units, index=False)
    args = ["rollout", "design", str(units), "--steps", "3", "--seed", "6", "--json"]
    code, out = _invoke(*args, "--start", "2027-01-04", "--flight-months", "2", *extra)
    assert code == 0, out
    return json.loads(out)


def test_rollout_design_saves_a_dated_rollout_that_list_and_show_read_back(
    db_env: Engine, tmp_path: Path
) -> None:
    design = _saved_design(tmp_path, "--save", "wedge 2027", "--as", "aigerim")
    saved = design["saved"]
    assert saved["name"] == "wedge 2027" and saved["version"] == 1
    assert [f["start"] for f in design["flights"]] == ["2027-01-04", "2027-03-04", "2027-05-04"]
    assert design["flights"][0]["end"] == "2027-03-03"
    by_unit = {r["unit"]: r for r in design["schedule"]}
    assert all(
        r["flight_start"] == design["flights"][r["step"] - 1]["start"] for r in by_unit.values()
    )
    code, out = _invoke("rollout", "list", "--json")
    assert code == 0, out
    [listed] = json.loads(out)["rollouts"]
    assert listed["id"] == saved["id"] and listed["owner"] == "aigerim"
    code, out = _invoke("rollout", "show", str(saved["id"]), "--json")
    shown = json.loads(out)
    assert code == 0 and shown["seed"] == 6 and shown["schedule"] == design["schedule"]
    assert shown["randomised"] is True and shown["flights"] == design["flights"]
    code, out = _invoke("rollout", "show", str(saved["id"]), "--lang", "en")
    assert code == 0 and "2027-05-04" in out and "wedge 2027" in out
    code, out = _invoke("rollout", "list", "--lang", "ru")
    assert code == 0 and "wedge 2027" in out
    assert "--as USER" in _error("rollout", "design", "--steps", "3", "--save", "x")
    assert "--start" in _error("rollout", "design", "--steps", "3", "--flight-weeks", "4")
    assert "--flight-weeks" in _error("rollout", "design", "--start", "2027-01-04")


def test_a_rollout_saved_twice_under_one_name_is_refused(db_env: Engine, tmp_path: Path) -> None:
    _saved_design(tmp_path, "--save", "twice", "--as", "aigerim")
    message = _error("rollout", "design", "--steps", "3", "--save", "twice", "--as", "aigerim")
    assert "twice" in message and "version 1" in message


def test_evaluate_effect_reads_a_saved_rollout(db_env: Engine, tmp_path: Path) -> None:
    design = _saved_design(tmp_path, "--save", "w", "--as", "aigerim")
    steps = {r["unit"]: r["step"] for r in design["schedule"]}
    rng = np.random.default_rng(4)
    rows = [
        {"region": u, "year": y, "estimate": 0.4 + 0.03 * (i >= steps[u]) + rng.normal(0, 0.01)}
        for u in UNITS
        for i, y in enumerate(YEARS)
    ]
    panel = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(panel, index=False)
    rollout = str(design["saved"]["id"])
    args = ["evaluate", "effect", "--estimates", str(panel), "--rollout", rollout, "--json"]
    code, out = _invoke(*args)
    assert code == 0, out
    payload = json.loads(out)
    assert payload["schedule"] == {"randomised": True, "seed": 6, "design": "stepped-wedge"}
    result = payload["results"][0]
    assert result["causal"] and result["ci_low"] < 0.03 < result["ci_high"]
    code, out = _invoke(*args, "--not-randomised", "--lang", "en")
    assert code == 0 and "association, not proof" in json.loads(out)["results"][0]["caveat"]
    assert "--rollout" in _error(*args[:-1], "--schedule", str(panel))
    assert "999" in _error("evaluate", "effect", "--estimates", str(panel), "--rollout", "999")


def test_evaluate_exposure_reads_a_saved_rotation(db_env: Engine, tmp_path: Path) -> None:
    payload = {
        "start": "2025-02-03",
        "flight_weeks": 13,
        "cells": [["s1", 1, "kk-0001"], ["s1", 2, "kk-0001"], ["s2", 1, "kk-0001"]],
        "sites": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"site_id": "s1", "region": "ALA"},
                    "geometry": None,
                },
                {
                    "type": "Feature",
                    "properties": {"site_id": "s2", "region": "AST"},
                    "geometry": None,
                },
            ],
        },
    }
    work = save_work(
        db_env, kind="rotation", dataset="almaty", owner="a", name="r", payload=payload
    )
    base = ["evaluate", "exposure", "--from", "2025-01-01", "--to", "2025-12-31"]
    code, out = _invoke(*base, "--period", "quarter", "--rotation-id", str(work.id), "--json")
    assert code == 0, out
    rows = {(r["region"], r["period"]): r for r in json.loads(out)["exposure"]}
    assert rows["ALA", "2025Q1"]["flights_diligence"] == 1
    assert rows["ALA", "2025Q2"]["flights_diligence"] == 1
    assert rows["AST", "2025Q1"]["flights_diligence"] == 1
    rollout = _saved_design(tmp_path, "--save", "r", "--as", "a")["saved"]["id"]
    assert "not a rotation" in _error(*base, "--rotation-id", str(rollout))
    assert "--rotation-id" in _error(*base, "--rotation-id", "1", "--rotation", str(tmp_path))


def test_rollout_export_to_the_registry_adds_each_region_once(
    db_env: Engine, users: object, tmp_path: Path
) -> None:
    code, out = _invoke(
        "rollout",
        "design",
        "--steps",
        "4",
        "--seed",
        "3",
        "--start",
        "2027-01-04",
        "--flight-weeks",
        "8",
        "--save",
        "national",
        "--as",
        "planner",
        "--json",
    )
    assert code == 0, out
    rollout = str(json.loads(out)["saved"]["id"])
    code, out = _invoke("rollout", "export", rollout, "--as", "planner", "--lang", "en", "--json")
    assert code == 0, out
    assert json.loads(out) | {"errors": []} == {
        "rows": 20,
        "stored": 20,
        "skipped_existing": 0,
        "errors": [],
        "updated": 0,
        "warnings": [],
    }
    code, out = _invoke("rollout", "export", rollout, "--as", "planner", "--lang", "en")
    assert code == 0 and "0 new item(s), 0 changed, 20 unchanged" in out
    items = list_event_items(db_env)
    assert len(items) == 20 and {i.kind for i in items} == {"campaign_flight"}
    assert "--to registry" in _error("rollout", "export", rollout, "--as", "planner", "--to", "x")
