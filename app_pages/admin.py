"""Administration: users and roles, campaign settings, the audit log."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.i18n import region_name
from nudge.registry import REGIONS, ROLES, add_user, audit_entries, list_users, update_user
from nudge.ui import campaign as ui_campaign
from nudge.ui.tables import localised

tr = ui.t()
lang = st.session_state["lang"]
user = ui.current_user()
st.title(tr("admin.title"))
ui.show_flash()
if user is None or user.role != "admin":
    st.error(tr("common.not_allowed"))
    st.stop()
codes = [r.code for r in REGIONS]


def region_label(code: str) -> str:
    return region_name(code, lang)


users_tab, campaign_tab, audit_tab = st.tabs(
    [tr("admin.tab_users"), tr("admin.tab_campaign"), tr("admin.tab_audit")]
)
with users_tab, ui.guarded():
    people = list_users(ui.engine())
    st.dataframe(
        localised(
            pd.DataFrame(
                [
                    {
                        "username": u.username,
                        "role": tr(f"roles.{u.role}"),
                        "regions": ", ".join(u.regions),
                        "active": u.active,
                    }
                    for u in people
                ]
            ),
            tr,
        ),
        hide_index=True,
        width="stretch",
    )
    with st.form("add_user", clear_on_submit=True):
        st.markdown(f"**{tr('admin.add_user')}**")
        c1, c2, c3, c4 = st.columns(4)
        name = c1.text_input(tr("sign_in.username"), key="new_username")
        password = c2.text_input(tr("sign_in.password"), type="password", key="new_password")
        role = c3.selectbox(
            tr("admin.role"),
            ROLES,
            index=ROLES.index("viewer"),
            format_func=lambda r: tr(f"roles.{r}"),
            key="new_role",
        )
        regions = c4.multiselect(
            tr("admin.regions"),
            codes,
            format_func=region_label,
            key="new_regions",
            help=tr("admin.regions_help"),
        )
        if st.form_submit_button(tr("admin.create"), type="primary"):
            with ui.guarded():
                add_user(
                    ui.engine(),
                    username=name.strip(),
                    password=password,
                    role=role,
                    regions=regions,
                    by=user,
                )
                ui.flash("success", tr("admin.created", name=name.strip()))
                st.rerun()
    st.markdown(f"**{tr('admin.change_user')}**")
    target = st.selectbox(tr("sign_in.username"), [u.username for u in people], key="edit_user")
    current = next(u for u in people if u.username == target)
    with st.form(f"edit_user_{target}"):
        c1, c2, c3, c4 = st.columns(4)
        role = c1.selectbox(
            tr("admin.role"),
            ROLES,
            index=ROLES.index(current.role),
            format_func=lambda r: tr(f"roles.{r}"),
        )
        regions = c2.multiselect(
            tr("admin.regions"), codes, default=list(current.regions), format_func=region_label
        )
        active = c3.checkbox(tr("admin.active"), value=current.active)
        password = c4.text_input(tr("admin.new_password"), type="password")
        if st.form_submit_button(tr("common.save"), key="edit_user_save"):
            with ui.guarded():
                update_user(
                    ui.engine(),
                    target,
                    by=user,
                    role=role,
                    regions=regions,
                    active=active,
                    password=password or None,
                )
                ui.flash("success", tr("admin.updated", name=target))
                st.rerun()

with campaign_tab, ui.guarded():
    options = ui_campaign.campaign_options(ui.settings())
    with st.form("campaign"):
        russian = st.checkbox(
            tr("admin.require_russian"),
            value=options.require_russian,
            help=tr("admin.require_russian_help"),
            key="campaign_russian",
        )
        weeks = st.number_input(tr("content.flight_weeks"), 1, 52, options.flight_weeks)
        buffer = st.number_input(tr("plan.buffer"), 0.0, 1000.0, options.exclusion_buffer_m)
        if st.form_submit_button(tr("common.save"), type="primary", key="campaign_save"):
            with ui.guarded():
                ui_campaign.save_campaign_options(
                    ui.settings(),
                    ui_campaign.CampaignOptions(bool(russian), int(weeks), float(buffer)),
                )
                st.success(tr("admin.saved"))

with audit_tab, ui.guarded():
    c1, c2, c3 = st.columns(3)
    tables = ["", "users", "installations", "publications", "flags", "planned_sites"]
    table = c1.selectbox(tr("admin.table"), tables, key="audit_table")
    who = c2.text_input(tr("sign_in.username"), key="audit_user")
    limit = c3.number_input(tr("admin.limit"), 10, 10_000, 200, key="audit_limit")
    entries = audit_entries(
        ui.engine(), table=table or None, username=who.strip() or None, limit=int(limit)
    )
    st.dataframe(
        localised(
            pd.DataFrame(
                [
                    {
                        "at": e.at,
                        "user": e.username,
                        "action": tr(f"audit_actions.{e.action}")
                        if tr.has(f"audit_actions.{e.action}")
                        else e.action,
                        "table": e.table,
                        "record": e.record_id,
                        "old": json.dumps(e.old, ensure_ascii=False),
                        "new": json.dumps(e.new, ensure_ascii=False),
                    }
                    for e in entries
                ]
            ),
            tr,
        ),
        hide_index=True,
        width="stretch",
    )
