"""What the Evaluation page shows, without Streamlit: indicator 1, the survey, exposure, rollout.

Every table leaves here ready to show (`labelled`): headers, regions, kinds and statuses in the
user's language, numbers written the way people of that language write them (Kazakh and
Russian ``2 185`` and ``0,42``), a dash for what is missing. Charts are Vega-Lite
specifications (plain dicts) a page hands to ``st.vega_lite_chart``. The survey comes from
stored waves (`nudge.evaluation.store`) or from uploaded files read as
``nudge evaluate survey`` reads them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from nudge.evaluation.exposure import exposure_by_region
from nudge.evaluation.questionnaire import Index, questionnaire_from_file
from nudge.evaluation.store import SurveyWave, estimate_waves, list_waves, load_waves
from nudge.evaluation.survey import MIN_RESPONDENTS, estimate_indices, survey_from_files
from nudge.geo.regions import REGIONS
from nudge.i18n import Translator, format_number, region_name
from nudge.registry import build_report, event_indicator, list_event_items, report_bytes
from nudge.registry.event_counts import INDICATOR_COLUMNS as EVENT_INDICATOR_COLUMNS
from nudge.ui.files import save_uploads
from nudge.ui.tables import localised, say

SECTION = "evaluation_page"
INDICATOR_COLUMNS = EVENT_INDICATOR_COLUMNS[:8]  # the counts; the lists of ids stay out
EVENT_COLUMNS = (
    "id",
    "region",
    "year",
    "kind",
    "title",
    "planned_on",
    "status",
    "evidence_publication_id",
    "evidence_url",
)
EVENT_VOCABULARIES = {"kind": ("event_kinds",), "status": ("event_statuses",)}
SURVEY_COLUMNS = (
    "region",
    "year",
    "index",
    "kind",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "suppressed",
    "reason",
)
EXPOSURE_SHOWN = (
    "region",
    "period",
    "population",
    "active",
    "active_verified",
    "active_per_100k",
    "publications",
    "publications_verified",
    "events_planned",
    "events_held",
)
CITY_CODES = tuple(r.code for r in REGIONS if r.is_city)
PLAIN_NUMBERS = frozenset({"year", "id", "step", "stratum", "evidence_publication_id"})
"""Numeric columns written as they are (a year is not ``2 025``)."""


# --- tables -------------------------------------------------------------------------------------


def _number(value: object, lang: str, decimals: int) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "—"
    if isinstance(value, bool | np.bool_):
        return value
    if isinstance(value, int | np.integer):
        return format_number(int(value), lang)
    return format_number(float(value), lang, decimals=decimals)  # type: ignore[arg-type]


def labelled(
    frame: pd.DataFrame,
    tr: Translator,
    *,
    decimals: Mapping[str, int] | None = None,
    vocabularies: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Return `frame` as the user reads it: headers, codes and numbers in `tr`'s language.

    ``region`` holds codes (None: the republic) and is shown by name. Numbers are written
    with `nudge.i18n.format_number` (two decimals unless `decimals` says otherwise), but
    years, ids and steps as they are. `vocabularies` names the sections codes of a column
    are said from before the project's own (``status`` of an event: ``event_statuses``).
    Headers come from this page's ``col_*`` texts, then from the ``columns`` texts.
    """
    out = frame.copy()
    for column, sections in (vocabularies or {}).items():
        if column in out.columns:
            out[column] = out[column].map(lambda v, s=sections: say(v, s, tr))
    if "region" in out.columns:
        out["region"] = out["region"].map(lambda c: region_label(c, tr))
        out = out.rename(columns={"region": "region_name"})
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        if column in PLAIN_NUMBERS:
            out[column] = series.map(lambda v: "—" if pd.isna(v) else str(int(v)))
            continue
        places = (decimals or {}).get(str(column), 2)
        out[column] = series.astype(object).map(lambda v, d=places: _number(v, tr.lang, d))
    names = {c: tr(f"{SECTION}.col_{c}") for c in out.columns if tr.has(f"{SECTION}.col_{c}")}
    return localised(out.rename(columns=names), tr)


def region_label(code: object, tr: Translator) -> str:
    """Return a region's name in `tr`'s language; None or empty is the whole republic."""
    if code is None or code == "" or (isinstance(code, float) and np.isnan(code)):
        return tr(f"{SECTION}.republic")
    return region_name(str(code), tr.lang)


# --- indicator 1 --------------------------------------------------------------------------------


def indicator_one(engine: Engine, *, year: int | None = None) -> pd.DataFrame:
    """Return indicator 1 per region and year (`nudge.registry.event_indicator`), codes kept."""
    return event_indicator(engine, year=year)


