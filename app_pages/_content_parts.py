"""Parts of the Content page: browse, edit with inline checks, import and export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.content import (
    COLLECTIONS,
    THEMES,
    ContentLibrary,
    StaleVersionError,
    export_items,
    import_items,
    validate_items,
)
from nudge.content.campaign import CampaignSettings
from nudge.content.schema import FIELDS, PROVERB_KINDS, RU_KINDS, STATUSES
from nudge.content.search import search_ids
from nudge.i18n import Translator, problem_text
from nudge.ui import files as ui_files
from nudge.ui import library as ui_library
from nudge.ui.tables import localised

LONG_FIELDS = {"text_kk", "text_ru", "story_kk", "story_ru", "quote_kk", "quote_ru"}


def _namer(tr: Translator, section: str) -> Callable[[str], str]:
    """Return a ``format_func`` that says a code of `section` in the user's language."""
    return lambda code: tr(f"{section}.{code}")


def _collection_box(where: Any, label: str, key: str, tr: Translator) -> str:
    """Show a choice of collection (in `where`, a column or `st`) and return the one picked."""
    return str(
        where.selectbox(tr(label), COLLECTIONS, format_func=_namer(tr, "collections"), key=key)
    )


def browse(library: ContentLibrary, tr: Translator) -> None:
    """Show the library as a table with search and filters."""
    frame = library.frame()
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    text = c1.text_input(tr("content.search"), key="content_search")
    collections = c2.multiselect(
        tr("content.collection"),
        COLLECTIONS,
        format_func=_namer(tr, "collections"),
        key="content_filter_collection",
    )
    themes = c3.multiselect(
        tr("content.themes"), THEMES, format_func=_namer(tr, "themes"), key="content_theme"
    )
    status = c4.selectbox(
        tr("content.status"),
        ["active", "retired", "all"],
        format_func=lambda s: tr(f"content.{s}"),
        key="content_status",
    )
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


def editor(library: ContentLibrary, campaign: CampaignSettings, tr: Translator, *, by: str) -> None:
    """Add or edit one entry; problems are shown under the field they concern as you type.

    The form remembers the version of the entry it opened; a save on an entry that
    someone else changed since is refused (in the user's language) and offers to reload.
    """
    c1, c2 = st.columns(2)
    collection = _collection_box(c1, "content.collection", "content_edit_collection", tr)
    ids = [str(e.get("id")) for e in library.entries(collection)]
    choice = c2.selectbox(
        tr("content.entry"),
        ["", *ids],
        format_func=lambda i: i or tr("content.new"),
        key=f"content_entry_{collection}",
    )
    prefix, vkey = f"content_field_{collection}_{choice}_", f"content_version_{collection}_{choice}"
    if vkey not in st.session_state or not any(str(k).startswith(prefix) for k in st.session_state):
        st.session_state[vkey] = library.version(choice) if choice else None  # the opened version
    current = ui_library.entry_as_text(library.get(choice)[1]) if choice else {}
    if choice:
        st.caption(tr("content.entry_version", version=st.session_state[vkey]))
    raw: dict[str, Any] = {}
    for name in FIELDS[collection]:
        raw[name] = _field_input(name, current.get(name, ""), prefix + name, tr)
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
        _save(
            lambda: library.put(
                collection, raw, campaign=campaign, expected_version=st.session_state[vkey], by=by
            ),
            prefix,
            vkey,
            tr("content.saved", id=raw.get("id")),
        )
    if choice:
        retired = library.get(choice)[1].get("status") == "retired"
        change = library.restore if retired else library.retire
        if b2.button(
            tr("content.restore") if retired else tr("content.retire"), key="content_retire"
        ):
            _save(
                lambda: change(choice, expected_version=st.session_state[vkey], by=by),
                prefix,
                vkey,
                tr("content.saved", id=choice),
            )
    if st.session_state.get("content_stale") == prefix and st.button(
        tr("content.reload_entry"), key="content_reload", icon=":material/refresh:"
    ):
        _forget_form(prefix, vkey)
        st.rerun()


def _save(change: Any, prefix: str, vkey: str, done: str) -> None:
    """Store one change; on a stale version show the refusal and keep the user's text."""
    saved = False
    with ui.guarded():
        try:
            change()
            saved = True
        except StaleVersionError:
            st.session_state["content_stale"] = prefix
            raise
    if saved:
        _forget_form(prefix, vkey)
        ui.flash("success", done)
        st.rerun()


def _forget_form(prefix: str, vkey: str) -> None:
    """Drop the form's fields and opened version, so it shows the stored entry again."""
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]
    st.session_state.pop(vkey, None)
    st.session_state.pop("content_stale", None)


CHOICES = {
    "kind": ("entry_kinds", PROVERB_KINDS),
    "status": ("content", STATUSES),
    "text_ru_kind": ("ru_kinds", RU_KINDS),
}


def _field_input(name: str, value: str, key: str, tr: Translator) -> str:
    """Show one field of an entry: choices in the user's language, text fields as text."""
    label = tr(f"fields.{name}")
    if name in CHOICES:
        section, options = CHOICES[name]
        shown = ["", *options]
        index = shown.index(value) if value in shown else 0
        picked = st.selectbox(
            label,
            shown,
            index=index,
            key=key,
            format_func=lambda o: tr(f"{section}.{o}") if o else "—",
        )
        return str(picked)
    if name == "themes":
        chosen = [t.strip() for t in value.split(";") if t.strip() in THEMES]
        picked_themes = st.multiselect(
            label, THEMES, default=chosen, key=key, format_func=_namer(tr, "themes")
        )
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


def import_export(
    library: ContentLibrary, campaign: CampaignSettings, tr: Translator, *, by: str
) -> None:
    """Import entries from CSV, XLSX or YAML (with a per-row problem table); export a collection.

    The good rows are stored in one transaction, each on the version the page loaded.
    """
    upload = st.file_uploader(
        tr("content.import_file"), type=["csv", "xlsx", "yaml", "yml"], key="content_import"
    )
    if upload is not None and st.button(tr("content.import"), key="content_import_go"):
        with ui.guarded():
            report = ui_files.with_upload(
                upload.name,
                upload.getvalue(),
                lambda path: import_items(library, path, campaign=campaign, by=by),
            )
            summary = report.as_dict()
            st.success(
                tr(
                    "content.imported",
                    added=summary["added"],
                    updated=summary["updated"],
                    unchanged=summary["unchanged"],
                    rejected=summary["rejected"],
                )
            )
            problems = report.validation.errors + report.validation.warnings
            if problems:
                st.dataframe(_problem_table(problems, tr), hide_index=True, width="stretch")
    st.divider()
    collection = _collection_box(st, "content.export", "content_export_collection", tr)
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
