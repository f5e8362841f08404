"""nudge Streamlit app: the router and the shared chrome; pages live in ``app_pages/``.

Run with ``streamlit run app.py``. The server imports this file once and serves `app`
(a `streamlit.App`): before the first visitor it loads the app's modules and creates or
migrates the registry (the data folder and the SQLite file on a first run), so the first
page does not wait for them. Every visit then runs this file as the script (`main`). The
sidebar holds the language, the active city dataset and the signed-in user; which pages
appear depends on the user's role.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st

from app_pages import _shared as ui
from nudge.i18n import LANGUAGE_NAMES, LANGUAGES


def _language() -> None:
    st.sidebar.selectbox(
        ui.t()("sidebar.language"), LANGUAGES, format_func=LANGUAGE_NAMES.__getitem__, key="lang"
    )


def _dataset() -> None:
    tr = ui.t()
    slugs = ui.dataset_slugs()
    if not slugs:
        st.sidebar.caption(tr("sidebar.no_datasets"))
        return
    if st.session_state.get("dataset_next") in slugs:
        st.session_state["dataset"] = st.session_state["dataset_next"]
        st.session_state["dataset_next"] = None
    if st.session_state.get("dataset") not in slugs:
        st.session_state["dataset"] = slugs[0]
    st.sidebar.selectbox(tr("sidebar.dataset"), slugs, key="dataset")


def _user() -> None:
    tr = ui.t()
    user = ui.current_user()
    if user is None:
        return
    role = tr(f"roles.{user.role}")
    regions = f" · {', '.join(user.regions)}" if user.regions else ""
    st.sidebar.markdown(f":material/person: **{user.username}** · {role}{regions}")
    if st.sidebar.button(tr("sidebar.sign_out"), key="sign_out", icon=":material/logout:"):
        ui.sign_out()
        st.rerun()


def _pages() -> list[st.Page]:
    tr = ui.t()
    user = ui.current_user()
    if user is None:
        return [st.Page("app_pages/sign_in.py", title=tr("nav.sign_in"), url_path="sign-in")]
    home = ui.HOME_PAGE.get(user.role)
    return [
        st.Page(
            spec.path,
            title=tr(f"nav.{spec.key}"),
            icon=spec.icon,
            url_path=spec.key,
            default=spec.key == home,
        )
        for spec in ui.pages_for(user.role)
    ]


def main() -> None:
    """Run one visit: the shared chrome, then the page the user is on."""
    st.set_page_config(page_title="nudge · Еңбек – елдің мұраты", page_icon="🧭", layout="wide")
    ui.init_state()
    with ui.guarded():
        ui.engine()  # creates the SQLite file and applies the migrations on first run
        ui.resume_sign_in()  # a refresh keeps the user signed in (a signed token in the address)
    st.sidebar.title(ui.t()("app.title"))
    st.sidebar.caption(ui.t()("app.tagline"))
    _language()
    page = st.navigation(_pages(), position="sidebar")
    if ui.current_user() is not None:
        _dataset()
    _user()
    page.run()


@asynccontextmanager
async def _prepared(_app: Any) -> AsyncIterator[None]:
    """Create or migrate the registry when the server starts, before anyone visits."""
    from nudge.registry import engine_from_settings, upgrade_database
    from nudge.settings import settings_from_env

    try:
        engine = engine_from_settings(settings_from_env())
        upgrade_database(engine)
        engine.dispose()
    except Exception as exc:  # the first visit tries again and says what is wrong in words
        logging.getLogger("nudge").warning("The registry is not ready at start-up: %s", exc)
    yield


if __name__ == "__main__":  # a visit: Streamlit runs this file as its script
    main()
else:  # imported by `streamlit run app.py` (or an ASGI server) to serve the app
    app = st.App(__file__, lifespan=_prepared)
