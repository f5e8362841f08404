"""CLI command ``nudge report``: the indicator table and the ministry report file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nudge import registry
from nudge.cli._common import LANGUAGE, JsonOption, comma_list, emit
from nudge.cli._registry import ActiveOn, DateFrom, DateTo, _engine, dates

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine


def _survey_sheet(engine: Engine, waves: list[int], *, lang: str) -> pd.DataFrame:
    """Return the survey's estimates of `waves` with each index named in `lang` (indicator 3)."""
    from nudge.evaluation import store

    survey = store.estimate_waves(engine, waves, lang=lang)
    labels = store.index_labels(engine, waves, lang=lang)
    return survey.assign(index=survey["index"].map(lambda i: labels.get(i, i)))


def report(
    by: Annotated[
        str,
        typer.Option(
            help="Breakdown keys, comma-separated: region,city,district,kind,theme,month."
        ),
    ] = "region",
    date_from: DateFrom = None,
    date_to: DateTo = None,
    active_on: ActiveOn = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Also write the ministry report (.xlsx: a sheet per breakdown; .csv)."),
    ] = None,
    cities_csv: Annotated[
        Path | None, typer.Option(help="City populations replacing GeoNames' (CSV).")
    ] = None,
    districts_csv: Annotated[Path | None, typer.Option(help="District populations (CSV).")] = None,
    lang: Annotated[
        LANGUAGE,
        typer.Option(help="Language of the report file: kk (default), ru or en."),
    ] = "kk",
    survey_wave: Annotated[
        list[int] | None,
        typer.Option(
            "--survey-wave",
            help="Stored survey wave whose estimates form the indicator-3 sheet (repeatable).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Count installations and publications (all and verified), per 100,000 where known.

    The report file also holds indicator 1 (plans of events per region and year) and, with
    ``--survey-wave``, indicator 3 (the survey's estimates per region and year, 95 % intervals).
    """
    engine = _engine()
    keys = comma_list(by)
    period = dates(active_on, date_from, date_to)
    populations = registry.populations_default(cities_csv=cities_csv, districts_csv=districts_csv)
    table = registry.indicator_table(engine, by=keys, populations=populations, **period)
    out: dict[str, Any] = {
        "by": keys,
        "active_on": period["active_on"],
        "from": period["date_from"],
        "to": period["date_to"],
        "rows": table.as_dict()["rows"],
        "total": table.total,
    }
    if output is not None:
        full = registry.build_report(engine, populations=populations, **period)
        extra = {}
        if survey_wave:
            extra["survey"] = _survey_sheet(engine, survey_wave, lang=lang)
            out["survey_waves"] = list(survey_wave)
        out["output"] = registry.write_report(full, output, lang=lang, extra_sheets=extra)
    human = table.rows.drop(columns=["installation_ids", "publication_ids"]).to_string(index=False)
    emit(out, as_json=as_json, human=f"{human}\ntotal: {table.total}")
