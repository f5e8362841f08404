"""Batch import of installations from CSV/XLSX/GeoJSON files.

Every row is checked and all problems are reported together with their row
numbers; the good rows are stored in one transaction (all or none of them);
rows already stored (same natural key) are skipped, so importing the same file
twice adds nothing, even at the same moment: the later import waits for the
earlier one (see `claim_places`) or, after a clash on a natural key, tries
again, and reports the rows as already stored.

Plans are imported by `nudge.registry.plan_imports` and publications by
`nudge.registry.publication_imports` (both re-exported here), with the batch
helpers of `nudge.registry._batches`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from nudge.geo.regions import DistrictLayer
from nudge.io.tables import MAX_IMPORT_BYTES, read_table
from nudge.registry._batches import (
    ImportResult,
    _batch,
    _display_name,
    _finish_batch,
    _raise_missing,
    _write_retrying,
    uncovered_rows,
)
from nudge.registry._bind import Bind, reading
from nudge.registry._cells import Columns, cells_of, take, texts_of
from nudge.registry._places import claim_places
from nudge.registry._store import (
    DEFAULT_DUPLICATE_RADIUS_M,
    existing_uids,
    scope_problems,
    sites_by_id,
    store_installations,
)
from nudge.registry._validate import (
    COLUMN_ALIASES,
    canonical_columns,
    installation_uids,
    split_themes,
    validate_installations,
)
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.plan_imports import import_plan
from nudge.registry.publication_imports import PUBLICATION_COLUMNS, import_publications

__all__ = [
    "PUBLICATION_COLUMNS",
    "ImportResult",
    "ThemesOf",
    "import_installations",
    "import_plan",
    "import_publications",
]

ThemesOf = Callable[[str], Sequence[str]]
"""Look up the themes of a content item by its id (e.g. from the content library)."""


def _canonical_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    mapping = canonical_columns([c for c in table.columns if c != "row"])
    out = table[["row", *mapping]].rename(columns=mapping)
    missing = []
    if "kind" not in out and "site_id" not in out:
        missing.append("kind")
    if not {"lat", "lon"} <= set(out) and "site_id" not in out:
        missing.append("lat + lon / site_id")
    if missing:
        shown = ("kind", "lat", "lon", "site_id")
        _raise_missing(table, name, missing, aliases=COLUMN_ALIASES, shown=shown)
    return out


def _fill_themes(table: pd.DataFrame, themes_of: ThemesOf | None) -> pd.DataFrame:
    if themes_of is None or "content_id" not in table:
        return table
    cache: dict[str, str | None] = {}

    def lookup(cid: str) -> str | None:
        if cid not in cache:
            try:
                cache[cid] = split_themes(list(themes_of(cid)))
            except (KeyError, LookupError, ValueError):
                cache[cid] = None
        return cache[cid]

    given = cells_of(table, "themes")
    content = texts_of(cells_of(table, "content_id"))
    filled = [
        g if g is not None else (lookup(c) if c else None)
        for g, c in zip(given, content, strict=True)
    ]
    return table.assign(themes=pd.Series(filled, index=table.index, dtype=object))


def _new_rows(session: Session, rows: Columns) -> tuple[Columns, list[str], int]:
    uids = installation_uids(rows)
    first = ~pd.Series(uids, dtype=object).duplicated().to_numpy()
    stored = existing_uids(session, uids)
    keep = first & np.array([u not in stored for u in uids], dtype=bool)
    kept_uids = [u for u, k in zip(uids, keep, strict=True) if k]
    return take(rows, keep), kept_uids, int((~keep).sum())


def import_installations(
    engine: Bind,
    source: Path | str | bytes,
    *,
    user: UserRef,
    filename: str | None = None,
    districts: DistrictLayer | None = None,
    duplicate_radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
    themes_of: ThemesOf | None = None,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportResult:
    """Import installations from a CSV, XLSX or GeoJSON file.

    Columns are matched by name in English, Russian or Kazakh (``lat`` /
    ``широта``, ``kind`` / ``тип``...; see `COLUMN_ALIASES`); a row needs
    lat/lon or a planned ``site_id``, and a kind (a planned site's kind implies
    one: banner → banner, exhibition → photo_exhibition); the other columns are
    those of `log_installation`.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (the rows are then
        stored in the caller's transaction, and a clash is not retried).
    source
        The file, or its content (an upload).
    user
        Who imports; coordinators' rows outside their regions are refused.
    filename
        Name of the file (its extension tells the format); needed with content.
    districts
        District layer to assign city districts.
    duplicate_radius_m
        Flag rows with an active installation of the same kind this close.
    themes_of
        Look up the themes of a row's ``content_id`` when its ``themes`` cell is empty.
    max_bytes
        Largest file accepted.

    Returns
    -------
    ImportResult
        Problems of refused rows are in ``errors``; the good rows are stored
        together (none are stored when anything fails while storing); rows
        stored before, or by an import running at the same moment, are counted
        in ``skipped_existing``.

    Raises
    ------
    InputFileError
        When the file cannot be read or lacks the required columns.
    AccessDeniedError
        When `user` may not log installations at all.
    """
    name = _display_name(source, filename)
    raw, digest = read_table(source, name=name, max_bytes=max_bytes)
    table = _canonical_table(raw, name)
    with reading(engine) as session:  # checks run outside the writing transaction
        require(actor_in(session, user), "edit_installations")
        sites = sites_by_id(session, table.get("site_id", []))
    table = _fill_themes(table, themes_of)
    checked = validate_installations(table, sites=sites, districts=districts)
    warnings = uncovered_rows(districts, checked.columns["district"].tolist())

    def write(session: Session, _attempt: int) -> ImportResult:
        actor = actor_in(session, user)
        outside = scope_problems(actor, checked.columns)
        good = take(checked.columns, ~np.isin(checked.columns["row"], [p.row for p in outside]))
        claim_places(session, good["lat"], good["lon"], duplicate_radius_m)
        rows, uids, skipped = _new_rows(session, good)
        batch = _batch(session, actor, name, digest, "installations")
        stored = store_installations(
            session,
            actor,
            rows,
            uids,
            source=f"import:{name}",
            batch_id=batch.id,
            radius_m=duplicate_radius_m,
        )
        errors = sorted(checked.problems + outside, key=lambda p: p.row)
        result = ImportResult(
            len(table),
            len(stored.ids),
            skipped,
            errors,
            stored.flagged,
            stored.ids,
            batch.id,
            warnings,
        )
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, name, write)
