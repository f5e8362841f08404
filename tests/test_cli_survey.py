"""The ``nudge survey`` and ``nudge plans`` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from registry_support import Users, write_csv
from sqlalchemy.engine import Engine
from test_evaluation_store import SURVEY_TABLES, counts, survey_audit
from test_evaluation_survey import synthetic_survey
from typer.testing import CliRunner

from nudge.cli import _registry, _survey, build_app
from nudge.cli._common import run_app
from nudge.evaluation.questionnaire import questionnaire_from_file
from nudge.evaluation.survey import estimate_indices, survey_from_files

pytest_plugins = ["registry_support"]

PLAN_CSV = """План;№;Регион;Год;Вид;Название;Срок;Статус
ALA-2025;1;Алматы;2025;телепередача;Еңбек адамы;31.03.2025;запланировано
ALA-2025;2;Алматы;2025;Мен профимін;Байқаудың қалалық кезеңі;15.04.2025;проведено
"""


@pytest.fixture
def app() -> typer.Typer:
    """Return a CLI holding the survey and plans commands (and the registry's, to compare)."""
    cli = typer.Typer(pretty_exceptions_enable=False)
    _survey.register(cli)
    _registry.register(cli)
    return cli


@pytest.fixture
def cli_env(
    engine: Engine, registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point the CLI at the upgraded test database (also for `run_app`, through os.environ)."""
    env = {"NUDGE_DATABASE_URL": registry_url, "NUDGE_DATA_DIR": str(tmp_path / "data")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def waves(tmp_path: Path) -> list[Path]:
    """Write two synthetic waves (2025, 2026) as CSV."""
    paths = []
    for seed, year in ((1, 2025), (2, 2026)):
        path = tmp_path / f"wave{year}.csv"
        synthetic_survey(seed=seed).assign(year=year).to_csv(path, index=False)
        paths.append(path)
    return paths


def _run(app: typer.Typer, env: dict[str, str], *args: str, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout)


def _fails(
    app: typer.Typer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
) -> str:
    """Run a command the way the `nudge` script does; return stderr after exit code 2."""
    monkeypatch.setattr(sys, "argv", ["nudge", *args])
    with pytest.raises(SystemExit) as info:
        run_app(app)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_import_list_estimate_delete(
    app: typer.Typer,
    cli_env: dict[str, str],
    waves: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = _run(app, cli_env, "survey", "import", str(waves[0]), "--name", "Wave 2025",
                 "--as", "aigerim", "--json")  # fmt: skip
    assert (first["name"], first["year"], first["rows"], first["kind"]) == (
        "Wave 2025", 2025, 900, "respondents"
    )  # fmt: skip
    second = _run(app, cli_env, "survey", "import", str(waves[1]), "--as", "aigerim", "--json")
    assert second["name"] == "wave2026"  # the file's name by default
    listed = _run(app, cli_env, "survey", "waves", "--json")["waves"]
    assert [w["id"] for w in listed] == [second["id"], first["id"]]
    out = tmp_path / "estimates.csv"
    result = _run(app, cli_env, "survey", "estimate", "--by", "region,year,urban",
                  "--out", str(out), "--lang", "en", "--json")  # fmt: skip
    expected = estimate_indices(
        survey_from_files(waves, questionnaire_from_file()), by=["region", "year", "urban"]
    )
    got = pd.DataFrame(result["estimates"])
    assert result["rows"] == len(expected) and result["suppressed"] == expected["suppressed"].sum()
    pd.testing.assert_frame_equal(
        got[["estimate", "se", "ci_low", "ci_high"]].astype(float),
        expected[["estimate", "se", "ci_low", "ci_high"]],
    )
    assert list(got["region"]) == list(expected["region"])
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == len(expected)
    one = _run(app, cli_env, "survey", "estimate", "--wave", str(first["id"]), "--json")
    assert {r["year"] for r in one["estimates"]} == {2025}
    err = _fails(app, monkeypatch, capsys, "survey", "import", str(waves[0]), "--as", "nurlan")
    assert f"already stored in survey wave {first['id']}" in err
    gone = _run(app, cli_env, "survey", "delete", str(first["id"]), "--as", "nurlan", "--json")
    assert gone["deleted"]["id"] == first["id"]
    assert [w["id"] for w in _run(app, cli_env, "survey", "waves", "--json")["waves"]] == [
        second["id"]
    ]
    engine_counts = _counts(cli_env)
    assert engine_counts["survey_respondents"] == 900
    actions = [(e["action"], e["username"]) for e in _audit(cli_env)]
    assert actions == [("import", "aigerim"), ("import", "aigerim"), ("delete", "nurlan")]
    err = _fails(app, monkeypatch, capsys, "survey", "delete", str(first["id"]))
    assert "no stored survey wave" in err


def _counts(env: dict[str, str]) -> dict[str, int]:
    from nudge.db import engine_from_url

    eng = engine_from_url(env["NUDGE_DATABASE_URL"])
    try:
        return counts(eng)
    finally:
        eng.dispose()


def _audit(env: dict[str, str]) -> list[dict[str, Any]]:
    from nudge.db import engine_from_url

    eng = engine_from_url(env["NUDGE_DATABASE_URL"])
    try:
        return survey_audit(eng)
    finally:
        eng.dispose()


def test_human_output_speaks_the_chosen_language(
    app: typer.Typer, cli_env: dict[str, str], waves: list[Path]
) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["survey", "waves"], env=cli_env)
    assert "Сақталған сауалнама толқыны әлі жоқ" in empty.stdout
    done = runner.invoke(app, ["survey", "import", str(waves[0]), "--as", "aigerim",
                               "--lang", "ru"], env=cli_env)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Волна опроса сохранена" in done.stdout and "строк: 900" in done.stdout
    listed = runner.invoke(app, ["survey", "waves", "--lang", "en"], env=cli_env)
    assert "wave2025, 2025, respondents, 900 rows" in listed.stdout.replace("«", "").replace(
        "»", ""
    )
    estimated = runner.invoke(app, ["survey", "estimate", "--lang", "kk"], env=cli_env)
    assert "Бағалау саны: 15" in estimated.stdout


def _unknown_region(tmp_path: Path) -> Path:
    frame = synthetic_survey(n=60)
    frame.loc[3, "region"] = "Atlantis"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path / "bad.csv"


def _zero_weight(tmp_path: Path) -> Path:
    frame = synthetic_survey(n=60)
    frame.loc[5, "weight"] = 0
    frame.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path / "bad.csv"


def _fake_sav(tmp_path: Path) -> Path:
    (tmp_path / "fake.sav").write_text("region,weight\nALA,1\n", encoding="utf-8")
    return tmp_path / "fake.sav"


def _missing_item(tmp_path: Path) -> Path:
    synthetic_survey(n=60).drop(columns="q5").to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path / "bad.csv"


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_unknown_region, "Unknown region 'Atlantis'"),
        (_zero_weight, "row 7: The weight is missing or not above 0"),
        (_fake_sav, "could not be read as a SPSS file"),
        (_missing_item, "lacks the column(s) q5"),
    ],
)
def test_bad_input_ends_with_code_2_and_stores_nothing(
    app: typer.Typer,
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spoil: Any,
    message: str,
) -> None:
    err = _fails(app, monkeypatch, capsys, "survey", "import", str(spoil(tmp_path)), "--json")
    assert message in err
    assert _counts(cli_env) == dict.fromkeys((*SURVEY_TABLES, "audit_log"), 0)


def test_bad_options_end_with_code_2(
    app: typer.Typer,
    cli_env: dict[str, str],
    waves: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = _fails(app, monkeypatch, capsys, "survey", "estimate")
    assert "No survey wave of respondents is stored" in err
    bad_map = tmp_path / "map.toml"
    bad_map.write_text("[columns\n", encoding="utf-8")
    err = _fails(app, monkeypatch, capsys, "survey", "import", str(waves[0]), "--map", str(bad_map))
    assert "not valid TOML" in err
    err = _fails(app, monkeypatch, capsys, "survey", "import", str(waves[0]), str(waves[1]),
                 "--aggregates")  # fmt: skip
    assert "--aggregates takes one published table" in err
    err = _fails(app, monkeypatch, capsys, "survey", "estimate", "--by", "colour")
    assert "No survey wave" in err
    _run(app, cli_env, "survey", "import", str(waves[0]), "--json")
    err = _fails(app, monkeypatch, capsys, "survey", "estimate", "--by", "colour")
    assert "Cannot group by colour" in err
    err = _fails(app, monkeypatch, capsys, "survey", "estimate", "--wave", "99")
    assert "no stored survey wave 99" in err
    assert _counts(cli_env)["survey_waves"] == 1


def test_published_aggregates_import_and_estimate(
    app: typer.Typer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "published.csv",
        "region,year,index,estimate,n,se\nALA,2024,work_success,0.6,500,0.02\n"
        "AST,2024,work_success,0.5,10,0.1\n",
    )
    wave = _run(app, cli_env, "survey", "import", str(path), "--aggregates", "--json")
    assert (wave["kind"], wave["rows"], wave["year"]) == ("aggregates", 2, 2024)
    result = _run(app, cli_env, "survey", "estimate", "--json")
    rows = {r["region"]: r for r in result["estimates"]}
    assert rows["ALA"]["estimate"] == pytest.approx(0.6) and not rows["ALA"]["suppressed"]
    assert rows["AST"]["suppressed"] and rows["AST"]["estimate"] is None


def test_plans_commands_are_the_registry_event_commands(
    app: typer.Typer, cli_env: dict[str, str], users: Users, tmp_path: Path
) -> None:
    plan = write_csv(tmp_path / "plan.csv", PLAN_CSV)
    imported = _run(app, cli_env, "plans", "import", str(plan), "--as", "planner", "--json")
    assert (imported["rows"], imported["stored"]) == (2, 2)
    again = _run(app, cli_env, "registry", "import-events", str(plan), "--as", "planner", "--json")
    assert (again["stored"], again["skipped_existing"]) == (0, 2)  # one register behind both
    listed = _run(app, cli_env, "plans", "list", "--year", "2025", "--json")
    assert listed == _run(app, cli_env, "registry", "events", "--year", "2025", "--json")
    row = next(r for r in listed["rows"] if r["region"] == "ALA")
    assert (row["planned"], row["held"]) == (2, 1)
    item = next(i for i in row["planned_ids"] if i not in row["held_ids"])
    marked = _run(app, cli_env, "plans", "status", str(item), "held", "--as", "planner",
                  "--evidence", "https://example.kz/tv/1", "--json")  # fmt: skip
    assert marked["status"] == "held"
    rows = _run(app, cli_env, "plans", "list", "--json")["rows"]
    assert next(r for r in rows if r["region"] == "ALA")["held"] == 2


def test_the_main_cli_knows_the_new_commands() -> None:
    from nudge.cli import COMMANDS

    assert COMMANDS["survey"] == COMMANDS["plans"] == "_survey"
    result = CliRunner().invoke(build_app(["_survey"]), ["--help"])
    assert "survey" in result.stdout and "plans" in result.stdout


def test_a_refused_file_is_said_in_kazakh_row_by_row(
    app: typer.Typer,
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NUDGE_LANG", "kk")
    err = _fails(app, monkeypatch, capsys, "survey", "import", str(_zero_weight(tmp_path)))
    head, *rows = err.strip().splitlines()
    assert head.startswith("error: bad.csv файлының 1 жолында қателер бар")
    assert rows and rows[0].startswith("row 7: ") and "weight" not in rows[0].lower()
    assert re.search("[әғқңөұүһі]", rows[0]), rows[0]
    assert _counts(cli_env) == dict.fromkeys((*SURVEY_TABLES, "audit_log"), 0)
