"""Plan: score candidate sites, pick, lock or exclude them on the map, run and compare plans."""

from __future__ import annotations

import folium
import streamlit as st

from app_pages import _plan_parts as parts
from app_pages import _shared as ui
from app_pages._cached_map import MapParts, cached_parts, show_cached_map
from nudge.i18n import format_number, notice_text
from nudge.placement import ScoreResult
from nudge.placement.selection import KINDS
from nudge.ui import campaign as ui_campaign
from nudge.ui import loading as ui_loading
from nudge.ui import planning as ui_planning
from nudge.ui.maps import (
    CandidateLabels,
    candidates_map,
    map_source,
    marks_layer,
    rescore_script,
    score_legend_html,
)

tr = ui.t()
st.title(tr("plan.title"))
ui.show_flash()
city = ui.need_dataset()
if city is None:
    st.stop()
folder = ui.active_dataset_path()
slug = str(st.session_state["dataset"])
options = ui_campaign.campaign_options(ui.settings())

c1, c2, c3, c4 = st.columns(4)
kind = c1.selectbox(tr("plan.kind"), KINDS, format_func=lambda k: tr(f"kinds.{k}"), key="plan_kind")
profile = c2.selectbox(
    tr("plan.profile"), KINDS, index=KINDS.index(kind), format_func=lambda k: tr(f"kinds.{k}"),
    key=f"plan_profile_{kind}", help=tr("plan.profile_help"),
)  # fmt: skip
spacing = c3.number_input(tr("plan.spacing"), 10.0, 1000.0, 50.0, step=10.0, key="plan_spacing")
buffer = c4.number_input(
    tr("plan.buffer"), 0.0, 1000.0, float(options.exclusion_buffer_m), step=10.0, key="plan_buffer"
)

base = None
with ui.guarded(), st.spinner(tr("plan.scoring")):
    base = ui.cached_scores(
        str(folder), ui_loading.dataset_stamp(str(folder)),
        kind=kind, profile=profile, spacing=float(spacing), buffer=float(buffer),
    )  # fmt: skip
if base is None:
    st.stop()
with st.expander(tr("plan.validate_title"), icon=":material/query_stats:"):
    st.caption(tr("plan.validate_help"))
    parts.validation_panel(city, profile, tr, prefix=f"w_{kind}_{profile}")
with st.expander(tr("plan.weights"), icon=":material/tune:"):
    weights = parts.weight_sliders(base, tr, prefix=f"w_{kind}_{profile}")
scores, rescoring, candidates = base, rescore_script(None), base.candidates
token = repr((str(folder), ui_loading.dataset_stamp(str(folder)), kind, profile, spacing, buffer))
with ui.guarded():
    scores, rescoring = parts.rescored(token, tuple(sorted(weights.items())), base)
st.caption(tr("plan.proxy_note"))
for note in scores.warnings:
    st.warning(notice_text(note, tr.lang))

plans: dict = st.session_state["plans"]
mine = {k: v for k, v in plans.items() if v[0] == slug}
shown = next((p for _, (_, p) in reversed(list(mine.items())) if p.kind == kind), None)
words = CandidateLabels(
    score=tr("plan.score"), rank=tr("plan.rank"), excluded=tr("plan.excluded"),
    locked=tr("plan.locked"), chosen=tr("plan.chosen"), site=tr("plan.site"),
    decimal=format_number(1.5, tr.lang, decimals=1)[1],
)  # fmt: skip
source, streets = map_source(ui.settings()), city.streets


def _build_map() -> folium.Map:
    """Draw the sites with the scores of the profile's weights (new weights: `rescoring`)."""
    return candidates_map(candidates, streets=streets, labels=words, source=source)


@st.fragment
def map_and_panel(drawn: MapParts, scores: ScoreResult, rescoring: str) -> None:
    """Show the map and the picked site; a click or a lock reruns only this part.

    The map is drawn once per set of candidates; new weights (`rescoring`), marks and the
    shown plan's sites reach the drawn map without reloading it.
    """
    map_key, candidates = f"plan_map_{slug}_{kind}", scores.candidates
    click = ui_planning.site_from_click(
        st.session_state.get(map_key), candidates, previous=st.session_state["plan_click"]
    )
    st.session_state["plan_click"] = click.seen
    if click.site_id is not None:  # a cluster click only zooms: the selection stays
        st.session_state["plan_selected"] = click.site_id
    map_col, side_col = st.columns([3, 2])
    with map_col:
        marks = marks_layer(
            candidates,
            locked=st.session_state["plan_locked"],
            excluded=st.session_state["plan_excluded"],
            selected=st.session_state["plan_selected"],
            chosen=None if shown is None else shown.chosen,
            labels=words,
        )
        show_cached_map(drawn, key=map_key, height=560, layer=marks, script=rescoring)
        st.markdown(
            score_legend_html(tr("plan.legend_low"), tr("plan.legend_high"), tr("plan.excluded")),
            unsafe_allow_html=True,  # our own labels, escaped by score_legend_html
        )
        n_total, n_out = len(candidates), int(candidates["excluded"].sum())
        counts = {"n": format_number(n_total, tr.lang), "excluded": format_number(n_out, tr.lang)}
        st.caption(tr("plan.counts", **counts))  # 25 602, the Kazakh way
    with side_col:
        site = parts.site_panel(scores, tr)
        locked, excluded = st.session_state["plan_locked"], st.session_state["plan_excluded"]
        st.caption(tr("plan.lock_state", locked=len(locked), excluded=len(excluded)))
    if site is not None:
        parts.signal_table(scores, site, tr)


map_and_panel(cached_parts(repr((token, words, source)), _build_map), scores, rescoring)

st.subheader(tr("plan.run_title"))
asked = parts.plan_form(kind, tr)
if asked is not None:
    request, districts_file, label = asked
    with ui.guarded(), st.spinner(tr("plan.running")):
        districts = None
        if districts_file is not None:
            districts = ui_planning.districts_from_upload(
                districts_file.name, districts_file.getvalue()
            )
        plan = ui_planning.plan_from_scores(scores, city, request, districts=districts)
        name = label.strip() or f"{slug} · {tr(f'kinds.{kind}')} · {len(mine) + 1}"
        plans[name] = (slug, plan)
        st.session_state["plan_shown"] = name
        st.session_state["plan_result_pick"] = name  # the new plan replaces the shown one
        share = format_number(100 * plan.covered_share, tr.lang, decimals=1)  # 18,8 in kk and ru
        ui.flash("success", tr("plan.done", name=name, share=share))
        st.rerun()

owner = user.username if (user := ui.current_user()) is not None else ""
if owner:
    parts.saved_plans(plans, slug, tr, owner=owner)
mine = {k: v[1] for k, v in plans.items() if v[0] == slug}
if mine:
    st.subheader(tr("plan.results"))
    labels = list(mine)
    current = st.session_state.get("plan_shown")
    label = st.selectbox(
        tr("plan.shown"), labels, index=labels.index(current) if current in labels else 0,
        key="plan_result_pick",
    )  # fmt: skip
    parts.plan_results(mine[label], label, tr)
    if owner:
        parts.save_plan(mine[label], label, slug, tr, owner=owner)
    if len(mine) >= 2:
        st.subheader(tr("plan.compare"))
        parts.comparison(mine, tr)
