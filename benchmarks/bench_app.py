"""Speed of the real app in headless Chromium: first page, Plan page on Almaty, Registry map.

Starts ``streamlit run app.py`` on a free local port with a temporary data
folder, drives it with Playwright in Debian's Chromium (``/usr/bin/chromium``)
and prints seconds from the user's action to the page being interactive (the
script finished and, where there is one, the Leaflet map drawn).

- first page: a fresh server (registry created and migrated) and a second visit;
- Plan page, Almaty (Geofabrik shapefiles + points from ../shared/data): first
  visit (scores computed) and a later visit (scores cached), banners;
- Registry page with 5,000 installations on the map (clustered).

Run: ``python benchmarks/bench_app.py`` (targets: 5 s, 10 s cached, 5 s).
"""

from __future__ import annotations

import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from app_browser import browser_page, map_ready, running_app, wait_idle  # noqa: E402

from nudge.i18n import translator  # noqa: E402
from nudge.registry import add_user, engine_from_url, import_installations  # noqa: E402
from nudge.settings import settings_from_env  # noqa: E402
from nudge.ui import installations as ui_installations  # noqa: E402
from nudge.ui import loading as ui_loading  # noqa: E402

ALMATY = ROOT.parent / "shared" / "data" / "osm" / "almaty"
T = translator("kk")
PASSWORD = "bench-password-1"


def _seed(data_dir: Path) -> None:
    """Create the admin, the Almaty dataset and 5,000 installations (not timed)."""
    import os

    os.environ["NUDGE_DATA_DIR"] = str(data_dir)
    os.environ.pop("NUDGE_DATABASE_URL", None)
    settings = settings_from_env()
    engine = engine_from_url(settings.database_url)
    ui_installations.engine_ready(engine)
    add_user(engine, username="admin", password=PASSWORD, role="admin")
    start = time.perf_counter()
    ui_loading.dataset_from_paths(
        [ALMATY / "geofabrik_shp", ALMATY / "almaty_points.geojson"], settings=settings,
        name="almaty",
    )  # fmt: skip
    print(f"setup: Almaty dataset built in {time.perf_counter() - start:.1f} s")
    rng = np.random.default_rng(7)
    path = data_dir.parent / "installations.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["kind", "lat", "lon", "installed_on", "note"])
        for i in range(5000):
            lat, lon = 43.20 + rng.random() * 0.12, 76.82 + rng.random() * 0.16
            out.writerow(["banner", f"{lat:.6f}", f"{lon:.6f}", "2025-03-01", f"bench {i}"])
    start = time.perf_counter()
    result = import_installations(engine, path, user="admin", duplicate_radius_m=0)
    print(f"setup: {result.stored} installations imported in {time.perf_counter() - start:.1f} s")
    engine.dispose()


def _timed(page, action, *, with_map: bool) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    wait_idle(page, timeout=300)
    if with_map:
        map_ready(page, timeout=120)
    return time.perf_counter() - start


def _go(page, key: str):  # type: ignore[no-untyped-def]
    def action() -> None:
        page.get_by_role("link", name=T(f"nav.{key}")).click()
        page.get_by_role("heading", name=T(f"{key}.title")).wait_for(timeout=300_000)

    return action


def main() -> None:
    """Print the timings."""
    if not ALMATY.is_dir():
        sys.exit(f"Almaty data not found at {ALMATY}")
    tmp = Path(tempfile.mkdtemp(prefix="nudge-bench-app-"))
    cold_dir = tmp / "cold" / "geo"
    with running_app(cold_dir) as url, browser_page() as page:

        def first() -> None:
            page.goto(url)
            page.get_by_text(T("sign_in.first_run")).wait_for(timeout=120_000)

        print(f"first page, fresh server and registry: {_timed(page, first, with_map=False):.2f} s")
        print(f"first page, second visit:              {_timed(page, first, with_map=False):.2f} s")

    data_dir = tmp / "almaty" / "geo"
    _seed(data_dir)
    with running_app(data_dir) as url, browser_page() as page:
        page.goto(url)
        page.get_by_label(T("sign_in.username")).fill("admin")
        page.get_by_label(T("sign_in.password")).fill(PASSWORD)
        page.get_by_role("button", name=T("sign_in.submit")).click()
        page.get_by_role("heading", name=T("data.title")).wait_for(timeout=120_000)
        wait_idle(page, timeout=120)
        plan_cold = _timed(page, _go(page, "plan"), with_map=True)
        print(f"Plan page, Almaty banners, first visit (scoring): {plan_cold:.2f} s")
        _timed(page, _go(page, "data"), with_map=True)
        plan_warm = _timed(page, _go(page, "plan"), with_map=True)
        print(f"Plan page, Almaty banners, scores cached:         {plan_warm:.2f} s")
        registry = _timed(page, _go(page, "registry"), with_map=True)
        print(f"Registry page, 5,000 installations on the map:     {registry:.2f} s")
        again = _timed(page, _go(page, "registry"), with_map=True)
        print(f"Registry page again:                               {again:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of the app server and browser processes: {peak:.0f} MB")


if __name__ == "__main__":
    main()
