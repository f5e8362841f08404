"""Parts of the Registry page: log an installation, list and change them, import, publications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
import streamlit as st

from app_pages import _shared as ui
from nudge.content.schema import THEMES
from nudge.i18n import Translator, notice_text, region_name
from nudge.registry import (
    INSTALLATION_KINDS,
    PUBLICATION_KINDS,
    REGIONS,
    STATUSES,
    TRANSITIONS,
    FlagRecord,
    ImportResult,
    UserInfo,
    change_status,
    get_installation,
    import_installations,
    import_publications,
    installations_frame,
    list_installations,
    list_publications,
    log_publication,
    photos_of_installation,
    planned_sites_frame,
    resolve_flag,
)
from nudge.ui import files as ui_files
from nudge.ui import installations as ui_installations
from nudge.ui import library as ui_library
from nudge.ui.maps import installations_map, interpret_click, map_source, pin_layer
from nudge.ui.tables import localised

IMPORT_TYPES = ["csv", "xlsx", "geojson", "json"]

REGION_CODES = [r.code for r in REGIONS]


def registry_map(tr: Translator, lang: str) -> None:
    """Show every installation on a map; a click drops the pin used by the logging form."""
    frame = installations_frame(ui.engine())
    st.caption(tr("registry.on_map", n=len(frame)))
    fmap = installations_map(
        frame,
        bounds=None if len(frame) else _home_bounds(),
        planned=planned_sites_frame(ui.engine(), regions=_my_regions()),
        planned_label=tr("registry.planned_sites"),
        status_labels={s: tr(f"statuses.{s}") for s in STATUSES},
        kind_labels={k: tr(f"installation_kinds.{k}") for k in INSTALLATION_KINDS},
        source=map_source(ui.settings()),
    )
    pin = st.session_state["registry_pin"]
    returned = ui.show_map(
        fmap, key="registry_map", height=400, layer=pin_layer(pin, label=tr("registry.pin"))
    )
    click = interpret_click(returned, previous=st.session_state["registry_click"])
    if click.point is not None:
        st.session_state["registry_click"] = click.point
        st.session_state["registry_pin"] = (round(click.point[0], 6), round(click.point[1], 6))
        st.rerun()


def _my_regions() -> list[str] | None:
    """Return a coordinator's regions (None: every region)."""
    user = ui.current_user()
    return list(user.regions) if user is not None and user.regions else None


def _home_bounds() -> list[float] | None:
    """Return where an empty registry map opens: the coordinator's regions, else the city."""
    user = ui.current_user()
    outlines = ui.region_outlines()
    shapes = [outlines[c] for c in (user.regions if user else ()) if c in outlines]
    if shapes:
        return [float(v) for v in shapely.total_bounds(shapes)]
    city = ui.active_dataset()
    bbox = city.meta.get("bbox") if city is not None else None
    return list(bbox) if bbox and len(bbox) == 4 else None


def log_form(user: UserInfo, library: Any, tr: Translator) -> None:
    """Log one installation with its photo (a file, or the camera's); show the flags it raised."""
    st.caption(tr("registry.pin_help"))
    locate_button(tr)
    camera = st.toggle(tr("registry.use_camera"), key="log_use_camera")
    pin = st.session_state["registry_pin"] or (None, None)
    choices = ui_library.content_choices(library) if library is not None else {}
    with st.form("log_installation", clear_on_submit=False):
        fields = _form_fields(pin, choices, tr)
        if camera:
            shot = st.camera_input(tr("registry.camera"), key="log_camera")
            photo = None
        else:
            shot = None
            photo = st.file_uploader(
                tr("registry.photo"), type=["jpg", "jpeg", "png", "webp"], key="log_photo"
            )
        submitted = st.form_submit_button(tr("registry.log"), type="primary")
    if not submitted:
        return
    content = fields["content_id"]
    themes = ui_library.themes_lookup(library)(content) if library is not None and content else ()
    upload = ui.uploaded(photo)
    source = ui_installations.photo_to_log(
        upload=upload[0] if upload else None, camera=shot.getvalue() if shot else None
    )
    _log(user, {**fields, "themes": themes}, source, tr)


