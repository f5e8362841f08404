"""Speeds a user feels, in the real app in headless Chromium, against their targets.

Starts ``streamlit run app.py`` on a free local port with a temporary data folder, drives it
with Playwright in Debian's Chromium (``/usr/bin/chromium``, every outside host blocked) and
prints seconds from the user's action to the answer on screen, the app idle again:

- first page: the sign-in page of a freshly started server (it creates the registry at
  start-up, before the first visitor) and a second visit;
- Plan page with the scores cached: the built-in Almaty 2013 demo, banners, a visit after the
  first (scoring, not timed against a target);
- marker click: a click on a site's dot until the "why this site" panel shows that site;
- slider change: a signal weight moved until the map shows the new scores.

A click on the map far from every site is checked too: the selected site stays. The Plan
map draws its sites as dots on one canvas (no clusters); a slider change recolours them in
the same map, which the benchmark checks.

Run: ``python benchmarks/bench_app.py``.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from app_browser import (  # noqa: E402
    browser_page,
    map_ready,
    plan_map_frame,
    running_app,
    zoom_to_site,
)

from nudge.i18n import translator  # noqa: E402
from nudge.registry import add_user, engine_from_url  # noqa: E402
from nudge.settings import settings_from_env  # noqa: E402
from nudge.ui import installations as ui_installations  # noqa: E402
from nudge.ui import loading as ui_loading  # noqa: E402

T = translator("kk")
PASSWORD = "bench-password-1"
TARGETS = {"first page": 2.0, "marker click": 1.0, "Plan page, scores cached": 3.0,
           "slider change": 1.5}  # fmt: skip
STATUS = '[data-testid="stStatusWidget"]'
SELECTED = '[data-testid="stSelectbox"]'


def _seed(data_dir: Path) -> None:
    """Create the admin and the Almaty 2013 demo dataset (not timed)."""
    import os

    os.environ["NUDGE_DATA_DIR"] = str(data_dir)
    os.environ.pop("NUDGE_DATABASE_URL", None)
    settings = settings_from_env()
    engine = engine_from_url(settings.database_url)
    ui_installations.engine_ready(engine)
    add_user(engine, username="admin", password=PASSWORD, role="admin")
    engine.dispose()
    demo = ui_loading.demos()[0]
    start = time.perf_counter()
    ui_loading.dataset_from_paths([demo.path], settings=settings, name=demo.slug)
    print(f"setup: {demo.slug} dataset built in {time.perf_counter() - start:.1f} s")


def _settled(page: Any, done: Callable[[], bool], *, timeout: float = 300.0) -> None:
    """Wait until `done()` holds and the app is not running (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done() and page.locator(STATUS).count() == 0:
            return
        page.wait_for_timeout(50)
    msg = "the app did not settle"
    raise TimeoutError(msg)


def _map_frame(page: Any) -> Any:
    """Return the frame of the Plan map once its sites are drawn, or None."""
    return plan_map_frame(page)


def _report(name: str, seconds: float) -> None:
    target = TARGETS[name]
    verdict = "ok" if seconds <= target else "SLOW"
    print(f"{name:<28} {seconds:6.2f} s   target ≤ {target:.1f} s   {verdict}")


def _first_page(url: str) -> None:
    with browser_page() as page:
        for visit in ("fresh server and registry", "second visit"):
            start = time.perf_counter()
            page.goto(url)
            page.get_by_text(T("sign_in.first_run")).wait_for(timeout=120_000)
            _settled(page, lambda: True)
            _report("first page", time.perf_counter() - start)
            print(f"  ({visit})")


def _sign_in(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_label(T("sign_in.username")).fill("admin")
    page.get_by_label(T("sign_in.password")).fill(PASSWORD)
    page.get_by_role("button", name=T("sign_in.submit")).click()
    page.get_by_role("heading", name=T("data.title")).wait_for(timeout=120_000)
    _settled(page, lambda: True)


def _visit(page: Any, key: str) -> float:
    start = time.perf_counter()
    page.get_by_role("link", name=T(f"nav.{key}")).click()
    page.get_by_role("heading", name=T(f"{key}.title")).wait_for(timeout=600_000)
    if key == "plan":
        map_ready(page, timeout=600)
        _settled(page, lambda: _map_frame(page) is not None)
    else:
        _settled(page, lambda: True)
    return time.perf_counter() - start


def _selected(page: Any) -> str:
    """Return the text of the "why this site" panel's site box."""
    label = page.get_by_text(T("plan.site"), exact=True)
    box = page.locator(SELECTED, has=label).first
    return str(box.evaluate(
        "e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')"
    ))  # fmt: skip


def _click_marker(page: Any) -> float:
    """Zoom to a site (not timed) and click its dot; time the panel's answer."""
    x, y, title = zoom_to_site(page, _map_frame(page), avoid=_selected(page))
    start = time.perf_counter()
    page.mouse.click(x, y)  # a move (the dot's marker and tooltip appear), then the click
    _settled(page, lambda: title in _selected(page))
    return time.perf_counter() - start


_EMPTY_POINT = """() => {
    const map = window.map, s = window.nudgeSites, size = map.getSize();
    const seen = map.getBounds().pad(0.5), near = [];
    for (let i = 0; i < s.count; i++) {
        if (seen.contains([s.lat[i], s.lon[i]])) { near.push([s.lat[i], s.lon[i]]); }
    }
    for (let y = 40; y < size.y - 40; y += 20) {
        for (let x = 40; x < size.x - 40; x += 20) {
            const at = map.containerPointToLatLng([x, y]);
            if (near.every(p => map.distance(at, p) > 150)) { return {x: x, y: y}; }
        }
    }
    return null;
}"""


def _click_away(page: Any) -> bool:
    """Click the map far from every site; return whether the selected site stayed."""
    frame = _map_frame(page)
    frame.evaluate("() => window.map.setZoom(15, {animate: false})")
    page.wait_for_timeout(1000)
    shown = _selected(page)
    point = frame.evaluate(_EMPTY_POINT)
    if point is None:
        return False
    box = frame.frame_element().bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_timeout(1500)
    _settled(page, lambda: True)
    return _selected(page) == shown


def _move_slider(page: Any) -> tuple[float, bool]:
    """Open the weights (not timed), move one weight a step; time until the map shows it.

    Return the seconds and whether the map stayed the same (recoloured in place, no reload).
    """
    page.get_by_text(T("plan.weights")).click()
    page.wait_for_timeout(500)
    old = _map_frame(page)
    old.evaluate("() => { window.__benchSeen = true; }")
    before = old.evaluate("() => window.nudgeSites.key()")
    sliders = page.get_by_role("slider")
    thumb = next(  # a weight below 1 moves up a step
        sliders.nth(i) for i in range(sliders.count())
        if float(sliders.nth(i).get_attribute("aria-valuetext") or 1) < 1
    )  # fmt: skip
    thumb.focus()
    start = time.perf_counter()
    thumb.press("ArrowRight")
    _settled(page, lambda: _scores_key(page) not in (None, before))
    seconds = time.perf_counter() - start
    frame = _map_frame(page)
    return seconds, frame is not None and frame.evaluate("() => window.__benchSeen === true")


def _scores_key(page: Any) -> str | None:
    """Return the key of the scores the map shows (None without a map)."""
    frame = _map_frame(page)
    return None if frame is None else frame.evaluate("() => window.nudgeSites.key()")


def main() -> None:
    """Print the four speeds against their targets."""
    tmp = Path(tempfile.mkdtemp(prefix="nudge-bench-app-"))
    with running_app(tmp / "cold" / "geo") as url:
        _first_page(url)
    data_dir = tmp / "almaty" / "geo"
    _seed(data_dir)
    with running_app(data_dir) as url, browser_page() as page:
        _sign_in(page, url)
        print(f"Plan page, first visit (scoring, no target): {_visit(page, 'plan'):.2f} s")
        _visit(page, "data")
        _report("Plan page, scores cached", _visit(page, "plan"))
        _report("marker click", _click_marker(page))
        print(f"a click away from every site keeps the selected site: {_click_away(page)}")
        seconds, same = _move_slider(page)
        _report("slider change", seconds)
        print(f"  (the map recoloured in place, not reloaded: {same})")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of the app server and browser processes: {peak:.0f} MB")


if __name__ == "__main__":
    main()
