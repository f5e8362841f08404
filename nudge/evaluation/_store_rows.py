"""Rows of the stored survey waves: the wave record, JSON cells, inserts and reads.

The private half of `nudge.evaluation.store`: how a wave, its files and its rows are written
in one transaction and read back. Functions take a connection; `writing` and `reading` turn
an engine or a caller's connection into one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.db.audit import utcnow, write_audit
from nudge.db.content import when_text
from nudge.db.survey_tables import (
    SURVEY_AGGREGATES,
    SURVEY_RESPONDENTS,
    SURVEY_WAVE_FILES,
    SURVEY_WAVES,
)
from nudge.evaluation.questionnaire import Index, Questionnaire, index_values

Bind = Engine | sa.Connection
"""An engine (the function opens its own transaction) or a connection the caller owns."""

ROLES = ("region", "weight", "year", "stratum", "psu", "urban", "age_group", "sex")
"""The design columns of `SurveyData.respondents`, in the order `survey_from_files` makes."""
STORED = {
    "region": "region_code",
    "weight": "weight",
    "year": "year",
    "stratum": "stratum",
    "psu": "psu",
    "urban": "urban",
    "age_group": "age_group",
    "sex": "sex",
}
LOADED_TYPES: dict[str, Any] = {
    "region": object,
    "weight": "float64",
    "year": "int64",
    "stratum": object,
    "psu": "str",
    "urban": "str",
    "age_group": object,
    "sex": object,
}
"""The types `survey_from_files` gives these columns, so a loaded wave equals the imported one."""
AUDIT_TABLE = "survey_waves"


@dataclass(frozen=True, slots=True)
class SurveyWave:
    """A stored wave: what was imported, from which files, by whom and when."""

    id: int
    name: str
    year: int | None
    kind: str
    sources: tuple[str, ...]
    sha256: tuple[str, ...]
    rows: int
    years: tuple[int, ...]
    indices: tuple[str, ...]
    imported_at: datetime
    imported_by: str
    questionnaire_sha256: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the wave as a JSON-ready mapping."""
        out = asdict(self)
        out["imported_at"] = self.imported_at.isoformat(timespec="seconds")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@contextmanager
def writing(bind: Bind) -> Iterator[sa.Connection]:
    """Yield the caller's connection as it is, or a new one in a writing transaction."""
    if isinstance(bind, sa.Connection):
        yield bind
        return
    with bind.begin() as conn:
        yield conn


@contextmanager
def reading(bind: Bind) -> Iterator[sa.Connection]:
    """Yield the caller's connection as it is, or a new reading one (deferred on SQLite)."""
    if isinstance(bind, sa.Connection):
        yield bind
        return
    with bind.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        yield conn


def wave_values(
    name: str, user: str, year: int | None, years: pd.Series, rows: int
) -> dict[str, Any]:
    """Return the columns of a new wave; refuse an empty name or user."""
    name = name.strip()
    if not name or len(name) > 200 or not user.strip():
        msg = "A survey wave needs a name of 1 to 200 characters and the user who imports it."
        raise RecordError(msg, code="survey_store_name")
    found = sorted({int(y) for y in years.dropna()})
    if year is None and len(found) == 1:
        year = found[0]
    return {
        "name": name,
        "year": year,
        "row_count": rows,
        "imported_at": utcnow(),
        "imported_by": user.strip(),
    }


def questionnaire_values(text: str | None) -> dict[str, Any]:
    """Return the wave columns holding the questionnaire map's TOML and its SHA-256."""
    digest = None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()
    return {"questionnaire": text, "questionnaire_sha256": digest}


