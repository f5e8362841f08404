"""Indicator 1: per region and year, is there a plan of labour events, and how far it got."""

from __future__ import annotations

import pandas as pd

from nudge.geo.regions import REGIONS
from nudge.registry._bind import Bind
from nudge.registry.events import EventPlanRecord, list_event_items

__all__ = ["INDICATOR_COLUMNS", "event_indicator"]

INDICATOR_COLUMNS = (
    "region",
    "year",
    "has_plan",
    "planned",
    "held",
    "held_with_evidence",
    "cancelled",
    "pending",
    "planned_ids",
    "held_ids",
    "cancelled_ids",
    "evidence_publication_ids",
)


def event_indicator(engine: Bind, *, year: int | None = None) -> pd.DataFrame:
    """Return indicator 1 per region and year: is there a plan of labour events, and its progress.

    Every region of Kazakhstan and the republic (``region`` None) gets a row
    for every year with a plan anywhere (or for `year`), so a region without a
    plan shows ``has_plan`` False. All kinds of plan items are labour-promotion
    events, so a plan with any item counts; the campaign's own flight starts
    (kind ``campaign_flight``, written by a saved rollout) are schedule marks,
    not events, and are left out.

    Returns
    -------
    pandas.DataFrame
        Columns `INDICATOR_COLUMNS`: ``planned`` counts the items of the plan,
        ``held``, ``cancelled`` and ``pending`` (still planned) their statuses,
        ``held_with_evidence`` the held items with a publication or address;
        the ``*_ids`` columns list the item ids behind each figure, and
        ``evidence_publication_ids`` the publications proving held items.
    """
    items = [i for i in list_event_items(engine, year=year) if i.kind != "campaign_flight"]
    years = sorted({i.year for i in items} | ({int(year)} if year is not None else set()))
    by_cell: dict[tuple[str | None, int], list[EventPlanRecord]] = {}
    for item in items:
        by_cell.setdefault((item.region_code, item.year), []).append(item)
    regions: list[str | None] = [None, *(r.code for r in REGIONS)]
    rows = [_indicator_row(r, y, by_cell.get((r, y), [])) for y in years for r in regions]
    return pd.DataFrame(rows, columns=list(INDICATOR_COLUMNS))


def _indicator_row(region: str | None, year: int, items: list[EventPlanRecord]) -> dict:
    held = [i for i in items if i.status == "held"]
    proved = [i for i in held if i.evidence_publication_id is not None or i.evidence_url]
    cancelled = [i.id for i in items if i.status == "cancelled"]
    return {
        "region": region,
        "year": year,
        "has_plan": bool(items),
        "planned": len(items),
        "held": len(held),
        "held_with_evidence": len(proved),
        "cancelled": len(cancelled),
        "pending": sum(i.status == "planned" for i in items),
        "planned_ids": [i.id for i in items],
        "held_ids": [i.id for i in held],
        "cancelled_ids": cancelled,
        "evidence_publication_ids": sorted(
            {i.evidence_publication_id for i in held if i.evidence_publication_id is not None}
        ),
    }
