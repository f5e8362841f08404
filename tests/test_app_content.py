"""The Content page on the shared database: stale saves refused in words, saved rotations."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest
from test_app_pages import Env, _submit, assert_clean, env, open_page, small_city_plan

from nudge.content import CampaignSettings, campaign_from_file, load_library
from nudge.db import list_work, load_work, read_entries
from nudge.evaluation.rollout import plan_rollout
from nudge.evaluation.rollout_store import save_rollout
from nudge.i18n import translator

__all__ = ["env"]  # the module-scoped app environment (users, dataset, database)


def _open_entry(env: Env, item_id: str, lang: str) -> AppTest:
    at = open_page("designer", "content", lang, env)
    at.selectbox(key="content_entry_proverbs").set_value(item_id).run()
    return at


def test_a_stale_save_is_refused_in_the_users_language_and_nothing_is_lost(env: Env) -> None:
    at = _open_entry(env, "kk-0003", "kk")
    assert_clean(at)
    key = "content_field_proverbs_kk-0003_source"
    at.text_input(key=key).set_value("Дизайнердің түзетуі").run()
    # meanwhile the administrator changes the same entry in another session
    other = load_library(env.settings)
    other.put(
        "proverbs",
        {**other.get("kk-0003")[1], "source": "Әкімшінің түзетуі"},
        campaign=_campaign(),
        by="admin",
    )
    at.button(key="content_save").click().run()
    assert [e.value for e in at.exception] == []
    refusal = " ".join(e.value for e in at.error)
    assert "admin" in refusal and "қайта жүктеп" in refusal  # who, and what to do, in Kazakh
    assert "changed by" not in refusal
    stored = {e.id: e for e in read_entries(env.engine)}["kk-0003"]  # type: ignore[arg-type]
    assert (stored.entry["source"], stored.version) == ("Әкімшінің түзетуі", 2)
    assert at.text_input(key=key).value == "Дизайнердің түзетуі"  # the designer's text is kept
    at.button(key="content_reload").click().run()
    assert at.text_input(key=key).value == "Әкімшінің түзетуі"  # the stored entry, reloaded
    at.text_input(key=key).set_value("Екеуінің түзетуі").run()
    at.button(key="content_save").click().run()
    assert_clean(at)
    stored = {e.id: e for e in read_entries(env.engine)}["kk-0003"]  # type: ignore[arg-type]
    assert (stored.entry["source"], stored.version, stored.updated_by) == (
        "Екеуінің түзетуі",
        3,
        "designer",
    )


def test_retiring_an_entry_is_stored_at_once_with_its_version(env: Env) -> None:
    at = _open_entry(env, "kk-0004", "ru")
    at.button(key="content_retire").click().run()
    assert_clean(at)
    stored = {e.id: e for e in read_entries(env.engine)}["kk-0004"]  # type: ignore[arg-type]
    assert (stored.status, stored.version, stored.updated_by) == ("retired", 2, "designer")


def _campaign() -> CampaignSettings:
    return campaign_from_file()


def test_a_rotation_is_saved_on_the_server_and_reopened_in_a_new_session(env: Env) -> None:
    plan = small_city_plan()
    state = {"dataset": "almaty-test", "plans": {"centre": ("almaty-test", plan)}}
    at = open_page("designer", "content", "en", env, state)
    at.number_input(key="rotation_flights").set_value(3)
    _submit(at, "content.build", "en")
    built = at.session_state["rotation"].calendar
    at.text_input(key="rotation_save_name").set_value("spring")
    at.button(key="rotation_save").click().run()
    assert_clean(at)
    saved = list_work(env.engine, kind="rotation", dataset="almaty-test", owner="designer")  # type: ignore[arg-type]
    assert [(w.name, w.version) for w in saved] == [("spring", 1)]
    # a browser refresh: a new session without the plan, the rotation is listed and reopened
    again = open_page("designer", "content", "kk", env, {"dataset": "almaty-test"})
    assert_clean(again)
    again.button(key="rotation_open").click().run()
    assert_clean(again)
    tr = translator("kk")
    assert any(
        tr("content.rotation_opened", name="spring", version=1) == s.value for s in again.success
    )
    pd.testing.assert_frame_equal(again.session_state["rotation"].calendar, built)
    again.button(key="rotation_save").click().run()  # saved over the version it reopened
    assert_clean(again)
    saved = list_work(env.engine, kind="rotation", dataset="almaty-test", owner="designer")  # type: ignore[arg-type]
    assert [(w.name, w.version) for w in saved] == [("spring", 2)]
    at.button(key="rotation_save").click().run()  # the first session's copy is now stale
    assert "spring" in " ".join(e.value for e in at.error)
    assert list_work(env.engine, kind="rotation", dataset="almaty-test")[0].version == 2  # type: ignore[arg-type]


def test_a_rotation_of_a_rollout_keeps_its_dark_flights_when_reopened(env: Env) -> None:
    # Almaty city (ALA) starts at flight 3 of this rollout; the other regions earlier
    rollout = plan_rollout(steps=4, seed=11, locks={"ALA": 3})
    work = save_rollout(env.engine, rollout, name="wedge", owner="admin")  # type: ignore[arg-type]
    state = {"dataset": "almaty-test", "plans": {"wedge": ("almaty-test", small_city_plan())}}
    at = open_page("designer", "content", "en", env, state)
    at.number_input(key="rotation_flights").set_value(4)
    at.selectbox(key="rotation_rollout").set_value(work.id)
    _submit(at, "content.build", "en")
    assert_clean(at)
    built = at.session_state["rotation"].calendar
    empty = built.fillna("").eq("")
    assert empty.iloc[:, :2].all().all() and not empty.iloc[:, 2:].all().all()
    at.text_input(key="rotation_save_name").set_value("wedge rotation")
    at.button(key="rotation_save").click().run()
    assert_clean(at)
    [saved] = [
        w
        for w in list_work(env.engine, kind="rotation", dataset="almaty-test")  # type: ignore[arg-type]
        if w.name == "wedge rotation"
    ]
    payload = load_work(env.engine, saved.id).payload  # type: ignore[arg-type]
    assert payload is not None
    assert (payload["rollout"], payload["region_starts"]["ALA"]) == (work.id, 3)
    # reopened in a new session: the first two flights stay dark, nothing new is placed
    again = open_page("designer", "content", "en", env, {"dataset": "almaty-test"})
    again.selectbox(key="rotation_saved_pick").set_value(saved.id)
    again.button(key="rotation_open").click().run()
    assert_clean(again)
    pd.testing.assert_frame_equal(again.session_state["rotation"].calendar, built)
