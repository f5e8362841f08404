"""End to end in headless Chromium: the Evaluation page in Kazakh, with every CDN blocked.

A viewer signs in to a registry holding a plan of events, opens the Evaluation page, reads
indicator 1, uploads two survey waves and sees the map of regions and the chart over time,
then plans a rollout with a fixed seed and sees the seed and the power curve. The browser
refuses every request to another host (`app_browser.BLOCKED`), as on an intranet.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_browser import (
    ARTIFACTS,
    BLOCKED,
    CHROMIUM,
    browser_page,
    map_ready,
    running_app,
    wait_idle,
)
from test_app_evaluation import PLAN_CSV, WAVES

from nudge.i18n import region_name, translator

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]
T = translator("kk")
PASSWORD = "Бағалау-2026-pass"


def _registry(data: Path) -> None:
    from nudge.registry import add_user, engine_from_url, import_event_plan, upgrade_database

    data.mkdir(parents=True)
    engine = engine_from_url(f"sqlite:///{data}/nudge.sqlite")
    upgrade_database(engine)
    admin = add_user(engine, username="admin", password=PASSWORD, role="admin")
    add_user(engine, username="dana", password=PASSWORD, role="viewer", by=admin)
    plan = data.parent / "plan.csv"
    plan.write_text(PLAN_CSV, encoding="utf-8")
    import_event_plan(engine, plan, user=admin)
    engine.dispose()


def _tab(page, key: str) -> None:
    page.get_by_role("tab", name=T(f"evaluation_page.tab_{key}")).click()
    wait_idle(page)


def test_evaluation_page_in_kazakh_offline(tmp_path: Path) -> None:
    data = tmp_path / "geo"
    _registry(data)
    waves = []
    for name, content in WAVES:
        path = tmp_path / name
        path.write_bytes(content)
        waves.append(path)
    with running_app(data) as url, browser_page() as page:
        page.goto(url)
        page.get_by_label(T("sign_in.username")).fill("dana")
        page.get_by_label(T("sign_in.password"), exact=True).fill(PASSWORD)
        page.get_by_role("button", name=T("sign_in.submit")).click()
        page.get_by_role("heading", name=T("indicators.title")).wait_for(timeout=60_000)
        wait_idle(page, timeout=120)

        page.get_by_role("link", name=T("nav.evaluation")).click()
        page.get_by_role("heading", name=T("evaluation_page.title")).wait_for(timeout=60_000)
        wait_idle(page, timeout=120)
        page.get_by_text(T("evaluation_page.events_help")).wait_for(timeout=30_000)
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for(timeout=30_000)
        assert (
            page.locator(
                '[data-testid="stMetric"]', has_text=T("evaluation_page.regions_with_plan")
            ).count()
            == 1
        )

        _tab(page, "survey")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(waves)
        page.get_by_text(T("evaluation_page.interval_caption")).wait_for(timeout=120_000)
        wait_idle(page, timeout=120)
        map_ready(page)
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1
        page.get_by_text(T("evaluation_page.suppressed", n=1)).wait_for(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "e2e-evaluation-survey.png"), full_page=True)

        _tab(page, "rollout")
        seed = page.get_by_label(T("evaluation_page.seed"))
        seed.fill("7")
        seed.press("Enter")
        wait_idle(page)
        planned = T(
            "evaluation_page.planned",
            design=T("evaluation_page.designs.stepped-wedge"),
            steps=4,
            seed=7,
        )
        page.get_by_text(planned).wait_for(timeout=30_000)
        assert page.get_by_text(region_name("ALA", "kk")).count() >= 1
        mdc = page.get_by_text(T("evaluation_page.mdc", target="80"), exact=True)
        mdc.scroll_into_view_if_needed()
        page.locator('[data-testid="stVegaLiteChart"]').last.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "e2e-evaluation-rollout.png"))
    # the map and the charts drew with the CDNs blocked: nothing was asked of another host
    assert [u for u in BLOCKED if u.split("?")[0].endswith((".js", ".css"))] == []
