"""CLI commands for city datasets (``nudge load``, ``nudge info``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nudge._errors import InvalidQueryError
from nudge.cli._common import JsonOption, dataset_folder, emit, get_settings
from nudge.osm import datasets


def load(
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Local OSM file or folder; repeat to combine several."),
    ] = None,
    place: Annotated[
        str | None, typer.Option(help="Place to geocode and download, e.g. 'Astana, Kazakhstan'.")
    ] = None,
    bbox: Annotated[
        str | None, typer.Option(help="Area to download: 'west,south,east,north'.")
    ] = None,
    polygon: Annotated[
        Path | None, typer.Option(help="Vector file whose polygon(s) bound the download.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Dataset name (slug); default from the input.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Dataset folder; default DATA_DIR/<name>.")
    ] = None,
    gtfs: Annotated[
        Path | None,
        typer.Option(help="GTFS timetable (zip): score by departures per weekday at each stop."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build a city dataset of public spaces and streets from OSM files or online."""
    settings = get_settings()
    chosen = [x for x in (file, place, bbox, polygon) if x]
    if len(chosen) != 1:
        msg = "Give exactly one source: --file (repeatable), --place, --bbox or --polygon."
        raise InvalidQueryError(msg)
    if file:
        dataset = datasets.dataset_from_files(file)
        default = file[0].name.split(".")[0]
    elif place:
        dataset = datasets.dataset_from_place(place, cache_dir=settings.cache_dir)
        default = place.split(",")[0]
    elif bbox:
        dataset = datasets.dataset_from_bbox(
            datasets.parse_bbox(bbox), cache_dir=settings.cache_dir
        )
        default = "bbox-" + bbox.replace(",", "_")
    else:
        assert polygon is not None
        dataset = datasets.dataset_from_polygon_file(polygon, cache_dir=settings.cache_dir)
        default = polygon.stem
    if gtfs is not None:
        dataset = datasets.with_gtfs(dataset, gtfs)
    slug = datasets.slug_from_text(name or default)
    folder = datasets.save_dataset(dataset, out or settings.dataset_dir(slug), slug=slug)
    emit(datasets.dataset_summary(datasets.dataset_from_dir(folder)), as_json=as_json)


def info(
    dataset: Annotated[str, typer.Argument(help="Dataset folder, or a dataset name in DATA_DIR.")],
    as_json: JsonOption = False,
) -> None:
    """Show the counts of an existing city dataset."""
    folder = dataset_folder(dataset)
    emit(datasets.dataset_summary(datasets.dataset_from_dir(folder)), as_json=as_json)


def list_command(as_json: JsonOption = False) -> None:
    """List the city datasets in the data folder."""
    table = datasets.list_datasets(get_settings().data_dir)
    emit({"datasets": table.to_dict(orient="records")}, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.command("load")(load)
    app.command("info")(info)
    app.command("datasets")(list_command)
