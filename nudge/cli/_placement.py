"""CLI command ``nudge score``: candidate sites and their footfall-proxy scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import geopandas as gpd
import pandas as pd
import typer

from nudge._errors import RowProblem
from nudge.cli._common import JsonOption, dataset_folder, emit
from nudge.io.exports import write_geoframe
from nudge.osm import datasets
from nudge.placement import (
    calibrate_profile,
    candidates_from_dataset,
    candidates_from_file,
    counts_from_file,
    load_profile,
    mark_exclusions,
    plan_files,
    profile_from_file,
    score_candidates,
)
from nudge.placement.validation import CountKind, scatter_png, validate_profile

KindOption = Annotated[str, typer.Option("--type", help="banner, exhibition or career.")]


def score(
    dataset: Annotated[str, typer.Argument(help="Dataset folder, or a dataset name in DATA_DIR.")],
    kind: KindOption = "banner",
    profile: Annotated[Path | None, typer.Option(help="TOML file overriding the weights.")] = None,
    candidates: Annotated[
        Path | None, typer.Option(help="Your own sites (CSV lat/lon, XLSX, GeoJSON) to add.")
    ] = None,
    only_file: Annotated[
        bool, typer.Option(help="Score only the sites of --candidates, not generated ones.")
    ] = False,
    counts: Annotated[
        Path | None, typer.Option(help="Pedestrian counts CSV (lat, lon, count) to calibrate.")
    ] = None,
    save_profile: Annotated[
        Path | None, typer.Option(help="Write the calibrated profile to this TOML file.")
    ] = None,
    exclude: Annotated[
        Path | None, typer.Option(help="Polygons (GeoJSON/GPKG) where nothing may be placed.")
    ] = None,
    buffer: Annotated[
        float, typer.Option(help="Metres kept clear of worship/historic sites.")
    ] = 50,
    spacing: Annotated[float, typer.Option(help="Metres between banner candidates.")] = 50,
    out: Annotated[
        Path | None, typer.Option(help="Output file (.geojson .gpkg .parquet .csv .xlsx).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Propose candidate sites of one kind and score them with the footfall proxy."""
    folder = dataset_folder(dataset)
    city = datasets.dataset_from_dir(folder)
    prof = profile_from_file(profile, kind) if profile else load_profile(kind)
    parts: list[gpd.GeoDataFrame] = []
    problems: list[RowProblem] = []
    if not only_file:
        parts.append(
            candidates_from_dataset(city, kind=kind, spacing=spacing, exclusion_buffer=buffer)
        )
    if candidates:
        own, problems = candidates_from_file(
            candidates, kind=kind, features=city.features, exclusion_buffer=buffer
        )
        parts.append(own)
    cands = gpd.GeoDataFrame(pd.concat(parts), crs=4326)
    if exclude:
        zones = plan_files.exclusions_from_file(exclude)
        cands = mark_exclusions(cands, None, buffer=0.0, user_zones=zones)
    result = score_candidates(cands, city, profile=prof)
    summary: dict[str, Any] = result.summary()
    if problems:
        summary["candidate_problems"] = [p.as_dict() for p in problems]
    if counts:
        table, count_problems = counts_from_file(counts)
        cal = calibrate_profile(result.candidates, table, profile=prof, problems=count_problems)
        result = score_candidates(cands, city, profile=cal.profile)
        summary = {**result.summary(), "calibration": cal.summary()}
        if save_profile:
            save_profile.write_text(cal.profile.as_toml(), encoding="utf-8")
            summary["profile_file"] = str(save_profile)
    cache = write_geoframe(result.candidates, folder / "scores" / f"{kind}.parquet")
    summary["scores_file"] = str(cache)
    summary["out"] = str(write_geoframe(result.candidates, out)) if out else str(cache)
    emit(summary, as_json=as_json)


def validate(
    dataset: Annotated[str, typer.Argument(help="Dataset folder, or a dataset name in DATA_DIR.")],
    counts: Annotated[
        Path, typer.Option(help="Measured counts (CSV/XLSX/GeoJSON with lat, lon, count).")
    ],
    kind: KindOption = "banner",
    what: Annotated[
        str, typer.Option(help="What was counted: boardings (transit) or pedestrians.")
    ] = "boardings",
    profile: Annotated[Path | None, typer.Option(help="TOML file overriding the weights.")] = None,
    block: Annotated[
        float, typer.Option(help="Side in metres of the blocks of the cross-validation.")
    ] = 1000.0,
    plot: Annotated[
        Path | None, typer.Option(help="Write a scatter plot of score against counts (PNG).")
    ] = None,
    credit: Annotated[
        str, typer.Option(help="Source and licence of the counts, printed on the plot.")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Check the footfall score against measured counts, beside naive baselines."""
    city = datasets.dataset_from_dir(dataset_folder(dataset))
    prof = profile_from_file(profile, kind) if profile else load_profile(kind)
    table, problems = counts_from_file(counts)
    kind_of_counts = cast(CountKind, what)  # validate_profile refuses other values
    result = validate_profile(
        table, city, profile=prof, what=kind_of_counts, block_m=block, problems=problems
    )
    summary = result.summary()
    if plot:
        summary["plot"] = str(scatter_png(result, plot, credit=credit))
    emit(summary, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.command("score")(score)
    app.command("validate")(validate)
