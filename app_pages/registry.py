"""Registry: log installations with photo evidence, follow their status, import, publications."""

from __future__ import annotations

import streamlit as st

from app_pages import _registry_parts as parts
from app_pages import _shared as ui
from nudge.content import load_library

tr = ui.t()
lang = st.session_state["lang"]
user = ui.current_user()
st.title(tr("registry.title"))
ui.show_flash()
if user is None:
    st.stop()
library = None
with ui.guarded():
    library = load_library(ui.settings(), engine=ui.engine())

edits = user.can("edit_installations")
names = ["log", "list", "import", "publications"] if edits else ["list", "publications"]
tabs = dict(zip(names, st.tabs([tr(f"registry.tab_{n}") for n in names]), strict=True))
if edits:
    with tabs["log"]:
        with ui.guarded():
            parts.registry_map(tr, lang)
        parts.log_form(user, library, tr)
    with tabs["import"]:
        parts.import_tab(user, library, tr)
with tabs["list"], ui.guarded():
    parts.installations_list(user, tr, lang)
with tabs["publications"]:
    if user.can("log_publications"):
        parts.publications_tab(user, tr, lang)
    else:
        st.info(tr("common.not_allowed"))
