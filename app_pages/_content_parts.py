"""Parts of the Content page: browse, edit with inline checks, import and export, rotation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.content import (
    COLLECTIONS,
    THEMES,
    ContentLibrary,
    export_items,
    import_items,
    plan_rotation,
    validate_items,
)
from nudge.content.campaign import CampaignSettings
from nudge.content.library import search_ids
from nudge.content.rotation import SOLVERS as ROTATION_SOLVERS
from nudge.content.schema import FIELDS, PROVERB_KINDS, RU_KINDS, STATUSES
from nudge.i18n import Translator, notice_text, problem_text
from nudge.io.sheets import csv_bytes
from nudge.ui import campaign as ui_campaign
from nudge.ui import files as ui_files
from nudge.ui import installations as ui_installations
from nudge.ui import library as ui_library
from nudge.ui.tables import localised

LONG_FIELDS = {"text_kk", "text_ru", "story_kk", "story_ru", "quote_kk", "quote_ru"}


def browse(library: ContentLibrary, tr: Translator) -> None:
    """Show the library as a table with search and filters."""
    frame = library.frame()
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    text = c1.text_input(tr("content.search"), key="content_search")
    collections = c2.multiselect(
        tr("content.collection"), COLLECTIONS, format_func=lambda c: tr(f"collections.{c}"),
        key="content_filter_collection",
    )  # fmt: skip
    themes = c3.multiselect(
        tr("content.themes"), THEMES, format_func=lambda x: tr(f"themes.{x}"), key="content_theme"
    )
    status = c4.selectbox(
        tr("content.status"), ["active", "retired", "all"],
        format_func=lambda s: tr(f"content.{s}"), key="content_status",
    )  # fmt: skip
    keep = pd.Series(True, index=frame.index)
    if text.strip():
        keep &= frame["id"].isin(search_ids(library, text))
    if collections:
        keep &= frame["collection"].isin(collections)
    if themes:
        keep &= frame["themes"].map(lambda ts: bool(set(ts) & set(themes)))
    if status != "all":
        keep &= frame["status"] == status
    shown = frame[keep].assign(themes=frame["themes"].map(", ".join))
    st.caption(tr("content.shown", n=int(keep.sum()), total=len(frame)))
    columns = ["id", "collection", "kind", "themes", "status", "text_kk", "text_ru", "words"]
    st.dataframe(localised(shown[columns], tr), hide_index=True, width="stretch", height=420)


def editor(library: ContentLibrary, campaign: CampaignSettings, tr: Translator) -> None:
    """Add or edit one entry; problems are shown under the field they concern as you type."""
    c1, c2 = st.columns(2)
    collection = c1.selectbox(
        tr("content.collection"), COLLECTIONS, format_func=lambda c: tr(f"collections.{c}"),
        key="content_edit_collection",
    )  # fmt: skip
    ids = [str(e.get("id")) for e in library.entries(collection)]
    choice = c2.selectbox(
        tr("content.entry"), ["", *ids], format_func=lambda i: i or tr("content.new"),
        key=f"content_entry_{collection}",
    )  # fmt: skip
    current = ui_library.entry_as_text(library.get(choice)[1]) if choice else {}
    raw: dict[str, Any] = {}
    for name in FIELDS[collection]:
        key = f"content_field_{collection}_{choice}_{name}"
        raw[name] = _field_input(name, current.get(name, ""), key, tr)
    if not any(str(v).strip() for v in raw.values()):
        st.caption(tr("content.fill_in"))
        return
    report = validate_items(
        [raw], collection=collection, campaign=campaign, existing=library.entries(collection)
    )
    _problems(report, tr)
    b1, b2 = st.columns(2)
    if b1.button(
        tr("common.save"), type="primary", key="content_save", disabled=bool(report.errors)
    ):
        with ui.guarded():
            library.put(collection, raw, campaign=campaign)
            library.save()
            ui.flash("success", tr("content.saved", id=raw.get("id")))
            st.rerun()
    if choice:
        retired = library.get(choice)[1].get("status") == "retired"
        if b2.button(
            tr("content.restore") if retired else tr("content.retire"), key="content_retire"
        ):
            with ui.guarded():
                (library.restore if retired else library.retire)(choice)
                library.save()
                st.rerun()


CHOICES = {"kind": ("entry_kinds", PROVERB_KINDS), "status": ("content", STATUSES),
           "text_ru_kind": ("ru_kinds", RU_KINDS)}  # fmt: skip


def _field_input(name: str, value: str, key: str, tr: Translator) -> str:
    """Show one field of an entry: choices in the user's language, text fields as text."""
    label = tr(f"fields.{name}")
    if name in CHOICES:
        section, options = CHOICES[name]
        shown = ["", *options]
        index = shown.index(value) if value in shown else 0
        picked = st.selectbox(label, shown, index=index, key=key,
                              format_func=lambda o: tr(f"{section}.{o}") if o else "—")  # fmt: skip
        return str(picked)
    if name == "themes":
        chosen = [t.strip() for t in value.split(";") if t.strip() in THEMES]
        picked_themes = st.multiselect(label, THEMES, default=chosen, key=key,
                                       format_func=lambda x: tr(f"themes.{x}"))  # fmt: skip
        return "; ".join(picked_themes)
    widget = st.text_area if name in LONG_FIELDS else st.text_input
    return str(widget(label, value=value, key=key))


