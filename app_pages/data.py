"""Data: load a city's public spaces from OpenStreetMap, list the datasets, map one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.i18n import format_number
from nudge.osm.datasets import dataset_summary, delete_dataset, list_datasets, rename_dataset
from nudge.osm.taxonomy import load_taxonomy
from nudge.ui import loading as ui_loading
from nudge.ui.maps import features_map, map_source

OSM_TYPES = ["osm", "pbf", "bz2", "json", "geojson"]
TABLE_TYPES = ["gpkg", "parquet", "csv", "zip"]
SHAPEFILE_PARTS = ["shp", "dbf", "shx", "prj", "cpg"]
UPLOAD_TYPES = [*OSM_TYPES, *TABLE_TYPES, *SHAPEFILE_PARTS]

tr = ui.t()
lang = st.session_state["lang"]
user = ui.current_user()
st.title(tr("data.title"))
ui.show_flash()


def _loaded(path: object) -> None:
    slug = getattr(path, "name", str(path))
    st.session_state["dataset_next"] = slug
    # a fresh uploader and name field: the next load never mixes in this one's files
    st.session_state["data_round"] = st.session_state.get("data_round", 0) + 1
    ui.flash("success", tr("data.loaded", name=slug))
    st.rerun()


if user is not None and user.role in ("admin", "planner"):
    upload, online, demo = st.tabs(
        [tr("data.tab_upload"), tr("data.tab_place"), tr("data.tab_demo")]
    )
    with upload:
        round_ = st.session_state.get("data_round", 0)
        files = st.file_uploader(
            tr("data.files"),
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            key=f"data_files_{round_}",
        )
        stem = files[0].name.split(".")[0] if files else ""
        name = st.text_input(
            tr("data.name"), key=f"data_name_{round_}", placeholder=stem or tr("data.name_hint")
        )
        if st.button(tr("data.load"), type="primary", key="data_load", disabled=not files):
            with ui.guarded(), st.spinner(tr("data.reading")):
                _loaded(
                    ui_loading.dataset_from_uploads(
                        ui.uploaded(files), settings=ui.settings(), name=name
                    )
                )
    with online:
        place = st.text_input(tr("data.place"), key="data_place", placeholder="Astana, Kazakhstan")
        st.caption(tr("data.place_help"))
        if st.button(tr("data.download"), key="data_download", disabled=not place.strip()):
            with ui.guarded(), st.status(tr("data.downloading"), expanded=False) as status:
                path = ui_loading.dataset_from_place_name(place, settings=ui.settings())
                status.update(label=tr("data.loaded", name=path.name), state="complete")
                _loaded(path)
    with demo:
        st.write(tr("data.demo_text"))
        for item in ui_loading.demos():
            st.markdown(f"**{tr('data.demo_' + item.slug.replace('-', '_'))}**")
            st.caption(tr("data.demo_source", attribution=item.attribution, date=item.date))
            if st.button(tr("data.demo_load"), key=f"data_demo_{item.slug}"):
                with ui.guarded(), st.spinner(tr("data.reading")):
                    _loaded(
                        ui_loading.dataset_from_paths(
                            [item.path], settings=ui.settings(), name=item.slug
                        )
                    )

st.subheader(tr("data.datasets"))
table = list_datasets(ui.settings().data_dir)
if table.empty:
    st.info(tr("common.no_dataset"), icon=":material/info:")
    st.stop()
st.dataframe(
    table[["slug", "features", "streets", "created", "source"]].rename(
        columns={
            c: tr(f"data.col_{c}") for c in ("slug", "features", "streets", "created", "source")
        }
    ),
    hide_index=True,
    width="stretch",
)

city = ui.need_dataset()
if city is None:
    st.stop()
summary = dataset_summary(city)
taxonomy = load_taxonomy()
labels = {c.key: c.label(lang) for c in taxonomy.categories}
st.subheader(tr("data.active", name=st.session_state["dataset"]))
if user is not None and user.role in ("admin", "planner"):
    with st.expander(tr("data.manage"), icon=":material/edit:"):
        c1, c2 = st.columns([3, 1])
        new_name = c1.text_input(tr("data.rename_to"), key="data_rename_to")
        if c2.button(tr("data.rename"), key="data_rename", disabled=not new_name.strip()):
            with ui.guarded():
                renamed = rename_dataset(ui.active_dataset_path() or "", new_name)
                st.session_state["dataset_next"] = renamed.name
                ui.flash("success", tr("data.renamed", name=renamed.name))
                st.rerun()
        sure = st.checkbox(
            tr("data.delete_confirm", name=st.session_state["dataset"]), key="data_delete_sure"
        )
        if st.button(tr("data.delete"), key="data_delete", disabled=not sure, type="primary"):
            with ui.guarded():
                gone = str(st.session_state["dataset"])
                delete_dataset(ui.active_dataset_path() or "")  # the sidebar then picks another
                ui.flash("success", tr("data.deleted", name=gone))
                st.rerun()
cols = st.columns(3)
cols[0].metric(tr("data.col_features"), format_number(summary["features"], lang))
cols[1].metric(tr("data.col_streets"), format_number(summary["streets"], lang))
cols[2].metric(tr("data.nodes"), format_number(summary["nodes"], lang))
counts = pd.DataFrame(
    [(labels.get(k, k), n) for k, n in summary["by_category"].items()],
    columns=[tr("data.category"), tr("data.count")],
)
left, right = st.columns([1, 2])
left.dataframe(counts, hide_index=True, width="stretch")
with right, ui.guarded():
    fmap = features_map(
        city.features, labels=labels, streets=city.streets, source=map_source(ui.settings())
    )
    ui.show_map(fmap, key="data_map", height=480)
