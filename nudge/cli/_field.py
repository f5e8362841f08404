"""CLI commands of field capture: ``nudge field form``, ``import`` and ``pull``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from nudge._errors import InputFileError
from nudge.cli._common import AsUser, JsonOption, emit, finish_import, get_settings, said

MaxAccuracy = Annotated[float, typer.Option(help="Worst GPS accuracy accepted, in metres.")]


def _read_plan(path: Path) -> Any:
    import geopandas as gpd

    try:
        return gpd.read_file(path).to_crs(4326)
    except Exception as exc:  # pyogrio raises errors of many kinds for a missing or damaged file
        msg = f"The plan {path.name} could not be read; give the GeoJSON written by `nudge plan`."
        raise InputFileError(msg, code="field_plan_unreadable", name=path.name) from exc


def field_form(
    plan: Annotated[Path, typer.Option(help="Plan GeoJSON (output of `nudge plan`).")],
    out: Annotated[Path, typer.Option(help="XLSForm workbook to write (.xlsx).")],
    rotation: Annotated[
        Path | None, typer.Option(help="calendar.csv of `nudge content rotate`.")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Only the sites of this region.")] = None,
    on: Annotated[
        str | None, typer.Option(help="Day whose flight is expected (default today).")
    ] = None,
    max_accuracy: MaxAccuracy = 25.0,
    as_json: JsonOption = False,
) -> None:
    """Write an XLSForm (ODK Collect, KoboToolbox) to check the plan's sites in the field."""
    from nudge.field import expected_content, form_from_plan

    day = date.fromisoformat(on) if on else date.today()
    content: dict[str, str] = {}
    flight = None
    if rotation is not None:
        flight, content = expected_content(rotation, on=day)
    form = form_from_plan(
        _read_plan(plan), region=region, content=content, flight=flight, max_accuracy_m=max_accuracy
    )
    path = form.write(out)
    districts = int((form.choices["list_name"] == "districts").sum())
    summary = {"out": path, "sites": len(form.sites), "flight": flight, "version": form.version}
    emit({**summary, "districts": districts}, as_json=as_json)


Districts = Annotated[Path | None, typer.Option(help="GeoJSON of city districts to assign.")]
Radius = Annotated[
    float, typer.Option(help="Flag a submission this close (m) to an active one of its kind.")
]
ExportFolder = Annotated[
    Path | None, typer.Option(help="Folder for the export zip (default <data dir>/field).")
]
MaxDistance = Annotated[
    float, typer.Option(help="Flag a photo whose GPS is farther than this (m).")
]


@dataclass(frozen=True)
class _ImportOptions:
    """The options `field import` and `field pull` share."""

    user: str
    max_accuracy: float
    districts: Path | None
    radius: float
    max_distance: float


def _import(
    export: Path, options: _ImportOptions, *, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """Import an export, print the result and end with the exit code of every import."""
    from nudge.cli._registry import _districts, _engine, _themes_lookup
    from nudge.field import import_submissions

    result = import_submissions(
        _engine(),
        export,
        user=options.user,
        photo_dir=get_settings().photo_dir,
        max_accuracy_m=options.max_accuracy,
        districts=_districts(options.districts),
        duplicate_radius_m=options.radius,
        max_distance_m=options.max_distance,
        themes_of=_themes_lookup(),
    )
    human = (
        f"submissions: {result.submissions}, stored: {result.stored}, updated: {result.updated}, "
        f"status changes: {result.status_changes}, skipped (already stored): "
        f"{result.skipped_existing}, photos: {result.photos}, flagged: {result.flagged}, "
        f"errors: {len(result.errors)}"
    )
    human += "".join(f"\n  {p.submission} (row {p.row}): {said(p)}" for p in result.errors)
    if extra:
        human = "".join(f"{k}: {v}\n" for k, v in extra.items()) + human
    emit({**(extra or {}), **result.as_dict()}, as_json=as_json, human=human)
    finish_import(export.name, kept=result.kept, refused=result.refused)


def field_import(
    export: Annotated[Path, typer.Argument(help="ODK Central zip or CSV, or KoboToolbox XLSX.")],
    user: AsUser,
    max_accuracy: MaxAccuracy = 25.0,
    districts: Districts = None,
    radius: Radius = 15.0,
    max_distance: MaxDistance = 100.0,
    as_json: JsonOption = False,
) -> None:
    """Import field submissions; every problem is reported with its submission id."""
    options = _ImportOptions(user, max_accuracy, districts, radius, max_distance)
    _import(export, options, as_json=as_json)


def field_pull(
    project: Annotated[int, typer.Option(help="Numeric id of the ODK Central project.")],
    form: Annotated[str, typer.Option(help="Form ID (xmlFormId) of the form.")],
    user: AsUser,
    out: ExportFolder = None,
    max_accuracy: MaxAccuracy = 25.0,
    districts: Districts = None,
    radius: Radius = 15.0,
    max_distance: MaxDistance = 100.0,
    as_json: JsonOption = False,
) -> None:
    """Download a form's submissions from ODK Central and import them.

    The server and account come from NUDGE_ODK_URL, NUDGE_ODK_USER and
    NUDGE_ODK_PASSWORD in the environment, never from a file.
    """
    from nudge.field import pull_export

    folder = out if out is not None else get_settings().data_dir / "field"
    export = pull_export(project, form, folder=folder)
    options = _ImportOptions(user, max_accuracy, districts, radius, max_distance)
    _import(export, options, as_json=as_json, extra={"export": export})


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main CLI application."""
    field = typer.Typer(
        help="Field capture with ODK Collect and KoboToolbox.", no_args_is_help=True
    )
    field.command("form")(field_form)
    field.command("import")(field_import)
    field.command("pull")(field_pull)
    app.add_typer(field, name="field")
