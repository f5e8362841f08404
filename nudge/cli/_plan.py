"""CLI command of site selection (``nudge plan``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer

from nudge._errors import DatasetError, InputFileError
from nudge.cli._common import LANGUAGE, JsonOption, dataset_folder, emit
from nudge.io.exports import write_geoframe
from nudge.io.limits import in_degrees
from nudge.osm.datasets import dataset_from_dir
from nudge.placement import candidates_from_dataset, plan_files, score_candidates
from nudge.placement._districts import QuotaSpec
from nudge.placement.compare import compare_plans
from nudge.placement.demand import (
    FOOTFALL_NOTE,
    combine_demand,
    demand_from_features,
    demand_from_footfall,
    demand_from_layer,
)
from nudge.placement.selection import KINDS, SOLVERS, MaximalCoverage, PlanResult

WEIGH_BY = ("footfall", "category")
ID_COLUMNS = ("candidate_id", "site_id")

CountOption = Annotated[int | None, typer.Option(help="Number of sites (exact unless --budget).")]
DistrictsOption = Annotated[Path | None, typer.Option(help="District polygons (GeoJSON, GPKG).")]
LockOption = Annotated[Path | None, typer.Option(help="Sites that stay: ids, or existing points.")]
DemandOption = Annotated[Path | None, typer.Option(help="Extra demand layer with a weight column.")]
FeaturesOption = Annotated[bool, typer.Option(help="Count the dataset's public spaces as demand.")]
DatasetArgument = Annotated[
    str, typer.Argument(help="City dataset folder, or a dataset name in DATA_DIR.")
]
CostOption = Annotated[
    Path | None, typer.Option(help="Costs per kind or site: TOML or CSV (kind|site_id, cost).")
]
RadiusOption = Annotated[
    float | None, typer.Option(help="Service radius in metres (300 banner, 500 otherwise).")
]
QuotaOption = Annotated[
    str | None, typer.Option(help="'min:max' per district, 'proportional', or a CSV.")
]
PopulationOption = Annotated[
    Path | None, typer.Option(help="CSV of district and population for proportional quotas.")
]
CandidatesOption = Annotated[
    Path | None, typer.Option(help="Scored candidates; default DIR/scores/<type>.parquet.")
]
WeighByOption = Annotated[
    str,
    typer.Option(help="Weigh the public spaces by estimated 'footfall' or by 'category' alone."),
]
CompareOption = Annotated[
    Path | None, typer.Option(help="Another plan file to compare this plan with.")
]
OutOption = Annotated[
    Path | None, typer.Option(help="Plan file: .geojson .gpkg .csv .xlsx (default DIR/plans/).")
]
LangOption = Annotated[
    LANGUAGE | None,
    typer.Option(
        help="Language of district names: kk, ru or en, where the layer has OSM name:kk, "
        "name:ru (default: its district, name_en or name column)."
    ),
]


def _score_into(folder: Path, kind: str, path: Path) -> None:
    """Score the dataset's candidates of `kind` with the shipped profile and keep them."""
    city = dataset_from_dir(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = score_candidates(candidates_from_dataset(city, kind=kind), city)
    write_geoframe(result.candidates, path)


def _read_candidates(folder: Path, kind: str, path: Path | None) -> gpd.GeoDataFrame:
    """Return the scored candidates: `path`, else the folder's ``scores/<kind>.parquet``."""
    if path is None:
        path = folder / "scores" / f"{kind}.parquet"
        if not path.is_file():
            typer.echo(f"No scored {kind} candidates in {folder}: scoring them now.", err=True)
            _score_into(folder, kind, path)
    table = plan_files.read_table(path, what="candidates")
    if not isinstance(table, gpd.GeoDataFrame):
        if not {"lat", "lon"} <= set(table.columns):
            msg = f"The candidates file {path} needs geometries or 'lat' and 'lon' columns."
            raise InputFileError(msg, code="candidates_file_without_points", file=path.name)
        lon = pd.to_numeric(table["lon"], errors="coerce")
        lat = pd.to_numeric(table["lat"], errors="coerce")
        table = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    table = in_degrees(table, name=path.name)
    column = next((c for c in ID_COLUMNS if c in table.columns), None)
    if column is not None:
        table = table.set_index(column)
    table.index = table.index.astype(str)
    table.index.name = "candidate_id"
    return table


def _read_demand(
    folder: Path, demand: Path | None, weight_column: str, *, features: bool, weigh_by: str
) -> gpd.GeoDataFrame:
    """Return the demand: the dataset's features (by footfall or category) and/or a user layer."""
    if weigh_by not in WEIGH_BY:
        msg = f"--weigh-by must be one of {', '.join(WEIGH_BY)}, not {weigh_by!r}."
        raise InputFileError(
            msg, code="plan_cli_weigh_by", value=weigh_by, choices=", ".join(WEIGH_BY)
        )
    layers = []
    features_path = folder / "features.parquet"
    if features:
        if not features_path.is_file():
            msg = f"{folder} is not a city dataset: it has no features.parquet. Run `nudge load`."
            raise DatasetError(msg, code="plan_dataset_without_features", folder=str(folder))
        if weigh_by == "footfall":
            layers.append(demand_from_footfall(dataset_from_dir(folder)))
        else:
            layers.append(demand_from_features(gpd.read_parquet(features_path)))
    if demand is not None:
        layer = plan_files.read_table(demand, what="demand")
        if not isinstance(layer, gpd.GeoDataFrame):
            msg = f"The demand file {demand} must hold geometries."
            raise InputFileError(msg, code="demand_file_without_geometry", file=demand.name)
        layer = in_degrees(layer, name=demand.name)
        layers.append(demand_from_layer(layer, weight_column=weight_column))
    if not layers:
        msg = "There is no demand: keep the dataset's features or give --demand FILE."
        raise DatasetError(msg, code="plan_no_demand")
    return combine_demand(*layers)


def _locks(
    path: Path | None, candidates: gpd.GeoDataFrame, kind: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return the candidates with existing structures added, and the locked ids.

    A lock file lists candidate ids; in a vector file, rows whose id is not a
    candidate (or that have no id) are existing structures added as candidates.
    """
    if path is None:
        return candidates, []
    table = plan_files.read_table(path, what="lock")
    if not isinstance(table, gpd.GeoDataFrame):
        return candidates, plan_files.site_ids_from_file(path, what="lock")
    table = in_degrees(table, name=path.name)
    column = next((c for c in (*ID_COLUMNS, "id") if c in table.columns), None)
    ids = (
        table[column].astype(str).to_numpy()
        if column is not None
        else [f"existing/{i + 1:04d}" for i in range(len(table))]
    )
    table = table.assign(_id=ids)
    new = table[~table["_id"].isin(candidates.index)]
    if len(new):
        extra = gpd.GeoDataFrame(
            {"kind": kind, "name": new.get("name"), "excluded": False, "score": 0.0},
            geometry=new.geometry.to_crs(candidates.crs).to_numpy(),
            crs=candidates.crs,
            index=pd.Index(new["_id"].to_numpy(), name="candidate_id"),
        )
        candidates = gpd.GeoDataFrame(pd.concat([candidates, extra]), crs=candidates.crs)
    return candidates, [str(i) for i in ids]


def _quota(text: str | None) -> QuotaSpec:
    if text is None:
        return None
    if Path(text).suffix.lower() in {".csv", ".xlsx"}:
        return plan_files.quota_from_file(Path(text))
    return text


def plan(
    dataset: DatasetArgument,
    kind: Annotated[str, typer.Option("--type", help="banner, exhibition or career.")] = "banner",
    count: CountOption = None,
    budget: Annotated[float | None, typer.Option(help="Total budget; sites cost --cost.")] = None,
    cost: CostOption = None,
    min_spacing: Annotated[float, typer.Option(help="Metres between chosen sites.")] = 250.0,
    radius: RadiusOption = None,
    districts: DistrictsOption = None,
    quota: QuotaOption = None,
    population: PopulationOption = None,
    lock: LockOption = None,
    exclude: Annotated[Path | None, typer.Option(help="Site ids that must not be used.")] = None,
    solver: Annotated[str, typer.Option(help="greedy (fast) or exact (HiGHS).")] = "greedy",
    time_limit: Annotated[float, typer.Option(help="Seconds for the exact solver.")] = 60.0,
    candidates: CandidatesOption = None,
    demand: DemandOption = None,
    weight_column: Annotated[str, typer.Option(help="Weight column of --demand.")] = "weight",
    features: FeaturesOption = True,
    weigh_by: WeighByOption = "footfall",
    compare: CompareOption = None,
    out: OutOption = None,
    lang: LangOption = None,
    as_json: JsonOption = False,
) -> None:
    """Choose the set of sites that together reach the most people, within the constraints."""
    if kind not in KINDS or solver not in SOLVERS:
        msg = f"--type must be one of {', '.join(KINDS)} and --solver one of {', '.join(SOLVERS)}."
        raise InputFileError(
            msg, code="plan_cli_type_or_solver", kinds=", ".join(KINDS), solvers=", ".join(SOLVERS)
        )
    folder = dataset_folder(dataset)
    cands, locked = _locks(lock, _read_candidates(folder, kind, candidates), kind)
    pop = plan_files.population_from_file(population) if population else None
    model = MaximalCoverage.from_geodataframe(
        cands,
        _read_demand(folder, demand, weight_column, features=features, weigh_by=weigh_by),
        kind=kind,
        count=count,
        budget=budget,
        cost=plan_files.costs_from_file(cost) if cost else None,
        min_spacing=min_spacing,
        radius=radius,
        districts=plan_files.districts_from_file(districts) if districts else None,
        quota=_quota(quota),
        population=pop,
        locked=locked,
        excluded=plan_files.site_ids_from_file(exclude, what="exclude") if exclude else (),
        lang=lang,
    )
    result = model.solve(solver=solver, time_limit=time_limit)
    path = plan_files.plan_to_file(result, out or folder / "plans" / f"{kind}-plan.geojson")
    summary = {**result.summary(), "out": str(path)}
    if features and weigh_by == "footfall":
        summary["demand"] = FOOTFALL_NOTE
    if compare is not None:
        other = model.evaluate(plan_files.site_ids_from_file(compare, what="compared plan"))
        summary["comparison"] = compare_plans(other, result).as_dict()
    emit(summary, as_json=as_json, human=_human(result, path))


def _human(result: PlanResult, path: Path) -> str:
    return (
        f"{result.explanation}\nWarnings: {'; '.join(result.warnings) or 'none'}\nWritten to {path}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    app.command("plan")(plan)