def store_rows(
    bind: Bind,
    wave: dict[str, Any],
    files: list[tuple[str, str]],
    table: sa.Table,
    rows: Callable[[int], list[dict[str, Any]]],
) -> SurveyWave:
    """Insert the wave, its files and its rows (one bulk insert) and the audit entry."""
    try:
        with writing(bind) as conn:
            refuse_stored(conn, files)
            insert = sa.insert(SURVEY_WAVES).values(**wave).returning(SURVEY_WAVES.c.id)
            wave_id = int(conn.execute(insert).scalar_one())
            conn.execute(
                sa.insert(SURVEY_WAVE_FILES),
                [
                    {"wave_id": wave_id, "position": k, "file_name": f, "sha256": s}
                    for k, (f, s) in enumerate(files)
                ],
            )
            records = rows(wave_id)
            if records:
                conn.execute(sa.insert(table), records)
            stored = waves_from(conn, [wave_id])[0]
            write_audit(
                conn,
                username=stored.imported_by,
                action="import",
                table=AUDIT_TABLE,
                items=[(None, audit_values(stored))],
            )
    except sa.exc.IntegrityError:  # the same file stored at the same moment by another session
        if isinstance(bind, sa.Connection):  # the caller's transaction has failed: it decides
            raise
        with reading(bind) as conn:
            refuse_stored(conn, files)
        raise
    return stored


