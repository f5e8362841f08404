"""Content library forms, rotation downloads and saved rotations of the Content page."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from nudge.db import SavedWork, list_work, load_work, save_work


def entry_as_text(item: Mapping[str, Any]) -> dict[str, str]:
    """Return a library entry as the text cells of a form (the layout of the import files).

    Lists are ``; ``-separated, dynasty members ``name|role|years``, booleans
    ``yes``/``no``; `nudge.content.schema.item_from_raw` reads them back.
    """
    out: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, bool):
            out[key] = "yes" if value else "no"
        elif isinstance(value, list | tuple):
            out[key] = "; ".join(
                "|".join(str(v.get(k) or "") for k in ("name", "role", "years")).rstrip("|")
                if isinstance(v, Mapping)
                else str(v)
                for v in value
            )
        elif value is None:
            out[key] = ""
        else:
            out[key] = str(value)
    return out


def rotation_workbook(result: Any) -> bytes:
    """Return a rotation as one XLSX workbook (calendar, schedule, exposure, print orders)."""
    from nudge.content import write_rotation

    with tempfile.TemporaryDirectory(prefix="nudge-rotation-") as tmp:
        written = write_rotation(result, Path(tmp) / "rotation.csv")
        return written["xlsx"].read_bytes()


def content_choices(library: Any) -> dict[str, str]:
    """Return the active library entries as ``id -> short Kazakh text`` for a picker."""
    frame = library.frame()
    active = frame[frame["status"] == "active"]
    return {
        str(i): (text[:60] + "…" if len(text) > 60 else text)
        for i, text in zip(active["id"], active["text_kk"], strict=True)
    }


def themes_lookup(library: Any) -> Any:
    """Return a function giving the themes of a library entry by id (for registry imports)."""
    frame = library.frame()
    themes = dict(zip(frame["id"], frame["themes"], strict=True))
    return lambda cid: tuple(themes[cid])


def calendar_with_texts(result: Any, *, width: int = 40) -> pd.DataFrame:
    """Return a rotation calendar whose cells show each entry's Kazakh text beside its id.

    A printer or a designer reads "kk-0017 · Еңбек етсең ерінбей…", not a bare code; the
    rotation's own tables keep the codes.
    """
    texts = result.match.items["text_kk"].astype(str)
    short = texts.where(texts.str.len() <= width, texts.str.slice(0, width - 1) + "…")
    label = {i: f"{i} · {s}" for i, s in short.items()}
    return result.calendar.map(lambda v: label.get(v, v) if isinstance(v, str) else v)


ROTATION_PARAMS = ("flights", "flight_weeks", "min_gap", "neighbour_distance", "solver")


def rotation_payload(
    plan: str, sites: Any, result: Any, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Return what a saved rotation keeps: its plan's sites, settings and every placed cell.

    Parameters
    ----------
    plan
        The label of the plan the rotation was built for.
    sites
        The plan's sites (a GeoDataFrame indexed by ``site_id``).
    result
        The `nudge.content.RotationResult`.
    params
        ``start`` (a date) and the options of `ROTATION_PARAMS` it was built with; with a
        rollout also ``rollout`` (its saved id) and ``region_starts`` (each region's first
        flight day or step), kept so that a reopened rotation leaves the same regions dark.
    """
    schedule = result.schedule[result.schedule["item_id"].notna()]
    cells = schedule[["site_id", "flight", "item_id"]].astype({"flight": int, "site_id": str})
    starts = params.get("region_starts") or {}
    return {
        "plan": plan,
        "start": params["start"].isoformat(),
        **{k: params[k] for k in ROTATION_PARAMS},
        "rollout": params.get("rollout"),
        "region_starts": {
            str(u): s.isoformat() if isinstance(s, date) else int(s) for u, s in starts.items()
        },
        "sites": json.loads(sites.to_crs(4326).to_json(default=str)),
        "cells": cells.to_dict(orient="records"),
    }


def rotation_inputs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return the keyword arguments of `plan_rotation` that rebuild a saved rotation.

    Every saved cell is locked, so the rebuilt calendar is the saved one (an entry
    retired since shows as a broken lock); the regions of its rollout start at the same
    flights, so no cell is filled that the saved rotation left dark.
    """
    import geopandas as gpd

    from nudge.content.matching import plan_from_frame

    sites = gpd.GeoDataFrame.from_features(payload["sites"]["features"], crs="EPSG:4326")
    return {
        "plan": plan_from_frame(sites, name=str(payload.get("plan") or "the saved rotation")),
        "start": date.fromisoformat(str(payload["start"])),
        "locked": pd.DataFrame(payload["cells"], columns=["site_id", "flight", "item_id"]),
        **{k: payload[k] for k in ROTATION_PARAMS if k != "solver"},
        "solver": "greedy",
        "region_starts": _region_starts(payload.get("region_starts")),
    }


def _region_starts(saved: Mapping[str, Any] | None) -> dict[str, date | int] | None:
    """Return the saved first flight of each region (a day, or a step number), or None."""
    if not saved:
        return None
    return {
        str(u): s if isinstance(s, int) else date.fromisoformat(str(s)) for u, s in saved.items()
    }


def save_rotation(
    engine: Engine,
    *,
    dataset: str,
    owner: str,
    name: str,
    payload: Mapping[str, Any],
    expected_version: int | None,
) -> SavedWork:
    """Save a rotation of `owner` for `dataset` (see `nudge.db.save_work`)."""
    return save_work(
        engine,
        kind="rotation",
        dataset=dataset,
        owner=owner,
        name=name,
        payload=payload,
        expected_version=expected_version,
    )


def saved_rotations(engine: Engine, *, dataset: str, owner: str) -> list[SavedWork]:
    """Return the saved rotations of `owner` for `dataset`, newest first."""
    return list_work(engine, kind="rotation", dataset=dataset, owner=owner)


def open_rotation(engine: Engine, work_id: int, *, owner: str) -> SavedWork:
    """Return a saved rotation of `owner` with its payload."""
    return load_work(engine, work_id, owner=owner)
