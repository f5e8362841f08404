"""CLI commands of the content part of nudge (``nudge content ...``, ``nudge rotate``)."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import pandas as pd
import typer

from nudge._errors import DatasetError, InputFileError
from nudge.cli._common import JsonOption, dataset_folder, emit, finish_import, get_settings, said
from nudge.cli._rollout import db_engine
from nudge.content import (
    COLLECTIONS,
    export_items,
    import_items,
    load_library,
    match_content,
    plan_from_file,
    plan_rotation,
    rules_from_file,
    validate_items,
    write_rotation,
)
from nudge.content._io import rows_from_file
from nudge.content.campaign import CampaignSettings, campaign_for_settings
from nudge.content.library import collection_of_columns
from nudge.content.validation import ValidationReport
from nudge.evaluation.rollout_store import load_rollout
from nudge.io.sheets import csv_bytes

content_app = typer.Typer(
    help="Keep the content library: proverbs, labour dynasties, contest winners.",
    no_args_is_help=True,
)

CampaignOption = Annotated[
    Path | None,
    typer.Option(
        "--campaign",
        help="Campaign settings TOML (default DATA_DIR/content/campaign.toml, else built in).",
    ),
]
CollectionOption = Annotated[
    str | None,
    typer.Option(help="proverbs, dynasties or winners (default: guessed from the columns)."),
]


AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Name written to the library and its audit log (default: login)."),
]
ItemId = Annotated[str, typer.Argument(help="Entry id.")]


def _who(name: str | None) -> str:
    """Return who makes a change from the command line: `name`, else the login name."""
    if name:
        return name
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _campaign(path: Path | None) -> CampaignSettings:
    return campaign_for_settings(get_settings(), path)


def _collection(value: str | None) -> str | None:
    if value is not None and value not in COLLECTIONS:
        msg = f"Unknown collection {value!r}; use one of {', '.join(COLLECTIONS)}."
        raise InputFileError(msg)
    return value


@content_app.command("validate")
def validate(
    file: Annotated[
        Path | None, typer.Argument(help="CSV, XLSX or YAML file; default the stored library.")
    ] = None,
    collection: CollectionOption = None,
    campaign: CampaignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check entries: fields, Kazakh and Russian text, length per format, duplicates.

    Ends with exit code 1 when an entry has an error (warnings alone end with 0).
    """
    settings = _campaign(campaign)
    if file is None:
        library = load_library(get_settings())
        report = ValidationReport()
        for name in COLLECTIONS:
            report.extend(validate_items(library.entries(name), collection=name, campaign=settings))
    else:
        rows, numbers = rows_from_file(file)
        name = _collection(collection) or collection_of_columns(
            sorted({k for r in rows for k in r}), name=file.name
        )
        report = validate_items(rows, collection=name, campaign=settings, rows=numbers)
    result = report.as_dict()
    counts = (
        f"items: {result['items']}, errors: {len(result['errors'])}, "
        f"warnings: {len(result['warnings'])}"
    )
    lines = [f"{p.severity} row {p.row} ({p.id}) {p.column}: {said(p)}" for p in report.problems]
    human = "\n".join([counts, *lines])
    emit(result, as_json=as_json, human=human)
    if result["errors"]:  # a check a script can act on, as a linter's
        raise typer.Exit(1)


@content_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or YAML file of entries.")],
    collection: CollectionOption = None,
    campaign: CampaignOption = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import entries; every row is checked, all problems reported, good rows kept.

    The good rows are stored in one transaction. Exits with 0 when every row is kept, 1 when
    some rows were refused, 2 when none was kept.
    """
    library = load_library(get_settings())
    report = import_items(
        library,
        file,
        campaign=_campaign(campaign),
        collection=_collection(collection),
        by=_who(as_user),
    )
    emit(report.as_dict(), as_json=as_json)
    finish_import(
        file.name,
        kept=len(report.added) + len(report.updated) + len(report.unchanged),
        refused=report.rejected,
    )


@content_app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(help="Target .csv, .xlsx or .yaml file.")],
    collection: Annotated[str, typer.Option(help="proverbs, dynasties or winners.")] = "proverbs",
    active_only: Annotated[bool, typer.Option(help="Leave out retired entries.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Export one collection of the library (editable and importable again)."""
    name = _collection(collection) or "proverbs"
    count = export_items(
        load_library(get_settings()), file, collection=name, include_retired=not active_only
    )
    emit({"collection": name, "items": count, "out": str(file)}, as_json=as_json)


