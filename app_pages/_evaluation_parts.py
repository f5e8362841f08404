"""Parts of the Evaluation page: indicator 1, the survey, exposure, the rollout, the analysis."""

from __future__ import annotations

import secrets
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _shared as ui
from nudge.evaluation.rollout import DESIGNS, STRATIFIERS, RolloutPlan
from nudge.geo.regions import REGIONS
from nudge.i18n import Translator, format_number
from nudge.ui import evaluation as ev
from nudge.ui import evaluation_analysis as ea
from nudge.ui import evaluation_rollout as er
from nudge.ui.maps import map_source, regions_map

P = ev.SECTION
SEED = 2026  # the seed a new planner starts from; every plan shows and records its own


def _t(tr: Translator, key: str, **values: Any) -> str:
    return tr(f"{P}.{key}", **values)


def _table(frame: pd.DataFrame) -> None:
    st.dataframe(frame, hide_index=True, width="stretch")


# --- indicator 1 --------------------------------------------------------------------------------


def events_tab(tr: Translator) -> None:
    """Show indicator 1 per region and year and the plan items behind a chosen figure."""
    st.caption(_t(tr, "events_help"))
    table = ev.indicator_one(ui.engine())
    if table.empty:
        st.info(_t(tr, "events_empty"), icon=":material/info:")
        return
    years = sorted({int(y) for y in table["year"]}, reverse=True)
    year = st.selectbox(_t(tr, "year"), years, key="eval_events_year")
    rows = table[table["year"] == year].reset_index(drop=True)
    with_plan = int(rows["has_plan"].sum())
    c1, c2, c3 = st.columns(3)
    c1.metric(_t(tr, "regions_with_plan"), format_number(with_plan, tr.lang))
    c2.metric(_t(tr, "col_planned"), format_number(int(rows["planned"].sum()), tr.lang))
    c3.metric(_t(tr, "col_held"), format_number(int(rows["held"].sum()), tr.lang))
    _table(ev.indicator_rows(rows, tr))
    st.subheader(_t(tr, "behind"))
    d1, d2 = st.columns(2)
    labels = [ev.region_label(r, tr) for r in rows["region"]]
    pick = d1.selectbox(
        _t(tr, "region"), range(len(rows)), key="eval_events_region", format_func=labels.__getitem__
    )
    figure = d2.selectbox(
        _t(tr, "figure"),
        ("planned", "held", "cancelled"),
        key="eval_events_figure",
        format_func=lambda f: _t(tr, f"col_{f}"),
    )
    ids = [int(i) for i in rows[f"{figure}_ids"].iloc[pick]]
    if ids:
        _table(ev.event_records(ui.engine(), ids, tr))
    else:
        st.caption(_t(tr, "no_records"))


# --- the survey ---------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def _uploaded_survey(
    files: tuple[tuple[str, bytes], ...], qmap: tuple[str, bytes] | None, lang: str
) -> ev.SurveyEstimates:
    return ev.survey_from_uploads(list(files), qmap, lang=lang)


@st.cache_data(show_spinner=False, max_entries=8)
def _stored_survey(url: str, ids: tuple[int, ...], lang: str) -> ev.SurveyEstimates:
    del url  # part of the key: a stored wave never changes under its id
    return ev.survey_from_store(ui.engine(), ids, lang=lang)


def survey_source(tr: Translator) -> ev.SurveyEstimates | None:
    """Let the user pick stored waves or upload survey files; return their estimates."""
    waves = ev.stored_waves(ui.engine())
    sources = ("stored", "upload") if waves else ("upload",)
    source = st.radio(
        _t(tr, "source"),
        sources,
        key="eval_source",
        horizontal=True,
        format_func=lambda s: _t(tr, f"source_{s}"),
    )
    if source == "stored":
        names = {w.id: f"{w.name} ({', '.join(map(str, w.years))})" for w in waves}
        chosen = st.multiselect(
            _t(tr, "waves"),
            list(names),
            default=list(names),
            key="eval_waves",
            format_func=names.__getitem__,
        )
        if not chosen:
            return None
        return _stored_survey(ui.settings().database_url, tuple(sorted(chosen)), tr.lang)
    files = st.file_uploader(
        _t(tr, "survey_files"),
        accept_multiple_files=True,
        type=["csv", "xlsx", "sav", "zsav", "dta"],
        key="eval_survey_files",
    )
    qmap = st.file_uploader(
        _t(tr, "questionnaire"),
        type=["toml"],
        key="eval_questionnaire",
        help=_t(tr, "questionnaire_help"),
    )
    if not files:
        st.info(_t(tr, "survey_empty"), icon=":material/info:")
        return None
    maps = ui.uploaded(qmap)
    return _uploaded_survey(tuple(ui.uploaded(files)), maps[0] if maps else None, tr.lang)


