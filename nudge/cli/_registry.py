"""CLI commands of the registry: ``nudge db``, ``nudge user``, ``nudge registry``, ``nudge report``.

``--as USER`` names the registry user a command acts for; the library checks
that user's role and regions and records the change in the audit log. The CLI
runs with direct database access, so it does not ask for the user's password.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer
from sqlalchemy.engine import Engine

from nudge import registry
from nudge.cli._common import (
    AsUser,
    JsonOption,
    emit,
    finish_import,
    get_settings,
    record_dict,
    said,
)
from nudge.registry.records import InstallationRecord

DistrictsOption = Annotated[
    Path | None,
    typer.Option(
        "--districts",
        help="GeoJSON of city districts to assign; default every GeoJSON in DATA_DIR/districts.",
    ),
]
DateFrom = Annotated[str | None, typer.Option("--from", help="First date (YYYY-MM-DD).")]
DateTo = Annotated[str | None, typer.Option("--to", help="Last date (YYYY-MM-DD).")]
ActiveOn = Annotated[
    str | None, typer.Option("--active-on", help="Count installations in place on this date.")
]


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"{name} {value!r} is not a date; write it as YYYY-MM-DD."
        raise typer.BadParameter(msg) from None


def _required_date(value: str, name: str) -> date:
    day = _date(value, name)
    if day is None:
        msg = f"{name} is required."
        raise typer.BadParameter(msg)
    return day


class Dates(TypedDict):
    """The dates of ``--active-on``, ``--from`` and ``--to``, as the library's keywords."""

    active_on: date | None
    date_from: date | None
    date_to: date | None


def dates(active_on: str | None, date_from: str | None, date_to: str | None) -> Dates:
    """Parse ``--active-on``, ``--from`` and ``--to``; refuse a value that is not a date."""
    return Dates(
        active_on=_date(active_on, "--active-on"),
        date_from=_date(date_from, "--from"),
        date_to=_date(date_to, "--to"),
    )


def _engine(*, check: bool = True) -> Engine:
    engine = registry.engine_from_settings(get_settings())
    if check:
        registry.require_schema(engine)
    return engine


def _districts(path: Path | None) -> registry.DistrictLayer | None:
    """Return the district layer given, else the layers in ``<data_dir>/districts/``."""
    if path is not None:
        return registry.district_layer_from_file(path)
    return registry.district_layer_from_dir(get_settings().data_dir / "districts")


def _themes_lookup() -> Callable[[str], Sequence[str]] | None:
    """Return the themes of content items from the content library in the database."""
    from nudge.content import load_library

    frame = load_library(get_settings()).frame()
    themes = dict(zip(frame["id"], frame["themes"], strict=True))
    return lambda cid: tuple(themes[cid])


_INSTALLATION_FIELDS = (
    "id kind status lat lon region=region_code city district content_id themes installed_on"
    " removed_on photos=photo_ids verified"
)


def _installation(rec: InstallationRecord) -> dict[str, Any]:
    flags = [record_dict(f, "id code message") for f in rec.open_flags]
    return {**record_dict(rec, _INSTALLATION_FIELDS), "flags": flags}


# --- nudge db -------------------------------------------------------------------------------


def db_upgrade(as_json: JsonOption = False) -> None:
    """Create the registry database or upgrade it to the current schema."""
    engine = _engine(check=False)
    revision = registry.upgrade_database(engine)
    emit({"database": engine.url.render_as_string(), "revision": revision}, as_json=as_json)


# --- nudge user -----------------------------------------------------------------------------