def indicator_rows(table: pd.DataFrame, tr: Translator) -> pd.DataFrame:
    """Return the shown columns of indicator 1 in the user's language."""
    return labelled(table.reindex(columns=list(INDICATOR_COLUMNS)), tr)


def event_records(engine: Engine, ids: Sequence[int], tr: Translator) -> pd.DataFrame:
    """Return the plan items behind a figure of indicator 1, in the user's language."""
    items = list_event_items(engine, ids=[int(i) for i in ids]) if len(ids) else []
    rows = pd.DataFrame(
        [
            {c: getattr(i, "region_code" if c == "region" else c) for c in EVENT_COLUMNS}
            for i in items
        ],
        columns=list(EVENT_COLUMNS),
    )
    return labelled(rows, tr, vocabularies=EVENT_VOCABULARIES)


# --- the survey ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyEstimates:
    """Estimates of the survey's indices per region and year (``region`` None: the republic).

    ``labels`` gives each index's name in the user's language; ``sources`` the files or
    stored waves the estimates come from.
    """

    estimates: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def indices(self) -> list[str]:
        """Return the index codes, in the survey's order."""
        return list(dict.fromkeys(self.estimates["index"].astype(str)))

    @property
    def years(self) -> list[int]:
        """Return the survey years, oldest first."""
        return sorted({int(y) for y in self.estimates["year"].dropna()})


def _index_labels(indices: Sequence[Index], lang: str) -> dict[str, str]:
    return {i.name: i.label.get(lang) or i.label.get("en") or i.name for i in indices}


def survey_from_uploads(
    files: Sequence[tuple[str, bytes]],
    questionnaire: tuple[str, bytes] | None,
    *,
    lang: str,
    year: int | None = None,
    min_n: int = MIN_RESPONDENTS,
) -> SurveyEstimates:
    """Read uploaded survey waves (and map) as ``nudge evaluate survey`` does; estimate them.

    Estimates are per region and year, and for the republic per year (``region`` None).
    """
    with tempfile.TemporaryDirectory(prefix="nudge-survey-") as tmp:
        paths = save_uploads(files, Path(tmp) / "data")
        qmap = None
        if questionnaire is not None:
            qmap = save_uploads([questionnaire], Path(tmp) / "map")[0]
        questions = questionnaire_from_file(qmap)
        data = survey_from_files(paths, questions, year=year)
    by_region = estimate_indices(data, by=("region", "year"), min_n=min_n, lang=lang)
    national = estimate_indices(data, by=("year",), min_n=min_n, lang=lang).assign(region=None)
    table = pd.concat([national, by_region], ignore_index=True)
    return SurveyEstimates(
        table.reindex(columns=list(SURVEY_COLUMNS)),
        _index_labels(data.indices, lang),
        tuple(name for name, _ in files),
    )


def stored_waves(engine: Engine) -> list[SurveyWave]:
    """Return the stored survey waves, newest first."""
    return list_waves(engine)


def survey_from_store(
    engine: Engine, wave_ids: Sequence[int], *, lang: str, min_n: int = MIN_RESPONDENTS
) -> SurveyEstimates:
    """Estimate the indices of stored waves per region and year, and for the republic."""
    ids = [int(i) for i in wave_ids]
    waves = [w for w in list_waves(engine) if w.id in ids]
    table = estimate_waves(engine, ids, by=("region", "year"), min_n=min_n, lang=lang)
    people = [w.id for w in waves if w.kind == "respondents"]
    labels: dict[str, str] = {}
    if people:
        data = load_waves(engine, people)
        labels = _index_labels(data.indices, lang)
        national = estimate_indices(data, by=("year",), min_n=min_n, lang=lang)
        table = pd.concat([national.assign(region=None), table], ignore_index=True)
    sources = tuple(f"{w.id}: {w.name}" for w in waves)
    return SurveyEstimates(table.reindex(columns=list(SURVEY_COLUMNS)), labels, sources)


def survey_rows(survey: SurveyEstimates, tr: Translator) -> pd.DataFrame:
    """Return the estimates as a table in the user's language (shares as shares, 3 decimals)."""
    table = survey_sheet(survey)
    kinds = {"kind": (f"{SECTION}.index_kinds",)}
    figures = dict.fromkeys(("estimate", "se", "ci_low", "ci_high"), 3)
    return labelled(table, tr, decimals=figures, vocabularies=kinds)


def survey_sheet(survey: SurveyEstimates) -> pd.DataFrame:
    """Return the estimates as the report's indicator-3 sheet (index names, not codes)."""
    table = survey.estimates.reindex(columns=list(SURVEY_COLUMNS)).copy()
    table["index"] = table["index"].map(lambda i: survey.labels.get(str(i), i))
    return table