def survey_tab(survey: ev.SurveyEstimates, tr: Translator) -> str | None:
    """Show an index on the map of regions and over time; return the index shown."""
    if not survey.indices or not survey.years:
        st.info(_t(tr, "survey_empty"), icon=":material/info:")
        return None
    s1, s2 = st.columns(2)
    index = s1.selectbox(
        _t(tr, "index"),
        survey.indices,
        key="eval_index",
        format_func=lambda i: survey.labels.get(i, i),
    )
    year = s2.selectbox(_t(tr, "year"), survey.years[::-1], key="eval_survey_year")
    label = survey.labels.get(index, index)
    left, right = st.columns([3, 2])
    with left:
        outlines = ui.region_outlines()
        values = ev.estimate_values(survey, index, year, list(outlines))
        fmap = regions_map(
            outlines,
            values,
            names={c: ev.region_label(c, tr) for c in outlines},
            caption=label,
            unknown=_t(tr, "unknown"),
            cities=ev.city_circles(values, outlines, tr),
            source=map_source(ui.settings()),
        )
        ui.show_map(fmap, key="eval_map", height=420)
        st.caption(_t(tr, "map_caption", index=label, year=year))
    with right:
        regions = [None, *(r.code for r in REGIONS)]
        where = st.selectbox(
            _t(tr, "region"),
            regions,
            key="eval_series_region",
            format_func=lambda c: ev.region_label(c, tr),
        )
        series = ev.estimate_series(survey, index, where)
        spec = ev.interval_chart(series, x_title=_t(tr, "year"), y_title=label, lang=tr.lang)
        st.vega_lite_chart(spec, width="stretch")
        st.caption(_t(tr, "interval_caption"))
    hidden = ev.suppressed_cells(survey, index, year)
    if len(hidden):
        st.warning(_t(tr, "suppressed", n=len(hidden)), icon=":material/visibility_off:")
        _table(ev.labelled(hidden, tr))
    with st.expander(_t(tr, "all_estimates")):
        _table(ev.survey_rows(survey, tr))
        st.caption(_t(tr, "sources", sources=", ".join(survey.sources)))
    return index


# --- exposure -----------------------------------------------------------------------------------


def exposure_tab(survey: ev.SurveyEstimates | None, index: str | None, tr: Translator) -> None:
    """Show exposure per region and year, with the survey's estimate beside it."""
    st.caption(_t(tr, "exposure_help"))
    this_year = _today().year
    years = survey.years if survey is not None and survey.years else [this_year]
    e1, e2 = st.columns(2)
    span = f"{min(years)}_{max(years)}"  # new survey years start the span afresh
    first = e1.number_input(_t(tr, "from_year"), 2000, 2100, min(years), key=f"eval_from_{span}")
    last = e2.number_input(_t(tr, "to_year"), 2000, 2100, max(years), key=f"eval_to_{span}")
    table = ev.exposure_years(ui.engine(), int(first), int(last))
    beside = ev.exposure_beside(table, survey, index)
    figures = {"active_per_100k": 1, "estimate": 3, "ci_low": 3, "ci_high": 3, "population": 0}
    _table(ev.labelled(beside, tr, decimals=figures))
    st.caption(_t(tr, "exposure_caption"))


def _today() -> Any:
    """Return today's date (the registry's clock, so tests can fix it)."""
    from nudge.ui import installations as ui_installations

    return ui_installations.today()


# --- rollout ------------------------------------------------------------------------------------


def _new_seed() -> None:
    st.session_state["eval_seed"] = int(secrets.randbelow(1_000_000))


def _units(tr: Translator) -> pd.DataFrame | None:
    upload = st.file_uploader(
        tr("evaluation_page_units.units_file"),
        type=["csv", "xlsx"],
        key="eval_units_file",
        help=tr("evaluation_page_units.units_help"),
    )
    files = ui.uploaded(upload)
    return er.units_from_upload(*files[0]) if files else None


