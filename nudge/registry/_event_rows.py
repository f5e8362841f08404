"""Checking the rows of a plan of events: column names, kinds and statuses in en/ru/kk.

The vocabulary of a plan's spreadsheet (`EVENT_COLUMNS`, `EVENT_KIND_ALIASES`,
`EVENT_STATUS_ALIASES`) and `check_event_rows`, which checks every row column
by column with the registry's shared checks (`nudge.registry._validate`) and
returns the typed good rows and every problem with its row number.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from nudge._errors import RecordError, RowProblem
from nudge.geo.regions import region_code
from nudge.registry._batches import _raise_missing
from nudge.registry._cells import (
    Cells,
    Columns,
    Problems,
    _choices,
    cells_of,
    column_key,
    dates_of,
    numbers_of,
    present,
    take,
    texts_of,
)
from nudge.registry._validate import canonical_columns
from nudge.registry.publications import _URL


def _names(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Return ``{canonical: (canonical, *names)}`` from space-separated names."""
    return {canon: (canon, *names.split()) for canon, names in table.items()}


def _aliases(table: dict[str, str]) -> dict[str, str]:
    """Return ``{name: canonical}`` from space-separated names (each also names itself)."""
    return {column_key(n): canon for canon, names in _names(table).items() for n in names}


EVENT_COLUMNS: dict[str, tuple[str, ...]] = _names(
    {
        "document": "plan план документ жоспар құжат",
        "item_no": "item no number № номер пункт тармақ р/с п/п",
        "region": "region_code область регион облыс өңір",
        "year": "год жыл",
        "kind": "type тип вид түрі форма нысаны",
        "title": "name event название мероприятие атауы іс_шара",
        "planned_on": "date planned_date дата срок күні мерзімі",
        "status": "статус күйі исполнение орындалуы",
        "evidence": "link url publication ссылка подтверждение сілтеме дәлел",
    }
)
"""Accepted column names of a plan of events, in English, Russian and Kazakh."""

EVENT_KIND_ALIASES: dict[str, str] = _aliases(
    {
        "tv_programme": "tv tv_program телепередача телепрограмма тв телебағдарлама",
        "podcast": "подкаст",
        "dynasty_photo_session": "photo_session dynasty_photo фотосессия фотосессия_династии "
        "фотосессия_трудовой_династии әулет_фотосессиясы еңбек_әулетінің_фотосессиясы",
        "social_challenge": "challenge челлендж челендж челлендж_в_соцсетях "
        "әлеуметтік_желідегі_челлендж",
        "contest_stage": "contest мен_профимін мен_профимин конкурс этап_конкурса байқау "
        "байқау_кезеңі",
        "career_day_excursion": "excursion экскурсия экскурсия_на_предприятие өндіріске_экскурсия",
        "career_day_meeting": "meeting встреча встреча_на_предприятии кездесу",
        "career_day_open_day": "open_day день_открытых_дверей ашық_есік_күні",
    }
)
"""Kinds of plan items by their names in English, Russian and Kazakh."""

EVENT_STATUS_ALIASES: dict[str, str] = _aliases(
    {
        "planned": "plan запланировано запланирован планируется в_плане жоспарланған жоспарда",
        "held": "done completed проведено проведен проведена выполнено исполнено өткізілді өтті "
        "орындалды",
        "cancelled": "canceled отменено отменен отменена тоқтатылды болдырылмады өткізілмеді",
    }
)
"""Statuses of plan items by their names in English, Russian and Kazakh."""

REPUBLIC_NAMES = frozenset(
    _aliases(
        {
            "": "KZ RK РК ҚР republic республика республиканский республика_казахстан "
            "республикалық қазақстан_республикасы"
        }
    )
)
"""Region cells that mean the republican plan (an empty cell means it too)."""
_FIRST_YEAR, _LAST_YEAR = 2000, 2100
_QUOTES = re.compile(r"[«»\"'“”„]")


