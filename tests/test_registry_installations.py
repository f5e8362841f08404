"""Logging installations, duplicates, status transitions, edits and the audit log."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from registry_support import (
    ALMATY,
    ALMATY_2,
    Users,
    jpeg_bytes,
    table_counts,
)
from sqlalchemy.engine import Engine

from nudge._errors import AccessDeniedError, RecordError
from nudge.geo.regions import district_layer_from_file
from nudge.i18n import error_text
from nudge.registry import (
    TRANSITIONS,
    InstallationRecord,
    attach_photo,
    audit_entries,
    change_status,
    get_installation,
    list_installations,
    log_installation,
    resolve_flag,
    status_history,
    update_installation,
)

METRE_LAT = 1 / 111_195  # degrees of latitude per metre


pytest_plugins = ["registry_support"]


def _log(
    engine: Engine, users: Users, lat: float = ALMATY[0], lon: float = ALMATY[1], **kw: object
) -> InstallationRecord:
    fields: dict = {"kind": "banner", "installed_on": "2025-03-01", **kw}
    return log_installation(engine, user=users.almaty, lat=lat, lon=lon, **fields)


def test_log_assigns_region_city_and_district(
    engine: Engine, users: Users, shared_data: Path
) -> None:
    layer = district_layer_from_file(shared_data / "osm/almaty/almaty_districts_osm_2019.geojson")
    rec = log_installation(
        engine, user=users.almaty, kind="фотовыставка", lat=43.2050, lon=76.9000,
        installed_on=date(2025, 3, 1), content_id="dynasty-017", themes="Mastery; diligence",
        size="3x6 m", facing_deg=360, illuminated=True, districts=layer,
    )  # fmt: skip
    assert (rec.kind, rec.region_code, rec.city, rec.district) == (
        "photo_exhibition", "ALA", "Almaty", "Bostandyk",
    )  # fmt: skip
    assert rec.themes == ("diligence", "mastery")
    assert rec.facing_deg == 0.0
    assert rec.status == "installed"
    assert [s.new_status for s in status_history(engine, rec.id)] == ["installed"]
    entry = audit_entries(engine, table="installations", record_id=rec.id)[0]
    assert entry.action == "create"
    assert entry.username == "aigerim"
    assert entry.new is not None
    assert entry.new["lat"] == pytest.approx(43.2050)


def test_invalid_values_are_refused_together(engine: Engine, users: Users) -> None:
    with pytest.raises(RecordError) as info:
        log_installation(engine, user=users.almaty, kind="zeppelin", lat=ALMATY[0],
                         lon=ALMATY[1], facing_deg=400, status="installed")  # fmt: skip
    text = str(info.value)
    assert "kind 'zeppelin' is unknown" in text
    assert "not a bearing" in text
    assert "needs an install date" in text
    with pytest.raises(RecordError, match="in the future"):
        _log(engine, users, installed_on=date.today() + timedelta(days=30))
    with pytest.raises(RecordError, match="cannot start as verified"):
        _log(engine, users, status="verified")
    with pytest.raises(RecordError, match=r"\(lat 10\.000000, lon 10\.000000\) is outside"):
        _log(engine, users, lat=10.0, lon=10.0)
    assert table_counts(engine)["installations"] == 0


def test_same_installation_twice_is_refused(engine: Engine, users: Users) -> None:
    first = _log(engine, users)
    with pytest.raises(RecordError, match=f"already logged as #{first.id}"):
        _log(engine, users)


def test_duplicate_within_15_m_is_flagged_not_refused(engine: Engine, users: Users) -> None:
    first = _log(engine, users)
    near = _log(engine, users, lat=ALMATY[0] + 10 * METRE_LAT, installed_on="2025-03-02")
    far = _log(engine, users, lat=ALMATY[0] - 20 * METRE_LAT, installed_on="2025-03-03")
    other_kind = _log(engine, users, kind="billboard", installed_on="2025-03-04")
    assert [f.code for f in near.flags] == ["duplicate"]
    flag = near.flags[0]
    assert flag.other_installation_id == first.id
    assert flag.distance_m == pytest.approx(10.0, abs=0.2)
    assert far.flags == ()
    assert other_kind.flags == ()
    # a removed installation is no longer active, so it does not count
    change_status(engine, first.id, "removed", user=users.almaty, on=date(2025, 4, 1))
    again = _log(engine, users, lat=ALMATY[0] + 5 * METRE_LAT, installed_on="2025-04-02",
                 kind="billboard")  # fmt: skip
    assert [f.other_installation_id for f in again.flags] == [other_kind.id]


def test_the_logged_record_is_what_the_registry_reads_back(engine: Engine, users: Users) -> None:
    first = _log(
        engine, users, content_id="proverb-001", themes=("learning", "diligence"), size="3x6",
        facing_deg=360, illuminated=True, city="Алматы", note="у остановки",
    )  # fmt: skip
    near = _log(engine, users, lat=ALMATY[0] + 3 * METRE_LAT, kind="banner", status="planned",
                installed_on=None)  # fmt: skip
    assert first == get_installation(engine, first.id)
    assert near == get_installation(engine, near.id)
    assert (first.themes, first.facing_deg, first.city) == (
        ("diligence", "learning"),
        0.0,
        "Almaty",
    )
    assert [f.other_installation_id for f in near.flags] == [first.id]


def test_a_viewer_hears_that_before_what_is_wrong_with_the_values(
    engine: Engine, users: Users
) -> None:
    with pytest.raises(AccessDeniedError):
        log_installation(engine, user=users.viewer, kind="blimp", lat=ALMATY[0], lon=ALMATY[1])
    with pytest.raises(AccessDeniedError):
        log_installation(engine, user=users.viewer, kind="banner", lat=ALMATY[0], lon=ALMATY[1],
                         installed_on="2025-03-01")  # fmt: skip


def test_radius_is_configurable(engine: Engine, users: Users) -> None:
    _log(engine, users)
    rec = log_installation(engine, user=users.almaty, kind="banner",
                           lat=ALMATY[0] + 30 * METRE_LAT, lon=ALMATY[1],
                           installed_on="2025-03-05", duplicate_radius_m=50)  # fmt: skip
    assert [f.code for f in rec.flags] == ["duplicate"]


def test_legal_and_illegal_status_transitions(engine: Engine, users: Users) -> None:
    rec = _log(engine, users, status="planned", installed_on=None)
    rid = rec.id
    with pytest.raises(RecordError, match="cannot go from 'planned' to 'verified'"):
        change_status(engine, rid, "verified", user=users.almaty)
    change_status(engine, rid, "ordered", user=users.almaty, on=date(2025, 2, 1))
    after = change_status(engine, rid, "installed", user=users.almaty, on=date(2025, 2, 10))
    assert after.installed_on == date(2025, 2, 10)
    with pytest.raises(RecordError, match="has no photo evidence"):
        change_status(engine, rid, "verified", user=users.almaty)
    change_status(engine, rid, "damaged", user=users.almaty, on=date(2025, 3, 1))
    with pytest.raises(RecordError, match=r"from 'damaged' it may become: removed, replaced"):
        change_status(engine, rid, "installed", user=users.almaty)
    with pytest.raises(RecordError, match="before installation"):
        change_status(engine, rid, "replaced", user=users.almaty, on=date(2025, 1, 1))
    change_status(engine, rid, "replaced", user=users.almaty, on=date(2025, 3, 5))
    gone = change_status(engine, rid, "removed", user=users.almaty, on=date(2025, 6, 1))
    assert gone.removed_on == date(2025, 6, 1)
    with pytest.raises(RecordError, match="is a final status"):
        change_status(engine, rid, "installed", user=users.almaty)
    steps = [(s.old_status, s.new_status) for s in status_history(engine, rid)]
    assert steps == [
        (None, "planned"), ("planned", "ordered"), ("ordered", "installed"),
        ("installed", "damaged"), ("damaged", "replaced"), ("replaced", "removed"),
    ]  # fmt: skip
    assert set(TRANSITIONS["removed"]) == set()


def test_verify_needs_photo_and_no_open_flag(engine: Engine, users: Users, tmp_path: Path) -> None:
    rec = _log(engine, users)
    rid = rec.id
    photo = jpeg_bytes(gps=ALMATY_2)  # a few km away: flagged as far
    result = attach_photo(engine, rid, photo, user=users.almaty, photo_dir=tmp_path)
    assert [f.code for f in result.flags] == ["photo_far"]
    with pytest.raises(RecordError, match="has open flags"):
        change_status(engine, rid, "verified", user=users.almaty)
    with pytest.raises(RecordError, match="Say in a note"):
        resolve_flag(engine, result.flags[0].id, user=users.almaty, note=" ")
    resolve_flag(engine, result.flags[0].id, user=users.almaty, note="GPS of the phone was off")
    verified = change_status(engine, rid, "verified", user=users.almaty)
    assert verified.status == "verified"
    assert verified.verified


def test_update_changes_fields_and_audits_old_and_new(engine: Engine, users: Users) -> None:
    rec = _log(engine, users, size="3x6")
    rid, version = rec.id, rec.version
    moved = update_installation(
        engine, rid, {"size": "4x8", "lat": ALMATY_2[0], "lon": ALMATY_2[1]},
        user=users.almaty, expected_version=version,
    )  # fmt: skip
    assert (moved.size, moved.lat, moved.version) == ("4x8", ALMATY_2[0], version + 1)
    entry = audit_entries(engine, table="installations", record_id=rid, limit=1)[0]
    assert entry.action == "update"
    assert entry.old == {"lat": ALMATY[0], "lon": ALMATY[1], "size": "3x6"}
    assert entry.new == {"lat": ALMATY_2[0], "lon": ALMATY_2[1], "size": "4x8"}
    with pytest.raises(RecordError, match="changed by someone else meanwhile"):
        update_installation(engine, rid, {"size": "1x1"}, user=users.almaty,
                            expected_version=version)  # fmt: skip
    with pytest.raises(RecordError, match="Cannot change status"):
        update_installation(engine, rid, {"status": "removed"}, user=users.almaty)
    with pytest.raises(RecordError, match="not a number"):
        update_installation(engine, rid, {"lat": "north"}, user=users.almaty)
    assert get_installation(engine, rid).size == "4x8"


def test_list_filters_and_active_on(engine: Engine, users: Users) -> None:
    a = _log(engine, users, installed_on="2025-01-10")
    b = _log(engine, users, lat=ALMATY_2[0], lon=ALMATY_2[1], installed_on="2025-02-10",
             kind="city_light")  # fmt: skip
    change_status(engine, a.id, "removed", user=users.almaty, on=date(2025, 3, 1))
    ids = [r.id for r in list_installations(engine, active_on=date(2025, 2, 15))]
    assert ids == [a.id, b.id]
    ids = [r.id for r in list_installations(engine, active_on=date(2025, 3, 15))]
    assert ids == [b.id]
    assert [r.kind for r in list_installations(engine, kinds=["city_light"])] == ["city_light"]
    assert list_installations(engine, regions=["AST"]) == []
    with pytest.raises(RecordError, match="no installation #999"):
        get_installation(engine, 999)


def test_refusals_carry_codes_and_are_said_in_kazakh(engine: Engine, users: Users) -> None:
    with pytest.raises(RecordError, match=r"^The point \(lat 10\.0") as info:
        _log(engine, users, lat=10.0, lon=10.0)
    assert (info.value.code, info.value.params) == ("point_outside", {"lat": 10.0, "lon": 10.0})
    assert error_text(info.value, "kk").startswith("Нүкте (ендік 10.0, бойлық 10.0) Қазақстаннан")
    with pytest.raises(RecordError, match="not a bearing") as info:
        _log(engine, users, kind="zeppelin", facing_deg=400)
    exc = info.value
    assert exc.code == "installation_invalid"
    assert {k: exc.params[k] for k in ("n", "columns")} == {"n": 2, "columns": "facing_deg, kind"}
    # Each problem is said in the user's language, not just counted.
    reasons = [code for code, _ in exc.params["reasons"]]
    kk = error_text(exc, "kk")
    assert len(reasons) == 2 and "zeppelin" in kk and "400" in kk and "{" not in kk
    assert kk != error_text(exc, "en") and kk != str(exc)
    assert str(exc).startswith("The installation was not logged: 2 problems (")
    assert "400" in str(exc)
    exc.params["reasons"] = (("no-such-code", {}),) * 2  # untranslatable: the summary instead
    summary = error_text(exc, "kk")
    assert summary.startswith("Орнату тіркелмеді: 2 қате табылды (") and "zeppelin" in summary
    assert summary.endswith("; facing_deg, kind өрістерін тексеріңіз.") and "The " not in summary
    rec = _log(engine, users, status="planned", installed_on=None)
    with pytest.raises(RecordError, match="cannot go from 'planned' to 'verified'") as info:
        change_status(engine, rec.id, "verified", user=users.almaty)
    assert (info.value.code, info.value.params) == (
        "status_transition",
        {
            "id": rec.id,
            "old": "planned",
            "new": "verified",
            "options": "installed, ordered, removed",
        },
    )
    assert "«жоспарланған» күйінен «расталған» күйіне ауыстыру мүмкін емес" in error_text(
        info.value, "kk"
    )
    changed = update_installation(engine, rec.id, {"size": "3x6"}, user=users.almaty)
    with pytest.raises(RecordError, match="changed by someone else") as info:
        update_installation(engine, rec.id, {"size": "1x1"}, user=users.almaty,
                            expected_version=rec.version)  # fmt: skip
    assert info.value.params == {"id": rec.id, "version": changed.version, "expected": rec.version}
    assert error_text(info.value, "kk").startswith(f"Осы аралықта №{rec.id} орнатуды басқа біреу")
    with pytest.raises(RecordError, match="no installation #999") as info:
        get_installation(engine, 999)
    assert error_text(info.value, "kk") == "№999 орнату жоқ."
    assert error_text(info.value, "ru") == "Установки №999 нет."


def test_a_final_status_says_so_in_every_language(engine: Engine, users: Users) -> None:
    rec = _log(engine, users)
    change_status(engine, rec.id, "removed", user=users.almaty, on=date(2025, 6, 1))
    with pytest.raises(RecordError, match="is a final status") as info:
        change_status(engine, rec.id, "installed", user=users.almaty)
    assert info.value.code == "status_final"
    assert error_text(info.value, "kk").endswith(": «алынған» – соңғы күй.")
    with pytest.raises(RecordError, match="no flag #5") as info:
        resolve_flag(engine, 5, user=users.almaty, note="ok")
    assert error_text(info.value, "kk") == "№5 тексеру белгісі жоқ."
