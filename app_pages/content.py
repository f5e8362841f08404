"""Content and rotation: the proverb, dynasty and winner library, and the rotation calendar."""

from __future__ import annotations

import streamlit as st

from app_pages import _content_parts as parts
from app_pages import _rotation_parts
from app_pages import _shared as ui
from nudge.content import load_library
from nudge.content.campaign import campaign_for_settings

tr = ui.t()
st.title(tr("content.title"))
ui.show_flash()
library = campaign = None
with ui.guarded():
    library = load_library(ui.settings(), engine=ui.engine())
    campaign = campaign_for_settings(ui.settings())
if library is None or campaign is None:
    st.stop()
user = ui.current_user()
username = user.username if user is not None else ""
can_edit = user is not None and user.role in ("admin", "designer")
slug = st.session_state.get("dataset")
plans = {k: v[1] for k, v in st.session_state["plans"].items() if v[0] == slug}

names = ["browse", "edit", "files", "rotation"] if can_edit else ["browse", "rotation"]
tabs = dict(zip(names, st.tabs([tr(f"content.tab_{n}") for n in names]), strict=True))
with tabs["browse"]:
    parts.browse(library, tr)
if can_edit:
    with tabs["edit"]:
        parts.editor(library, campaign, tr, by=username)
    with tabs["files"]:
        parts.import_export(library, campaign, tr, by=username)
with tabs["rotation"]:
    _rotation_parts.rotation(library, campaign, plans, tr, owner=username or None, dataset=slug)
