"""``nudge validate`` on the Helsinki dataset: figures, plot, and refusals of bad counts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nudge.cli import app, build_app
from nudge.cli._common import run_app
from nudge.osm.datasets import save_dataset

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SUMMARY_KEYS = {
    "what",
    "profile",
    "counts",
    "matched",
    "outside_area",
    "default",
    "baselines",
    "calibrated_blocked_cv",
    "calibrated_weights",
    "block_m",
    "blocks",
    "beats_baselines",
    "problems",
}
AGREEMENT_KEYS = {"spearman", "spearman_ci95", "kendall", "top_decile_hit"}


@pytest.fixture(scope="module")
def helsinki_dir(helsinki_dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    return save_dataset(helsinki_dataset, tmp_path_factory.mktemp("geo") / "helsinki")


@pytest.fixture(scope="module")
def hsl_counts(shared_data: Path) -> Path:
    path = shared_data / "footfall" / "helsinki" / "hsl_boardings_2016-11.csv"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def test_validate_json_and_plot(helsinki_dir: Path, hsl_counts: Path, tmp_path: Path) -> None:
    plot = tmp_path / "figs" / "helsinki.png"
    counts = ["--counts", str(hsl_counts), "--what", "boardings", "--block", "800"]
    credit = ["--credit", "Boardings: HSL 2016, CC BY 4.0"]
    args = ["validate", str(helsinki_dir), *counts, "--type", "banner", "--plot", str(plot)]
    result = CliRunner().invoke(app, [*args, *credit, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert set(summary) == {*SUMMARY_KEYS, "plot"}
    assert summary["what"] == "boardings"
    assert summary["profile"] == "banner"
    assert summary["matched"] == 95
    assert summary["counts"] == summary["matched"] + summary["outside_area"]
    assert summary["block_m"] == 800.0
    assert summary["blocks"] > 1
    assert set(summary["default"]) == AGREEMENT_KEYS
    assert set(summary["calibrated_blocked_cv"]) == AGREEMENT_KEYS
    assert set(summary["baselines"]) == {"places_within_300m", "near_city_centre"}
    assert summary["default"]["spearman"] >= 0.5
    assert summary["beats_baselines"] is True
    low, high = summary["default"]["spearman_ci95"]
    assert low < summary["default"]["spearman"] < high
    assert summary["plot"] == str(plot)
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert plot.stat().st_size > 10_000


# --- bad input: exit code 2, one readable message, no traceback --------------------------------


def _run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run the CLI in this process as the ``nudge`` script does (errors become exit code 2)."""
    monkeypatch.setattr(sys, "argv", ["nudge", *args])
    code: int | str | None = 0
    try:
        run_app(build_app(("_placement",)))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return int(code or 0), out.out, out.err


def _csv(path: Path, rows: list[tuple[float, float, float]]) -> Path:
    lines = ["lat,lon,count", *(f"{lat},{lon},{count}" for lat, lon, count in rows)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


CENTRAL = [(60.165 + 0.001 * i, 24.94 + 0.001 * i) for i in range(12)]
BAD_COUNTS = {
    # Almaty's counts against Helsinki's dataset
    "no_overlap": (
        [(43.25 + 0.01 * i, 76.9, 100.0 + i) for i in range(12)],
        r"Only 0 counted place\(s\).*\(12 lie outside it\)",
    ),
    "one_count": ([(60.17, 24.94, 100.0)], r"Only 1 counted place\(s\).*10 or more"),
    # every count below zero: the message must say so, not send the user looking at the CRS
    "all_negative": (
        [(lat, lon, -5.0 - i) for i, (lat, lon) in enumerate(CENTRAL)],
        r"(?i)negative|>= ?0|below zero|0 or more",
    ),
    # ETRS-TM35FIN metres (EPSG:3067) in the lat/lon columns
    "metres": (
        [(6672000.0 + 100 * i, 385000.0 + 100 * i, 50.0 + i) for i in range(12)],
        r"WGS84 latitude/longitude",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_COUNTS))
def test_bad_counts_exit_2(
    case: str,
    helsinki_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows, message = BAD_COUNTS[case]
    counts = _csv(tmp_path / f"{case}.csv", rows)
    code, out, err = _run(
        ["validate", str(helsinki_dir), "--counts", str(counts), "--json"], monkeypatch, capsys
    )
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert re.search(message, err), err


def test_unknown_kind_of_counts_exits_2(
    helsinki_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [(lat, lon, 10.0 * (i + 1)) for i, (lat, lon) in enumerate(CENTRAL)]
    counts = _csv(tmp_path / "counts.csv", rows)
    code, out, err = _run(
        ["validate", str(helsinki_dir), "--counts", str(counts), "--what", "walkers", "--json"],
        monkeypatch,
        capsys,
    )
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert "boardings, pedestrians, not walkers" in err


def test_wrong_crs_through_the_script(helsinki_dir: Path, tmp_path: Path) -> None:
    """The real ``nudge`` process: exit code 2, nothing on stdout, no traceback."""
    rows, message = BAD_COUNTS["metres"]
    counts = _csv(tmp_path / "metres.csv", rows)
    command = ["nudge", "validate", str(helsinki_dir), "--counts", str(counts), "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", *command],
        capture_output=True,
        text=True,
        check=False,
        env={"NUDGE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert re.search(message, proc.stderr), proc.stderr