def event_table(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return the cells of a plan's file under canonical names, refusing a file without them."""
    mapping = canonical_columns([c for c in raw.columns if c != "row"], EVENT_COLUMNS)
    table = raw[["row", *mapping]].rename(columns=mapping)
    missing = [c for c in ("kind", "title") if c not in table]
    if "year" not in table and "planned_on" not in table:
        missing.append("year (or planned_on)")
    if missing:
        shown = ("kind", "title", "year", "planned_on", "region", "status")
        _raise_missing(raw, name, missing, aliases=EVENT_COLUMNS, shown=shown)
    return table.reset_index(drop=True)


def _regions(cells: np.ndarray, p: Problems) -> np.ndarray:
    """Return region codes (None: the republic), recording names that are no region."""
    found: dict[str, str | RecordError | None] = {}
    out = np.full(len(cells), None, dtype=object)
    for i, cell in enumerate(cells):
        if cell is None or column_key(cell) in REPUBLIC_NAMES:
            continue
        if cell not in found:
            try:
                found[cell] = region_code(cell)
            except RecordError as exc:
                found[cell] = exc
        value = found[cell]
        if isinstance(value, RecordError):
            mask = np.zeros(len(cells), dtype=bool)
            mask[i] = True
            p.add(
                mask,
                "region",
                code=value.code or "region_unknown",
                params=dict(value.params),
            )
        else:
            out[i] = value
    return out


def _years(table: pd.DataFrame, planned: np.ndarray, p: Problems) -> np.ndarray:
    given = numbers_of(cells_of(table, "year"), "year", p)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(given) & ((given % 1 != 0) | (given < _FIRST_YEAR) | (given > _LAST_YEAR))
    p.add(
        bad,
        "year",
        code="row_event_year_invalid",
        params={"value": given},
    )
    of_date = np.array([np.nan if d is None else d.year for d in planned], dtype=float)
    p.add(
        np.isnan(given) & np.isnan(of_date) & ~p.bad,
        "year",
        code="row_event_year_missing",
    )
    clash = ~np.isnan(given) & ~np.isnan(of_date) & (given != of_date) & ~bad
    p.add(
        clash,
        "planned_on",
        code="row_event_year_mismatch",
        params={"date": planned, "year": np.where(np.isnan(given), 0, given).astype(np.int64)},
    )
    years = np.where(np.isnan(given), of_date, given)
    return np.where(np.isnan(years), 0, years).astype(np.int64)


def _evidence(cells: np.ndarray, p: Problems) -> tuple[np.ndarray, np.ndarray]:
    """Return publication ids and addresses of the evidence cells, recording other text."""
    ids = np.full(len(cells), None, dtype=object)
    urls = np.full(len(cells), None, dtype=object)
    for i, cell in enumerate(cells):
        text = None if cell is None else str(cell).strip()
        if not text:
            continue
        number = re.fullmatch(r"(?:#|pub:|№)?\s*(\d+)(?:\.0+)?", text, re.IGNORECASE)
        if number:
            ids[i] = int(number.group(1))
        elif _URL.match(text) and len(text) <= 500:
            urls[i] = text
    bad = present(texts_of(cells)) & ~present(ids) & ~present(urls)
    p.add(
        bad,
        "evidence",
        code="row_event_evidence_invalid",
        params={"value": cells},
    )
    return ids, urls


def _keys(table: pd.DataFrame, rows: Columns) -> np.ndarray:
    """Return the external key of every row: plan document and item number, else a hash."""
    document = texts_of(cells_of(table, "document"))
    item = texts_of(cells_of(table, "item_no"))
    keys = []
    for i in range(len(document)):
        where = f"{rows['region_code'][i] or 'KZ'}|{rows['year'][i]}"
        if item[i] is not None:
            keys.append(f"{where}|{(document[i] or '')[:150]}|{item[i][:40]}")
            continue
        planned = rows["planned_on"][i]
        text = f"{rows['kind'][i]}|{str(rows['title'][i] or '').casefold()}|{planned or ''}"
        keys.append(f"{where}|h:{hashlib.sha256(text.encode()).hexdigest()[:40]}")
    return np.asarray(keys, dtype=object)


def _kinds_statuses_titles(table: pd.DataFrame, p: Problems) -> tuple[Cells, Cells, Cells]:
    """Return the canonical kinds and statuses and the titles, recording their problems."""
    raw_kind = np.array(
        [None if v is None else _QUOTES.sub("", str(v)) for v in cells_of(table, "kind")],
        dtype=object,
    )
    kind = _choices(raw_kind, "kind", EVENT_KIND_ALIASES, p)
    status = _choices(cells_of(table, "status"), "status", EVENT_STATUS_ALIASES, p, "planned")
    title = texts_of(cells_of(table, "title"))
    for column, values in (("kind", raw_kind), ("title", title)):
        p.add(
            ~present(texts_of(values)),
            column,
            code="row_value_missing",
            params={"column": column},
        )
    p.add(
        np.array([t is not None and len(t) > 300 for t in title], dtype=bool),
        "title",
        code="row_text_too_long",
        params={"column": "title", "limit": 300},
    )
    return kind, status, title


def check_event_rows(table: pd.DataFrame) -> tuple[Columns, list[RowProblem]]:
    """Check the rows of a plan of events (canonical column names and a ``row`` column).

    Returns
    -------
    rows, problems
        The typed good rows (``row``, ``external_key``, ``region_code``, ``year``,
        ``kind``, ``title``, ``planned_on``, ``status``, ``evidence_publication_id``,
        ``evidence_url``) and every problem with its row number.
    """
    p = Problems(np.asarray(table["row"].tolist()))
    kind, status, title = _kinds_statuses_titles(table, p)
    planned = dates_of(cells_of(table, "planned_on"), "planned_on", p)
    rows: Columns = {
        "row": p.rows,
        "region_code": _regions(texts_of(cells_of(table, "region")), p),
        "kind": kind,
        "title": title,
        "planned_on": planned,
        "status": status,
    }
    rows["year"] = _years(table, planned, p)
    rows["evidence_publication_id"], rows["evidence_url"] = _evidence(
        cells_of(table, "evidence"), p
    )
    rows["external_key"] = _keys(table, rows)
    repeated = pd.Series(rows["external_key"]).duplicated().to_numpy() & ~p.bad
    p.add(
        repeated,
        "item_no",
        code="row_event_item_repeated",
        params={"key": rows["external_key"]},
    )
    return take(rows, ~p.bad), sorted(p.items, key=lambda q: (q.row, q.column or ""))


def one_evidence(evidence: int | str | None) -> tuple[int | None, str | None]:
    """Return the publication id or the address that `evidence` gives (both None for None)."""
    p = Problems(np.asarray([1]))
    cells = np.asarray([evidence], dtype=object)
    ids, urls = _evidence(cells, p)
    if p.items:
        raise RecordError(code="event_evidence_invalid", value=str(evidence))
    return ids[0], urls[0]