@content_app.command("list")
def list_command(
    collection: CollectionOption = None,
    theme: Annotated[str | None, typer.Option(help="Only entries with this theme.")] = None,
    status: Annotated[str | None, typer.Option(help="active or retired.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the entries of the library."""
    frame = load_library(get_settings()).frame()
    if collection:
        frame = frame[frame["collection"] == _collection(collection)]
    if theme:
        frame = frame[frame["themes"].map(lambda t: theme in t)]
    if status:
        frame = frame[frame["status"] == status]
    columns = ["id", "collection", "kind", "themes", "status", "text_kk"]
    records = frame[columns].to_dict(orient="records")
    human = "\n".join(
        f"{r['id']}\t{r['kind']}\t{r['status']}\t{';'.join(r['themes'])}\t{r['text_kk'][:60]}"
        for r in records
    )
    emit({"count": len(records), "items": records}, as_json=as_json, human=human or "no entries")


def _set_status(item_id: str, *, retire: bool, by: str, as_json: bool) -> None:
    library = load_library(get_settings())
    if retire:
        library.retire(item_id, by=by)
    else:
        library.restore(item_id, by=by)
    emit({"id": item_id, "status": "retired" if retire else "active"}, as_json=as_json)


@content_app.command("retire")
def retire(item_id: ItemId, as_user: AsOption = None, as_json: JsonOption = False) -> None:
    """Retire an entry: kept in the library, never placed again."""
    _set_status(item_id, retire=True, by=_who(as_user), as_json=as_json)


@content_app.command("restore")
def restore(item_id: ItemId, as_user: AsOption = None, as_json: JsonOption = False) -> None:
    """Make a retired entry active again."""
    _set_status(item_id, retire=False, by=_who(as_user), as_json=as_json)


def _features(dataset: str | None) -> gpd.GeoDataFrame | None:
    if dataset is None:
        return None
    folder = dataset_folder(dataset)
    path = folder / "features.parquet"
    if not path.is_file():
        msg = f"No features.parquet in {folder}; build the dataset first with `nudge load`."
        raise DatasetError(msg)
    return gpd.read_parquet(path)


@content_app.command("match")
def match_command(
    plan: Annotated[Path, typer.Argument(help="Plan GeoJSON from `nudge plan`.")],
    out: Annotated[Path, typer.Option(help="CSV of the best entries per site, with reasons.")],
    dataset: Annotated[str | None, typer.Option(help="City dataset folder or name.")] = None,
    top: Annotated[int, typer.Option(help="Entries per site.")] = 3,
    city: Annotated[str | None, typer.Option(help="The plan's city (home bonus).")] = None,
    region: Annotated[str | None, typer.Option(help="The plan's region (home bonus).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Matching rules TOML.")] = None,
    campaign: CampaignOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rank the entries that suit each site of a plan, with the reasons."""
    sites = plan_from_file(plan)
    result = match_content(
        sites,
        load_library(get_settings()),
        campaign=_campaign(campaign),
        features=_features(dataset),
        rules=rules_from_file(rules),
        city=city,
        region=region,
    )
    frames = [result.best_items(s, n=top).assign(site_id=s) for s in sites.index]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    Path(out).write_bytes(csv_bytes(table))
    placeable = int(result.eligible.to_numpy().any(axis=1).sum())
    emit({"sites": len(sites), "sites_with_entries": placeable, "out": str(out)}, as_json=as_json)


def _locked(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    rows, _ = rows_from_file(path)
    frame = pd.DataFrame(rows)
    missing = [c for c in ("site_id", "flight", "item_id") if c not in frame.columns]
    if missing:
        msg = (
            f"The locked file {path.name} needs the columns site_id, flight and item_id; "
            f"it has no {' and no '.join(missing)}."
        )
        raise InputFileError(msg)
    return frame


def _rollout_starts(work_id: int | None) -> dict[str, Any] | None:
    """Return each region's first flight day (or step) of a saved rollout, or None."""
    return None if work_id is None else load_rollout(db_engine(), work_id)[1].region_starts()


def rotate(
    plan: Annotated[Path, typer.Argument(help="Plan GeoJSON from `nudge plan`.")],
    out: Annotated[Path, typer.Option(help="Calendar CSV; siblings get the other tables.")],
    start: Annotated[str, typer.Option(help="First day of the campaign, YYYY-MM-DD.")],
    flights: Annotated[int, typer.Option(help="Number of flights.")] = 13,
    flight_weeks: Annotated[int, typer.Option(help="Weeks per flight.")] = 4,
    min_gap: Annotated[
        int | None, typer.Option(help="Flights before an entry may return to a site.")
    ] = None,
    neighbour_distance: Annotated[
        float, typer.Option(help="Sites closer than this (m) never share an entry in a flight.")
    ] = 500.0,
    dataset: Annotated[str | None, typer.Option(help="City dataset folder or name.")] = None,
    locked: Annotated[
        Path | None, typer.Option(help="CSV/XLSX of locked cells: site_id, flight, item_id.")
    ] = None,
    city: Annotated[str | None, typer.Option(help="The plan's city (home bonus).")] = None,
    region: Annotated[str | None, typer.Option(help="The plan's region (home bonus).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Matching rules TOML.")] = None,
    campaign: CampaignOption = None,
    include_examples: Annotated[
        bool, typer.Option(help="Also place fictional example entries (demos).")
    ] = False,
    solver: Annotated[
        str, typer.Option(help="greedy (any size) or exact (HiGHS from the greedy, small plans).")
    ] = "greedy",
    time_limit: Annotated[float, typer.Option(help="Seconds the exact solver may run.")] = 60.0,
    rollout: Annotated[
        int | None,
        typer.Option(help="Id of a saved rollout: regions show nothing before their first flight."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build the rotation calendar of a plan: one entry per site and flight."""
    try:
        first = date.fromisoformat(start)
    except ValueError:
        msg = f"--start {start!r} is not a date; write YYYY-MM-DD."
        raise InputFileError(msg) from None
    result = plan_rotation(
        plan_from_file(plan), load_library(get_settings()), flights=flights, start=first,
        campaign=_campaign(campaign), flight_weeks=flight_weeks, min_gap=min_gap,
        neighbour_distance=neighbour_distance, locked=_locked(locked),
        features=_features(dataset), rules=rules_from_file(rules), city=city, region=region,
        include_examples=include_examples, solver=solver, time_limit=time_limit,
        region_starts=_rollout_starts(rollout),
    )  # fmt: skip
    written = write_rotation(result, out)
    summary: dict[str, Any] = result.as_dict(out=str(written["calendar"]))
    summary["files"] = {k: str(v) for k, v in written.items()}
    emit(summary, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.add_typer(content_app, name="content")
    app.command("rotate")(rotate)
