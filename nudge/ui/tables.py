"""Tables as a person reads them: headers and coded values in the user's language.

The data keeps its codes (``banner``, ``installed``, ``diligence``, ``ALA``); what a page shows
says them in Kazakh, Russian or English: column names from the ``columns`` section of the
interface texts, values from the vocabulary of their column (kinds, statuses, themes, roles,
regions), yes/no for booleans and a dash for missing values.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from nudge.i18n import Translator, region_name

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "kind": ("kinds", "installation_kinds", "entry_kinds", "publication_kinds"),
    "item_kind": ("entry_kinds", "kinds"),
    "status": ("statuses", "content"),
    "collection": ("collections",),
    "role": ("roles",),
    "theme": ("themes",),
    "themes": ("themes",),
    "format": ("kinds", "installation_kinds"),
}
"""For each column, the vocabularies its codes are said from (the first that knows one)."""
REGION_COLUMNS = ("region_code",)
LIST_COLUMNS = ("themes", "regions")


def say(value: object, sections: Iterable[str], tr: Translator) -> object:
    """Return a code said from the first vocabulary of `sections` that knows it."""
    if not isinstance(value, str):
        return value
    for section in sections:
        if tr.has(f"{section}.{value}"):
            return tr(f"{section}.{value}")
    return value


def _cell(value: object, column: str, tr: Translator) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "—"
    if isinstance(value, bool):
        return tr("report.yes") if value else tr("report.no")
    if column in REGION_COLUMNS and isinstance(value, str):
        return region_name(value, tr.lang)
    if column in LIST_COLUMNS:
        parts = value if isinstance(value, list | tuple) else str(value).split(",")
        sections = VOCABULARIES.get(column, ())
        return ", ".join(
            str(
                region_name(p.strip(), tr.lang)
                if column == "regions"
                else say(p.strip(), sections, tr)
            )
            for p in parts
            if str(p).strip()
        )
    return say(value, VOCABULARIES.get(column, ()), tr)


def localised(frame: pd.DataFrame, tr: Translator) -> pd.DataFrame:
    """Return `frame` with headers and coded values in the language of `tr`.

    Numbers and dates stay as they are (Streamlit formats them); a column without a text in
    the ``columns`` section keeps its name.
    """
    out = frame.copy()
    for column in out.columns:
        name = str(column)
        series = out[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            out[column] = series.astype(object).map(lambda v, c=name: _cell(v, c, tr))
    return out.rename(
        columns={c: tr(f"columns.{c}") for c in out.columns if tr.has(f"columns.{c}")}
    )
