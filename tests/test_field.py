"""Field capture: the XLSForm of a plan, and ODK Central / KoboToolbox exports into the registry."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import typer
from registry_support import ALMATY, ALMATY_2, ASTANA, Users, jpeg_bytes, table_counts
from shapely.geometry import Point
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from nudge._errors import AccessDeniedError, InputFileError
from nudge.cli import _field, _registry
from nudge.field import (
    FORM_SCHEMA,
    current_flight,
    expected_content,
    export_from_file,
    form_from_plan,
    import_submissions,
)
from nudge.geo.regions import regions_of_points
from nudge.registry import (
    attach_photo,
    engine_from_url,
    get_installation,
    import_installations,
    import_plan,
    list_installations,
    status_history,
    upgrade_database,
)

pytest_plugins = ["registry_support"]

DEMO = Path(str(resources.files("nudge.osm").joinpath("data/demo/almaty_2013.osm.pbf")))
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DISTRICTS = SHARED / "osm" / "almaty" / "almaty_districts_osm_2019.geojson"
VERSION = f"{FORM_SCHEMA}.0123456789"
METRE_LAT = 1 / 111_195


# --- the form ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a real plan of the packaged Almaty 2013 demo: 12 exhibition sites, with districts.

    Exhibitions, weighed by category, keep this quick (banners score ~15,000 street points).
    """
    from nudge.cli import build_app

    folder = tmp_path_factory.mktemp("demo")
    app, runner = build_app(), CliRunner()
    loaded = runner.invoke(app, ["load", "-f", str(DEMO), "--out", str(folder / "almaty"),
                                 "--json"])  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    districts = ["--districts", str(DISTRICTS)] if DISTRICTS.is_file() else []
    out = folder / "plan.geojson"
    planned = runner.invoke(app, ["plan", str(folder / "almaty"), "--type", "exhibition",
                                  "--count", "12", "--weigh-by", "category", *districts,
                                  "--out", str(out), "--json"])  # fmt: skip
    assert planned.exit_code == 0, planned.output
    return out


def _calendar(path: Path, sites: list[str]) -> Path:
    """Write a calendar in the layout of `nudge content rotate` (site, name, format, flights)."""
    n = range(len(sites))
    frame = pd.DataFrame({"site_id": sites, "name": "x", "format": "banner_3x6",
                          "F01 2025-03-01": [f"proverb-{i:03d}" for i in n],
                          "F02 2025-03-15": [f"story-{i:03d}" for i in n]})  # fmt: skip
    frame.loc[1, "F02 2025-03-15"] = None  # nothing placed there in that flight
    frame.to_csv(path, index=False)
    return path


def _sheet(path: Path, name: str) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=name, dtype=object).fillna("")


def test_form_of_the_almaty_demo_passes_pyxform_and_offers_every_site(
    demo_plan: Path, tmp_path: Path
) -> None:
    from pyxform.xls2xform import convert

    plan = gpd.read_file(demo_plan)
    calendar = _calendar(tmp_path / "calendar.csv", list(plan["site_id"]))
    flight, content = expected_content(calendar, on=date(2025, 3, 20))
    assert flight == "F02 2025-03-15"
    form = form_from_plan(plan, region="ALA", content=content, flight=flight)
    path = form.write(tmp_path / "form.xlsx")
    # ODK Validate (Java) too, when Java is there
    converted = convert(xlsform=str(path), validate=shutil.which("java") is not None)
    assert converted.warnings == []
    assert "selected-at(., 3) &lt;= 25" in converted.xform  # accuracy refused on the phone
    assert 'instance id="sites"' in converted.xform
    choices = _sheet(path, "choices")
    sites = choices[choices["list_name"] == "sites"]
    in_region = plan[regions_of_points(plan.geometry.y, plan.geometry.x) == "ALA"]
    assert len(in_region) >= 8  # the demo also reaches into Almaty Region around the city
    assert sorted(sites["name"]) == sorted(in_region["site_id"])  # every site of ALA, once
    expected = {f"story-{i:03d}" for i, s in enumerate(plan["site_id"]) if s in set(sites["name"])}
    assert set(sites["content"]) - {""} == expected - {"story-001"}
    assert sites["lat"].astype(float).between(43.0, 43.6).all()
    assert sites["region"].eq("ALA").all()
    if DISTRICTS.is_file():  # the choice filter can narrow the list to a district
        districts = set(choices.loc[choices["list_name"] == "districts", "name"])
        assert set(sites["district"]) - {""} <= districts  # "": outside every district
        assert len(districts) >= 2
    survey = _sheet(path, "survey")
    assert {"label::Kazakh (kk)", "label::Russian (ru)"} <= set(survey.columns)
    settings = _sheet(path, "settings")
    assert settings.loc[0, "default_language"] == "Kazakh (kk)"
    assert str(settings.loc[0, "version"]).startswith(FORM_SCHEMA + ".")
    kk = survey.set_index("name")["label::Kazakh (kk)"]
    assert kk["location"] == "GPS бойынша орны"


