"""The registry's CLI commands: db, user, registry, report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import openpyxl
import pytest
import shapely
import typer
from registry_support import ALMATY, ASTANA, jpeg_bytes, write_csv
from typer.testing import CliRunner

from nudge.cli import _registry
from nudge.cli._common import run_app

pytest_plugins = ["registry_support"]


@pytest.fixture
def app() -> typer.Typer:
    """Return a CLI holding only the registry commands."""
    cli = typer.Typer(pretty_exceptions_enable=False)
    _registry.register(cli)
    return cli


@pytest.fixture
def cli_env(registry_url: str, tmp_path: Path, fast_hashing: None) -> dict[str, str]:
    return {"NUDGE_DATABASE_URL": registry_url, "NUDGE_DATA_DIR": str(tmp_path / "data")}


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    return {"NUDGE_DATA_DIR": str(data), "NUDGE_DATABASE_URL": f"sqlite:///{data}/nudge.sqlite"}


AS_AIGERIM = ["--as", "aigerim", "--json"]
LOG_AS_AIGERIM = ["registry", "log", "--installed-on", "2025-03-01", *AS_AIGERIM]
AT_ALMATY = ["--lat", str(ALMATY[0]), "--lon", str(ALMATY[1])]


def _run(
    app: typer.Typer, env: dict[str, str], *args: str, stdin: str | None = None, code: int = 0
) -> dict:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code == code, (result.output, result.exception)
    return json.loads(result.stdout)


def _exits_with_2(
    app: typer.Typer, env: dict[str, str], command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run `command` as the `nudge` process runs it and check that it ends with exit code 2."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["nudge", *command])
    with pytest.raises(SystemExit) as info:
        run_app(app)
    assert info.value.code == 2


def _setup(app: typer.Typer, env: dict[str, str]) -> None:
    assert _run(app, env, "db", "upgrade", "--json")["revision"] == "0005"
    stdin_json = ["--password-stdin", "--json"]
    _run(app, env, "user", "add", "admin", "--role", "admin", *stdin_json, stdin="admin-pass\n")
    coordinator = ["user", "add", "aigerim", "--role", "coordinator", "--region", "ALA"]
    added = _run(app, env, *coordinator, "--as", "admin", *stdin_json, stdin="aigerim-pass\n")
    assert added["regions"] == ["ALA"]


def test_import_prints_exactly_the_documented_json(
    app: typer.Typer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _setup(app, cli_env)
    csv = write_csv(
        tmp_path / "batch.csv",
        "lat;lon;kind;installed_on\n"
        f"{ALMATY[0]};{ALMATY[1]};banner;2025-03-01\n"
        f"abc;{ALMATY[1]};banner;2025-03-01\n"
        f"{ASTANA[0]};{ASTANA[1]};banner;2025-03-01\n",
    )
    out = _run(app, cli_env, "registry", "import", str(csv), "--as", "aigerim", "--json", code=1)
    assert set(out) == {
        "rows",
        "stored",
        "skipped_existing",
        "errors",
        "flagged_duplicates",
        "warnings",
    }
    assert (out["rows"], out["stored"], out["skipped_existing"]) == (3, 1, 0)
    assert out["flagged_duplicates"] == 0
    assert [set(e) for e in out["errors"]] == [{"row", "message"}] * 2
    assert [e["row"] for e in out["errors"]] == [3, 4]
    again = _run(app, cli_env, "registry", "import", str(csv), "--as", "aigerim", "--json", code=1)
    assert (again["stored"], again["skipped_existing"]) == (0, 1)
    report = _run(app, cli_env, "report", "--by", "region,month", "--json")
    assert report["by"] == ["region", "month"]
    assert report["rows"][0]["region"] == "ALA"
    assert report["rows"][0]["month"] == "2025-03"
    assert report["rows"][0]["installation_ids"] == [1]
    assert report["total"]["installations"] == 1
    users = _run(app, cli_env, "user", "list", "--json")["users"]
    assert [u["username"] for u in users] == ["admin", "aigerim"]
    pubs = write_csv(
        tmp_path / "pubs.csv",
        "kind,title,date,region,link\n"
        "tv,Еңбек адамы,2025-03-02,ALA,https://kaztv.kz/1\n"
        "news,Астана жаңалығы,2025-03-03,AST,\n",
    )
    cmd = ("registry", "import-publications", str(pubs), "--as", "aigerim", "--json")
    out = _run(app, cli_env, *cmd, code=1)
    assert (out["rows"], out["stored"], out["skipped_existing"]) == (2, 1, 0)
    assert [e["row"] for e in out["errors"]] == [3]  # Astana: not aigerim's region
    assert _run(app, cli_env, *cmd, code=1)["skipped_existing"] == 1
    report = _run(app, cli_env, "report", "--by", "region", "--json")
    assert report["total"]["publications"] == 1


def test_log_status_photo_publication_export_report_audit(
    app: typer.Typer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    _setup(app, cli_env)
    lit = ["--kind", "billboard", "--theme", "diligence", "--illuminated"]
    logged = _run(app, cli_env, *LOG_AS_AIGERIM, *AT_ALMATY, *lit)
    assert (logged["region"], logged["city"], logged["themes"]) == ("ALA", "Almaty", ["diligence"])
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_bytes(gps=ALMATY))
    attached = _run(app, cli_env, "registry", "photo", str(logged["id"]), str(photo), *AS_AIGERIM)
    assert attached["flags"] == []
    assert Path(attached["path"]).is_relative_to(tmp_path / "data" / "_photos")
    verified = _run(app, cli_env, "registry", "status", str(logged["id"]), "verified", *AS_AIGERIM)
    assert verified["verified"] is True
    podcast = ["--kind", "podcast", "--title", "Еңбек әулеті", "--date", "2025-03-02"]
    where = ["--region", "ALA", "--link", "https://example.kz/1", "--reach", "500"]
    pub = _run(app, cli_env, "registry", "publication", *podcast, *where, *AS_AIGERIM)
    assert pub["verified"] is True
    export = _run(app, cli_env, "registry", "export", str(tmp_path / "i.geojson"), "--json")
    assert export["installations"] == 1
    xlsx = tmp_path / "ministry.xlsx"
    report = _run(app, cli_env, "report", "--by", "kind", "--output", str(xlsx), "--json")
    assert xlsx.exists()
    assert report["total"]["installations_verified"] == 1
    assert openpyxl.load_workbook(xlsx).sheetnames[0] == "қорытынды"  # Kazakh by default
    ru = tmp_path / "ministry_ru.xlsx"
    _run(app, cli_env, "report", "--by", "kind", "--output", str(ru), "--lang", "ru", "--json")
    assert openpyxl.load_workbook(ru).sheetnames[0] == "итоги"
    assert report["total"]["reach"] == 500
    audit = _run(app, cli_env, "registry", "audit", "--table", "installations", "--json")
    assert [e["action"] for e in audit["entries"]] == ["status", "attach_photo", "create"]


def test_backup_of_the_sqlite_registry(
    app: typer.Typer, tmp_path: Path, fast_hashing: None
) -> None:
    env = _sqlite_env(tmp_path)
    _run(app, env, "db", "upgrade", "--json")
    out = _run(app, env, "registry", "backup", str(tmp_path / "copy.sqlite"), "--json")
    assert out["done"] is True
    assert (tmp_path / "copy.sqlite").stat().st_size > 0


def test_errors_end_with_code_2_and_one_message(
    app: typer.Typer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("NUDGE_DATABASE_URL", raising=False)
    env = {"NUDGE_DATA_DIR": str(tmp_path / "data")}
    _exits_with_2(app, env, ["report", "--json"], monkeypatch)
    err = capsys.readouterr().err
    assert "has no tables yet; run `nudge db upgrade`" in err
    assert "Traceback" not in err
    monkeypatch.setattr(sys, "argv", ["nudge", "db", "upgrade"])
    run_app(app)
    bad = write_csv(tmp_path / "bad.csv", "a,b\n1,2\n")
    _exits_with_2(app, env, ["registry", "import", str(bad), "--as", "x"], monkeypatch)
    assert "has no column for kind" in capsys.readouterr().err


def test_districts_come_from_the_data_dir(
    app: typer.Typer, tmp_path: Path, fast_hashing: None, shared_data: Path
) -> None:
    env = _sqlite_env(tmp_path)
    _setup(app, env)
    folder = tmp_path / "data" / "districts"
    folder.mkdir(parents=True)
    source = shared_data / "osm/almaty/almaty_districts_osm_2019.geojson"
    (folder / "almaty.geojson").write_bytes(source.read_bytes())
    in_bostandyk = ["--lat", "43.2050", "--lon", "76.9000"]
    logged = _run(app, env, *LOG_AS_AIGERIM, "--kind", "banner", *in_bostandyk)
    assert logged["district"] == "Bostandyk"
    report = _run(app, env, "report", "--by", "district", "--json")
    assert report["rows"][0]["district"] == "Bostandyk"


def test_import_takes_themes_from_the_content_library(
    app: typer.Typer, tmp_path: Path, fast_hashing: None
) -> None:
    from nudge.content import load_library
    from nudge.settings import Settings

    env = _sqlite_env(tmp_path)
    _setup(app, env)
    library = load_library(Settings(data_dir=Path(env["NUDGE_DATA_DIR"]))).frame()
    item = library.iloc[0]
    csv = write_csv(
        tmp_path / "b.csv",
        "lat,lon,kind,installed_on,content_id\n"
        f"{ALMATY[0]},{ALMATY[1]},banner,2025-03-01,{item['id']}\n",
    )
    assert _run(app, env, "registry", "import", str(csv), "--as", "aigerim", "--json")["stored"]
    report = _run(app, env, "report", "--by", "theme", "--json")
    assert {r["theme"] for r in report["rows"]} == set(item["themes"])


def test_a_photo_that_is_no_image_is_named_in_words(
    app: typer.Typer,
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _setup(app, cli_env)
    logged = _run(app, cli_env, *LOG_AS_AIGERIM, "--kind", "banner", *AT_ALMATY)
    fake = tmp_path / "uploads" / "banner-7.jpg"
    fake.parent.mkdir()
    fake.write_bytes(b"<html>not a photo</html>")
    photo = ["registry", "photo", str(logged["id"]), str(fake), "--as", "aigerim"]
    _exits_with_2(app, cli_env, photo, monkeypatch)
    assert capsys.readouterr().err == (
        "error: The file banner-7.jpg is not a readable photo: its content is not an image. "
        "Send a JPEG, PNG, WebP or TIFF photo.\n"
    )


def test_a_district_layer_of_lists_is_named_in_words(
    app: typer.Typer,
    tmp_path: Path,
    fast_hashing: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = _sqlite_env(tmp_path)
    _setup(app, env)
    layer = tmp_path / "maps" / "districts.geojson"
    layer.parent.mkdir()
    layer.write_text('{"type": "FeatureCollection", "features": [[76.9, 43.2]]}')
    csv = write_csv(tmp_path / "b.csv", f"lat,lon,kind\n{ALMATY[0]},{ALMATY[1]},banner\n")
    command = ["registry", "import", str(csv), "--as", "aigerim", "--districts", str(layer)]
    _exits_with_2(app, env, command, monkeypatch)
    assert capsys.readouterr().err == (
        "error: Cannot read the district layer districts.geojson: feature 1 is not a GeoJSON "
        "feature. Give a GeoJSON FeatureCollection.\n"
    )


def _district_file(path: Path, box: tuple[float, float, float, float]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    outline = json.loads(shapely.to_geojson(shapely.box(*box)))
    feature = {"type": "Feature", "properties": {"name": "D"}, "geometry": outline}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_a_district_layer_in_metres_is_refused_and_nothing_is_stored(
    app: typer.Typer,
    tmp_path: Path,
    fast_hashing: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = _sqlite_env(tmp_path)
    _setup(app, env)
    layer = _district_file(
        tmp_path / "maps" / "m.geojson", (2_776_000, 8_437_000, 2_786_000, 8_447_000)
    )
    csv = write_csv(
        tmp_path / "b.csv",
        f"lat,lon,kind,installed_on\n{ALMATY[0]},{ALMATY[1]},banner,2025-03-01\n",
    )
    command = ["registry", "import", str(csv), "--as", "aigerim", "--districts", str(layer)]
    _exits_with_2(app, env, command, monkeypatch)
    err = capsys.readouterr().err
    assert err.startswith(
        "error: The file m.geojson has coordinates such as (2.776e+06, 8.437e+06)"
    )
    assert "Traceback" not in err
    assert _run(app, env, "report", "--json")["rows"] == []


def test_a_district_layer_covering_no_row_is_a_warning(
    app: typer.Typer, tmp_path: Path, fast_hashing: None
) -> None:
    env = _sqlite_env(tmp_path)
    _setup(app, env)
    astana = _district_file(tmp_path / "maps" / "astana.geojson", (71.3, 51.0, 71.6, 51.3))
    csv = write_csv(
        tmp_path / "b.csv",
        f"lat,lon,kind,installed_on\n{ALMATY[0]},{ALMATY[1]},banner,2025-03-01\n",
    )
    command = ["registry", "import", str(csv), "--as", "aigerim", "--districts", str(astana)]
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 0, result.output
    assert "stored: 1," in result.stdout
    assert result.stderr == (
        "warning: None of the 1 rows lies in any of the 1 districts of the district layer, so "
        "their district stays empty: the layer is probably of another city or in the wrong "
        "coordinate system.\n"
    )
    almaty = _district_file(tmp_path / "maps" / "almaty.geojson", (76.7, 43.1, 77.2, 43.4))
    csv = write_csv(
        tmp_path / "c.csv",
        f"lat,lon,kind,installed_on\n{ALMATY[0] + 0.01},{ALMATY[1]},banner,2025-03-01\n",
    )
    out = _run(app, env, "registry", "import", str(csv), "--as", "aigerim", "--districts",
               str(almaty), "--json")  # fmt: skip
    assert (out["stored"], out["warnings"]) == (1, [])


def test_publications_no_district_covers_get_the_warning(
    app: typer.Typer, tmp_path: Path, fast_hashing: None
) -> None:
    env = _sqlite_env(tmp_path)
    _setup(app, env)
    astana = _district_file(tmp_path / "maps" / "astana.geojson", (71.3, 51.0, 71.6, 51.3))
    csv = write_csv(
        tmp_path / "p.csv",
        "kind,title,date,region,lat,lon\n"
        f"news_article,Еңбек,2025-03-01,,{ALMATY[0]},{ALMATY[1]}\n"
        "podcast,Шебер,2025-03-02,ALA,,\n",
    )
    command = ["registry", "import-publications", str(csv), "--as", "aigerim"]
    result = CliRunner().invoke(app, [*command, "--districts", str(astana), "--json"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["stored"] == 2
    assert [w[:34] for w in out["warnings"]] == ["None of the 1 rows lies in any of "]
