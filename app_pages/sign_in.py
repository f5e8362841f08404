"""Sign in, or create the first admin when the registry has no user yet."""

from __future__ import annotations

import streamlit as st

from app_pages import _shared as ui
from nudge.registry import add_user, authenticate, list_users

tr = ui.t()
st.title(tr("sign_in.title"))
st.caption(tr("app.tagline"))

with ui.guarded():
    first_run = not list_users(ui.engine())
    if first_run:
        st.info(tr("sign_in.first_run"), icon=":material/key:")
        with st.form("first_admin"):
            username = st.text_input(tr("sign_in.username"), key="first_username")
            password = st.text_input(tr("sign_in.password"), type="password", key="first_pw")
            again = st.text_input(tr("sign_in.password_again"), type="password", key="first_pw2")
            create = st.form_submit_button(tr("sign_in.create_admin"), type="primary")
        if create:
            if password != again:
                st.error(tr("sign_in.passwords_differ"))
            else:
                with ui.guarded():
                    add_user(ui.engine(), username=username, password=password, role="admin")
                    ui.signed_in(authenticate(ui.engine(), username, password))
                    st.rerun()
    else:
        with st.form("sign_in"):
            username = st.text_input(tr("sign_in.username"), key="username")
            password = st.text_input(tr("sign_in.password"), type="password", key="password")
            submitted = st.form_submit_button(tr("sign_in.submit"), type="primary")
        if submitted:
            with ui.guarded():
                ui.signed_in(authenticate(ui.engine(), username.strip(), password))
                st.rerun()
        st.caption(tr("sign_in.help"))