def test_form_constraints_refuse_impossible_values() -> None:
    lat, lon = ALMATY
    plan = pd.DataFrame({"site_id": ["banner/1"], "kind": ["banner"], "name": ["Абай"],
                         "district": ["Almaly"], "lat": [lat], "lon": [lon]})  # fmt: skip
    survey = form_from_plan(plan, max_accuracy_m=10).survey.set_index("name")
    assert survey.loc["location", "required"] == "yes"
    assert survey.loc["location", "constraint"] == "selected-at(., 3) <= 10"
    assert survey.loc["installed_on", "constraint"] == ". <= today()"
    assert "${installed_on}" in str(survey.loc["removed_on", "constraint"])
    assert survey.loc["size", "constraint"] == "string-length(.) <= 40"
    assert survey.loc["photo", "type"] == "image"
    assert survey.index.tolist().count("photos") == 2  # begin_repeat ... end_repeat
    with pytest.raises(InputFileError, match="no site in region"):
        form_from_plan(plan, region="Astana")


def test_a_plan_without_districts_gives_a_valid_form_with_the_whole_site_list(
    tmp_path: Path,
) -> None:
    from pyxform.xls2xform import convert

    lat, lon = ALMATY
    plan = pd.DataFrame({"site_id": ["banner/1", "banner/2"], "kind": ["banner"] * 2,
                         "name": ["Абай", ""], "district": ["", ""], "lat": [lat, lat + 0.01],
                         "lon": [lon, lon]})  # fmt: skip
    form = form_from_plan(plan)
    assert "district" not in set(form.survey["name"])
    assert form.survey.set_index("name").loc["site", "choice_filter"] == ""
    converted = convert(xlsform=str(form.write(tmp_path / "form.xlsx")), validate=False)
    assert 'instance id="sites"' in converted.xform


def test_current_flight_is_the_last_one_started() -> None:
    labels = ["site_id", "F01 2025-03-01", "F02 2025-03-15", "F03 2025-03-29"]
    assert current_flight(labels, date(2025, 3, 20)) == "F02 2025-03-15"
    assert current_flight(labels, date(2025, 1, 1)) == "F01 2025-03-01"
    assert current_flight(labels, date(2026, 1, 1)) == "F03 2025-03-29"
    assert current_flight(["site_id"], date(2025, 1, 1)) is None


