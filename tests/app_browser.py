"""Run the real app in a subprocess and drive it with Playwright in Debian's headless Chromium.

Used by ``tests/test_e2e_browser.py`` and ``benchmarks/bench_app.py``. The
browser never leaves this machine: every request to another host (a CDN, map
tiles, fonts) is refused at once, as on an intranet without internet, and the
app must draw its maps from its own ``static/leaflet/``. `BLOCKED` lists what
was refused.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
BLOCKED: list[str] = []
"""Outside URLs the browser asked for and was refused."""


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(data_dir: Path, *, timeout: float = 60.0) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free local port with `data_dir`; yield its URL."""
    port = free_port()
    env = {**os.environ, "NUDGE_DATA_DIR": str(data_dir)}
    env.pop("NUDGE_DATABASE_URL", None)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = (data_dir.parent / "streamlit.log").open("w")
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"streamlit exited with code {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    msg = f"streamlit did not answer on {url} within {timeout:.0f} s"
    raise RuntimeError(msg)


def _route_outside(route: Any) -> None:
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
        route.continue_()
        return
    BLOCKED.append(url)  # CDNs, tiles, fonts: refused at once, no stand-in served
    route.abort()


@contextmanager
def browser_page(*, width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """Yield a Playwright page in headless Chromium that stays on this machine."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        context.route("**/*", _route_outside)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def wait_idle(page: Any, *, timeout: float = 60.0) -> None:
    """Wait until the app has finished running its script (no 'running' indicator)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout * 1000,
    )
    page.wait_for_timeout(200)


def map_ready(page: Any, *, timeout: float = 30.0) -> None:
    """Wait until a folium map inside the app has drawn its Leaflet container."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.query_selector(".leaflet-container .leaflet-pane"):
                    return
            except Exception:
                continue
        page.wait_for_timeout(100)
    msg = "no Leaflet map appeared"
    raise TimeoutError(msg)


def plan_map_frame(page: Any) -> Any:
    """Return the frame of the Plan map once its sites are drawn, or None."""
    for frame in page.frames:
        try:
            if frame.query_selector(".leaflet-container .leaflet-pane") and frame.evaluate(
                "() => window.nudgeSites !== undefined"
            ):
                return frame
        except Exception:
            continue
    return None


_ZOOM_TO_SITE = """(avoid) => {
    const s = window.nudgeSites, span = document.createElement("span");
    for (let k = 0; k < s.count; k++) {
        const i = (k * 7919 + 4242) % s.count;
        span.innerHTML = s.tip(i);
        const title = span.querySelector("b").textContent;
        if (Number.isFinite(s.lat[i]) && !avoid.includes(title)) {
            window.map.setView([s.lat[i], s.lon[i]], 18, {animate: false});
            return {i: i, title: title};
        }
    }
    return null;
}"""
_SITE_POINT = """(i) => {
    const s = window.nudgeSites, p = window.map.latLngToContainerPoint([s.lat[i], s.lon[i]]);
    return {x: p.x, y: p.y};
}"""


def zoom_to_site(page: Any, frame: Any, *, avoid: str) -> tuple[float, float, str]:
    """Zoom the Plan map to a site whose name is not in `avoid`; return where its dot is.

    Returns the dot's page coordinates (for ``page.mouse.click``) and the site's name as its
    tooltip shows it.
    """
    site = frame.evaluate(_ZOOM_TO_SITE, avoid)
    if site is None:
        msg = "no site on the map"
        raise RuntimeError(msg)
    page.wait_for_timeout(1000)  # the dots are redrawn at the new zoom
    frame.frame_element().scroll_into_view_if_needed()  # the page must not scroll on the click
    page.wait_for_timeout(500)
    point = frame.evaluate(_SITE_POINT, site["i"])
    box = frame.frame_element().bounding_box()
    return box["x"] + point["x"], box["y"] + point["y"], str(site["title"])
