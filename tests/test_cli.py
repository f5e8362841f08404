"""The CLI shell and the dataset commands (``nudge load``, ``nudge info``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nudge.cli import app

runner = CliRunner()


def _run(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nudge", *args],
        capture_output=True,
        text=True,
        env={"NUDGE_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", **(env or {})},
        check=False,
    )


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("load", "info", "datasets"):
        assert command in result.stdout


def test_load_and_info_helsinki(helsinki_pbf: Path, tmp_path: Path) -> None:
    proc = _run("load", "--file", str(helsinki_pbf), "--json", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # exactly one JSON object on stdout
    assert result["out"] == str(tmp_path / "helsinki")
    assert result["features"] == sum(result["by_category"].values())
    assert result["streets"] > 3500
    assert result["nodes"] > 2500
    assert len(result["bbox"]) == 4
    info = _run("info", "helsinki", "--json", data_dir=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout) == result


def test_load_almaty_geofabrik_counts(shared_data: Path, tmp_path: Path) -> None:
    roads = shared_data / "osm/almaty/geofabrik_shp"
    out = tmp_path / "almaty"
    proc = _run("load", "-f", str(roads), "--out", str(out), "--json", data_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["by_category"]["transit_stop"] == 811 + 3
    assert result["streets"] > 50_000
    assert (out / "streets.parquet").is_file()


def test_bad_file_exits_2_with_message_and_no_folder(tmp_path: Path) -> None:
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18garbage")
    proc = _run("load", "--file", str(bad), "--json", data_dir=tmp_path / "geo")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "error: nudge could not read" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "geo" / "broken").exists()


@pytest.mark.parametrize(
    ("env", "start"),
    [
        ({"NUDGE_LANG": "kk"}, "error: broken.osm.pbf файлын PBF деректері ретінде оқу мүмкін"),
        ({"LANG": "ru_RU.UTF-8"}, "error: Не удалось прочитать broken.osm.pbf как данные PBF"),
        ({"NUDGE_LANG": "ru", "LANG": "kk_KZ.UTF-8"}, "error: Не удалось прочитать"),
        ({"LANG": "C.UTF-8"}, "error: nudge could not read "),
        ({"NUDGE_LANG": "xx"}, "error: nudge could not read "),
    ],
)
def test_a_refusal_is_said_in_the_users_language(
    env: dict[str, str], start: str, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18garbage")
    proc = _run("load", "--file", str(bad), data_dir=tmp_path / "geo", env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith(start), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["load"], "exactly one source"),
        (["load", "--bbox", "77,43,76,44"], "wrong order"),
        (["info", "nowhere"], "not a complete nudge dataset"),
        (["report", "--lang", "xx"], "'xx' is not one of 'kk', 'ru', 'en'"),
        (["plan", "almaty", "--lang", "de"], "'de' is not one of 'kk', 'ru', 'en'"),
    ],
)
def test_bad_arguments(tmp_path: Path, args: list[str], match: str) -> None:
    proc = _run(*args, data_dir=tmp_path)
    assert proc.returncode == 2
    assert match in proc.stderr


def test_command_map_is_complete() -> None:
    from nudge.cli import COMMANDS, MODULES, build_app

    for module in MODULES:
        names = {c.name for c in build_app([module]).registered_commands}
        names |= {g.name for g in build_app([module]).registered_groups}
        for name in names:
            assert COMMANDS[name] == module, f"nudge {name} is missing from nudge.cli.COMMANDS"


def test_the_lang_options_take_the_interface_languages() -> None:
    from typing import get_args

    from nudge.cli._common import LANGUAGE
    from nudge.i18n import LANGUAGES

    assert get_args(LANGUAGE) == LANGUAGES
