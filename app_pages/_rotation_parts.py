"""Parts of the Content page: the rotation of entries over a plan's sites, saved and reopened."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.content import ContentLibrary, plan_rotation
from nudge.content.campaign import CampaignSettings
from nudge.content.rotation import SOLVERS as ROTATION_SOLVERS
from nudge.i18n import Translator, notice_text, problem_text
from nudge.io.sheets import csv_bytes
from nudge.ui import campaign as ui_campaign
from nudge.ui import evaluation_rollout as er
from nudge.ui import installations as ui_installations
from nudge.ui import library as ui_library
from nudge.ui.tables import localised


def rotation(
    library: ContentLibrary,
    campaign: CampaignSettings,
    plans: dict[str, Any],
    tr: Translator,
    *,
    owner: str | None = None,
    dataset: str | None = None,
) -> None:
    """Build a rotation calendar for a plan of this session, or reopen a saved one."""
    if owner is not None and dataset:
        _saved_rotations(library, campaign, tr, owner=owner, dataset=dataset)
    if not plans:
        st.info(tr("content.no_plan"), icon=":material/info:")
    else:
        _rotation_form(library, campaign, plans, tr)
    result = st.session_state.get("rotation")
    if result is not None:
        rotation_result(result, tr)
        if owner is not None and dataset and st.session_state.get("rotation_inputs"):
            _save_rotation(tr, owner=owner, dataset=dataset)


def _rotation_form(
    library: ContentLibrary, campaign: CampaignSettings, plans: dict[str, Any], tr: Translator
) -> None:
    options = ui_campaign.campaign_options(ui.settings())
    with st.form("rotation_form"):
        c1, c2, c3 = st.columns(3)
        label = c1.selectbox(tr("content.plan"), list(plans), key="rotation_plan")
        flights = c2.number_input(tr("content.flights"), 1, 52, 6, key="rotation_flights")
        weeks = c3.number_input(
            tr("content.flight_weeks"), 1, 52, options.flight_weeks, key="rotation_weeks"
        )
        next_week = ui_installations.today() + timedelta(days=7)
        start = c1.date_input(tr("content.start"), value=next_week, key="rotation_start")
        gap = c2.number_input(tr("content.min_gap"), 0, 52, 3, key="rotation_gap")
        near = c3.number_input(tr("content.neighbours"), 0.0, 5000.0, 500.0, key="rotation_near")
        solver = c1.selectbox(
            tr("content.solver"),
            ROTATION_SOLVERS,
            key="rotation_solver",
            format_func=lambda s: tr(f"content.solver_{s}"),
            help=tr("content.solver_help"),
        )
        rollout = _rollout_box(c2, tr)
        build = st.form_submit_button(tr("content.build"), type="primary")
    if not build:
        return
    params: dict[str, Any] = {
        "start": start,
        "flights": int(flights),
        "flight_weeks": int(weeks),
        "min_gap": int(gap),
        "neighbour_distance": float(near),
        "solver": solver,
    }
    city = ui.active_dataset()
    with ui.guarded(), st.spinner(tr("content.building")):
        starts = None if rollout is None else er.open_saved(ui.engine(), rollout)[1].region_starts()
        st.session_state["rotation"] = plan_rotation(
            plans[label].chosen,
            library,
            campaign=campaign,
            time_limit=60.0,
            features=None if city is None else city.features,
            region_starts=starts,
            **params,
        )
        params |= {"rollout": rollout, "region_starts": starts}
        st.session_state["rotation_inputs"] = (label, plans[label].chosen, params)
        st.session_state["rotation_saved"] = None


def _rollout_box(column: Any, tr: Translator) -> int | None:
    """Offer the saved rollouts: regions of the one picked stay dark until their first flight."""
    labels: dict[int | None, str] = {None: tr("rollout_flights.content_no_rollout")}
    labels |= {w.id: er.saved_label(w, tr) for w in er.saved(ui.engine())}
    picked: int | None = column.selectbox(
        tr("rollout_flights.content_rollout"),
        list(labels),
        key="rotation_rollout",
        format_func=labels.__getitem__,
    )
    return picked


def _saved_rotations(
    library: ContentLibrary,
    campaign: CampaignSettings,
    tr: Translator,
    *,
    owner: str,
    dataset: str,
) -> None:
    """List the user's saved rotations of this dataset and reopen one (every cell kept)."""
    saved = ui_library.saved_rotations(ui.engine(), dataset=dataset, owner=owner)
    if not saved:
        return
    with st.expander(f"{tr('content.saved_rotations')} ({len(saved)})"):
        names = {w.id: f"{w.name} · v{w.version} · {w.updated_at:%Y-%m-%d %H:%M}" for w in saved}
        work_id = st.selectbox(
            tr("content.saved_rotations"),
            list(names),
            format_func=names.__getitem__,
            key="rotation_saved_pick",
        )
        if not st.button(tr("content.open_rotation"), key="rotation_open"):
            return
        city = ui.active_dataset()
        with ui.guarded(), st.spinner(tr("content.building")):
            work = ui_library.open_rotation(ui.engine(), int(work_id), owner=owner)
            payload = work.payload or {}
            inputs = ui_library.rotation_inputs(payload)
            st.session_state["rotation"] = plan_rotation(
                items=library,
                campaign=campaign,
                time_limit=60.0,
                features=None if city is None else city.features,
                **inputs,
            )
            params = {k: payload.get(k) for k in ui_library.ROTATION_PARAMS}
            params |= {
                "start": inputs["start"],
                "rollout": payload.get("rollout"),
                "region_starts": inputs["region_starts"],
            }
            st.session_state["rotation_inputs"] = (payload.get("plan"), inputs["plan"], params)
            st.session_state["rotation_saved"] = (work.name, work.version)
            st.success(tr("content.rotation_opened", name=work.name, version=work.version))