def _form_fields(pin: tuple[Any, Any], choices: dict[str, str], tr: Translator) -> dict[str, Any]:
    """Draw the form's fields in rows of two (stacked on a phone); return their values."""
    c1, c2 = st.columns(2)
    lat = c1.number_input(
        tr("registry.lat"), -90.0, 90.0, value=pin[0], format="%.6f", key=f"log_lat_{pin[0]}"
    )
    lon = c2.number_input(
        tr("registry.lon"), -180.0, 180.0, value=pin[1], format="%.6f", key=f"log_lon_{pin[1]}"
    )
    c1, c2 = st.columns(2)
    kind = c1.selectbox(
        tr("registry.kind"),
        INSTALLATION_KINDS,
        format_func=lambda k: tr(f"installation_kinds.{k}"),
        key="log_kind",
    )
    content = c2.selectbox(
        tr("registry.content"),
        ["", *choices],
        format_func=lambda i: f"{i} · {choices[i]}" if i else "–",
        key="log_content",
    )
    c1, c2 = st.columns(2)
    installed = c1.date_input(
        tr("registry.installed_on"), value=ui_installations.today(), key="log_installed"
    )
    size = c2.text_input(tr("registry.size"), placeholder="6x3", key="log_size")
    c1, c2 = st.columns(2)
    facing = c1.number_input(tr("registry.facing"), 0.0, 360.0, value=None, key="log_facing")
    note = c2.text_input(tr("registry.note"), key="log_note")
    lit = st.checkbox(tr("registry.illuminated"), key="log_lit")
    return {
        "kind": kind,
        "lat": lat,
        "lon": lon,
        "installed_on": installed,
        "content_id": content or None,
        "size": size or None,
        "facing_deg": facing,
        "illuminated": lit,
        "note": note or None,
    }


def _log(
    user: UserInfo, fields: dict[str, Any], photo: tuple[str, bytes] | None, tr: Translator
) -> None:
    """Log the installation with its photo; flash what happened and start a fresh form."""
    with ui.guarded(), st.spinner(tr("registry.saving")):
        done = ui_installations.log_with_photo(
            ui.engine(),
            user=user,
            fields=fields,
            photo=photo,
            photo_dir=ui.settings().photo_dir,
            districts=ui.districts(str(ui.settings().data_dir)),
        )
        rec = done.record
        region = region_name(rec.region_code, st.session_state["lang"])
        lines = [tr("registry.logged", id=rec.id, region=region, city=rec.city or "–")]
        lines += [f"{tr('registry.flag')}: {flag_text(f, tr)}" for f in rec.open_flags]
        # shown after a rerun, so the map and its caption already count the new record
        ui.flash("warning" if rec.open_flags else "success", "  \n".join(lines))
        st.session_state["registry_pin"] = None
        st.rerun()


def locate_button(tr: Translator) -> None:
    """Offer "use my location": ask the browser where the phone is and put the pin there.

    The browser asks the user's permission first; a refusal or a phone without a
    fix is said in words. The position is only a pin: it goes through the same
    checks as a typed one when the installation is logged. The accuracy the
    browser reports is shown under the button while the pin stays there.
    """
    if st.button(tr("registry.locate"), icon=":material/my_location:", key="log_locate"):
        st.session_state["registry_geo_n"] = st.session_state.get("registry_geo_n", 0) + 1
        st.session_state["registry_locating"] = True
    located = st.session_state.get("registry_located")
    if located and st.session_state["registry_pin"] == located[:2] and located[2] is not None:
        st.caption(tr("registry.located", m=f"{located[2]:,.0f}".replace(",", " ")))
    if not st.session_state.get("registry_locating"):
        return
    from streamlit_js_eval import get_geolocation

    answer = get_geolocation(component_key=f"registry_geo_{st.session_state['registry_geo_n']}")
    pos = ui_installations.browser_position(answer)
    if pos is None:
        st.caption(tr("registry.locating"))
        return
    st.session_state["registry_locating"] = False
    if pos.error is not None or pos.lat is None or pos.lon is None:
        st.warning(
            tr(f"registry.locate_{pos.error or 'unavailable'}"), icon=":material/location_off:"
        )
        return
    st.session_state["registry_pin"] = (pos.lat, pos.lon)
    st.session_state["registry_located"] = (pos.lat, pos.lon, pos.accuracy_m)
    st.rerun()