def test_cli_writes_the_form(demo_plan: Path, tmp_path: Path) -> None:
    app = typer.Typer(pretty_exceptions_enable=False)
    _field.register(app)
    calendar = _calendar(tmp_path / "calendar.csv", list(gpd.read_file(demo_plan)["site_id"]))
    out = tmp_path / "form.xlsx"
    result = CliRunner().invoke(app, ["field", "form", "--plan", str(demo_plan), "--rotation",
                                      str(calendar), "--region", "ALA", "--on", "2025-03-02",
                                      "--out", str(out), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["flight"] == "F01 2025-03-01"
    assert 8 <= summary["sites"] <= 12
    assert out.is_file()


# --- exports made by hand ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sub:
    """One submission of the field form."""

    instance: str
    lat: float
    lon: float
    accuracy: float = 4.0
    kind: str = "banner"
    status: str = "installed"
    installed_on: str = "2025-03-01"
    content_id: str = "proverb-001"
    size: str = "3x6 m"
    illuminated: str = "yes"
    note: str = "on the lamp posts"
    site: str = ""
    photos: tuple[str, ...] = ()
    version: str = VERSION
    deprecated: str = ""
    expected: str = ""
    content_ok: str = ""
    photo_at: tuple[float, float] | None = None  # EXIF GPS of the photos; default the point

    @property
    def photo_gps(self) -> tuple[float, float]:
        return self.photo_at or (self.lat, self.lon)


def _colour(name: str) -> tuple[int, int, int]:
    """Return a colour of its own for each photo name (different photos, different hashes)."""
    digest = hashlib.sha256(name.encode()).digest()
    return (digest[0], digest[1], digest[2])


def _photo(folder: Path, name: str, gps: tuple[float, float]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(jpeg_bytes(gps=gps, colour=_colour(name)))


def _central_rows(subs: list[Sub]) -> tuple[pd.DataFrame, pd.DataFrame]:
    main = pd.DataFrame([{
        "SubmissionDate": "2025-03-02T10:00:00.000Z", "district": "Almaly", "site": s.site,
        "expected_content": s.expected, "content_ok": s.content_ok, "content_id": s.content_id,
        "location-Latitude": s.lat, "location-Longitude": s.lon, "location-Altitude": 800,
        "location-Accuracy": s.accuracy, "kind": s.kind, "status": s.status,
        "installed_on": s.installed_on, "removed_on": "", "size": s.size,
        "illuminated": s.illuminated, "note": s.note, "form_version": s.version,
        "meta-instanceID": s.instance, "meta-deprecatedID": s.deprecated,
        "KEY": s.deprecated or s.instance, "SubmitterName": "aigerim", "Status": "",
        "ReviewState": "approved", "Edits": 1 if s.deprecated else 0, "FormVersion": s.version,
    } for s in subs])  # fmt: skip
    photos = pd.DataFrame(
        [{"photo": name, "PARENT_KEY": s.deprecated or s.instance,
          "KEY": f"{s.instance}/photos[{k + 1}]"} for s in subs for k, name in enumerate(s.photos)],
        columns=["photo", "PARENT_KEY", "KEY"],
    )  # fmt: skip
    return main, photos


def central_export(folder: Path, subs: list[Sub], *, zipped: bool = False) -> Path:
    """Write an ODK Central export: nudge_field.csv, nudge_field-photos.csv, media/."""
    folder.mkdir(parents=True, exist_ok=True)
    main, photos = _central_rows(subs)
    main.to_csv(folder / "nudge_field.csv", index=False)
    photos.to_csv(folder / "nudge_field-photos.csv", index=False)
    for s in subs:
        for name in s.photos:
            if not name.startswith("missing"):
                _photo(folder / "media", name, s.photo_gps)
    if not zipped:
        return folder / "nudge_field.csv"
    target = folder.parent / f"{folder.name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def kobo_export(folder: Path, subs: list[Sub]) -> Path:
    """Write a KoboToolbox XLSX export (submissions, then the photos repeat) with attachments."""
    folder.mkdir(parents=True, exist_ok=True)
    main = pd.DataFrame([{
        "start": "2025-03-02T10:00:00", "district": "Almaly", "site": s.site,
        "expected_content": s.expected, "content_ok": s.content_ok, "content_id": s.content_id,
        "location": f"{s.lat} {s.lon} 800 {s.accuracy}",
        "_location_latitude": s.lat, "_location_longitude": s.lon,
        "_location_altitude": 800, "_location_precision": s.accuracy, "kind": s.kind,
        "status": s.status, "installed_on": s.installed_on, "size": s.size,
        "illuminated": s.illuminated, "note": s.note, "form_version": s.version,
        "meta/instanceID": s.instance, "meta/deprecatedID": s.deprecated,
        "_id": 100 + n, "_uuid": s.instance.removeprefix("uuid:"),
        "_submission_time": "2025-03-02T10:05:00", "__version__": "vXk3fTQ", "_index": n + 1,
        "_status": "submitted_via_web",
    } for n, s in enumerate(subs)])  # fmt: skip
    photos = pd.DataFrame(
        [{"photo": name, "_index": k + 1, "_parent_table_name": "nudge_field",
          "_parent_index": n + 1, "_submission__uuid": s.instance.removeprefix("uuid:")}
         for n, s in enumerate(subs) for k, name in enumerate(s.photos)],
        columns=["photo", "_index", "_parent_table_name", "_parent_index", "_submission__uuid"],
    )  # fmt: skip
    path = folder / "nudge_field.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        main.to_excel(writer, sheet_name="nudge_field", index=False)
        photos.to_excel(writer, sheet_name="photos", index=False)
    for s in subs:
        uuid = s.instance.removeprefix("uuid:")
        for name in s.photos:
            if not name.startswith("missing"):
                _photo(folder / "attachments" / "aigerim" / uuid, name, s.photo_gps)
    return path


def good_subs() -> list[Sub]:
    north = (ALMATY_2[0] + 400 * METRE_LAT, ALMATY_2[1])
    return [
        Sub("uuid:0001", *ALMATY, photos=("1740000001.jpg", "1740000002.jpg")),
        Sub(
            "uuid:0002",
            *ALMATY_2,
            kind="city_light",
            illuminated="no",
            photos=("a.jpg",),
            photo_at=(ALMATY_2[0] + 1000 * METRE_LAT, ALMATY_2[1]),
        ),  # EXIF 1 km away: flagged
        Sub(
            "uuid:0003",
            *north,
            status="ordered",
            installed_on="",
            size="",
            photos=(),
            content_id="",
            expected="story-007",
            content_ok="yes",
        ),  # confirmed on the phone
    ]


def _same_rows_through_registry_import(tmp_path: Path, subs: list[Sub]) -> list[tuple[Any, ...]]:
    """Return the registry `nudge registry import` (and `registry photo`) makes of `subs`."""
    engine = engine_from_url(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    upgrade_database(engine)
    users = Users(engine)
    frame = pd.DataFrame([{
        "kind": s.kind, "lat": s.lat, "lon": s.lon, "installed_on": s.installed_on,
        "status": s.status, "content_id": s.content_id or s.expected, "size": s.size,
        "illuminated": s.illuminated, "note": s.note, "external_id": s.instance,
    } for s in subs])  # fmt: skip
    frame.to_csv(tmp_path / "same_rows.csv", index=False)
    done = import_installations(engine, tmp_path / "same_rows.csv", user=users.almaty)
    assert done.errors == []
    for s, inst in zip(subs, done.ids, strict=True):
        for name in s.photos:
            attach_photo(engine, inst, jpeg_bytes(gps=s.photo_gps, colour=_colour(name)),
                         user=users.almaty, photo_dir=tmp_path / "ref_photos")  # fmt: skip
    return _registry_rows(engine)


def _registry_rows(engine: Engine) -> list[tuple[Any, ...]]:
    return sorted(
        (r.kind, r.status, round(r.lat, 6), round(r.lon, 6), r.region_code, r.city,
         r.content_id, r.installed_on, r.size, r.illuminated, r.note, len(r.photo_ids),
         tuple(sorted(f.code for f in r.open_flags)))
        for r in list_installations(engine)
    )  # fmt: skip


# --- imports ------------------------------------------------------------------------------------


def test_central_export_imports_like_registry_import_and_twice_adds_nothing(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    subs = good_subs()
    export = central_export(tmp_path / "central", subs)
    photos = tmp_path / "photos"
    result = import_submissions(engine, export, user=users.almaty, photo_dir=photos)
    assert result.errors == []
    assert (result.submissions, result.stored, result.photos) == (3, 3, 3)
    assert _registry_rows(engine) == _same_rows_through_registry_import(tmp_path, subs)
    assert [r[-1] for r in _registry_rows(engine)].count(("photo_far",)) == 1
    before = table_counts(engine)
    again = import_submissions(engine, export, user=users.almaty, photo_dir=photos)
    assert (again.stored, again.skipped_existing, again.photos, again.errors) == (0, 3, 0, [])
    assert table_counts(engine) == before


def test_an_import_that_stops_half_way_stores_nothing(
    engine: Engine, users: Users, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nudge import registry

    export = central_export(tmp_path / "central", good_subs())
    before = table_counts(engine)
    real, calls = registry.attach_photo, []

    def attach_then_fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # the process dies while attaching the second photo
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(registry, "attach_photo", attach_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        import_submissions(engine, export, user=users.almaty, photo_dir=tmp_path / "photos")
    assert table_counts(engine) == before  # no installation without its photos
    monkeypatch.setattr(registry, "attach_photo", real)
    done = import_submissions(engine, export, user=users.almaty, photo_dir=tmp_path / "photos")
    assert (done.stored, done.photos, done.errors) == (3, 3, [])


def test_kobo_xlsx_and_central_zip_give_the_same_registry(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    subs = good_subs()
    kobo = import_submissions(engine, kobo_export(tmp_path / "kobo", subs), user=users.almaty,
                              photo_dir=tmp_path / "photos")  # fmt: skip
    assert (kobo.stored, kobo.photos, kobo.errors) == (3, 3, [])
    assert _registry_rows(engine) == _same_rows_through_registry_import(tmp_path, subs)
    zipped = central_export(tmp_path / "central", subs, zipped=True)
    assert export_from_file(zipped).layout == "odk_central"
    before = table_counts(engine)
    again = import_submissions(engine, zipped, user=users.almaty, photo_dir=tmp_path / "photos")
    assert (again.stored, again.skipped_existing, again.photos) == (0, 3, 0)  # same instanceIDs
    assert table_counts(engine) == before


def test_bad_submissions_are_each_reported_and_the_good_one_stored(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    subs = [
        Sub("uuid:good", *ALMATY, photos=("good.jpg",)),
        Sub("uuid:astana", *ASTANA, photos=("astana.jpg",)),
        Sub("uuid:nophoto", *ALMATY_2, photos=("missing.jpg",)),
        Sub("uuid:vague", ALMATY[0] + 0.01, ALMATY[1], accuracy=80.0),
        Sub("uuid:oldform", ALMATY[0] + 0.02, ALMATY[1], version="someone-elses-form-3"),
    ]
    export = central_export(tmp_path / "central", subs)
    result = import_submissions(engine, export, user=users.almaty, photo_dir=tmp_path / "p",
                                max_accuracy_m=30)  # fmt: skip
    assert (result.stored, result.photos, result.refused) == (1, 1, 4)
    by_id = {p.submission: p for p in result.errors}
    assert set(by_id) == {"uuid:astana", "uuid:nophoto", "uuid:vague", "uuid:oldform"}
    assert by_id["uuid:astana"].code == "row_outside_your_regions"
    assert by_id["uuid:nophoto"].code == "field_photo_missing"
    assert "missing.jpg" in by_id["uuid:nophoto"].message
    assert by_id["uuid:vague"].code == "field_accuracy"
    assert by_id["uuid:oldform"].code == "field_version_unknown"
    assert [p.row for p in result.errors] == [3, 4, 5, 6]
    [stored] = list_installations(engine)
    assert stored.photo_ids  # the good one, with its photo


def test_a_zip_that_is_not_an_export_is_refused_whole(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    bogus = tmp_path / "holiday.zip"
    with zipfile.ZipFile(bogus, "w") as archive:
        archive.writestr("IMG_0001.jpg", jpeg_bytes())
    with pytest.raises(InputFileError, match="not an ODK Central or KoboToolbox export") as info:
        import_submissions(engine, bogus, user=users.almaty, photo_dir=tmp_path / "p")
    assert info.value.code == "field_not_an_export"
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("list.csv", "name,phone\nA,1\n")
    with pytest.raises(InputFileError, match="no instanceID column"):
        import_submissions(engine, plain, user=users.almaty, photo_dir=tmp_path / "p")
    assert table_counts(engine)["installations"] == 0
    export = central_export(tmp_path / "central", good_subs())
    with pytest.raises(AccessDeniedError):
        import_submissions(engine, export, user=users.viewer, photo_dir=tmp_path / "p")


def test_a_corrected_resubmission_updates_instead_of_duplicating(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    first = Sub("uuid:first", *ALMATY, size="3x6 m", photos=("one.jpg",))
    import_submissions(engine, central_export(tmp_path / "a", [first]), user=users.almaty,
                       photo_dir=tmp_path / "p")  # fmt: skip
    edited = replace(first, instance="uuid:second", deprecated="uuid:first", size="4x8 m",
                     status="damaged", photos=("one.jpg", "two.jpg"))  # fmt: skip
    export = central_export(tmp_path / "b", [edited])
    result = import_submissions(engine, export, user=users.almaty, photo_dir=tmp_path / "p")
    assert (result.stored, result.updated, result.photos, result.errors) == (0, 1, 1, [])
    [rec] = list_installations(engine)
    assert (rec.size, rec.status, len(rec.photo_ids)) == ("4x8 m", "damaged", 2)
    before = table_counts(engine)
    again = import_submissions(engine, export, user=users.almaty, photo_dir=tmp_path / "p")
    assert (again.updated, again.skipped_existing, again.photos) == (0, 1, 0)
    assert table_counts(engine) == before


def test_a_visit_to_an_installed_site_changes_its_status(
    engine: Engine, users: Users, tmp_path: Path
) -> None:
    plan = gpd.GeoDataFrame({"site_id": ["banner/7"], "kind": ["banner"], "name": ["Абай"]},
                            geometry=[Point(ALMATY[1], ALMATY[0])], crs=4326)  # fmt: skip
    import_plan(engine, plan, user=users.planner, plan_name="almaty")
    logged = Sub("uuid:log", *ALMATY, site="banner/7", photos=("log.jpg",))
    visit = Sub("uuid:visit", ALMATY[0] + 5 * METRE_LAT, ALMATY[1], site="banner/7",
                status="damaged", photos=("visit.jpg",))  # fmt: skip
    first = import_submissions(engine, central_export(tmp_path / "a", [logged]),
                               user=users.almaty, photo_dir=tmp_path / "p")  # fmt: skip
    assert first.stored == 1
    result = import_submissions(engine, central_export(tmp_path / "b", [visit]),
                                user=users.almaty, photo_dir=tmp_path / "p")  # fmt: skip
    assert (result.stored, result.status_changes, result.photos) == (0, 1, 1)
    rec = get_installation(engine, first.ids[0])
    assert rec.status == "damaged"
    assert "uuid:visit" in (status_history(engine, rec.id)[-1].note or "")


def test_cli_import_reports_problems_by_submission_with_the_import_exit_codes(
    tmp_path: Path,
) -> None:
    app = typer.Typer(pretty_exceptions_enable=False)
    _registry.register(app)
    _field.register(app)
    data = tmp_path / "data"
    env = {"NUDGE_DATA_DIR": str(data), "NUDGE_DATABASE_URL": f"sqlite:///{data}/nudge.sqlite"}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    added = runner.invoke(app, ["user", "add", "admin", "--role", "admin", "--password-stdin"],
                          env=env, input="admin-pass\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    subs = [Sub("uuid:good", *ALMATY, photos=("g.jpg",)),
            Sub("uuid:vague", *ALMATY_2, accuracy=500.0)]  # fmt: skip
    export = central_export(tmp_path / "central", subs)
    args = ["field", "import", str(export), "--as", "admin", "--json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert (out["stored"], out["photos"]) == (1, 1)
    assert [e["submission"] for e in out["errors"]] == ["uuid:vague"]
    fixed = central_export(tmp_path / "fixed", subs[:1])
    again = runner.invoke(app, ["field", "import", str(fixed), "--as", "admin"], env=env)
    assert again.exit_code == 0, again.output  # already stored: kept, nothing refused
    assert "skipped (already stored): 1" in again.stdout
    assert openpyxl  # the XLSX reader the Kobo layout needs is installed