def rollout_tab(tr: Translator) -> RolloutPlan | None:
    """Plan a rollout over the regions; show its schedule, seed and power curve."""
    c1, c2, c3 = st.columns(3)
    design = c1.selectbox(
        _t(tr, "design"), DESIGNS, key="eval_design", format_func=lambda d: tr(f"{P}.designs.{d}")
    )
    steps = int(c2.number_input(_t(tr, "steps"), 2, 20, 4, key="eval_steps"))
    if "eval_seed" not in st.session_state:
        st.session_state["eval_seed"] = SEED
    seed = int(c3.number_input(_t(tr, "seed"), 0, 2**53 - 1, key="eval_seed"))
    c3.button(_t(tr, "new_seed"), key="eval_new_seed", on_click=_new_seed)
    stratify = st.multiselect(
        _t(tr, "stratify"),
        STRATIFIERS,
        key="eval_stratify",
        format_func=lambda s: _t(tr, f"col_{s}"),
    )
    units = _units(tr)
    names = er.unit_names(units, tr)
    l1, l2 = st.columns([3, 1])
    locked = l1.multiselect(
        _t(tr, "locked"), list(names), key="eval_locked", format_func=names.__getitem__
    )
    lock_step = int(l2.number_input(_t(tr, "lock_step"), 1, 20, 1, key="eval_lock_step"))
    plan = er.rollout(
        units,
        steps=steps,
        design=design,
        seed=seed,
        stratify=stratify,
        locks=dict.fromkeys(locked, lock_step),
        flight=tr("columns.flight"),
    )
    d1, d2 = st.columns(2)
    start = d1.date_input(tr("rollout_flights.start"), value=_today(), key="eval_flight_start")
    weeks = int(d2.number_input(tr("rollout_flights.flight_weeks"), 1, 52, 8, key="eval_weeks"))
    plan = er.dated(plan, start=start, weeks=weeks)
    st.success(
        _t(
            tr, "planned", design=tr(f"{P}.designs.{plan.design}"), steps=plan.steps, seed=plan.seed
        ),
        icon=":material/casino:",
    )
    rows = er.schedule_rows(plan, tr)
    _table(rows)
    st.download_button(
        _t(tr, "download_schedule"),
        er.schedule_csv(plan),
        file_name=f"nudge-rollout-{plan.design}-seed{plan.seed}.csv",
        key="eval_schedule_csv",
        icon=":material/download:",
    )
    _save_rollout(plan, tr)
    st.subheader(_t(tr, "power"))
    _power(plan, tr)
    return plan


def _save_rollout(plan: RolloutPlan, tr: Translator) -> None:
    """Save the plan in the shared database; put a saved one into the plans of events."""
    user = ui.current_user()
    if user is None:
        st.caption(tr("rollout_flights.save_needs_login"))
        return
    s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
    name = s1.text_input(tr("rollout_flights.save_name"), key="eval_rollout_name").strip()
    if s2.button(
        tr("rollout_flights.save"),
        key="eval_rollout_save",
        icon=":material/save:",
        disabled=not name,
    ):
        work = er.save(ui.engine(), plan, name=name, owner=user.username)
        st.session_state["eval_rollout_saved"] = work.id
        st.success(tr("rollout_flights.saved", id=work.id, name=work.name, version=work.version))
    saved_id = st.session_state.get("eval_rollout_saved")
    if saved_id is not None and st.button(
        tr("rollout_export.export"), key="eval_rollout_export", icon=":material/event:"
    ):
        result = er.export(ui.engine(), int(saved_id), user=user, lang=tr.lang)
        counts = {"unchanged": result.skipped_existing, "updated": result.updated}
        st.success(tr("rollout_export.exported", stored=result.stored, **counts))
        ui.show_problems(result.errors, tr)