def _problems(report: Any, tr: Translator) -> None:
    if not report.problems:
        st.success(tr("content.valid"), icon=":material/check:")
    for p in report.problems:
        where = tr(f"fields.{p.column}") if p.column else tr("content.entry")
        text = problem_text(p, tr.lang)
        (st.error if p.severity == "error" else st.warning)(f"**{where}**: {text}")


def _problem_table(problems: list[Any], tr: Translator) -> pd.DataFrame:
    """Return the problems of an import as a table, each message in the user's language."""
    return pd.DataFrame(
        {
            tr("columns.problem_row"): [p.row for p in problems],
            "id": [p.id for p in problems],
            tr("columns.problem_column"): [p.column or "" for p in problems],
            tr("columns.problem_message"): [problem_text(p, tr.lang) for p in problems],
        }
    )


def import_export(library: ContentLibrary, campaign: CampaignSettings, tr: Translator) -> None:
    """Import entries from CSV, XLSX or YAML (with a per-row problem table); export a collection."""
    upload = st.file_uploader(
        tr("content.import_file"), type=["csv", "xlsx", "yaml", "yml"], key="content_import"
    )
    if upload is not None and st.button(tr("content.import"), key="content_import_go"):
        with ui.guarded():
            report = ui_files.with_upload(
                upload.name, upload.getvalue(),
                lambda path: import_items(library, path, campaign=campaign),
            )  # fmt: skip
            summary = report.as_dict()
            st.success(tr("content.imported", added=summary["added"], updated=summary["updated"],
                          rejected=summary["rejected"]))  # fmt: skip
            problems = report.validation.errors + report.validation.warnings
            if problems:
                st.dataframe(_problem_table(problems, tr), hide_index=True, width="stretch")
    st.divider()
    collection = st.selectbox(
        tr("content.export"), COLLECTIONS, format_func=lambda c: tr(f"collections.{c}"),
        key="content_export_collection",
    )  # fmt: skip
    cols = st.columns(2)
    for col, suffix in zip(cols, (".csv", ".xlsx"), strict=True):
        col.download_button(
            suffix.upper().lstrip("."),
            data=ui_files.file_bytes(
                lambda path: export_items(library, path, collection=collection), suffix
            ),
            file_name=f"{collection}{suffix}",
            key=f"content_export_{suffix}",
            icon=":material/download:",
        )


def rotation(
    library: ContentLibrary, campaign: CampaignSettings, plans: dict[str, Any], tr: Translator
) -> None:
    """Build a rotation calendar for a plan of this session and show what it gives."""
    if not plans:
        st.info(tr("content.no_plan"), icon=":material/info:")
        return
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
        solver = c1.selectbox(tr("content.solver"), ROTATION_SOLVERS, key="rotation_solver",
                              format_func=lambda s: tr(f"content.solver_{s}"),
                              help=tr("content.solver_help"))  # fmt: skip
        build = st.form_submit_button(tr("content.build"), type="primary")
    if build:
        city = ui.active_dataset()
        with ui.guarded(), st.spinner(tr("content.building")):
            st.session_state["rotation"] = plan_rotation(
                plans[label].chosen, library, flights=int(flights), start=start,
                campaign=campaign, flight_weeks=int(weeks), min_gap=int(gap),
                neighbour_distance=float(near), solver=solver, time_limit=60.0,
                features=None if city is None else city.features,
            )  # fmt: skip
    result = st.session_state.get("rotation")
    if result is not None:
        rotation_result(result, tr)


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
            st.dataframe(_violation_table(result.violations[:500], tr), hide_index=True,
                         width="stretch")  # fmt: skip
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
        tr("content.download_orders"), data=csv_bytes(result.print_orders),
        file_name="print_orders.csv", key="rotation_orders", icon=":material/download:",
    )  # fmt: skip
    c2.download_button(
        tr("content.download_workbook"), data=ui_library.rotation_workbook(result),
        file_name="rotation.xlsx", key="rotation_xlsx", icon=":material/download:",
    )  # fmt: skip