def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, planner, designer, coordinator or viewer.")],
    region: Annotated[
        list[str] | None,
        typer.Option(help="Region code or name a coordinator covers; repeat for several."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--as", help="Admin creating the user (not for the first).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a registry user (the first one needs no --as and should be an admin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = registry.add_user(
        _engine(), username=username, password=password, role=role, regions=region or (), by=by
    )
    emit(
        {"id": user.id, "username": user.username, "role": user.role, "regions": user.regions},
        as_json=as_json,
    )


def user_list(as_json: JsonOption = False) -> None:
    """List the registry users."""
    users = [
        record_dict(u, "id username role regions active") for u in registry.list_users(_engine())
    ]
    emit({"users": users}, as_json=as_json)


# --- nudge registry -------------------------------------------------------------------------


def registry_import(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or GeoJSON of installations.")],
    user: AsUser,
    districts: DistrictsOption = None,
    radius: Annotated[
        float, typer.Option(help="Flag a row this close (m) to an active one of its kind.")
    ] = 15.0,
    as_json: JsonOption = False,
) -> None:
    """Import installations; every problem is reported with its row number."""
    engine, layer, themes = _engine(), _districts(districts), _themes_lookup()
    result = registry.import_installations(
        engine, file, user=user, districts=layer, duplicate_radius_m=radius, themes_of=themes
    )
    counts = (
        f"stored: {result.stored}, skipped (already stored): {result.skipped_existing}, "
        f"flagged duplicates: {result.flagged_duplicates}"
    )
    _report(file, result, counts, as_json=as_json)


def registry_import_publications(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or GeoJSON of publications and events.")],
    user: AsUser,
    districts: DistrictsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import publications and events; every problem is reported with its row number."""
    result = registry.import_publications(
        _engine(), file, user=user, districts=_districts(districts)
    )
    counts = f"stored: {result.stored}, skipped (already stored): {result.skipped_existing}"
    _report(file, result, counts, as_json=as_json)


def registry_import_plan(
    file: Annotated[Path, typer.Argument(help="Plan GeoJSON (output of `nudge plan`).")],
    user: AsUser,
    name: Annotated[str | None, typer.Option(help="Plan name; default the file name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Store the sites of a plan so installations can refer to them by site_id."""
    result = registry.import_plan(_engine(), file, user=user, plan_name=name)
    emit(result.as_dict(), as_json=as_json)
    _finish(file, result)


def _report(file: Path, result: registry.ImportResult, counts: str, *, as_json: bool) -> None:
    """Print an import's result (its counts, then every refused row) and end with its exit code."""
    human = f"rows: {result.rows}, {counts}, errors: {len(result.errors)}"
    human += "".join(f"\n  row {p.row}: {said(p)}" for p in result.errors)
    emit(result.as_dict(), as_json=as_json, human=human)
    for warning in result.warnings:
        sys.stderr.write(f"warning: {said(warning)}\n")
    _finish(file, result)


def _finish(file: Path, result: registry.ImportResult) -> None:
    """End an import with exit code 0 (all kept), 1 (some rows refused) or 2 (nothing kept)."""
    refused = len({p.row for p in result.errors})
    kept = result.stored + result.skipped_existing
    if isinstance(result, registry.EventImportResult):
        kept += result.updated
    finish_import(file.name, kept=kept, refused=refused)


def registry_import_events(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX of a plan of events.")],
    user: AsUser,
    as_json: JsonOption = False,
) -> None:
    """Import a republican or regional plan of events; problems are reported by row number."""
    result = registry.import_event_plan(_engine(), file, user=user)
    counts = (
        f"stored: {result.stored}, updated: {result.updated}, "
        f"unchanged (already stored): {result.skipped_existing}"
    )
    _report(file, result, counts, as_json=as_json)


def registry_event_status(
    item_id: Annotated[int, typer.Argument(help="Plan item id.")],
    status: Annotated[str, typer.Argument(help="planned, held or cancelled.")],
    user: AsUser,
    evidence: Annotated[
        str | None, typer.Option(help="Publication id or http(s) address proving it was held.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an item of a plan of events held (with its evidence), cancelled or planned."""
    rec = registry.set_event_status(_engine(), item_id, status, user=user, evidence=evidence)
    emit(dataclasses.asdict(rec), as_json=as_json)


def registry_events(
    year: Annotated[int | None, typer.Option(help="Only this year.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show indicator 1: per region and year, the plan of events and how much of it was held."""
    table = registry.event_indicator(_engine(), year=year)
    rows = table.to_dict(orient="records")
    shown = table.drop(columns=[c for c in table.columns if c.endswith("_ids")])
    shown = shown.assign(region=shown["region"].fillna("KZ (republic)"))
    human = shown.to_string(index=False) if len(shown) else "no plans of events stored"
    emit({"year": year, "rows": rows}, as_json=as_json, human=human)


def registry_log(
    user: AsUser,
    kind: Annotated[str, typer.Option(help="banner, billboard, city_light, ...")],
    lat: Annotated[float | None, typer.Option(help="Latitude (decimal degrees).")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (decimal degrees).")] = None,
    site_id: Annotated[str | None, typer.Option(help="Planned site instead of lat/lon.")] = None,
    installed_on: Annotated[str | None, typer.Option(help="Install date (YYYY-MM-DD).")] = None,
    status: Annotated[str, typer.Option(help="First status.")] = "installed",
    content_id: Annotated[str | None, typer.Option(help="Content item shown.")] = None,
    theme: Annotated[list[str] | None, typer.Option(help="Theme; repeat for several.")] = None,
    size: Annotated[str | None, typer.Option(help="Size, e.g. '3x6 m'.")] = None,
    facing: Annotated[float | None, typer.Option(help="Facing bearing, 0–360°.")] = None,
    illuminated: Annotated[bool | None, typer.Option(help="Lit at night.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    districts: DistrictsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Log one installation."""
    rec = registry.log_installation(
        _engine(),
        user=user,
        kind=kind,
        lat=lat,
        lon=lon,
        site_id=site_id,
        installed_on=_date(installed_on, "installed_on"),
        status=status,
        content_id=content_id,
        themes=theme or (),
        size=size,
        facing_deg=facing,
        illuminated=illuminated,
        note=note,
        districts=_districts(districts),
    )
    emit(_installation(rec), as_json=as_json)


def registry_status(
    installation_id: Annotated[int, typer.Argument(help="Installation id.")],
    status: Annotated[str, typer.Argument(help="New status.")],
    user: AsUser,
    on: Annotated[str | None, typer.Option(help="Date of the change (default today).")] = None,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change an installation's status (e.g. damaged, replaced, removed)."""
    rec = registry.change_status(
        _engine(), installation_id, status, user=user, on=_date(on, "on"), note=note
    )
    emit(_installation(rec), as_json=as_json)


def registry_photo(
    installation_id: Annotated[int, typer.Argument(help="Installation id.")],
    file: Annotated[Path, typer.Argument(help="Photo (JPEG, PNG, WebP or TIFF).")],
    user: AsUser,
    max_distance: Annotated[
        float, typer.Option(help="Flag when the photo GPS is farther than this (m).")
    ] = 100.0,
    as_json: JsonOption = False,
) -> None:
    """Attach photo evidence to an installation; flags are reported, never applied."""
    engine, photos = _engine(), get_settings().photo_dir
    result = registry.attach_photo(
        engine, installation_id, file, user=user, photo_dir=photos, max_distance_m=max_distance
    )
    fields = "photo_id installation_id path reused taken_at=facts.taken_at"
    gps = [result.facts.gps_lat, result.facts.gps_lon]
    flags = [record_dict(f, "code message") for f in result.flags]
    emit({**record_dict(result, fields), "gps": gps, "flags": flags}, as_json=as_json)


def registry_publication(
    user: AsUser,
    kind: Annotated[str, typer.Option(help="tv_programme, podcast, challenge_post, ...")],
    title: Annotated[str, typer.Option(help="Title.")],
    published_on: Annotated[str, typer.Option("--date", help="Date (YYYY-MM-DD).")],
    region: Annotated[str | None, typer.Option(help="Region code or name.")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude of the event.")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude of the event.")] = None,
    link: Annotated[str | None, typer.Option(help="Address of the publication.")] = None,
    reach: Annotated[int | None, typer.Option(help="Reported reach (people).")] = None,
    content_id: Annotated[str | None, typer.Option(help="Content item featured.")] = None,
    theme: Annotated[list[str] | None, typer.Option(help="Theme; repeat for several.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Log a publication or event (programme, podcast, post, article, open day, contest)."""
    day = _required_date(published_on, "--date")
    rec = registry.log_publication(
        _engine(),
        user=user,
        kind=kind,
        title=title,
        published_on=day,
        region=region,
        lat=lat,
        lon=lon,
        link=link,
        reach=reach,
        content_id=content_id,
        themes=theme or (),
    )
    fields = "id kind title date=published_on region=region_code city verified"
    emit(record_dict(rec, fields), as_json=as_json)


def registry_export(
    file: Annotated[Path, typer.Argument(help="Output .geojson, .csv or .xlsx.")],
    active_on: ActiveOn = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    as_json: JsonOption = False,
) -> None:
    """Export installations (GeoJSON points, CSV or XLSX)."""
    engine = _engine()
    count = registry.export_installations(engine, file, **dates(active_on, date_from, date_to))
    emit({"path": file, "installations": count}, as_json=as_json)


def registry_backup(
    file: Annotated[Path, typer.Argument(help="Backup file to write.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Back up the registry (SQLite online backup; pg_dump for PostgreSQL)."""
    result = registry.backup_database(_engine(), file, overwrite=overwrite)
    emit(result.as_dict(), as_json=as_json)


def registry_audit(
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    record: Annotated[int | None, typer.Option(help="Only this record id.")] = None,
    limit: Annotated[int, typer.Option(help="Most entries.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Show the audit log, newest first."""
    entries = registry.audit_entries(_engine(), table=table, record_id=record, limit=limit)
    fields = "id at user=username action table record_id old new"
    rows = [record_dict(e, fields) for e in entries]
    emit({"entries": rows}, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    from nudge.cli._report import report

    db = typer.Typer(help="The registry database.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")
    users = typer.Typer(help="Registry users and roles.", no_args_is_help=True)
    users.command("add")(user_add)
    users.command("list")(user_list)
    app.add_typer(users, name="user")
    reg = typer.Typer(
        help="Installed billboards, exhibitions and publications.", no_args_is_help=True
    )
    for name, func in (
        ("import", registry_import),
        ("import-plan", registry_import_plan),
        ("import-publications", registry_import_publications),
        ("import-events", registry_import_events),
        ("events", registry_events),
        ("event-status", registry_event_status),
        ("log", registry_log),
        ("status", registry_status),
        ("photo", registry_photo),
        ("publication", registry_publication),
        ("export", registry_export),
        ("backup", registry_backup),
        ("audit", registry_audit),
    ):
        reg.command(name)(func)
    app.add_typer(reg, name="registry")
    app.command("report")(report)
