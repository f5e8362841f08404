"""The ``nudge content`` and ``nudge rotate`` commands print the JSON the issue specifies."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from nudge.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "geo"))
    return tmp_path


def run(*args: str, code: int = 0) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def proverb_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "kind", "text_kk", "themes", "source"])
        writer.writerow(["c1", "proverb", "Сынақ мәтіні: еңбек.", "diligence", "Test"])
        writer.writerow(["c2", "proverb", "Eңбек сынағы", "diligence", "Test"])
        writer.writerow(["c3", "proverb", "Терпение и труд всё перетрут", "diligence", "Test"])
    return path


def test_validate_file_json_shape(env: Path) -> None:
    out = run("content", "validate", str(proverb_csv(env / "p.csv")), code=1)  # an error: 1
    assert set(out) == {"items", "errors", "warnings"}
    assert out["items"] == 3
    assert [(e["row"], e["code"]) for e in out["errors"]] == [(3, "latin-lookalike")]
    assert [(w["row"], w["code"]) for w in out["warnings"]] == [(4, "not-kazakh")]


def test_import_list_retire_export(env: Path) -> None:
    out = run("content", "import", str(proverb_csv(env / "p.csv")), code=1)  # one row refused
    assert (out["added"], out["rejected"]) == (2, 1)
    listed = run("content", "list", "--theme", "diligence")
    assert {"c1", "c3"} <= {i["id"] for i in listed["items"]}
    assert run("content", "retire", "c3") == {"id": "c3", "status": "retired"}
    active = run("content", "list", "--status", "active")
    assert "c3" not in {i["id"] for i in active["items"]}
    exported = run("content", "export", str(env / "all.xlsx"), "--collection", "proverbs")
    every = run("content", "list", "--collection", "proverbs")
    assert exported["items"] == every["count"] >= listed["count"]
    assert (env / "all.xlsx").stat().st_size > 0
    stored = run("content", "validate")
    assert stored["items"] >= 2


def test_content_commands_share_the_database_and_audit_who_changed_what(env: Path) -> None:
    from nudge.db import engine_from_url, read_entries
    from nudge.settings import settings_from_env

    run("content", "import", str(proverb_csv(env / "p.csv")), "--as", "aigerim", code=1)
    run("content", "retire", "c1", "--as", "nurlan")
    engine = engine_from_url(settings_from_env().database_url)
    try:
        stored = {e.id: e for e in read_entries(engine)}
        assert (stored["c1"].status, stored["c1"].version, stored["c1"].updated_by) == (
            "retired",
            2,
            "nurlan",
        )
        assert not (env / "geo" / "content").exists()  # no YAML files are written any more
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT username, action FROM audit_log WHERE table_name = 'content_entries' "
                "ORDER BY id"
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("aigerim", "import")] * 2 + [("nurlan", "retire")]


ROTATION_OPTIONS = "--flights 4 --start 2025-03-03 --min-gap 1 --neighbour-distance 300"


def test_rotate_json_and_files(env: Path) -> None:
    run("content", "import", str(proverb_csv(env / "p.csv")), code=1)
    plan = gpd.GeoDataFrame(
        {"site_id": ["a", "b", "c"], "kind": ["banner"] * 3, "score": [5.0, 7.0, 9.0]},
        geometry=[Point(76.95, 43.25), Point(76.951, 43.25), Point(76.99, 43.27)],
        crs="EPSG:4326",
    )
    plan.to_file(env / "plan.geojson", driver="GeoJSON")
    rotate = ["rotate", str(env / "plan.geojson"), *ROTATION_OPTIONS.split()]
    out = run(*rotate, "--flight-weeks", "2", "--out", str(env / "cal.csv"))
    assert {"sites", "flights", "assignments", "violations", "exposure_cv", "out"} <= set(out)
    assert (out["sites"], out["flights"], out["assignments"]) == (3, 4, 12)
    assert out["violations"]["neighbour"] == 0
    assert out["out"] == str(env / "cal.csv")
    assert (env / "cal.xlsx").exists()
    assert (env / "cal_print_orders.csv").exists()
    assert (out["solver"], out["status"], out["gap"]) == ("greedy", "greedy with repair", None)
    solver = ["--solver", "exact", "--time-limit", "20"]
    exact = run(*rotate, *solver, "--out", str(env / "exact.csv"))
    assert exact["solver"] == "exact" and exact["status"].startswith("optimal")
    assert 0 <= exact["gap"] < 1e-3 and exact["assignments"] == 12
    assert sum(exact["violations"].values()) <= sum(out["violations"].values())


def test_rotate_bad_date_is_a_clean_error(env: Path) -> None:
    result = runner.invoke(app, ["rotate", "x.geojson", "--start", "March", "--out", "c.csv"])
    assert result.exit_code != 0
    assert "YYYY-MM-DD" in str(result.exception) + result.output


def test_a_locked_file_without_its_columns_is_refused_in_words(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nudge.cli import main

    plan = gpd.GeoDataFrame(
        {"site_id": ["a"], "kind": ["banner"]}, geometry=[Point(76.95, 43.25)], crs="EPSG:4326"
    )
    plan.to_file(env / "plan.geojson", driver="GeoJSON")
    locked = env / "locks" / "locked.csv"
    locked.parent.mkdir()
    locked.write_text("site_id,item\na,c1\n", encoding="utf-8")
    argv = [
        "nudge",
        "rotate",
        str(env / "plan.geojson"),
        "--start",
        "2025-03-03",
        "--out",
        str(env / "cal.csv"),
        "--locked",
        str(locked),
    ]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        "error: The locked file locked.csv needs the columns site_id, flight and item_id; "
        "it has no flight and no item_id.\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        (
            "entries.yaml",
            b"- id: c1\n  text_kk: [\n",
            "entries.yaml is not valid UTF-8 YAML: line 3 is not valid YAML",
        ),
        (
            "entries.yaml",
            b"a:\n\t- b\n",
            "entries.yaml is not valid UTF-8 YAML: line 2 is not valid YAML",
        ),
        ("entries.yaml", b"- 1\n- 2\n", "entries.yaml must hold a YAML list of entries"),
        (
            "entries.xlsx",
            b"PK\x03\x04broken",
            "entries.xlsx is not a readable XLSX workbook: it "
            "is damaged or is not an Excel workbook",
        ),
    ],
)
def test_an_unreadable_content_file_is_named_in_words(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    says: str,
) -> None:
    from nudge.cli import main

    path = env / "uploads" / name
    path.parent.mkdir()
    path.write_bytes(content)
    monkeypatch.setattr(
        "sys.argv", ["nudge", "content", "import", str(path), "--collection", "proverbs", "--json"]
    )
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: The file {says}")
    assert str(env) not in err
    assert err.count("\n") == 1
    assert "<unicode string>" not in err
