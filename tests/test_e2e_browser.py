"""End to end in a real headless Chromium: sign in, load Helsinki, plan, log with a photo, count.

The app runs as ``streamlit run app.py`` on a free local port with a fresh
data folder (first run: the SQLite registry is created and migrated). The
browser uses the Kazakh interface, the default. Screenshots of each page go to
``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from app_browser import (
    ARTIFACTS,
    BLOCKED,
    CHROMIUM,
    ROOT,
    browser_page,
    free_port,
    plan_map_frame,
    running_app,
    zoom_to_site,
)
from app_browser import map_ready as _map_ready
from app_browser import wait_idle as _wait_idle
from PIL import Image

from nudge.i18n import translator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]
T = translator("kk")
PASSWORD = "Еңбек-2025-pass"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(buf, format="JPEG")
    return buf.getvalue()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"), full_page=True)


def _nav(page, key: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("link", name=T(f"nav.{key}")).click()
    page.get_by_role("heading", name=T(f"{key}.title")).wait_for(timeout=60_000)
    _wait_idle(page, timeout=120)


def _indicators_ready(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_text(T("indicators.report")).wait_for(timeout=60_000)
    _map_ready(page)
    page.wait_for_timeout(1000)


def _metric(page, label: str) -> str:  # type: ignore[no-untyped-def]
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return str(box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def test_sign_in_load_plan_log_and_count(tmp_path: Path, helsinki_pbf: Path) -> None:
    photo = tmp_path / "banner.jpg"
    photo.write_bytes(_jpeg())
    with running_app(tmp_path / "geo") as url, browser_page() as page:
        page.goto(url)
        page.get_by_text(T("sign_in.first_run")).wait_for(timeout=60_000)
        _shot(page, "1-first-run")
        page.get_by_label(T("sign_in.username")).fill("aigerim")
        page.get_by_label(T("sign_in.password"), exact=True).fill(PASSWORD)
        page.get_by_label(T("sign_in.password_again")).fill(PASSWORD)
        page.get_by_role("button", name=T("sign_in.create_admin")).click()
        page.get_by_role("heading", name=T("data.title")).wait_for(timeout=60_000)
        _wait_idle(page)
        assert (tmp_path / "geo" / "nudge.sqlite").is_file()

        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(helsinki_pbf)
        page.get_by_label(T("data.name")).fill("helsinki")
        page.get_by_label(T("data.name")).press("Enter")
        _wait_idle(page)
        page.get_by_role("button", name=T("data.load"), exact=True).click()
        page.get_by_text(T("data.loaded", name="helsinki")).wait_for(timeout=120_000)
        _wait_idle(page)
        _map_ready(page)
        _shot(page, "2-data")
        assert (tmp_path / "geo" / "helsinki" / "features.parquet").is_file()

        _nav(page, "indicators")
        _indicators_ready(page)
        assert _metric(page, T("indicators.installations")) == "0"
        _shot(page, "3-indicators-before")

        _nav(page, "plan")
        _map_ready(page)
        # a click on a site's dot (the sites are one canvas) shows it in the "why this site" panel
        panel = page.locator(
            '[data-testid="stSelectbox"]', has=page.get_by_text(T("plan.site"), exact=True)
        ).first
        shown = "e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value)"
        x, y, title = zoom_to_site(page, plan_map_frame(page), avoid=panel.evaluate(shown))
        page.mouse.click(x, y)
        page.wait_for_timeout(500)
        _wait_idle(page)
        assert title in panel.evaluate(shown)
        page.get_by_role("button", name=T("plan.run")).click()
        page.get_by_text(T("plan.results")).wait_for(timeout=120_000)
        _wait_idle(page)
        assert _metric(page, T("plan.sites")) == "10"
        _shot(page, "4-plan")

        _nav(page, "registry")
        page.get_by_label(T("registry.lat")).fill("43.238900")
        page.get_by_label(T("registry.lon")).fill("76.889700")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(photo)
        page.get_by_text("banner.jpg").first.wait_for(timeout=60_000)  # uploaded before logging
        _wait_idle(page)
        page.get_by_role("button", name=T("registry.log"), exact=True).click()
        page.get_by_text(T("registry.logged", id=1, region="Алматы", city="Almaty")).wait_for(
            timeout=60_000
        )
        _wait_idle(page)
        _shot(page, "5-registry")
        photos = list((tmp_path / "geo" / "_photos").rglob("*.jpg"))
        assert len(photos) == 1

        _nav(page, "indicators")
        _indicators_ready(page)
        assert _metric(page, T("indicators.installations")) == "1"
        _shot(page, "6-indicators-after")
    # every map drew with the CDNs blocked: no script or style was asked of another host
    assert [u for u in BLOCKED if u.split("?")[0].endswith((".js", ".css"))] == []


def test_registry_log_form_on_a_360_px_phone_uses_its_location(tmp_path: Path) -> None:
    from app_browser import CHROMIUM_ARGS, _route_outside
    from playwright.sync_api import sync_playwright

    from nudge.registry import add_user, engine_from_url, upgrade_database

    data = tmp_path / "geo"
    data.mkdir(parents=True)
    engine = engine_from_url(f"sqlite:///{data}/nudge.sqlite")
    upgrade_database(engine)
    add_user(engine, username="admin", password=PASSWORD, role="admin")
    add_user(engine, username="marat", password=PASSWORD, role="coordinator", regions=["ALA"],
             by="admin")  # fmt: skip
    engine.dispose()
    overflow = "() => document.scrollingElement.scrollWidth"
    # what sticks out on the right, but for the tab bar, which scrolls sideways by itself
    sticking_out = """() => [...document.querySelectorAll('[data-testid=stMain] *')]
        .filter(el => !el.closest('[role=tablist]') && el.getBoundingClientRect().right > 362)
        .map(el => el.tagName + '.' + (el.getAttribute('data-testid') || ''))"""
    with running_app(data) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
            geolocation={"latitude": 43.238, "longitude": 76.945, "accuracy": 25},
            permissions=["geolocation"],
        )  # fmt: skip
        context.route("**/*", _route_outside)
        page = context.new_page()
        try:
            page.goto(url)
            page.get_by_label(T("sign_in.username")).fill("marat")
            page.get_by_label(T("sign_in.password"), exact=True).fill(PASSWORD)
            page.get_by_role("button", name=T("sign_in.submit")).click()
            page.get_by_role("heading", name=T("registry.title")).wait_for(timeout=60_000)
            _wait_idle(page, timeout=120)
            _map_ready(page)
            assert page.evaluate(overflow) <= 360 + 2  # no sideways scrolling of the page
            assert page.evaluate(sticking_out) == []
            page.get_by_role("button", name=T("registry.locate")).click()
            page.get_by_text(T("registry.located", m="25")).wait_for(timeout=60_000)
            _wait_idle(page)
            assert page.get_by_label(T("registry.lat")).input_value() == "43.238000"
            assert page.get_by_label(T("registry.lon")).input_value() == "76.945000"
            page.get_by_text(T("registry.use_camera")).click()  # the camera replaces the upload
            _wait_idle(page)
            assert page.evaluate(overflow) <= 360 + 2
            assert page.evaluate(sticking_out) == []
            _shot(page, "phone-registry")
        finally:
            context.close()
            browser.close()


@contextmanager
def _served(html: str, folder: Path) -> Iterator[str]:
    """Serve `html` and the app's own ``static/`` (as ``/app/static/``) on a local port."""
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "static").symlink_to(ROOT / "static")
    (folder / "map.html").write_text(html, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            del args

    port = free_port()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/map.html"
    finally:
        server.shutdown()


_PIXEL = """(i) => {
    const s = window.nudgeSites, map = s.layer._map, c = s.layer._canvas;
    const p = map.latLngToContainerPoint([s.lat[i], s.lon[i]]), r = window.devicePixelRatio || 1;
    const pad = s.layer._pad;  /* the canvas reaches beyond the view */
    const [red, green] = c.getContext("2d").getImageData(
        (p.x + pad.x) * r, (p.y + pad.y) * r, 1, 1).data;
    return {x: p.x, y: p.y, red: red, green: green};
}"""


def test_plan_map_sites_show_escaped_tooltips_and_take_new_scores_in_place(
    tmp_path: Path,
) -> None:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from nudge.ui import maps

    n = 900  # a 30 x 30 grid of sites about 40 m apart; site 0 the best, named like an attack
    lon, lat = np.meshgrid(76.9 + np.arange(30) * 5e-4, 43.24 + np.arange(30) * 3.6e-4)
    cands = gpd.GeoDataFrame(
        {"name": ["<img src=x onerror=alert(1)>"] + [f"street {i}" for i in range(1, n)],
         "score": np.linspace(95, 5, n), "rank": pd.array(np.arange(1, n + 1), dtype="Int64"),
         "excluded": False, "exclusion_reason": None},
        geometry=gpd.points_from_xy(lon.ravel(), lat.ravel()), crs=4326,
        index=pd.Index([f"banner/{i:06d}" for i in range(n)], name="candidate_id"),
    )  # fmt: skip
    m = maps.candidates_map(cands, labels=maps.CandidateLabels(site="Орын", decimal=","))
    worse = maps.rescore_script(cands.assign(score=100 - cands["score"]))
    with _served(m.get_root().render(), tmp_path) as url, browser_page() as page:
        page.goto(url)
        page.wait_for_function("() => window.nudgeSites && window.nudgeSites.count === 900")
        page.evaluate(f"() => {{ window.__map = {m.get_name()}; }}")
        page.evaluate("() => window.__map.setView([43.24, 76.9], 17, {animate: false})")
        before = page.evaluate(_PIXEL, 0)
        assert before["green"] > before["red"]  # a high score is green
        page.mouse.move(before["x"] + 1, before["y"] + 1)
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(timeout=10_000)
        text = tip.inner_text()
        assert text.startswith("<img src=x onerror=alert(1)>")  # shown as text, not as HTML
        assert text.endswith("Орын: banner/000000") and "95,0" in text
        assert page.locator(".leaflet-tooltip img").count() == 0
        page.evaluate(worse)  # what the app sends after a slider change
        after = page.evaluate(_PIXEL, 0)
        assert after["red"] > after["green"]  # the same dot, now low: red
        assert (
            page.evaluate("() => window.nudgeSites.key()")
            == json.loads(worse[worse.index("({") + 1 : worse.rindex(")")])["key"]
        )
        assert (
            page.evaluate(f"() => window.__map === {m.get_name()} && window.__map.getZoom()") == 17
        )
        page.evaluate(maps.rescore_script(None))  # back to the scores the map was drawn with
        assert page.evaluate(_PIXEL, 0)["green"] > page.evaluate(_PIXEL, 0)["red"]


def test_the_server_creates_the_registry_before_the_first_visitor(tmp_path: Path) -> None:
    from nudge.registry import engine_from_url, schema_revision
    from nudge.registry.db import MIGRATIONS_DIR

    data = tmp_path / "geo"
    with running_app(data):  # the server answers its health check; nobody has visited yet
        database = data / "nudge.sqlite"
        assert database.is_file()
        engine = engine_from_url(f"sqlite:///{database}")
        head = max(p.name[1:5] for p in (MIGRATIONS_DIR / "versions").glob("r0*.py"))
        assert schema_revision(engine) == head
        engine.dispose()
