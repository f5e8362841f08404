"""The yearly values survey: import waves, score the indices, estimate them with design-based SEs.

Respondent-level files come as CSV or XLSX (read by `nudge.io.tables.read_table`), SPSS
``.sav`` or Stata ``.dta`` (read by pyreadstat). A questionnaire map
(`nudge.evaluation.questionnaire`) names the columns and the indices. Every row is checked and
every problem reported at once; a file with problems gives nothing. Estimates per region, year
and group are weighted means with Taylor-linearised standard errors over strata and PSUs
(`nudge.evaluation._taylor`, checked against samplics) and 95 % intervals; cells with fewer
respondents than a minimum are suppressed with the reason. When only region-level tables are
published, `estimates_from_aggregates` reads them into the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nudge._errors import InputFileError, RecordBatchError, RecordError, RowProblem
from nudge.evaluation._taylor import Design, domain_mean
from nudge.evaluation.questionnaire import (
    Index,
    Questionnaire,
    index_values,
    missing_columns,
)
from nudge.geo.regions import region_code
from nudge.i18n import translator
from nudge.io.limits import MAX_IMPORT_BYTES, check_size
from nudge.io.tables import find_column, read_table

STAT_SUFFIXES = {".sav": "SPSS", ".zsav": "SPSS", ".dta": "Stata"}
GROUPS = ("region", "year", "urban", "age_group", "sex")
LABELLED = ("region", "urban", "age_group", "sex")  # roles whose SPSS/Stata value labels count
MIN_RESPONDENTS = 30
ESTIMATE_COLUMNS = [
    "index",
    "kind",
    "n",
    "weight_sum",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "suppressed",
    "reason",
]
_FIGURES = ("estimate", "se", "ci_low", "ci_high")
"""Columns of an estimate that are blanked (NaN) when it is suppressed."""
_URBAN_WORDS = ("urban", "город", "городской", "қала")
_RURAL_WORDS = ("rural", "село", "сельский", "ауыл")
_URBAN = dict.fromkeys(_URBAN_WORDS, "urban") | dict.fromkeys(_RURAL_WORDS, "rural")


@dataclass(frozen=True)
class SurveyData:
    """Respondents of one or more waves, their index values and the design.

    ``respondents`` holds ``region`` (code), ``year``, ``urban``, ``age_group``, ``sex``,
    ``weight``, ``stratum``, ``psu`` (codes unique within a wave) and one column per index.
    """

    respondents: pd.DataFrame
    indices: tuple[Index, ...]
    sources: tuple[str, ...]

    def design(self) -> Design:
        """Return the sampling design; waves are independent samples (strata within years)."""
        frame = self.respondents
        stratum = pd.factorize(frame["year"].astype(str) + "|" + frame["stratum"].astype(str))[0]
        psu = pd.factorize(frame["psu"].astype(str))[0]
        return Design.from_codes(frame["weight"].to_numpy(float), stratum, psu)


def read_respondents(
    path: Path | str, *, labelled: Sequence[str] = (), max_bytes: int = MAX_IMPORT_BYTES
) -> pd.DataFrame:
    """Read a respondent-level file (CSV, XLSX, .sav, .dta) with a ``row`` column.

    In SPSS and Stata files the columns named in `labelled` (region, sex...) get their value
    labels instead of their codes (``1`` -> ``"Абай облысы"``); answer items keep their codes.

    Raises
    ------
    InputFileError
        When the file is missing, too large, or not the kind its extension says.
    """
    file = Path(path)
    kind = STAT_SUFFIXES.get(file.suffix.lower())
    if kind is None:
        table, _ = read_table(file, max_bytes=max_bytes)
        return table
    if not file.is_file():
        raise InputFileError(code="table_file_missing", path=file.name)
    check_size(file, max_bytes=max_bytes, name=file.name)
    import pyreadstat

    reader = pyreadstat.read_dta if kind == "Stata" else pyreadstat.read_sav
    try:
        table, meta = reader(str(file))
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError):
        raise InputFileError(code="eval_survey_unreadable", name=file.name, kind=kind) from None
    for column in labelled:
        labels = meta.variable_value_labels.get(column)
        if labels and column in table:
            table[column] = table[column].map(lambda v, lab=labels: lab.get(v, v))
    table = table.astype(object).where(table.notna(), None)
    table.insert(0, "row", range(1, len(table) + 1))
    return table


def _problem_rows(
    rows: pd.Series, mask: pd.Series, *, code: str, column: str | None, **params: object
) -> list[RowProblem]:
    """Return the problem `code` for each row where `mask` holds, in `column` (a param too)."""
    params = {"column": column or "", **params}
    return [RowProblem(int(row), code=code, params=params, column=column) for row in rows[mask]]


def _regions(column: pd.Series, rows: pd.Series) -> tuple[pd.Series, list[RowProblem]]:
    """Return the region codes of `column` and a problem for each row naming no known region."""
    known: dict[str, str | RecordError] = {}
    for value in column.dropna().astype(str).unique():
        try:
            known[value] = region_code(value)
        except RecordError as exc:
            known[value] = exc
    found = column.map(lambda v: None if pd.isna(v) else known[str(v)])
    bad = found.map(lambda v: isinstance(v, RecordError))
    problems = [
        RowProblem(int(row), code=exc.code, params=exc.params, column=str(column.name))
        for row, exc in zip(rows[bad], found[bad], strict=True)
    ]
    empty = column.isna()
    problems += _problem_rows(rows, empty, code="eval_survey_no_value", column=str(column.name))
    return found.where(~bad, None).astype(object), problems


def _text(column: pd.Series | None, length: int) -> pd.Series:
    if column is None:
        return pd.Series(["all"] * length, dtype=object)
    return column.map(lambda v: "-" if v is None else str(v).strip()).astype(object)


def _one_file(
    table: pd.DataFrame, questionnaire: Questionnaire, *, name: str, year: int | None
) -> pd.DataFrame:
    cols = questionnaire.columns
    missing = missing_columns(table, questionnaire)
    if missing:
        text = ", ".join(missing)
        raise InputFileError(code="eval_survey_missing_columns", name=name, columns=text)
    table = table.reset_index(drop=True)
    rows = table["row"]
    region, problems = _regions(table[cols["region"]], rows)
    weight = pd.to_numeric(table[cols["weight"]].map(_number), errors="coerce")
    bad = ~(weight > 0)
    problems += _problem_rows(rows, bad, code="eval_survey_bad_weight", column=cols["weight"])
    out = pd.DataFrame({"region": region, "weight": weight})
    if "year" in cols:
        out["year"] = pd.to_numeric(table[cols["year"]].map(_number), errors="coerce")
    else:
        out["year"] = np.nan if year is None else year
    no_year = out["year"].isna()
    problems += _problem_rows(rows, no_year, code="eval_survey_no_year", column=cols.get("year"))
    for role in ("stratum", "psu"):
        column = table[cols[role]] if role in cols else None
        if column is not None:
            what = cols[role]
            problems += _problem_rows(rows, column.isna(), code="eval_survey_no_value", column=what)
        out[role] = _text(column, len(table)) if column is not None else None
    out["psu"] = out["psu"].where(out["psu"].notna(), name + ":" + rows.astype(str))
    out["psu"] = name + "|" + out["stratum"].fillna("all").astype(str) + "|" + out["psu"]
    out["stratum"] = out["stratum"].fillna("all")
    for role in ("urban", "age_group", "sex"):
        out[role] = _text(table[cols[role]] if role in cols else None, len(table))
    out["urban"] = out["urban"].map(lambda v: _URBAN.get(v.casefold(), v))
    _refuse(problems, name=name)
    for index in questionnaire.indices:
        out[index.name] = index_values(table, index).to_numpy()
    out["year"] = out["year"].astype(int)
    return out


def _refuse(problems: list[RowProblem], *, name: str) -> None:
    """Refuse the file `name` when its rows have `problems`, listing each in row order."""
    if problems:
        problems = sorted(problems, key=lambda p: p.row)
        n = len(problems)
        raise RecordBatchError(problems, what=name, code="eval_survey_problems", name=name, n=n)


def _number(value: object) -> object:
    return str(value).replace(",", ".").strip() if isinstance(value, str) else value


def survey_from_files(
    paths: Sequence[Path | str],
    questionnaire: Questionnaire,
    *,
    year: int | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> SurveyData:
    """Import survey waves and score every index of the questionnaire for every respondent.

    Parameters
    ----------
    paths
        Respondent-level files (CSV, XLSX, .sav, .dta), one or more waves.
    questionnaire
        The map of columns and indices.
    year
        The survey year of files without a year column.
    max_bytes
        Largest file accepted.

    Raises
    ------
    InputFileError
        When a file cannot be read or lacks a column the map names.
    RecordError
        When rows have unknown regions, weights that are missing or not above 0, no year,
        no stratum or PSU where the map names them, or a stratum holds a single PSU.
    """
    parts = []
    for path in paths:
        labelled = [questionnaire.columns[r] for r in LABELLED if r in questionnaire.columns]
        table = read_respondents(path, labelled=labelled, max_bytes=max_bytes)
        parts.append(_one_file(table, questionnaire, name=Path(path).name, year=year))
    data = SurveyData(
        pd.concat(parts, ignore_index=True),
        questionnaire.indices,
        tuple(Path(p).name for p in paths),
    )
    _check_design(data)
    return data


def _check_design(data: SurveyData) -> None:
    frame = data.respondents
    if "psu" not in frame or frame["psu"].nunique() == len(frame):
        return
    lonely = frame.groupby(["year", "stratum"])["psu"].nunique()
    lonely = lonely[lonely < 2]
    if len(lonely):
        text = ", ".join(f"{s} ({y})" for y, s in lonely.index)
        raise RecordError(code="eval_survey_lonely_psu", strata=text)


def _suppression(n: int, psus: int, min_n: int, lang: str) -> str:
    t = translator(lang)
    if n < min_n:
        return t("evaluation.suppressed_small", n=n, min_n=min_n)
    if psus < 2:
        return t("evaluation.suppressed_psu")
    return ""


def estimate_indices(
    data: SurveyData,
    *,
    by: Sequence[str] = ("region", "year"),
    min_n: int = MIN_RESPONDENTS,
    alpha: float = 0.05,
    lang: str = "en",
) -> pd.DataFrame:
    """Return the estimate of every index per group, with its SE and interval.

    Parameters
    ----------
    data
        The imported waves.
    by
        Grouping columns among ``region``, ``year``, ``urban``, ``age_group``, ``sex``.
    min_n
        Cells with fewer respondents who answered (unweighted) are suppressed: estimate, SE
        and interval are left empty and ``reason`` says why.
    alpha
        1 - the interval's confidence.
    lang
        Language of the ``reason`` texts (kk, ru or en).

    Returns
    -------
    pandas.DataFrame
        One row per index and group: the group columns, ``index``, ``kind``, ``n``,
        ``weight_sum``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``suppressed``
        and ``reason``.
    """
    bad = [b for b in by if b not in GROUPS]
    if bad:
        raise RecordError(code="eval_survey_group", columns=", ".join(bad))
    frame = data.respondents
    design = data.design()
    groups = frame.groupby(list(by), sort=True).indices if by else {(): np.arange(len(frame))}
    rows = []
    options = (min_n, alpha, lang)
    for key, members in groups.items():
        mask = np.zeros(len(frame), dtype=bool)
        mask[members] = True
        labels = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        for index in data.indices:
            rows.append(_estimate_row(frame, design, index, mask, labels=labels, options=options))
    return pd.DataFrame(rows, columns=[*by, *ESTIMATE_COLUMNS])


def _estimate_row(
    frame: pd.DataFrame,
    design: Design,
    index: Index,
    mask: np.ndarray,
    *,
    labels: dict[str, object],
    options: tuple[int, float, str],
) -> dict[str, object]:
    min_n, alpha, lang = options
    y = frame[index.name].to_numpy(float)
    result = domain_mean(design, y, mask, proportion=index.binary, alpha=alpha)
    answered = mask & ~np.isnan(y)
    reason = _suppression(result.n, len(np.unique(design.psu[answered])), min_n, lang)
    figures = {name: np.nan if reason else getattr(result, name) for name in _FIGURES}
    counts = {
        "index": index.name,
        "kind": index.kind,
        "n": result.n,
        "weight_sum": result.weight_sum,
    }
    said = {"df": design.df, "suppressed": bool(reason), "reason": reason}
    return {**labels, **counts, **figures, **said}


AGGREGATE_COLUMNS = {
    "region": ("region", "регион", "өңір"),
    "year": ("year", "год", "жыл"),
    "index": ("index", "индекс", "көрсеткіш"),
    "estimate": ("estimate", "value", "оценка", "значение", "мәні"),
    "se": ("se", "standard_error", "стандартная ошибка"),
    "ci_low": ("ci_low", "lower", "нижняя граница"),
    "ci_high": ("ci_high", "upper", "верхняя граница"),
    "n": ("n", "respondents", "респонденты", "респонденттер"),
}


def estimates_from_aggregates(
    path: Path | str, *, min_n: int = MIN_RESPONDENTS, alpha: float = 0.05, lang: str = "en"
) -> pd.DataFrame:
    """Read published region-level estimates (CSV/XLSX) into the shape of `estimate_indices`.

    Columns: ``region``, ``year``, ``index``, ``estimate``, ``n`` and either ``se`` or
    ``ci_low`` and ``ci_high`` (a symmetric normal interval then gives the SE).

    Raises
    ------
    InputFileError
        When a required column is missing.
    RecordError
        When regions are unknown or figures are not numbers.
    """
    table, _ = read_table(path)
    name = Path(path).name
    found = {k: find_column(table, v) for k, v in AGGREGATE_COLUMNS.items()}
    needed = ["region", "year", "index", "estimate", "n"]
    lacking = [k for k in needed if found[k] is None]
    if found["se"] is None and (found["ci_low"] is None or found["ci_high"] is None):
        lacking.append("se (or ci_low and ci_high)")
    if lacking:
        text = ", ".join(lacking)
        raise InputFileError(code="eval_survey_missing_columns", name=name, columns=text)
    out = _aggregate_rows(table, found, name=name, alpha=alpha)
    small = out["n"] < min_n
    out["suppressed"] = small
    out["reason"] = [_suppression(int(n), 2, min_n, lang) for n in out["n"]]
    out.loc[small, ["estimate", "se", "ci_low", "ci_high"]] = np.nan
    return out


def _aggregate_rows(
    table: pd.DataFrame, found: dict[str, str | None], *, name: str, alpha: float
) -> pd.DataFrame:
    from scipy.stats import norm

    out = pd.DataFrame({"index": table[found["index"]].astype(str), "kind": "published"})
    out["region"], problems = _regions(table[found["region"]], table["row"])
    for key in ("year", "estimate", "n", "se", "ci_low", "ci_high"):
        column = found[key]
        out[key] = pd.to_numeric(table[column].map(_number), errors="coerce") if column else np.nan
        if column and key in ("year", "estimate", "n"):
            bad = out[key].isna()
            problems += _problem_rows(
                table["row"], bad, code="eval_survey_not_a_number", column=column
            )
    _refuse(problems, name=name)
    z = float(norm.ppf(1 - alpha / 2))
    derived = (out["ci_high"] - out["ci_low"]) / (2 * z)
    out["se"] = out["se"].where(out["se"].notna(), derived)
    out["ci_low"] = out["ci_low"].where(out["ci_low"].notna(), out["estimate"] - z * out["se"])
    out["ci_high"] = out["ci_high"].where(out["ci_high"].notna(), out["estimate"] + z * out["se"])
    out["year"], out["n"] = out["year"].astype(int), out["n"].astype(int)
    out["weight_sum"], out["df"] = np.nan, np.nan
    out["suppressed"], out["reason"] = False, ""
    return out[["region", "year", *ESTIMATE_COLUMNS]]


__all__ = [
    "GROUPS",
    "MIN_RESPONDENTS",
    "SurveyData",
    "estimate_indices",
    "estimates_from_aggregates",
    "read_respondents",
    "survey_from_files",
]