def flag_text(flag: FlagRecord, tr: Translator) -> str:
    """Return a flag in the user's language: what it means, and how far and which record.

    English readers get the library's full explanation; the others get the
    same facts from the flag's fields (distance, other installation).
    """
    head = tr(f"flags.{flag.code}")
    if tr.lang == "en":
        return f"{head} ({flag.message})"
    facts = []
    if flag.distance_m is not None:
        facts.append(tr("flags.at_distance", m=f"{flag.distance_m:,.0f}".replace(",", " ")))
    if flag.other_installation_id is not None:
        facts.append(tr("flags.other_installation", id=flag.other_installation_id))
    return f"{head} ({', '.join(facts)})" if facts else head


def installations_list(user: UserInfo, tr: Translator, lang: str) -> None:
    """List installations with filters; show one with photos, flags and status changes."""
    c1, c2, c3 = st.columns(3)
    regions = c1.multiselect(
        tr("common.region"),
        REGION_CODES,
        default=list(user.regions) or None,
        format_func=lambda c: region_name(c, lang),
        key="reg_regions",
    )
    kinds = c2.multiselect(
        tr("registry.kind"),
        INSTALLATION_KINDS,
        key="reg_kinds",
        format_func=lambda k: tr(f"installation_kinds.{k}"),
    )
    statuses = c3.multiselect(
        tr("registry.status"),
        STATUSES,
        key="reg_statuses",
        format_func=lambda s: tr(f"statuses.{s}"),
    )
    records = list_installations(
        ui.engine(),
        regions=regions or None,
        kinds=kinds or None,
        statuses=statuses or None,
        limit=5000,
    )
    table = pd.DataFrame(
        [
            {
                "id": r.id,
                "kind": tr(f"installation_kinds.{r.kind}"),
                "status": tr(f"statuses.{r.status}"),
                "region_code": r.region_code,
                "city": r.city,
                "content": r.content_id,
                "installed_on": r.installed_on,
                "photos": len(r.photo_ids),
                "flags": len(r.open_flags),
            }
            for r in records
        ]
    )
    st.dataframe(localised(table, tr), hide_index=True, width="stretch", height=300)
    if records:
        ids = [r.id for r in records]
        picked = st.selectbox(tr("registry.pick"), ids, index=len(ids) - 1, key="reg_pick")
        details(int(picked), user, tr)


def details(installation_id: int, user: UserInfo, tr: Translator) -> None:
    """Show one installation: photos, flags (resolvable) and the next statuses."""
    with ui.guarded():
        rec = get_installation(ui.engine(), installation_id)
        st.markdown(
            f"**#{rec.id}** · {tr(f'statuses.{rec.status}')} · {rec.lat:.5f}, {rec.lon:.5f}"
        )
        photos = photos_of_installation(ui.engine(), rec.id, photo_dir=ui.settings().photo_dir)
        if photos:
            st.image([str(p.path) for p in photos if p.path.is_file()], width=220)
        for flag in rec.open_flags:
            c1, c2 = st.columns([3, 1])
            c1.warning(flag_text(flag, tr), icon=":material/flag:")
            why = c2.text_input(tr("registry.resolve_note"), key=f"flag_note_{flag.id}")
            if c2.button(tr("registry.resolve"), key=f"flag_{flag.id}", disabled=not why.strip()):
                with ui.guarded():
                    resolve_flag(ui.engine(), flag.id, user=user, note=why)
                    st.rerun()
        nexts = [s for s in STATUSES if s in TRANSITIONS.get(rec.status, ())]  # in lifecycle order
        if nexts and user.can("edit_installations", rec.region_code):
            c1, c2, c3 = st.columns(3)
            new = c1.selectbox(
                tr("registry.new_status"),
                nexts,
                key=f"status_{rec.id}",
                format_func=lambda s: tr(f"statuses.{s}"),
            )
            note = c2.text_input(tr("registry.note"), key=f"status_note_{rec.id}")
            if c3.button(tr("registry.change"), key=f"status_go_{rec.id}"):
                with ui.guarded():
                    change_status(
                        ui.engine(),
                        rec.id,
                        new,
                        user=user,
                        note=note or None,
                        expected_version=rec.version,
                    )
                    ui.flash("success", tr("registry.changed", id=rec.id))
                    st.rerun()


