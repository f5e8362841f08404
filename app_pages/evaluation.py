"""Evaluation: did it work? Indicator 1, the values survey, exposure, the rollout, the analysis."""

from __future__ import annotations

import streamlit as st

from app_pages import _evaluation_parts as parts
from app_pages import _shared as ui

tr = ui.t()
st.title(tr("evaluation_page.title"))
st.caption(tr("evaluation_page.intro"))

names = ["events", "survey", "exposure", "rollout", "analysis"]
tabs = dict(zip(names, st.tabs([tr(f"evaluation_page.tab_{n}") for n in names]), strict=True))
survey = None
index = None
plan = None
with tabs["events"], ui.guarded():
    parts.events_tab(tr)
with tabs["survey"], ui.guarded():
    survey = parts.survey_source(tr)
    if survey is not None:
        index = parts.survey_tab(survey, tr)
with tabs["exposure"], ui.guarded():
    parts.exposure_tab(survey, index, tr)
with tabs["rollout"], ui.guarded():
    plan = parts.rollout_tab(tr)
with tabs["analysis"], ui.guarded():
    parts.analysis_tab(survey, plan, tr)

st.subheader(tr("evaluation_page.report"))
with ui.guarded():
    parts.report_download(survey, tr)
