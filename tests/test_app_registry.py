# ruff: noqa: F811  (the `env` fixture comes from test_app_pages)
"""The Registry page's log form on a phone, through AppTest: camera photo, browser location."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
import streamlit as st
import streamlit_js_eval
from PIL import Image
from test_app_pages import Env, _submit, assert_clean, env, open_page  # noqa: F401

from nudge.i18n import translator
from nudge.registry import list_installations
from nudge.ui import installations as ui_installations

PIN = {"registry_pin": (43.2389, 76.8897)}


def _jpeg(colour: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, format="JPEG")  # no EXIF, as from a camera
    return buf.getvalue()


def test_photo_to_log_prefers_the_camera_and_names_its_photo() -> None:
    upload = ("banner.jpg", b"file")
    now = datetime(2025, 6, 1, 14, 30, 0)
    assert ui_installations.photo_to_log(upload=upload, camera=None) == upload
    shot = ui_installations.photo_to_log(upload=upload, camera=b"shot", now=now)
    assert shot == ("camera-20250601-143000.jpg", b"shot")
    assert ui_installations.photo_to_log(upload=None, camera=None) is None
    assert ui_installations.photo_to_log(upload=None, camera=b"") is None


def test_browser_position_reads_a_fix_an_error_or_no_answer_yet() -> None:
    fix = {"coords": {"latitude": 43.2380001, "longitude": 76.945, "accuracy": 12.5}}
    assert ui_installations.browser_position(fix) == ui_installations.BrowserPosition(
        43.238, 76.945, 12.5
    )
    no_accuracy = {"coords": {"latitude": 43.2, "longitude": 76.9, "accuracy": None}}
    assert ui_installations.browser_position(no_accuracy).accuracy_m is None  # type: ignore[union-attr]
    assert ui_installations.browser_position(None) is None  # the browser has not answered yet
    for code, error in [(1, "denied"), (2, "unavailable"), (3, "timeout"), (0, "unsupported")]:
        answer = {"error": {"code": code, "message": "…"}}
        assert ui_installations.browser_position(answer).error == error  # type: ignore[union-attr]
    broken = {"coords": {"latitude": "north"}}
    assert ui_installations.browser_position(broken).error == "unavailable"  # type: ignore[union-attr]


def test_camera_toggle_swaps_the_file_uploader_for_the_camera(env: Env) -> None:
    at = open_page("coordinator", "registry", "en", env, PIN)
    assert_clean(at)
    assert [u.key for u in at.file_uploader if u.key == "log_photo"] == ["log_photo"]
    assert len(at.camera_input) == 0
    at.toggle(key="log_use_camera").set_value(True).run()
    assert_clean(at)
    assert at.camera_input(key="log_camera").label == translator("en")("registry.camera")
    assert "log_photo" not in [u.key for u in at.file_uploader]


@pytest.mark.parametrize("source", ["camera", "upload"])
def test_a_photo_without_exif_is_logged_with_the_no_gps_flag(env: Env, source: str) -> None:
    before = len(list_installations(env.engine))  # type: ignore[arg-type]
    pin = (43.2389, 76.8897) if source == "camera" else (43.2421, 76.9012)
    at = open_page("coordinator", "registry", "kk", env, {"registry_pin": pin})
    photo = _jpeg((200, 30, 30) if source == "camera" else (30, 200, 30))
    if source == "camera":
        at.toggle(key="log_use_camera").set_value(True).run()
        at.camera_input(key="log_camera").set_value(("image.jpg", photo, "image/jpeg"))
    else:
        at.file_uploader(key="log_photo").set_value([("banner.jpg", photo, "image/jpeg")])
    _submit(at, "registry.log", "kk")
    assert_clean(at)
    records = list_installations(env.engine)  # type: ignore[arg-type]
    assert len(records) == before + 1
    rec = records[-1]
    assert len(rec.photo_ids) == 1  # stored, not refused
    assert "photo_no_gps" in [f.code for f in rec.open_flags]
    tr = translator("kk")
    assert any(tr("flags.photo_no_gps") in w.value for w in at.warning)  # the usual notice


def test_use_my_location_fills_the_coordinates_and_shows_the_accuracy(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix = {"coords": {"latitude": 43.238, "longitude": 76.945, "accuracy": 18.0}}
    monkeypatch.setattr(streamlit_js_eval, "get_geolocation", lambda component_key=None: fix)
    at = open_page("coordinator", "registry", "en", env)
    assert at.session_state["registry_pin"] is None
    at.button(key="log_locate").click().run()
    assert_clean(at)
    assert at.session_state["registry_pin"] == (43.238, 76.945)
    assert at.number_input(key="log_lat_43.238").value == 43.238
    assert at.number_input(key="log_lon_76.945").value == 76.945
    tr = translator("en")
    assert tr("registry.located", m="18") in [c.value for c in at.caption]


def test_a_refused_location_is_said_in_words(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {"error": {"code": 1, "message": "User denied Geolocation"}}
    monkeypatch.setattr(streamlit_js_eval, "get_geolocation", lambda component_key=None: refused)
    at = open_page("coordinator", "registry", "ru", env)
    at.button(key="log_locate").click().run()
    assert [e.value for e in at.exception] == []
    assert at.warning[0].value == translator("ru")("registry.locate_denied")
    assert at.session_state["registry_pin"] is None


def test_an_import_no_district_covers_shows_the_warning(env: Env) -> None:
    folder = env.settings.data_dir / "districts"
    folder.mkdir(parents=True, exist_ok=True)
    ring = [[71.3, 51.0], [71.6, 51.0], [71.6, 51.3], [71.3, 51.3], [71.3, 51.0]]
    feature = {"type": "Feature", "properties": {"name": "Esil"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
    layer = folder / "astana.geojson"
    layer.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    st.cache_data.clear()  # the pages keep the district layer for 10 minutes
    try:
        at = open_page("coordinator", "registry", "kk", env)
        csv = b"lat,lon,kind,installed_on\n43.2571,76.9312,banner,2025-03-01\n"
        at.file_uploader(key="reg_import").set_value([("batch.csv", csv, "text/csv")]).run()
        at.button(key="reg_import_go").click().run()
        assert_clean(at)
        assert any("бірде-біреуі аудандар қабатындағы 1 ауданның" in w.value for w in at.warning)
    finally:
        layer.unlink()
        st.cache_data.clear()
