"""Every import command ends with the same exit codes (issue 16), run through `nudge.cli.main`.

0: every row is stored or already there; 1: some rows were refused, the rest
kept; 2: nothing could be read, or no row was kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from registry_support import ALMATY, ASTANA, Users, write_csv

from nudge.cli import main
from nudge.cli._common import import_exit_code

pytest_plugins = ["registry_support"]


class Nudge:
    """Run ``nudge ...`` as the installed script does: real argv, real exit code."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch, self.capsys = monkeypatch, capsys

    def __call__(self, *args: str) -> tuple[int, dict | None, str]:
        """Return the exit code, the JSON printed on stdout (None without) and stderr."""
        self.monkeypatch.setattr(sys, "argv", ["nudge", *args, "--json"])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = self.capsys.readouterr()
        return code, (json.loads(out.out) if out.out.strip() else None), out.err


@pytest.fixture
def nudge(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Nudge:
    monkeypatch.setenv("NUDGE_DATA_DIR", str(tmp_path / "data"))
    return Nudge(monkeypatch, capsys)


@pytest.fixture
def registry_cli(
    nudge: Nudge, registry_url: str, users: Users, monkeypatch: pytest.MonkeyPatch
) -> Nudge:
    """Return `nudge` on an upgraded registry with the standard users (aigerim covers ALA)."""
    monkeypatch.setenv("NUDGE_DATABASE_URL", registry_url)
    return nudge


def test_the_rule() -> None:
    assert import_exit_code(kept=3, refused=0) == 0
    assert import_exit_code(kept=1, refused=2) == 1
    assert import_exit_code(kept=0, refused=2) == 2
    assert import_exit_code(kept=0, refused=0) == 2


def test_registry_import(registry_cli: Nudge, tmp_path: Path) -> None:
    good = f"{ALMATY[0]};{ALMATY[1]};banner;2025-03-01\n"
    bad = f"abc;{ALMATY[1]};banner;2025-03-01\n"
    header = "lat;lon;kind;installed_on\n"
    all_good = write_csv(tmp_path / "good.csv", header + good)
    some_bad = write_csv(tmp_path / "some.csv", header + good + bad)
    all_bad = write_csv(tmp_path / "bad.csv", header + bad + bad)
    unreadable = write_csv(tmp_path / "columns.csv", "a;b\n1;2\n")
    command = ("registry", "import")
    code, out, err = registry_cli(*command, str(all_good), "--as", "aigerim")
    assert (code, out and out["stored"], err) == (0, 1, "")
    code, out, _ = registry_cli(*command, str(all_good), "--as", "aigerim")
    assert (code, out and out["skipped_existing"]) == (0, 1)  # already there
    code, out, err = registry_cli(*command, str(some_bad), "--as", "aigerim")
    assert (code, out and out["skipped_existing"], out and len(out["errors"])) == (1, 1, 1)
    assert err == (
        "warning: 1 row(s) of some.csv were refused; the other 1 are stored or were already "
        "there.\n"
    )
    code, out, err = registry_cli(*command, str(all_bad), "--as", "aigerim")
    assert (code, out and out["stored"], out and len(out["errors"])) == (2, 0, 2)
    assert err == "error: nothing from bad.csv was stored: all 2 row(s) were refused.\n"
    code, out, err = registry_cli(*command, str(unreadable), "--as", "aigerim")
    assert (code, out) == (2, None)
    assert err.startswith("error: The file columns.csv has no column for kind")


def test_registry_import_publications(registry_cli: Nudge, tmp_path: Path) -> None:
    header = "kind,title,date,region\n"
    mine = "tv,Еңбек адамы,2025-03-02,ALA\n"
    theirs = "news,Астана жаңалығы,2025-03-03,AST\n"  # not aigerim's region
    command = ("registry", "import-publications")
    all_good = write_csv(tmp_path / "mine.csv", header + mine)
    some_bad = write_csv(tmp_path / "both.csv", header + mine + theirs)
    all_bad = write_csv(tmp_path / "theirs.csv", header + theirs)
    assert registry_cli(*command, str(all_good), "--as", "aigerim")[0] == 0
    assert registry_cli(*command, str(all_good), "--as", "aigerim")[0] == 0
    code, out, _ = registry_cli(*command, str(some_bad), "--as", "aigerim")
    assert (code, out and out["skipped_existing"]) == (1, 1)
    code, out, err = registry_cli(*command, str(all_bad), "--as", "aigerim")
    assert (code, out and out["stored"]) == (2, 0)
    assert err.startswith("error: nothing from theirs.csv was stored")
    empty = write_csv(tmp_path / "empty.csv", header)
    code, out, err = registry_cli(*command, str(empty), "--as", "aigerim")
    assert (code, out) == (2, None)
    assert err == "error: The file empty.csv has a header but no rows.\n"


def _plan(path: Path, *sites: tuple[str, str, tuple[float, float]]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {"site_id": site, "kind": kind},
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
        }
        for site, kind, (lat, lon) in sites
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_registry_import_plan(registry_cli: Nudge, tmp_path: Path) -> None:
    good = [("s1", "banner", ALMATY), ("s2", "exhibition", ASTANA)]
    bad = [("s3", "rocket", ALMATY), ("s4", "banner", (10.0, 10.0))]
    command = ("registry", "import-plan")
    named = ("--as", "planner", "--name", "p")
    all_good = str(_plan(tmp_path / "a.geojson", *good))
    assert registry_cli(*command, all_good, *named)[0] == 0
    assert registry_cli(*command, all_good, *named)[0] == 0
    some_bad = str(_plan(tmp_path / "b.geojson", *good, bad[0]))
    code, out, _ = registry_cli(*command, some_bad, *named)
    assert (code, out and out["skipped_existing"]) == (1, 2)
    code, out, err = registry_cli(*command, str(_plan(tmp_path / "c.geojson", *bad)), *named)
    assert (code, out and out["stored"]) == (2, 0)
    assert err == "error: nothing from c.geojson was stored: all 2 row(s) were refused.\n"


def _entries(path: Path, *rows: str) -> Path:
    path.write_text("id,kind,text_kk,themes,source\n" + "".join(rows), encoding="utf-8")
    return path


def test_content_import(nudge: Nudge, tmp_path: Path) -> None:
    good = "c1,proverb,Сынақ мәтіні: еңбек.,diligence,Test\n"
    bad = "c2,proverb,Eңбек сынағы,diligence,Test\n"  # a Latin E: refused
    code, out, err = nudge("content", "import", str(_entries(tmp_path / "good.csv", good)))
    assert (code, out and out["added"], err) == (0, 1, "")
    code, out, _ = nudge("content", "import", str(_entries(tmp_path / "good.csv", good)))
    assert (code, out["updated"], out["unchanged"]) == (0, 0, 1)  # already there, not saved
    code, out, err = nudge("content", "import", str(_entries(tmp_path / "some.csv", good, bad)))
    assert (code, out and out["rejected"]) == (1, 1)
    assert err.startswith("warning: 1 row(s) of some.csv were refused")
    code, out, err = nudge("content", "import", str(_entries(tmp_path / "bad.csv", bad)))
    assert (code, out) == (2, None)
    assert err.startswith("error: The import of bad.csv has 1 problem(s)")
    empty = str(_entries(tmp_path / "empty.csv"))
    code, out, err = nudge("content", "import", empty)
    assert (code, out) == (2, None)
    assert err.startswith("error: Cannot tell which collection empty.csv belongs to")
    code, out, err = nudge("content", "import", empty, "--collection", "proverbs")
    assert (code, out and out["rows"]) == (2, 0)
    assert err == "error: nothing from empty.csv was stored: it holds no rows.\n"
    code, out, err = nudge("content", "import", str(tmp_path / "missing.csv"))
    assert (code, out) == (2, None)
