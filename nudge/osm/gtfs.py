"""Departures per weekday at each stop, from a GTFS timetable feed.

GTFS (the standard timetable zip that transit agencies publish: ``stops.txt``, ``trips.txt``,
``stop_times.txt``, with ``calendar.txt`` and/or ``calendar_dates.txt``) says how often
something leaves each stop, a finer measure of service than the number of routes in OSM.
`departures_from_gtfs` reads the tables with pandas and returns one point per stop with the
mean number of departures on a weekday (Monday to Friday):

- with ``calendar.txt``, each trip counts on the weekdays its service runs (``monday`` …
  ``friday`` = 1), and the sum is divided by 5;
- with only ``calendar_dates.txt``, each trip counts on the weekday dates its service is added
  (``exception_type`` = 1), divided by the number of such dates.

A stop's last arrival of a trip is not a departure and is left out.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from nudge._errors import InputFileError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
REQUIRED = ("stops.txt", "trips.txt", "stop_times.txt")
DEPARTURE_COLUMNS = ["stop_id", "name", "departures", "geometry"]


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    """Read the GTFS tables nudge needs from a zip file or a folder."""
    try:
        if path.is_dir():
            names = {p.name: p.read_bytes() for p in path.iterdir() if p.suffix == ".txt"}
        else:
            with zipfile.ZipFile(path) as archive:
                names = {
                    Path(n).name: archive.read(n)
                    for n in archive.namelist()
                    if Path(n).name in (*REQUIRED, "calendar.txt", "calendar_dates.txt")
                }
    except (OSError, zipfile.BadZipFile) as exc:
        msg = f"The GTFS feed {path.name} is not a readable zip file or folder ({exc})."
        raise InputFileError(msg, code="gtfs_unreadable", file=path.name, reason=str(exc)) from None
    missing = [n for n in REQUIRED if n not in names]
    has_calendar = bool({"calendar.txt", "calendar_dates.txt"} & set(names))
    if missing or not has_calendar:
        need = missing if has_calendar else [*missing, "calendar.txt or calendar_dates.txt"]
        msg = f"The GTFS feed {path.name} lacks {', '.join(need)}."
        raise InputFileError(
            msg, code="gtfs_missing_tables", file=path.name, tables=", ".join(need)
        )
    out = {}
    for name, data in names.items():
        try:
            out[name] = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig")
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"The table {name} of the GTFS feed {path.name} cannot be read ({exc})."
            raise InputFileError(
                msg, code="gtfs_table_unreadable", file=path.name, table=name, reason=str(exc)
            ) from None
    return out


def _trips_per_weekday(tables: dict[str, pd.DataFrame]) -> pd.Series:
    """Return the mean number of weekday runs of each trip, by ``trip_id``."""
    trips = tables["trips.txt"][["trip_id", "service_id"]]
    if "calendar.txt" in tables:
        cal = tables["calendar.txt"].set_index("service_id")
        days = cal.reindex(columns=list(WEEKDAYS)).apply(pd.to_numeric, errors="coerce")
        per_service = days.fillna(0).sum(axis=1) / len(WEEKDAYS)
    else:
        dates = tables["calendar_dates.txt"]
        added = dates[dates["exception_type"].astype(str).str.strip() == "1"]
        day = pd.to_datetime(added["date"], format="%Y%m%d", errors="coerce")
        weekday = added[day.dt.day_of_week < 5]
        n_days = max(1, weekday["date"].nunique())
        per_service = weekday.groupby("service_id").size() / n_days
    runs = trips["service_id"].map(per_service).fillna(0.0)
    return pd.Series(runs.to_numpy(), index=trips["trip_id"])


def departures_from_gtfs(path: str | Path) -> gpd.GeoDataFrame:
    """Return every stop of a GTFS feed with its mean departures per weekday.

    Parameters
    ----------
    path
        The feed: a ``.zip`` or a folder of ``.txt`` tables.

    Returns
    -------
    geopandas.GeoDataFrame
        ``stop_id``, ``name``, ``departures`` (per weekday), Point geometry (EPSG:4326); stops
        without a departure are kept with 0.

    Raises
    ------
    InputFileError
        When the feed cannot be read, lacks a table, or its stops have no valid coordinates.
    """
    path = Path(path)
    tables = _tables(path)
    stops = tables["stops.txt"]
    coords = stops.reindex(columns=["stop_lat", "stop_lon"]).apply(pd.to_numeric, errors="coerce")
    lat, lon = coords["stop_lat"], coords["stop_lon"]
    good = lat.between(-90, 90) & lon.between(-180, 180)
    if not good.any():
        msg = f"No stop of the GTFS feed {path.name} has valid stop_lat/stop_lon coordinates."
        raise InputFileError(msg, code="gtfs_no_stops", file=path.name)
    times = tables["stop_times.txt"][["trip_id", "stop_id", "stop_sequence"]].copy()
    times["seq"] = pd.to_numeric(times["stop_sequence"], errors="coerce")
    last = times.groupby("trip_id")["seq"].transform("max") == times["seq"]
    runs = _trips_per_weekday(tables)
    leaving = times.loc[~last.to_numpy()]
    weight = leaving["trip_id"].map(runs).fillna(0.0).to_numpy(dtype=float)
    per_stop = pd.Series(weight, index=leaving["stop_id"].to_numpy()).groupby(level=0).sum()
    kept = stops.loc[good.to_numpy()]
    departures = kept["stop_id"].map(per_stop).fillna(0.0).to_numpy(dtype=float)
    return gpd.GeoDataFrame(
        {
            "stop_id": kept["stop_id"].to_numpy(),
            "name": kept["stop_name"].to_numpy() if "stop_name" in kept else None,
            "departures": np.round(departures, 2),
        },
        geometry=gpd.points_from_xy(lon[good], lat[good]),
        crs=4326,
    )
