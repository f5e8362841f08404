"""Import of a plan's sites (plan GeoJSON or GeoDataFrame) as planned sites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nudge._errors import RowProblem
from nudge.geo.regions import cities_of_points, regions_of_points
from nudge.io.tables import read_table
from nudge.registry._batches import ImportResult, _batch, _finish_batch, _write_retrying
from nudge.registry._bind import Bind
from nudge.registry._cells import Problems, cells_of, frame_records, numbers_of, present, texts_of
from nudge.registry.audit import record_many, utcnow
from nudge.registry.auth import UserRef, actor_in, require
from nudge.registry.models import SITE_KINDS, PlannedSite


def _plan_table(source: Path | str | pd.DataFrame) -> tuple[pd.DataFrame, str, str]:
    if isinstance(source, pd.DataFrame):
        frame = pd.DataFrame(source.drop(columns="geometry", errors="ignore"), dtype=object)
        if "geometry" in source:
            points = source.geometry.representative_point()
            frame = frame.assign(lat=points.y.to_numpy(), lon=points.x.to_numpy())
        if "site_id" not in frame and source.index.name:
            frame = frame.reset_index().rename(columns={source.index.name: "site_id"})
        else:
            frame = frame.reset_index(drop=True)
        frame.insert(0, "row", range(1, len(frame) + 1))
        digest = str(pd.util.hash_pandas_object(frame.astype(str), index=False).sum())
        return frame, "plan", digest
    path = Path(source)
    table, digest = read_table(path)
    return table, path.stem, digest


def _check_plan(table: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem]]:
    table = table.reset_index(drop=True)
    p = Problems(np.asarray(table["row"].tolist()))
    site = texts_of(cells_of(table, "site_id"))
    p.add(~present(site), "site_id", code="plan_site_id_missing")
    kind = texts_of(cells_of(table, "kind"))
    allowed = ", ".join(SITE_KINDS)
    p.add(
        np.array([k not in SITE_KINDS for k in kind], dtype=bool),
        "kind",
        code="plan_kind_unknown",
        params={"value": kind, "allowed": allowed},
    )
    lat = numbers_of(cells_of(table, "lat"), "lat", p)
    lon = numbers_of(cells_of(table, "lon"), "lon", p)
    p.add(
        np.isnan(lat) | np.isnan(lon),
        "lat",
        code="plan_site_no_point",
    )
    region = regions_of_points(lat, lon)
    p.add_outside(~np.isnan(lat) & ~np.isnan(lon) & ~present(region), lat, lon)
    out = pd.DataFrame(
        {
            "row": p.rows,
            "site_id": site,
            "kind": kind,
            "lat": lat,
            "lon": lon,
            "region_code": region,
            "name": texts_of(cells_of(table, "name")),
            "score": numbers_of(cells_of(table, "score"), "score", p),
            "pick_order": numbers_of(cells_of(table, "pick_order"), "pick_order", p),
            "district": texts_of(cells_of(table, "district")),
        }
    )
    return out[~p.bad].reset_index(drop=True), p.items


def import_plan(
    engine: Bind,
    source: Path | str | pd.DataFrame,
    *,
    user: UserRef,
    plan_name: str | None = None,
) -> ImportResult:
    """Store the sites of a plan (GeoJSON file or GeoDataFrame) as planned sites.

    The plan has the columns of nudge's plan output (``site_id``, ``kind``,
    ``name``, ``score``, ``pick_order``, ``district``, point geometry).
    Installations refer to a planned site by its ``site_id``. Sites already
    stored under the same plan name are skipped.

    Parameters
    ----------
    engine
        Engine of the registry, or a session the caller owns (the rows are then
        stored in the caller's transaction, and a clash is not retried).
    source
        Plan GeoJSON file, or a GeoDataFrame in EPSG:4326.
    user
        A planner or admin.
    plan_name
        Name of the plan; by default the file name without extension.

    Returns
    -------
    ImportResult
    """
    table, default_name, digest = _plan_table(source)
    name = (plan_name or default_name).strip()[:120]
    sites, problems = _check_plan(table)

    def write(session: Session, _attempt: int) -> ImportResult:
        actor = actor_in(session, user)
        require(actor, "edit_plans")
        stored = set(
            session.scalars(sa.select(PlannedSite.site_id).where(PlannedSite.plan_name == name))
        )
        fresh = sites[~sites["site_id"].isin(stored) & ~sites["site_id"].duplicated()]
        batch = _batch(session, actor, name, digest, "plan")
        now = utcnow()
        meta = {"plan_name": name, "import_batch_id": batch.id, "created_at": now}
        records = [{**rec, **meta} for rec in frame_records(fresh.drop(columns="row"))]
        cities = cities_of_points(fresh["lat"], fresh["lon"], fresh["region_code"])
        for rec, city in zip(records, cities, strict=True):
            rec["city"] = city
            if rec["pick_order"] is not None:
                rec["pick_order"] = int(rec["pick_order"])
        stmt = sa.insert(PlannedSite).returning(PlannedSite.id, sort_by_parameter_order=True)
        ids = list(session.scalars(stmt, records)) if records else []
        record_many(
            session,
            actor=actor,
            action="create",
            table="planned_sites",
            items=[(i, None, r) for i, r in zip(ids, records, strict=True)],
        )
        result = ImportResult(
            len(table), len(ids), len(sites) - len(fresh), problems, 0, ids, batch.id
        )
        _finish_batch(session, actor, batch, result)
        return result

    return _write_retrying(engine, name, write)
