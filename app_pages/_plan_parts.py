"""Parts of the Plan page: weight sliders, the picked site, the plan form, results, comparison."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.i18n import Translator, format_number, notice_text
from nudge.placement import SIGNALS, ScoreResult
from nudge.placement.compare import compare_plans
from nudge.placement.plan_files import plan_to_file
from nudge.placement.selection import SOLVERS, PlanResult
from nudge.registry import import_plan
from nudge.ui import files as ui_files
from nudge.ui import planning as ui_planning
from nudge.ui.maps import rescore_script
from nudge.ui.tables import localised

EXPORTS = {".geojson": "GeoJSON", ".gpkg": "GeoPackage", ".csv": "CSV", ".xlsx": "Excel"}


def weight_sliders(base: ScoreResult, tr: Translator, *, prefix: str) -> dict[str, float]:
    """Show one slider per signal (starting at the profile's weight) and return the weights."""
    weights = {}
    cols = st.columns(3)
    for i, signal in enumerate(SIGNALS):
        key = f"{prefix}_{signal}"
        if key not in st.session_state:  # set here once; fitted weights may replace it later
            st.session_state[key] = float(base.profile.weights.get(signal, 0.0))
        weights[signal] = cols[i % 3].slider(
            tr(f"signals.{signal}"),
            min_value=0.0,
            max_value=1.0,
            step=0.05,
            key=key,
            help=tr(f"signals.{signal}_help"),
        )
    return weights


@st.cache_resource(show_spinner=False, max_entries=16)
def rescored(
    token: str, weights: tuple[tuple[str, float], ...], _base: ScoreResult
) -> tuple[ScoreResult, str]:
    """Return the scores of `_base` with new weights and the script that shows them on its map.

    Cached per `token` (what `_base` was scored from) and weights, shared read-only like
    `_base`: moving a slider back, or a rerun of the page, costs nothing.
    """
    del token  # the cache key only
    scores = ui_planning.reweighted(_base, dict(weights))
    if scores is _base:
        return scores, rescore_script(None)
    cands = scores.candidates
    if not cands.index.equals(_base.candidates.index):  # the map's order, site by site
        cands = cands.reindex(_base.candidates.index)
    return scores, rescore_script(cands)


def _toggle(key: str, site: str) -> None:
    items = list(st.session_state[key])
    st.session_state[key] = [i for i in items if i != site] if site in items else [*items, site]


def site_panel(scores: ScoreResult, tr: Translator) -> str | None:
    """Show the picked candidate: score, band, lock and exclude; return its id."""
    cands = scores.candidates
    top = cands[~cands["excluded"].to_numpy(dtype=bool)].sort_values("score", ascending=False)
    options = list(dict.fromkeys([*top.index[:50].astype(str)]))
    picked = st.session_state.get("plan_selected")
    if picked in cands.index and picked not in options:
        options.insert(0, picked)
    if not options:
        return None
    labels = _site_labels(cands, options, tr.lang)
    site = st.selectbox(
        tr("plan.site"),
        options,
        index=options.index(picked) if picked in options else 0,
        format_func=labels.__getitem__,
        key=f"plan_pick_{picked}",
        help=tr("plan.site_help"),
        on_change=_picked,  # before the rerun: the map rings the new site at once
        args=(f"plan_pick_{picked}",),
    )
    st.session_state["plan_selected"] = site
    row = cands.loc[site]
    c1, c2 = st.columns(2)
    one = functools.partial(format_number, lang=tr.lang, decimals=1)  # 52,3 in kk and ru
    c1.metric(tr("plan.score"), one(row["score"]))
    c2.metric(tr("plan.rank"), "–" if pd.isna(row["rank"]) else format_number(row["rank"], tr.lang))
    if "score_low" in cands.columns:
        st.caption(tr("plan.band", low=one(row["score_low"]), high=one(row["score_high"])))
    if bool(row["excluded"]):
        st.warning(tr("plan.excluded_because", reason=row.get("exclusion_reason") or "–"))
    locked, excluded = st.session_state["plan_locked"], st.session_state["plan_excluded"]
    b1, b2 = st.columns(2)
    b1.button(
        tr("plan.unlock") if site in locked else tr("plan.lock"),
        key="plan_lock",
        on_click=_toggle,
        args=("plan_locked", site),
        icon=":material/lock:",
    )
    b2.button(
        tr("plan.include") if site in excluded else tr("plan.exclude"),
        key="plan_exclude",
        on_click=_toggle,
        args=("plan_excluded", site),
        icon=":material/block:",
    )
    return str(site)


def signal_table(scores: ScoreResult, site: str, tr: Translator) -> None:
    """Show why a site scores as it does: each signal's value, weight and points (as bars).

    Drawn under the map at the page's full width, so long signal names and the bars of the
    points column are never cut or clipped.
    """
    table = ui_planning.contribution_table(scores, site)
    table["signal"] = [tr(f"signals.{s}") for s in table["signal"]]
    names = {c: tr(f"plan.col_{c}") for c in table.columns}
    st.dataframe(
        table.rename(columns=names).round(3),
        hide_index=True,
        width="stretch",
        column_config={
            names["signal"]: st.column_config.TextColumn(width="large"),
            names["points"]: st.column_config.ProgressColumn(
                format="%.1f", min_value=0.0, max_value=100.0, width="medium"
            ),
        },
    )


def _picked(key: str) -> None:
    st.session_state["plan_selected"] = st.session_state[key]


def _site_labels(cands: pd.DataFrame, options: list[str], lang: str) -> dict[str, str]:
    """Return "score · name" (or the id) of each option, with one look-up for all."""
    rows = cands.loc[options]
    scores = pd.to_numeric(rows["score"], errors="coerce").to_numpy(dtype=float)
    names = rows["name"].astype(object).to_numpy() if "name" in rows else [None] * len(options)
    return {
        site: f"{format_number(score, lang, decimals=1)} · "
        f"{name if isinstance(name, str) and name else site}"
        for site, score, name in zip(options, scores, names, strict=True)
    }


def plan_form(kind: str, tr: Translator) -> tuple[ui_planning.PlanRequest, Any, str] | None:
    """Show the plan settings; return the request, districts upload and label when run."""
    with st.form("plan_form"):
        c1, c2, c3 = st.columns(3)
        mode = c1.radio(
            tr("plan.limit"), ["count", "budget"], format_func=lambda m: tr(f"plan.by_{m}"),
            key="plan_mode", horizontal=True,
        )  # fmt: skip
        count = c1.number_input(tr("plan.count"), 1, 5000, 10, key="plan_count")
        # whole tenge and metres: no ".00" a Kazakh reader does not write
        budget = c2.number_input(tr("plan.budget"), 0.0, value=1_000_000.0, step=100_000.0,
                                 format="%.0f", key="plan_budget")  # fmt: skip
        cost = c2.number_input(tr("plan.cost"), 1.0, value=100_000.0, step=10_000.0,
                               format="%.0f", key="plan_cost")  # fmt: skip
        spacing = c3.number_input(tr("plan.min_spacing"), 0.0, 5000.0, 250.0, step=10.0,
                                  format="%.0f", key="plan_min_sp")  # fmt: skip
        radius = c3.number_input(tr("plan.radius"), 0.0, 5000.0, 0.0, step=10.0,
                                 format="%.0f", key="plan_radius")  # fmt: skip
        d1, d2, d3 = st.columns(3)
        districts = d1.file_uploader(
            tr("plan.districts"), type=["geojson", "json", "gpkg"], key="plan_districts"
        )
        quota = d2.text_input(tr("plan.quota"), key="plan_quota", help=tr("plan.quota_help"))
        solver = d3.selectbox(
            tr("plan.solver"), SOLVERS, format_func=lambda s: tr(f"plan.solver_{s}"),
            key="plan_solver",
        )  # fmt: skip
        label = d3.text_input(tr("plan.label"), key="plan_label", placeholder=tr("plan.label_hint"))
        run = st.form_submit_button(tr("plan.run"), type="primary", icon=":material/play_arrow:")
    if not run:
        return None
    request = ui_planning.PlanRequest(
        kind=kind,
        count=int(count) if mode == "count" else None,
        budget=float(budget) if mode == "budget" else None,
        cost=float(cost) if mode == "budget" else None,
        min_spacing=float(spacing),
        radius=float(radius) if radius > 0 else None,
        quota=quota or None,
        solver=str(solver),
        locked=tuple(st.session_state["plan_locked"]),
        excluded=tuple(st.session_state["plan_excluded"]),
    )
    return request, districts, label


def plan_results(plan: PlanResult, label: str, tr: Translator) -> None:
    """Show a plan: figures, chosen sites, districts, explanation, exports."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(tr("plan.sites"), len(plan.chosen))
    c2.metric(
        tr("plan.covered"), format_number(100 * plan.covered_share, tr.lang, decimals=1) + "%"
    )
    c3.metric(tr("plan.gap"), format_number(100 * plan.gap, tr.lang, decimals=2) + "%")
    c4.metric(tr("plan.seconds"), format_number(plan.seconds, tr.lang, decimals=2))
    for warning in plan.warnings:
        st.warning(notice_text(warning, tr.lang))
    table = pd.DataFrame(plan.chosen.drop(columns="geometry"))
    st.dataframe(localised(table, tr), hide_index=True, width="stretch")
    if plan.by_district:
        st.markdown(f"**{tr('plan.by_district')}**")
        frame = pd.DataFrame.from_dict(plan.by_district, orient="index").drop(columns="site_ids")
        st.dataframe(localised(frame, tr), width="stretch")
    with st.expander(tr("plan.explanation")):
        st.text(ui_planning.explanation_text(plan, tr.lang))
    cols = st.columns(len(EXPORTS) + 1)
    for col, (suffix, name) in zip(cols, EXPORTS.items(), strict=False):
        col.download_button(
            name,
            data=ui_files.file_bytes(lambda p: plan_to_file(plan, p), suffix),
            file_name=f"{label}{suffix}".replace(" ", "_").replace("·", "-"),
            key=f"plan_dl_{suffix}",
            icon=":material/download:",
        )
    user = ui.current_user()
    if user is not None and user.can("edit_plans") and cols[-1].button(
        tr("plan.to_registry"), key="plan_store", icon=":material/save:"
    ):  # fmt: skip
        with ui.guarded():
            result = import_plan(ui.engine(), plan.chosen, user=user, plan_name=label)
            st.success(tr("plan.stored", n=result.stored, skipped=result.skipped_existing))


def comparison(plans: dict[str, PlanResult], tr: Translator) -> None:
    """Compare two plans of the session: shared sites and coverage by district."""
    labels = list(plans)
    c1, c2 = st.columns(2)
    a = c1.selectbox(tr("plan.plan_a"), labels, index=0, key="plan_cmp_a")
    b = c2.selectbox(tr("plan.plan_b"), labels, index=len(labels) - 1, key="plan_cmp_b")
    cmp = compare_plans(plans[a], plans[b])
    m1, m2, m3 = st.columns(3)
    m1.metric(tr("plan.common"), len(cmp.common))
    m2.metric(tr("plan.only", plan="A"), len(cmp.only_a))
    m3.metric(
        tr("plan.only", plan="B"),
        len(cmp.only_b),
        delta=f"{100 * (cmp.share_b - cmp.share_a):+.1f}%",
    )
    if cmp.by_district:
        st.dataframe(localised(pd.DataFrame.from_dict(cmp.by_district, orient="index"), tr))


def validation_panel(city: Any, profile: str, tr: Translator, *, prefix: str) -> None:
    """Check the score against measured counts the planner uploads; offer the fitted weights."""
    with st.form(f"validate_{profile}"):
        upload = st.file_uploader(
            tr("plan.validate_file"), type=["csv", "xlsx", "geojson", "json"],
            help=tr("plan.validate_file_help"),
        )  # fmt: skip
        what = st.radio(
            tr("plan.validate_what"), ["boardings", "pedestrians"], horizontal=True,
            format_func=lambda w: tr(f"plan.validate_{w}"),
        )  # fmt: skip
        run = st.form_submit_button(tr("plan.validate_run"), icon=":material/query_stats:")
    if run and upload is not None:
        with ui.guarded(), st.spinner(tr("plan.validate_running")):
            st.session_state[f"{prefix}_validation"] = ui_planning.validation_from_upload(
                upload.name, upload.getvalue(), city, profile=profile, what=what
            )
    result = st.session_state.get(f"{prefix}_validation")
    if result is None:
        return
    names = ("predictor", "spearman", "interval", "kendall", "top_decile", "default",
             "calibrated", "places_within_300m", "near_city_centre")  # fmt: skip
    labels = {k: tr(f"plan.validate_{k}") for k in names}
    st.dataframe(ui_planning.validation_table(result, labels), hide_index=True, width="stretch")
    st.caption(tr("plan.validate_summary", matched=result.matched, outside=result.outside))
    st.image(ui_planning.validation_png(result), width=520)
    weights = {s: w for s, w in result.calibrated_weights.items() if w > 0}
    st.caption(
        tr("plan.validate_weights")
        + " "
        + ", ".join(f"{tr(f'signals.{s}')} {w:.2f}" for s, w in weights.items())
    )
    if st.button(tr("plan.validate_use"), key=f"{prefix}_use_fit", icon=":material/tune:"):
        for signal in SIGNALS:
            st.session_state[f"{prefix}_{signal}"] = float(
                round(result.calibrated_weights.get(signal, 0.0), 2)
            )
        st.rerun()


def saved_plans(plans: dict[str, Any], slug: str, tr: Translator, *, owner: str) -> None:
    """List the user's saved plans of this dataset and reopen one into this session."""
    saved = ui_planning.saved_plans(ui.engine(), dataset=slug, owner=owner)
    if not saved:
        return
    with st.expander(f"{tr('plan.saved_plans')} ({len(saved)})", icon=":material/folder_open:"):
        names = {w.id: f"{w.name} · v{w.version} · {w.updated_at:%Y-%m-%d %H:%M}" for w in saved}
        work_id = st.selectbox(
            tr("plan.saved_plans"),
            list(names),
            format_func=names.__getitem__,
            key="plan_saved_pick",
        )
        if not st.button(tr("plan.open_plan"), key="plan_open"):
            return
        with ui.guarded():
            work, plan = ui_planning.open_plan(ui.engine(), int(work_id), owner=owner)
            plans[work.name] = (slug, plan)
            st.session_state["plan_saved"] = {work.name: work.version}
            st.session_state["plan_shown"] = work.name
            st.session_state["plan_result_pick"] = work.name
            ui.flash("success", tr("plan.plan_opened", name=work.name, version=work.version))
            st.rerun()


def save_plan(plan: PlanResult, label: str, slug: str, tr: Translator, *, owner: str) -> None:
    """Save the shown plan on the server under its name (a new version of a reopened one)."""
    c1, c2 = st.columns([3, 1])
    name = c1.text_input(tr("plan.plan_name"), value=label, key=f"plan_save_name_{label}")
    if not c2.button(tr("plan.save_plan"), key=f"plan_save_{label}", icon=":material/save:"):
        return
    versions: dict[str, int] = st.session_state.setdefault("plan_saved", {})
    with ui.guarded():
        work = ui_planning.save_plan(
            ui.engine(),
            plan,
            dataset=slug,
            owner=owner,
            name=name.strip() or label,
            expected_version=versions.get(name.strip() or label),
        )
        versions[work.name] = work.version
        st.success(tr("plan.plan_saved", name=work.name, version=work.version))