def _save_rotation(tr: Translator, *, owner: str, dataset: str) -> None:
    """Save the shown rotation on the server under a name (a new version of a reopened one)."""
    label, sites, params = st.session_state["rotation_inputs"]
    opened = st.session_state.get("rotation_saved")
    c1, c2 = st.columns([3, 1])
    name = c1.text_input(
        tr("content.rotation_name"),
        value=opened[0] if opened else str(label),
        key="rotation_save_name",
    )
    if not c2.button(tr("content.save_rotation"), key="rotation_save", icon=":material/save:"):
        return
    expected = opened[1] if opened and opened[0] == name else None
    with ui.guarded():
        payload = ui_library.rotation_payload(
            str(label), sites, st.session_state["rotation"], params
        )
        work = ui_library.save_rotation(
            ui.engine(),
            dataset=dataset,
            owner=owner,
            name=name,
            payload=payload,
            expected_version=expected,
        )
        st.session_state["rotation_saved"] = (work.name, work.version)
        st.success(tr("content.rotation_saved", name=work.name, version=work.version))


def _violation_table(violations: list[Any], tr: Translator) -> pd.DataFrame:
    """Return the rules a rotation could not keep, each said in the user's language."""
    return pd.DataFrame(
        {
            tr("content.v_rule"): [tr(f"rules.{v.rule}") for v in violations],
            tr("content.v_site"): [v.site_id or "" for v in violations],
            tr("content.v_flight"): [v.flight for v in violations],
            tr("content.v_item"): [v.item_id or "" for v in violations],
            tr("content.v_message"): [problem_text(v, tr.lang) for v in violations],
        }
    )


def _why_here(match: Any, sites: list[str], item: str, tr: Translator) -> None:
    """Show the best entries of a site and why the chosen entry suits it, with reasons."""
    st.markdown(f"**{tr('content.why_title')}**")
    site = st.selectbox(tr("content.site"), sites, key="rotation_site")
    best = match.best_items(site, n=5, lang=tr.lang).rename(
        columns={
            "item_id": tr("content.best_item"),
            "score": tr("content.best_score"),
            "reasons": tr("content.best_reasons"),
        }
    )
    st.dataframe(best, hide_index=True, width="stretch")
    st.caption(tr("content.why_item", item=item))
    st.markdown(
        "\n".join(f"- {notice_text(r, tr.lang)}" for r in match.explain(site, item, tr.lang))
    )


def rotation_result(result: Any, tr: Translator) -> None:
    """Show a rotation: rule checks, calendar, an entry's exposure, print orders."""
    counts = result.violation_counts
    cols = st.columns(len(counts) + 1)
    cols[0].metric(tr("content.assignments"), result.assignments)
    if result.solver == "exact":
        st.caption(tr("content.solved", status=notice_text(result.status, tr.lang)))
    for col, (rule, n) in zip(cols[1:], counts.items(), strict=True):
        col.metric(tr(f"rules.{rule}"), n)
    if result.violations:
        with st.expander(f"{tr('content.violations')} ({len(result.violations)})"):
            st.dataframe(
                _violation_table(result.violations[:500], tr), hide_index=True, width="stretch"
            )
    st.markdown(f"**{tr('content.calendar')}**")
    st.dataframe(ui_library.calendar_with_texts(result), width="stretch")
    exposure = result.exposure
    item = st.selectbox(tr("content.item"), list(exposure["item_id"]), key="rotation_item")
    st.dataframe(
        localised(exposure[exposure["item_id"] == item], tr), hide_index=True, width="stretch"
    )
    rows = result.schedule[result.schedule["item_id"] == item]
    st.dataframe(localised(rows, tr), hide_index=True, width="stretch")
    _why_here(result.match, list(result.calendar.index), item, tr)
    st.markdown(f"**{tr('content.print_orders')}**")
    st.dataframe(localised(result.print_orders, tr), hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    c1.download_button(
        tr("content.download_orders"),
        data=csv_bytes(result.print_orders),
        file_name="print_orders.csv",
        key="rotation_orders",
        icon=":material/download:",
    )
    c2.download_button(
        tr("content.download_workbook"),
        data=ui_library.rotation_workbook(result),
        file_name="rotation.xlsx",
        key="rotation_xlsx",
        icon=":material/download:",
    )