def report_file(
    engine: Engine, survey: SurveyEstimates | None, *, lang: str, populations: Any = None
) -> bytes:
    """Return the ministry report (XLSX) with the indicator 1 sheet and, given a survey, 3."""
    extra = {} if survey is None else {"survey": survey_sheet(survey)}
    report = build_report(engine, populations=populations)
    return report_bytes(report, "xlsx", lang=lang, extra_sheets=extra)


def estimate_values(
    survey: SurveyEstimates, index: str, year: int, regions: Sequence[str]
) -> dict[str, float | None]:
    """Return every region's estimate of `index` in `year`; None where suppressed or unknown."""
    table = survey.estimates
    rows = table[(table["index"] == index) & (table["year"] == year) & table["region"].notna()]
    known = dict(zip(rows["region"].astype(str), rows["estimate"], strict=True))
    return {
        str(r): None if pd.isna(known.get(str(r), np.nan)) else float(known[str(r)])
        for r in regions
    }


def city_circles(
    values: Mapping[str, float | None], outlines: Mapping[str, Any], tr: Translator
) -> pd.DataFrame:
    """Return ``name``, ``lat``, ``lon``, ``value`` of the three cities with an estimate.

    Almaty, Astana and Shymkent are specks at the scale of the country; a circle shows them.
    """
    rows = [
        {
            "name": region_label(code, tr),
            "lat": outlines[code].centroid.y,
            "lon": outlines[code].centroid.x,
            "value": values[code],
        }
        for code in CITY_CODES
        if code in outlines and values.get(code) is not None
    ]
    return pd.DataFrame(rows, columns=["name", "lat", "lon", "value"])


def suppressed_cells(survey: SurveyEstimates, index: str, year: int) -> pd.DataFrame:
    """Return the regions whose estimate of `index` in `year` is suppressed, with the reason."""
    table = survey.estimates
    rows = table[(table["index"] == index) & (table["year"] == year) & table["suppressed"]]
    return rows[["region", "n", "reason"]].reset_index(drop=True)


def estimate_series(survey: SurveyEstimates, index: str, region: str | None) -> pd.DataFrame:
    """Return `index` over the years for one region (None: the republic), with intervals."""
    table = survey.estimates
    where = table["region"].isna() if region is None else table["region"] == region
    rows = table[where & (table["index"] == index)].sort_values("year")
    return rows[["year", "n", "estimate", "ci_low", "ci_high", "suppressed", "reason"]]


def chart_config(lang: str) -> dict[str, Any]:
    """Return the Vega-Lite config that writes numbers as people of `lang` do (0,5 in kk/ru)."""
    if lang not in ("kk", "ru"):
        return {}
    number = {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", ""]}
    return {"locale": {"number": number}}


def interval_chart(
    series: pd.DataFrame, *, x_title: str, y_title: str, lang: str = "en"
) -> dict[str, Any]:
    """Return a Vega-Lite chart of estimates over the years with their 95 % interval bars."""
    shown = series.dropna(subset=["estimate"])
    values = [
        {"year": str(int(y)), "estimate": float(e), "low": float(lo), "high": float(hi)}
        for y, e, lo, hi in zip(
            shown["year"], shown["estimate"], shown["ci_low"], shown["ci_high"], strict=True
        )
    ]
    x = {"field": "year", "type": "ordinal", "title": x_title}
    return {
        "config": chart_config(lang),
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 2},
                "encoding": {
                    "x": x,
                    "y": {"field": "low", "type": "quantitative", "title": y_title},
                    "y2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "line", "point": {"filled": True, "size": 70}},
                "encoding": {"x": x, "y": {"field": "estimate", "type": "quantitative"}},
            },
        ],
    }


# --- exposure -----------------------------------------------------------------------------------


def exposure_years(engine: Engine, first: int, last: int) -> pd.DataFrame:
    """Return exposure per region and year (`exposure_by_region`) for `first`–`last`."""
    return exposure_by_region(engine, start=date(first, 1, 1), end=date(last, 12, 31))


def exposure_beside(
    exposure: pd.DataFrame, survey: SurveyEstimates | None, index: str | None
) -> pd.DataFrame:
    """Return exposure per region and period with the survey's estimate of `index` beside it."""
    table = exposure.reindex(columns=[*EXPOSURE_SHOWN, "year"]).copy()
    if survey is None or index is None:
        return table.drop(columns="year")
    est = survey.estimates[survey.estimates["index"] == index]
    est = est[["region", "year", "estimate", "ci_low", "ci_high"]]
    key = table["region"].fillna("")
    merged = table.assign(_key=key).merge(
        est.assign(_key=est["region"].fillna("")).drop(columns="region"),
        on=["_key", "year"],
        how="left",
    )
    return merged.drop(columns=["_key", "year"])