def refuse_stored(conn: sa.Connection, files: list[tuple[str, str]]) -> None:
    """Raise `RecordError` when a file is given twice or is stored in a wave already."""
    digests = [s for _, s in files]
    twice = sorted({f for f, s in files if digests.count(s) > 1})
    if twice:
        text = ", ".join(twice)
        msg = f"The file(s) {text} were given twice (the same content); give each file once."
        raise RecordError(msg, code="survey_store_same_file", files=text)
    query = (
        sa.select(SURVEY_WAVE_FILES.c.sha256, SURVEY_WAVES)
        .join(SURVEY_WAVES, SURVEY_WAVES.c.id == SURVEY_WAVE_FILES.c.wave_id)
        .where(SURVEY_WAVE_FILES.c.sha256.in_(digests))
    )
    found = conn.execute(query).first()
    if found is None:
        return
    file = next(f for f, s in files if s == found.sha256)
    at = when_text(found.imported_at)
    msg = (
        f"The file {file} is already stored in survey wave {found.id} ({found.name}, imported "
        f"{at} by {found.imported_by}); nothing was imported. Delete that wave first "
        "(`nudge survey delete`) to import the file again."
    )
    raise RecordError(
        msg,
        code="survey_store_duplicate",
        file=file,
        wave=found.id,
        name=found.name,
        at=at,
        user=found.imported_by,
    )


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of `frame` as plain JSON mappings (NaN as None, numpy as Python)."""
    if frame.shape[1] == 0:
        return [{} for _ in range(len(frame))]
    columns = {str(c): [_plain(v) for v in frame[c].tolist()] for c in frame.columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def index_json(index: Index) -> dict[str, Any]:
    """Return an index of the questionnaire as JSON data (`index_from_json` reads it)."""
    out = asdict(index)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def index_from_json(spec: Mapping[str, Any]) -> Index:
    """Return the index stored by `index_json`."""
    return Index(
        name=str(spec["name"]),
        kind=str(spec["kind"]),
        items=tuple(spec["items"]),
        scale=(float(spec["scale"][0]), float(spec["scale"][1])),
        agree=tuple(spec["agree"]),
        reverse=tuple(spec["reverse"]),
        missing=tuple(spec["missing"]),
        label=dict(spec["label"]),
    )


def audit_values(wave: SurveyWave) -> dict[str, Any]:
    """Return what the audit log keeps of a wave."""
    keys = ("id", "name", "year", "kind", "sources", "sha256", "rows", "indices")
    return {k: v for k, v in wave.as_dict().items() if k in keys}


# --- reading ----------------------------------------------------------------------------------


def waves_from(conn: sa.Connection, ids: Sequence[int] | None) -> list[SurveyWave]:
    """Return the waves of `ids` (all when None), newest first."""
    query = sa.select(SURVEY_WAVES).order_by(SURVEY_WAVES.c.id.desc())
    files = sa.select(SURVEY_WAVE_FILES).order_by(SURVEY_WAVE_FILES.c.position)
    if ids is not None:
        query = query.where(SURVEY_WAVES.c.id.in_(list(ids)))
        files = files.where(SURVEY_WAVE_FILES.c.wave_id.in_(list(ids)))
    sources: dict[int, list[tuple[str, str]]] = {}
    for row in conn.execute(files):
        sources.setdefault(row.wave_id, []).append((row.file_name, row.sha256))
    years: dict[int, set[int]] = {}
    for table in (SURVEY_RESPONDENTS, SURVEY_AGGREGATES):
        pairs = sa.select(table.c.wave_id, table.c.year).distinct()
        if ids is not None:
            pairs = pairs.where(table.c.wave_id.in_(list(ids)))
        for wave_id, year in conn.execute(pairs):
            years.setdefault(wave_id, set()).add(int(year))
    return [
        SurveyWave(
            id=int(row.id),
            name=row.name,
            year=row.year,
            kind=row.kind,
            sources=tuple(f for f, _ in sources.get(row.id, [])),
            sha256=tuple(s for _, s in sources.get(row.id, [])),
            rows=int(row.row_count),
            years=tuple(sorted(years.get(row.id, ()))),
            indices=tuple(str(i["name"]) for i in row.indices),
            imported_at=row.imported_at,
            imported_by=row.imported_by,
            questionnaire_sha256=row.questionnaire_sha256,
        )
        for row in conn.execute(query)
    ]


def chosen_waves(conn: sa.Connection, wave_ids: Sequence[int] | None) -> list[SurveyWave]:
    """Return the waves asked for, oldest first; refuse ids that are not stored."""
    waves = waves_from(conn, wave_ids)
    missing = sorted(set(wave_ids or ()) - {w.id for w in waves})
    if missing:
        text = ", ".join(str(m) for m in missing)
        msg = f"There is no stored survey wave {text}; `nudge survey waves` lists them."
        raise RecordError(msg, code="survey_store_missing", waves=text)
    return waves[::-1]


def refuse_aggregates(waves: Sequence[SurveyWave]) -> None:
    """Raise `RecordError` when a wave holds published estimates instead of respondents."""
    published = [w for w in waves if w.kind != "respondents"]
    if published:
        text = ", ".join(f"{w.id} ({w.name})" for w in published)
        msg = (
            f"The survey wave(s) {text} hold published region-level estimates, not respondents; "
            "use their estimates as they are."
        )
        raise RecordError(msg, code="survey_store_kind", waves=text)


def respondent_frame(
    conn: sa.Connection, wave: SurveyWave, questionnaire: Questionnaire | None
) -> tuple[pd.DataFrame, tuple[Index, ...]]:
    """Return the respondents of a wave and its indices (or `questionnaire`'s, rescored)."""
    table = SURVEY_RESPONDENTS
    columns = [table.c[stored] for stored in STORED.values()]
    query = sa.select(*columns, table.c.index_values, table.c.answers).where(
        table.c.wave_id == wave.id
    )
    rows = conn.execute(query.order_by(table.c.position)).all()
    frame = pd.DataFrame([r[: len(columns)] for r in rows], columns=list(STORED))
    frame = frame.astype(LOADED_TYPES)
    if questionnaire is None:
        spec = conn.execute(sa.select(SURVEY_WAVES.c.indices).where(SURVEY_WAVES.c.id == wave.id))
        defined = tuple(index_from_json(i) for i in spec.scalar_one())
        values = pd.DataFrame.from_records([r.index_values for r in rows], index=frame.index)
        for index in defined:
            frame[index.name] = values.get(index.name, np.nan)
        return frame, defined
    answers = pd.DataFrame.from_records([r.answers for r in rows], index=frame.index)
    lacking = [i for i in questionnaire.items() if i not in answers.columns]
    if lacking:
        text = ", ".join(lacking)
        msg = (
            f"The stored survey wave {wave.id} ({wave.name}) holds no answers to the item(s) "
            f"{text} the questionnaire map names; import the file again with a map naming them."
        )
        raise RecordError(msg, code="survey_store_missing_items", wave=wave.id, items=text)
    for index in questionnaire.indices:
        frame[index.name] = index_values(answers, index).to_numpy()
    return frame, questionnaire.indices
