"""Rollouts kept as shared state: saved work of kind ``rollout`` in the database.

A saved rollout is the `RolloutPlan.as_dict` of a plan (its schedule, seed, locks and, when
dated, its flight calendar) with whether its order was drawn at random. It has versions and
an audit trail like saved plans and rotations (`nudge.db.save_work`), and is shared: every
user sees the rollouts of a dataset (by default ``kz``, the regions of Kazakhstan), so the
effect analysis, the rotation and the registry's plans of events read the same schedule.

`export_rollout` puts a dated rollout into the registry's plans of events: one item of kind
``campaign_flight`` per region on the first day of its first flight, so coordinators see when
the campaign starts in their region. Exporting again changes those items (a new date or
title) instead of adding more, and keeps the status a coordinator gave them.

Typical use::

    work = save_rollout(engine, plan, name="2027 wedge", owner="aigerim")
    work, plan = load_rollout(engine, work.id)
    export_rollout(engine, work.id, user="planner")
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from sqlalchemy.engine import Engine

from nudge._errors import RecordError
from nudge.db import SavedWork, list_work, load_work, save_work
from nudge.evaluation.rollout import RolloutPlan, plan_from_dict
from nudge.geo.regions import REGIONS
from nudge.i18n import translator
from nudge.registry.auth import UserRef
from nudge.registry.events import EventImportResult, store_planned_items

FLIGHT_KIND = "campaign_flight"
"""Kind of the plan-of-events items a rollout's flights become."""

ROLLOUT_DATASET = "kz"
"""Dataset of rollouts over the regions of Kazakhstan (the default units)."""


def save_rollout(
    engine: Engine,
    plan: RolloutPlan,
    *,
    name: str,
    owner: str,
    dataset: str = ROLLOUT_DATASET,
    randomised: bool = True,
    expected_version: int | None = None,
) -> SavedWork:
    """Save a rollout plan under `name` (new, or over the version it was opened at).

    Raises
    ------
    nudge.db.StaleVersionError
        When someone saved a rollout of that name since (or created it, for a new one).
    """
    payload = {**plan.as_dict(), "randomised": bool(randomised)}
    return save_work(
        engine,
        kind="rollout",
        dataset=dataset,
        owner=owner,
        name=name,
        payload=payload,
        expected_version=expected_version,
    )


def list_rollouts(engine: Engine, *, dataset: str = ROLLOUT_DATASET) -> list[SavedWork]:
    """Return the saved rollouts of a dataset (every owner's), newest first, without payloads."""
    return list_work(engine, kind="rollout", dataset=dataset)


def load_rollout(engine: Engine, work_id: int) -> tuple[SavedWork, RolloutPlan]:
    """Return a saved rollout and its plan.

    Raises
    ------
    RecordError
        When there is no saved rollout with this id (or the id is of another kind of work).
    """
    work = load_work(engine, int(work_id))
    if work.kind != "rollout":
        msg = f"Saved work #{work_id} is a {work.kind}, not a rollout; give a rollout's id."
        raise RecordError(msg, code="rollout_not_a_rollout", id=work_id, kind=work.kind)
    return work, plan_from_dict(work.payload or {})


def is_randomised(work: SavedWork) -> bool:
    """Return whether the saved rollout's order was drawn at random (its record says so)."""
    return bool((work.payload or {}).get("randomised", True))


def planned_flight_items(work: SavedWork, plan: RolloutPlan, *, lang: str = "kk") -> pd.DataFrame:
    """Return the plan-of-events items of a dated rollout: one per region, its first flight.

    Columns: ``external_key`` (``rollout:<id>:<region>``), ``region_code``, ``year``, ``kind``,
    ``title`` (in `lang`) and ``planned_on``.

    Raises
    ------
    RecordError
        When the rollout is not dated or has units that are not regions of Kazakhstan.
    """
    if "flight_start" not in plan.schedule:
        msg = f"The rollout {work.name} has no dates; save it again with --start and a length."
        raise RecordError(msg, code="rollout_not_dated", name=work.name)
    units = plan.schedule["unit"].astype(str)
    others = sorted(set(units) - {r.code for r in REGIONS})
    if others:
        text = ", ".join(others)
        msg = f"Only rollouts over regions go to the registry; {text} are not region codes."
        raise RecordError(msg, code="rollout_not_regions", units=text)
    t = translator(lang)
    days = pd.to_datetime(plan.schedule["flight_start"]).dt.date
    titles = [
        t("rollout_export.item_title", flight=f, name=work.name) for f in plan.schedule["flight"]
    ]
    return pd.DataFrame(
        {
            "external_key": [f"rollout:{work.id}:{u}" for u in units],
            "region_code": units,
            "year": [d.year for d in days],
            "kind": FLIGHT_KIND,
            "title": [title[:300] for title in titles],
            "planned_on": days,
        }
    )


def export_rollout(
    engine: Engine, work_id: int, *, user: UserRef, lang: str = "kk"
) -> EventImportResult:
    """Put a saved, dated rollout into the registry's plans of events (see `planned_flight_items`).

    Raises
    ------
    RecordError
        For an unknown rollout, one without dates or over units that are not regions.
    AccessDeniedError
        When `user` may not log publications and events.
    """
    work, plan = load_rollout(engine, work_id)
    items = planned_flight_items(work, plan, lang=lang)
    text = json.dumps(items.astype(str).to_dict(orient="records"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    source = f"rollout {work.id} {work.name} v{work.version}"
    return store_planned_items(engine, items, user=user, source=source, digest=digest)


__all__ = [
    "FLIGHT_KIND",
    "ROLLOUT_DATASET",
    "export_rollout",
    "is_randomised",
    "list_rollouts",
    "load_rollout",
    "planned_flight_items",
    "save_rollout",
]
