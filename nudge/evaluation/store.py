"""Survey waves in the shared database: store each once, list them, load them for estimates.

A wave is one import: respondent-level files scored with a questionnaire map
(`import_wave`, `save_wave`), or a published region-level table (`import_aggregates`).
Every file's SHA-256 is stored, so a file imported twice is refused with the wave that holds
it. A wave is written in one transaction (one bulk insert of its respondents) together with its
entry in the audit log; a file with problems stores nothing. `load_wave` gives back the
`SurveyData` that `estimate_indices` needs, exactly as it was imported; with another
questionnaire map it scores the indices again from the stored answers to the map's items.

Typical use::

    wave = import_wave(engine, ["wave2025.csv"], questionnaire_from_file(), name="2025",
                       user="aigerim")
    table = estimate_waves(engine, [wave.id], by=["region", "year"], lang="kk")
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from nudge._errors import InputFileError, RecordError
from nudge.db.audit import write_audit
from nudge.db.survey_tables import (
    SURVEY_AGGREGATES,
    SURVEY_RESPONDENTS,
    SURVEY_WAVE_FILES,
    SURVEY_WAVES,
)
from nudge.evaluation._store_rows import (
    AUDIT_TABLE,
    ROLES,
    STORED,
    Bind,
    SurveyWave,
    audit_values,
    chosen_waves,
    index_json,
    json_rows,
    questionnaire_values,
    reading,
    refuse_aggregates,
    respondent_frame,
    store_rows,
    wave_values,
    waves_from,
    writing,
)
from nudge.evaluation.questionnaire import Index, Questionnaire
from nudge.evaluation.survey import (
    ESTIMATE_COLUMNS,
    MIN_RESPONDENTS,
    SurveyData,
    _suppression,
    estimate_indices,
    estimates_from_aggregates,
    read_respondents,
    survey_from_files,
)
from nudge.io.limits import MAX_IMPORT_BYTES


def file_sha256(path: Path | str) -> str:
    """Return the SHA-256 of a file's bytes (how a stored file is recognised)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_survey_tables(bind: Bind) -> None:
    """Raise `RecordError` when the database has no survey tables (schema before 0004)."""
    with reading(bind) as conn:
        if sa.inspect(conn).has_table(SURVEY_WAVES.name):
            return
    msg = "The database has no survey tables yet; run `nudge db upgrade` first."
    raise RecordError(msg, code="survey_store_schema")


# --- import -----------------------------------------------------------------------------------


