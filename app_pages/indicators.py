"""Indicators: counts of installations and publications by region, month, kind and theme."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.i18n import format_number, region_name
from nudge.registry import build_report, list_installations, list_publications, write_report
from nudge.ui import files as ui_files
from nudge.ui import indicators as ui_indicators
from nudge.ui import installations as ui_installations
from nudge.ui.maps import map_source, regions_map
from nudge.ui.tables import localised

BREAKDOWNS = ("region", "month", "kind", "theme", "city")
MEASURES = (
    "installations",
    "installations_verified",
    "publications",
    "publications_verified",
    "installations_per_100k",
    "publications_per_100k",
)

tr = ui.t()
lang = st.session_state["lang"]
st.title(tr("indicators.title"))

c1, c2, c3, c4 = st.columns(4)
mode = c1.radio(
    tr("indicators.count"),
    ["active", "period"],
    key="ind_mode",
    format_func=lambda m: tr(f"indicators.mode_{m}"),
)
today = ui_installations.today()
active_on: date | None = None
date_from: date | None = None
date_to: date | None = None
if mode == "active":
    active_on = c2.date_input(tr("indicators.on"), today, key="ind_on")
else:
    date_from = c2.date_input(tr("common.date_from"), value=None, key="ind_from")
    date_to = c3.date_input(tr("common.date_to"), value=None, key="ind_to")
measure = c4.selectbox(
    tr("indicators.measure"),
    MEASURES,
    key="ind_measure",
    format_func=lambda m: tr(f"indicators.{m}"),
)

report = None
with ui.guarded(), st.spinner(tr("indicators.counting")):
    report = build_report(
        ui.engine(),
        breakdowns=BREAKDOWNS,
        active_on=active_on,
        date_from=date_from,
        date_to=date_to,
        populations=ui.populations(),
    )
if report is None:
    st.stop()
total = report.tables["region"].total
m = st.columns(5)
for col, key in zip(
    m,
    ("installations", "installations_verified", "publications", "publications_verified", "reach"),
    strict=True,
):
    col.metric(tr(f"indicators.{key}"), format_number(int(str(total.get(key) or 0)), tr.lang))

by_region = report.tables["region"].rows
values = ui_indicators.region_values(by_region, measure, ui.region_outlines(), ui.populations())
cities = ui_indicators.city_symbols(report, measure)
left, right = st.columns([3, 2])
with left, ui.guarded():
    names = {c: region_name(c, lang) for c in ui.region_outlines()}
    fmap = regions_map(
        ui.region_outlines(),
        values,
        names=names,
        caption=tr(f"indicators.{measure}"),
        unknown=tr("indicators.unknown"),
        cities=cities,
        points=report.installations[["lat", "lon"]].dropna(),
        source=map_source(ui.settings()),
    )
    ui.show_map(fmap, key="ind_map", height=440)
    top = max((v for v in values.values() if v is not None), default=0.0)
    st.caption(tr("indicators.scale", measure=tr(f"indicators.{measure}"), top=f"{top:,.4g}"))
with right:
    month = report.tables["month"].rows
    if len(month):
        series = month.set_index("month")[["installations", "publications"]]
        st.bar_chart(series.rename(columns=lambda c: tr(f"indicators.{c}")), height=240)
    else:
        st.info(tr("indicators.empty"))

tabs = st.tabs([tr(f"indicators.by_{b}") for b in BREAKDOWNS])
for tab, key in zip(tabs, BREAKDOWNS, strict=True):
    rows = report.tables[key].rows.drop(columns=["installation_ids", "publication_ids"])
    if key == "region":
        rows["region_name"] = rows["region"].map(lambda c: region_name(c, lang))
    tab.dataframe(localised(rows, tr), hide_index=True, width="stretch")

st.subheader(tr("indicators.drill"))
d1, d2 = st.columns(2)
breakdown = d1.selectbox(
    tr("indicators.breakdown"),
    BREAKDOWNS,
    key="ind_drill_by",
    format_func=lambda b: tr(f"indicators.by_{b}"),
)
table = report.tables[breakdown].rows
if len(table):
    keys = [str(k) for k in table[breakdown]]
    key = d2.selectbox(tr("indicators.value"), keys, key=f"ind_drill_{breakdown}")
    row = table[table[breakdown].astype(str) == key].iloc[0]
    with ui.guarded():
        inst = list_installations(ui.engine(), ids=list(row["installation_ids"]))
        pubs = list_publications(ui.engine(), ids=list(row["publication_ids"]))
        st.caption(tr("indicators.records", inst=len(inst), pubs=len(pubs)))
        cols = ("id", "kind", "status", "region_code", "city", "content_id", "installed_on")
        inst_rows = pd.DataFrame([{c: getattr(r, c) for c in cols} for r in inst])
        st.dataframe(localised(inst_rows, tr), hide_index=True, width="stretch")
        pcols = ("id", "kind", "title", "published_on", "region_code", "link", "reach")
        pub_rows = pd.DataFrame([{c: getattr(p, c) for c in pcols} for p in pubs])
        st.dataframe(localised(pub_rows, tr), hide_index=True, width="stretch")

st.subheader(tr("indicators.report"))
r1, r2 = st.columns(2)
for col, suffix in zip((r1, r2), (".xlsx", ".csv"), strict=True):
    col.download_button(
        tr("indicators.download", fmt=suffix.lstrip(".").upper()),
        data=ui_files.file_bytes(lambda p: write_report(report, p, lang=tr.lang), suffix),
        file_name=f"nudge-indicators-{today.isoformat()}{suffix}",
        key=f"ind_dl_{suffix}",
        icon=":material/download:",
    )