def import_tab(user: UserInfo, library: Any, tr: Translator) -> None:
    """Import installations from a spreadsheet; show the problems of each refused row."""

    def store(path: Path) -> ImportResult:
        lookup = ui_library.themes_lookup(library) if library is not None else None
        layer = ui.districts(str(ui.settings().data_dir))
        return import_installations(ui.engine(), path, user=user, themes_of=lookup, districts=layer)

    _import_upload(tr, store, key="reg_import", texts="registry.")


def _publications_import(user: UserInfo, tr: Translator) -> None:
    """Import publications from a spreadsheet; show the problems of each refused row."""

    def store(path: Path) -> ImportResult:
        layer = ui.districts(str(ui.settings().data_dir))
        return import_publications(ui.engine(), path, user=user, districts=layer)

    _import_upload(tr, store, key="pub_import", texts="registry.pub_")


def _import_upload(
    tr: Translator, store: Callable[[Path], ImportResult], *, key: str, texts: str
) -> None:
    """Store an uploaded spreadsheet with `store`; say what was kept, show each refused row.

    `texts` starts the locale keys of the help (``<texts>import_help``) and of
    the result (``<texts>imported``); `key` names the widgets.
    """
    st.caption(tr(f"{texts}import_help"))
    upload = st.file_uploader(tr("registry.import_file"), type=IMPORT_TYPES, key=key)
    if upload is None or not st.button(tr("registry.import"), key=f"{key}_go"):
        return
    with ui.guarded(), st.spinner(tr("registry.saving")):
        result = ui_files.with_upload(upload.name, upload.getvalue(), store)
        counts = {"stored": result.stored, "skipped": result.skipped_existing}
        errors = {"errors": len(result.errors), "flagged": result.flagged_duplicates}
        st.success(tr(f"{texts}imported", **counts, **errors))
        for warning in result.warnings:
            st.warning(notice_text(warning, tr.lang))
        if result.errors:
            ui.show_problems(result.errors, tr)


def publications_tab(user: UserInfo, tr: Translator, lang: str) -> None:
    """Log a publication or event, and list the latest ones."""
    with st.form("publication"):
        c1, c2, c3 = st.columns(3)
        kind = c1.selectbox(
            tr("registry.pub_kind"),
            PUBLICATION_KINDS,
            key="pub_kind",
            format_func=lambda k: tr(f"publication_kinds.{k}"),
        )
        title = c2.text_input(tr("registry.title_field"), key="pub_title")
        day = c3.date_input(
            tr("registry.published_on"), value=ui_installations.today(), key="pub_day"
        )
        region = c1.selectbox(
            tr("common.region"),
            list(user.regions) or REGION_CODES,
            key="pub_region",
            format_func=lambda c: region_name(c, lang),
        )
        link = c2.text_input(tr("registry.link"), key="pub_link", placeholder="https://")
        reach = c3.number_input(tr("registry.reach"), 0, value=None, key="pub_reach")
        themes = c1.multiselect(
            tr("content.themes"), THEMES, key="pub_themes", format_func=lambda x: tr(f"themes.{x}")
        )
        note = c2.text_input(tr("registry.note"), key="pub_note")
        go = st.form_submit_button(tr("registry.log_publication"), type="primary")
    if go:
        with ui.guarded():
            pub = log_publication(
                ui.engine(),
                user=user,
                kind=kind,
                title=title,
                published_on=day,
                region=region,
                link=link or None,
                reach=int(reach) if reach is not None else None,
                themes=themes,
                note=note or None,
            )
            st.success(tr("registry.pub_logged", id=pub.id))
    with st.expander(tr("registry.pub_import_title"), icon=":material/upload_file:"):
        _publications_import(user, tr)
    pubs = list_publications(ui.engine())[-200:]
    if pubs:
        frame = pd.DataFrame([asdict(p) for p in pubs])
        frame["themes"] = frame["themes"].map(", ".join)
        st.dataframe(localised(frame, tr), hide_index=True, width="stretch")