def import_wave(
    bind: Bind,
    paths: Sequence[Path | str],
    questionnaire: Questionnaire,
    *,
    name: str,
    user: str,
    year: int | None = None,
    questionnaire_text: str | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> SurveyWave:
    """Import respondent-level files (CSV, XLSX, .sav, .dta) as one stored wave.

    Every row is checked by `survey_from_files` first; a file with problems stores nothing.
    Besides each index's value, the answers to the map's items are stored, so the wave can be
    scored again with another map (`load_wave`). Other columns of the files are not stored.

    Raises
    ------
    InputFileError
        When a file cannot be read or lacks a column the map names.
    RecordError
        When rows have problems (see `survey_from_files`) or a file is already stored.
    """
    files = [Path(p) for p in paths]
    if not files:
        msg = "Give at least one survey file to import."
        raise InputFileError(msg, code="survey_store_no_files")
    data = survey_from_files(files, questionnaire, year=year, max_bytes=max_bytes)
    items = questionnaire.items()
    answers = pd.concat(
        [read_respondents(f, max_bytes=max_bytes)[items] for f in files], ignore_index=True
    )
    return save_wave(
        bind,
        data,
        name=name,
        user=user,
        sha256=[file_sha256(f) for f in files],
        year=year,
        questionnaire_text=questionnaire_text,
        answers=answers,
    )


def save_wave(
    bind: Bind,
    data: SurveyData,
    *,
    name: str,
    user: str,
    sha256: Sequence[str],
    year: int | None = None,
    questionnaire_text: str | None = None,
    answers: pd.DataFrame | None = None,
) -> SurveyWave:
    """Store imported waves as one wave in one transaction, with its audit entry.

    Parameters
    ----------
    bind
        Engine (its own transaction) or a connection whose transaction the caller owns.
    data
        The respondents, as `survey_from_files` returns them.
    name, user
        The wave's name and who imports it (written to the audit log).
    sha256
        The SHA-256 of each file of ``data.sources``, in the same order.
    year
        The wave's year; by default the survey year of the data when it holds one.
    questionnaire_text
        The questionnaire map's TOML, kept with the wave.
    answers
        The answers to the map's items, one row per respondent (stored as JSON).

    Raises
    ------
    RecordError
        When a file is already stored (by its SHA-256), or the name is empty.
    """
    frame = data.respondents
    if len(sha256) != len(data.sources) or (answers is not None and len(answers) != len(frame)):
        msg = "Give one SHA-256 per source file and one row of answers per respondent."
        raise ValueError(msg)
    wave = wave_values(name, user, year, frame["year"], len(frame))
    wave |= {"kind": "respondents", "indices": [index_json(i) for i in data.indices]}
    wave |= questionnaire_values(questionnaire_text)
    values = json_rows(frame[[i.name for i in data.indices]])
    replies = json_rows(answers) if answers is not None else [{}] * len(frame)

    def rows(wave_id: int) -> list[dict[str, Any]]:
        columns = {stored: frame[role].tolist() for role, stored in STORED.items()}
        base = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        return [
            {**b, "wave_id": wave_id, "position": k, "index_values": v, "answers": a}
            for k, (b, v, a) in enumerate(zip(base, values, replies, strict=True))
        ]

    return store_rows(
        bind, wave, list(zip(data.sources, sha256, strict=True)), SURVEY_RESPONDENTS, rows
    )


def import_aggregates(
    bind: Bind, path: Path | str, *, name: str, user: str, year: int | None = None
) -> SurveyWave:
    """Import a published region-level table (see `estimates_from_aggregates`) as a wave."""
    table = estimates_from_aggregates(path, min_n=0)
    file = Path(path)
    return save_aggregates(
        bind,
        table,
        name=name,
        user=user,
        sources=[file.name],
        sha256=[file_sha256(file)],
        year=year,
    )


def save_aggregates(
    bind: Bind,
    table: pd.DataFrame,
    *,
    name: str,
    user: str,
    sources: Sequence[str],
    sha256: Sequence[str],
    year: int | None = None,
) -> SurveyWave:
    """Store published estimates (``region``, ``year``, ``index``, ``estimate``, ``se``,
    ``ci_low``, ``ci_high``, ``n``, optional ``group``) as one wave, with its audit entry."""
    wave = wave_values(name, user, year, table["year"], len(table))
    indices = [{"name": n} for n in dict.fromkeys(table["index"].astype(str))]
    wave |= {"kind": "aggregates", "indices": indices, **questionnaire_values(None)}
    groups = table["group"] if "group" in table else pd.Series("all", index=table.index)
    plain = pd.DataFrame(
        {
            "region_code": table["region"],
            "year": table["year"].astype(int),
            "group_name": groups.astype(str),
            "index_name": table["index"].astype(str),
            "estimate": table["estimate"],
            "se": table["se"],
            "ci_low": table["ci_low"],
            "ci_high": table["ci_high"],
            "n": table["n"].astype(int),
        }
    )
    records = json_rows(plain)

    def rows(wave_id: int) -> list[dict[str, Any]]:
        return [{**r, "wave_id": wave_id} for r in records]

    return store_rows(bind, wave, list(zip(sources, sha256, strict=True)), SURVEY_AGGREGATES, rows)


def list_waves(bind: Bind) -> list[SurveyWave]:
    """Return every stored wave, newest first."""
    with reading(bind) as conn:
        return waves_from(conn, None)


def load_wave(
    bind: Bind, wave_id: int, *, questionnaire: Questionnaire | None = None
) -> SurveyData:
    """Return one stored wave of respondents as `survey_from_files` returned it.

    With `questionnaire`, the indices are those of that map, scored from the stored answers.

    Raises
    ------
    RecordError
        When the wave is not stored, holds published aggregates only, or lacks answers to an
        item the map names.
    """
    return load_waves(bind, [wave_id], questionnaire=questionnaire)


def load_waves(
    bind: Bind, wave_ids: Sequence[int] | None = None, *, questionnaire: Questionnaire | None = None
) -> SurveyData:
    """Return stored waves of respondents together (all of them when `wave_ids` is None)."""
    with reading(bind) as conn:
        waves = chosen_waves(conn, wave_ids)
        if wave_ids is None:
            waves = [w for w in waves if w.kind == "respondents"]
        refuse_aggregates(waves)
        parts, indices = [], dict[str, Index]()
        for wave in waves:
            frame, defined = respondent_frame(conn, wave, questionnaire)
            if len(waves) > 1:  # waves are separate samples: their PSUs never merge
                frame["psu"] = f"{wave.id}|" + frame["psu"]
            parts.append(frame)
            indices |= {i.name: i for i in defined if i.name not in indices}
    if not parts:
        msg = "No survey wave of respondents is stored; import one with `nudge survey import`."
        raise RecordError(msg, code="survey_store_empty")
    names = list(indices)
    frame = pd.concat(parts, ignore_index=True).reindex(columns=[*ROLES, *names])
    frame[names] = frame[names].astype(float)
    sources = tuple(s for w in waves for s in w.sources)
    return SurveyData(frame, tuple(indices.values()), sources)


def load_aggregates(bind: Bind, wave_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Return stored published estimates in the shape of `estimates_from_aggregates`.

    Nothing is suppressed here (`estimate_waves` suppresses small cells); ``wave_id`` says
    which wave each row comes from.
    """
    table = SURVEY_AGGREGATES
    query = sa.select(table).order_by(table.c.wave_id, table.c.id)
    if wave_ids is not None:
        query = query.where(table.c.wave_id.in_(list(wave_ids)))
    with reading(bind) as conn:
        rows = conn.execute(query).mappings().all()
    out = pd.DataFrame(
        {
            "region": [r["region_code"] for r in rows],
            "year": [r["year"] for r in rows],
            "index": [r["index_name"] for r in rows],
            "kind": "published",
            "n": [r["n"] for r in rows],
            "weight_sum": np.nan,
        }
    )
    for key in ("estimate", "se", "ci_low", "ci_high"):
        out[key] = pd.Series([r[key] for r in rows], dtype=float)
    out["df"], out["suppressed"], out["reason"] = np.nan, False, ""
    out["wave_id"] = [r["wave_id"] for r in rows]
    out[["year", "n"]] = out[["year", "n"]].astype("int64")
    return out[["region", "year", *ESTIMATE_COLUMNS, "wave_id"]]


def estimate_waves(
    bind: Bind,
    wave_ids: Sequence[int] | None = None,
    *,
    by: Sequence[str] = ("region", "year"),
    min_n: int = MIN_RESPONDENTS,
    alpha: float = 0.05,
    lang: str = "en",
    questionnaire: Questionnaire | None = None,
) -> pd.DataFrame:
    """Estimate every index of stored waves (all when `wave_ids` is None) per group.

    Waves of respondents give `estimate_indices` on them together; waves of published
    estimates add their rows (only grouped by region and year), with cells of fewer than
    `min_n` respondents suppressed in the same way.
    """
    with reading(bind) as conn:
        waves = chosen_waves(conn, wave_ids)
    people = [w.id for w in waves if w.kind == "respondents"]
    published = [w.id for w in waves if w.kind == "aggregates"]
    parts = []
    if people:
        data = load_waves(bind, people, questionnaire=questionnaire)
        parts.append(estimate_indices(data, by=by, min_n=min_n, alpha=alpha, lang=lang))
    if published:
        if list(by) != ["region", "year"]:
            msg = "Published region-level estimates can only be shown by region and year."
            raise RecordError(msg, code="survey_store_aggregates_by")
        table = load_aggregates(bind, published).drop(columns="wave_id")
        table["reason"] = [_suppression(int(n), 2, min_n, lang) for n in table["n"]]
        table["suppressed"] = table["reason"] != ""
        table.loc[table["suppressed"], ["estimate", "se", "ci_low", "ci_high"]] = np.nan
        parts.append(table)
    if not parts:
        msg = "No survey wave of respondents is stored; import one with `nudge survey import`."
        raise RecordError(msg, code="survey_store_empty")
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


# --- deleting ---------------------------------------------------------------------------------


def delete_wave(bind: Bind, wave_id: int, *, user: str) -> SurveyWave:
    """Delete a stored wave with its files, respondents and aggregates; write the audit entry.

    Raises
    ------
    RecordError
        When no wave `wave_id` is stored.
    """
    with writing(bind) as conn:
        wave = chosen_waves(conn, [wave_id])[0]
        for table in (SURVEY_RESPONDENTS, SURVEY_AGGREGATES, SURVEY_WAVE_FILES):
            conn.execute(sa.delete(table).where(table.c.wave_id == wave_id))
        conn.execute(sa.delete(SURVEY_WAVES).where(SURVEY_WAVES.c.id == wave_id))
        write_audit(
            conn,
            username=user,
            action="delete",
            table=AUDIT_TABLE,
            items=[(audit_values(wave), None)],
        )
    return wave


__all__ = [
    "ROLES",
    "Bind",
    "SurveyWave",
    "delete_wave",
    "estimate_waves",
    "file_sha256",
    "import_aggregates",
    "import_wave",
    "list_waves",
    "load_aggregates",
    "load_wave",
    "load_waves",
    "require_survey_tables",
    "save_aggregates",
    "save_wave",
]


def index_labels(bind: Bind, wave_ids: Sequence[int], *, lang: str) -> dict[str, str]:
    """Return the name in `lang` of each index of stored respondent waves (code if unnamed)."""
    wanted = {int(i) for i in wave_ids}
    people = [w.id for w in list_waves(bind) if w.id in wanted and w.kind == "respondents"]
    if not people:
        return {}
    indices = load_waves(bind, people).indices
    return {i.name: i.label.get(lang) or i.label.get("en") or i.name for i in indices}