def _power(plan: RolloutPlan, tr: Translator) -> None:
    p1, p2, p3, p4 = st.columns(4)
    per_unit = int(p1.number_input(_t(tr, "per_unit"), 1, 100_000, 100, key="eval_per_unit"))
    icc = float(
        p2.number_input(_t(tr, "icc"), 0.0, 0.99, 0.02, step=0.01, format="%.3f", key="eval_icc")
    )
    outcome = p3.radio(
        _t(tr, "outcome"),
        ("share", "scale"),
        key="eval_outcome",
        format_func=lambda o: _t(tr, f"outcome_{o}"),
    )
    value = float(
        p4.number_input(
            _t(tr, "baseline" if outcome == "share" else "sd"),
            0.001,
            100.0,
            0.5 if outcome == "share" else 1.0,
            step=0.05,
            key=f"eval_{outcome}_value",
        )
    )
    baseline, sd = (value, None) if outcome == "share" else (None, value)
    result, curve = er.power_curve(plan, per_unit=per_unit, icc=icc, baseline=baseline, sd=sd)
    mdc = format_number(result.mdc, tr.lang, decimals=3)
    target = format_number(100 * result.target_power, tr.lang)
    m1, m2, m3 = st.columns(3)
    m1.metric(_t(tr, "mdc", target=target), mdc)
    m2.metric(_t(tr, "se"), format_number(result.se, tr.lang, decimals=3))
    m3.metric(_t(tr, "waves_count"), format_number(result.waves, tr.lang))
    spec = er.power_chart(
        curve,
        result,
        x_title=_t(tr, "change"),
        y_title=_t(tr, "power_axis"),
        mdc_text=_t(tr, "mdc_mark", mdc=mdc, target=target),
        lang=tr.lang,
    )
    st.vega_lite_chart(spec, width="stretch")
    st.caption(
        _t(tr, "power_caption", per_unit=per_unit, icc=format_number(icc, tr.lang, decimals=3))
    )


# --- analysis -----------------------------------------------------------------------------------


def analysis_tab(
    survey: ev.SurveyEstimates | None, plan: RolloutPlan | None, tr: Translator
) -> None:
    """Estimate the campaign's effect on each index by the rollout's design."""
    if survey is None:
        st.info(_t(tr, "analysis_needs_survey"), icon=":material/info:")
        return
    source = st.radio(
        _t(tr, "schedule_source"),
        ("plan", "saved", "file"),
        key="eval_schedule_source",
        horizontal=True,
        format_func=lambda s: (
            tr("rollout_flights.schedule_saved") if s == "saved" else _t(tr, f"schedule_{s}")
        ),
    )
    if source == "file":
        upload = st.file_uploader(
            _t(tr, "schedule_upload"), type=["json", "csv", "xlsx"], key="eval_schedule_file"
        )
        randomised = st.checkbox(_t(tr, "randomised"), key="eval_randomised")
        files = ui.uploaded(upload)
        if not files:
            st.info(_t(tr, "schedule_empty"), icon=":material/info:")
            return
        schedule = ea.schedule_of_upload(*files[0], survey, randomised=randomised)
    elif source == "saved":
        saved = _saved_schedule(survey, tr)
        if saved is None:
            return
        schedule = saved
    elif plan is None:
        st.info(_t(tr, "schedule_empty"), icon=":material/info:")
        return
    else:
        schedule = ea.schedule_of_plan(plan, survey)
    results = ea.effects(survey, schedule)
    if dropped := ea.left_out(survey, schedule):
        names = ", ".join(ev.region_label(c, tr) for c in dropped)
        st.caption(tr("evaluation_page_notes.left_out", regions=names))
    _table(ea.effect_rows(results, survey, tr))
    for result in results:
        st.markdown(f"**{survey.labels.get(str(result.index), result.index)}**")
        caveat = ea.caveat(result, tr.lang)
        if caveat:
            st.warning(caveat, icon=":material/warning:")
        st.markdown(ea.effect_markdown(result, tr.lang, labels=survey.labels))


def _saved_schedule(survey: ev.SurveyEstimates, tr: Translator) -> Any:
    """Offer the saved rollouts; return the schedule of the one picked, or None."""
    saved = er.saved(ui.engine())
    if not saved:
        st.info(tr("rollout_flights.no_saved"), icon=":material/info:")
        return None
    labels = {w.id: er.saved_label(w, tr) for w in saved}
    work_id = st.selectbox(
        tr("rollout_flights.pick_saved"),
        list(labels),
        key="eval_saved_rollout",
        format_func=labels.__getitem__,
    )
    work, plan = er.open_saved(ui.engine(), int(work_id))
    return ea.schedule_of_saved(work, plan, survey)


# --- the ministry report ------------------------------------------------------------------------


def report_download(survey: ev.SurveyEstimates | None, tr: Translator) -> None:
    """Offer the ministry report with the indicator 1 and 3 sheets (built when clicked)."""
    st.caption(_t(tr, "report_help"))
    engine, populations, lang = ui.engine(), ui.populations(), tr.lang
    st.download_button(
        _t(tr, "download_report"),
        lambda: ev.report_file(engine, survey, lang=lang, populations=populations),
        key="eval_report",
        file_name=f"nudge-evaluation-{_today().isoformat()}.xlsx",
        icon=":material/download:",
    )
