"""Small compositions of library calls that the app's pages share.

Nothing here imports Streamlit and nothing here decides anything the library
does not already decide: these functions turn uploads into files, chain the
library's steps in the order a page needs them, and turn results into bytes for
download buttons. Pages stay thin by calling them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy.engine import Engine

from nudge import datasets
from nudge._errors import InputFileError
from nudge.exports import write_geoframe
from nudge.placement import ScoreResult, candidates_from_dataset, load_profile, score_candidates
from nudge.placement.demand import demand_from_features
from nudge.placement.scoring import rescore
from nudge.placement.selection import PlanResult, plan_sites
from nudge.settings import Settings

UPLOAD_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def _safe_name(name: str) -> str:
    """Return an upload's base name without folders or odd characters."""
    base = re.split(r"[\\/]", name)[-1].strip() or "upload"
    return UPLOAD_NAME.sub("_", base)[:120]


SIDECAR_SUFFIXES = frozenset({".dbf", ".shx", ".prj", ".cpg", ".xml", ".qix", ".sbn", ".sbx"})
"""Parts of a shapefile that travel beside its ``.shp`` and are not read on their own."""


def save_uploads(files: Sequence[tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write uploaded ``(name, bytes)`` pairs into `folder` under safe names; return the paths.

    Names are kept (so the parts of a shapefile stay together); a repeated name
    gets a number in front.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (name, data) in enumerate(files):
        path = folder / _safe_name(name)
        if path.exists():
            path = folder / f"{i:02d}_{_safe_name(name)}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def readable_files(paths: Sequence[Path]) -> list[Path]:
    """Return the files a loader reads: all but the side files of shapefiles."""
    return [p for p in paths if p.suffix.lower() not in SIDECAR_SUFFIXES]


def dataset_from_uploads(
    files: Sequence[tuple[str, bytes]], *, settings: Settings, name: str
) -> Path:
    """Read uploaded OSM files into one city dataset and save it as ``<data_dir>/<slug>``.

    Raises
    ------
    InputFileError
        When nothing was uploaded or a file cannot be read (from the loaders).
    """
    if not files:
        msg = "Choose at least one OSM file to upload."
        raise InputFileError(msg, code="upload_nothing_chosen")
    slug = datasets.slug_from_text(name or Path(files[0][0]).stem.split(".")[0])
    with tempfile.TemporaryDirectory(prefix="nudge-upload-") as tmp:
        city = datasets.dataset_from_files(readable_files(save_uploads(files, Path(tmp))))
    return datasets.save_dataset(city, settings.dataset_dir(slug), slug=slug)


def dataset_from_paths(paths: Sequence[str | Path], *, settings: Settings, name: str) -> Path:
    """Read local OSM files (e.g. a packaged extract) into a saved city dataset."""
    slug = datasets.slug_from_text(name)
    city = datasets.dataset_from_files(list(paths))
    return datasets.save_dataset(city, settings.dataset_dir(slug), slug=slug)


def dataset_from_place_name(place: str, *, settings: Settings, name: str | None = None) -> Path:
    """Download a city through osmnx (cached in the data folder) and save it as a dataset."""
    slug = datasets.slug_from_text(name or place)
    city = datasets.dataset_from_place(place, cache_dir=settings.cache_dir)
    return datasets.save_dataset(city, settings.dataset_dir(slug), slug=slug)


def dataset_stamp(folder: str | Path) -> float:
    """Return the modification time of a dataset's ``meta.json`` (0 when missing), for caches."""
    meta = Path(folder) / datasets.META_FILE
    return meta.stat().st_mtime if meta.is_file() else 0.0


def score_dataset(
    city: datasets.CityDataset, *, kind: str, profile: str, spacing: float, buffer: float
) -> ScoreResult:
    """Propose and score the candidate sites of one kind with a shipped profile."""
    cands = candidates_from_dataset(city, kind=kind, spacing=spacing, exclusion_buffer=buffer)
    return score_candidates(cands, city, profile=load_profile(profile))


def reweighted(result: ScoreResult, weights: Mapping[str, float]) -> ScoreResult:
    """Return the scores with new signal weights (see `nudge.placement.scoring.rescore`)."""
    return rescore(result, dict(weights))


def contribution_table(result: ScoreResult, site_id: str) -> pd.DataFrame:
    """Return one candidate's signals: value 0–1, weight and points of the score."""
    row = result.candidates.loc[site_id]
    return pd.DataFrame(
        {
            "signal": list(result.signals),
            "value": [float(row[f"signal_{s}"]) for s in result.signals],
            "weight": [float(result.profile.weights.get(s, 0.0)) for s in result.signals],
            "points": [float(row[f"contrib_{s}"]) for s in result.signals],
        }
    )


@dataclass(frozen=True)
class PlanRequest:
    """What the planner asked for on the Plan page."""

    kind: str
    count: int | None = None
    budget: float | None = None
    cost: float | None = None
    min_spacing: float = 250.0
    radius: float | None = None
    quota: str | None = None
    solver: str = "greedy"
    locked: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


def plan_from_scores(
    scores: ScoreResult,
    city: datasets.CityDataset,
    request: PlanRequest,
    *,
    districts: gpd.GeoDataFrame | None = None,
) -> PlanResult:
    """Choose sites from scored candidates, with the city's public spaces as demand."""
    quota: Any = request.quota.strip() if request.quota and request.quota.strip() else None
    return plan_sites(
        scores.candidates,
        demand_from_features(city.features),
        kind=request.kind,
        count=request.count,
        budget=request.budget,
        cost=request.cost,
        min_spacing=request.min_spacing,
        radius=request.radius,
        districts=districts,
        quota=quota if districts is not None else None,
        locked=request.locked,
        excluded=request.excluded,
        solver=request.solver,
        time_limit=30.0,
    )


def districts_from_upload(name: str, data: bytes) -> gpd.GeoDataFrame:
    """Read uploaded district polygons (GeoJSON or GeoPackage) with a name column."""
    from nudge.placement.plan_files import districts_from_file

    with tempfile.TemporaryDirectory(prefix="nudge-districts-") as tmp:
        path = save_uploads([(name, data)], Path(tmp))[0]
        return districts_from_file(path)


def geoframe_bytes(frame: gpd.GeoDataFrame, suffix: str) -> bytes:
    """Return `frame` written in the format of `suffix` (see `nudge.exports`)."""
    with tempfile.TemporaryDirectory(prefix="nudge-export-") as tmp:
        path = write_geoframe(frame, Path(tmp) / f"export{suffix}")
        return path.read_bytes()


def file_bytes(write: Any, suffix: str) -> bytes:
    """Call ``write(path)`` on a temporary file named ``*.suffix`` and return its bytes."""
    with tempfile.TemporaryDirectory(prefix="nudge-file-") as tmp:
        path = Path(tmp) / f"export{suffix}"
        write(path)
        return path.read_bytes()


def with_upload(name: str, data: bytes, action: Any) -> Any:
    """Save one upload to a temporary file under its (safe) name and return ``action(path)``."""
    with tempfile.TemporaryDirectory(prefix="nudge-in-") as tmp:
        folder = Path(tmp)
        path = folder / _safe_name(name)
        path.write_bytes(data)
        return action(path)


def registry_plan_name(dataset: str, kind: str, label: str) -> str:
    """Return the name a plan is stored under in the registry."""
    return f"{dataset}/{kind}/{label}"[:120]


def today() -> date:
    """Return today's date (one place, so tests can patch it)."""
    return date.today()


def engine_ready(engine: Engine) -> Engine:
    """Bring the registry schema up to date and return the engine (for the app's start-up)."""
    from nudge.registry import upgrade_database

    upgrade_database(engine)
    return engine


# --- campaign settings kept by the Admin page ---------------------------------------------

DEFAULT_FLIGHT_WEEKS = 4
DEFAULT_EXCLUSION_BUFFER_M = 50.0


@dataclass(frozen=True, slots=True)
class CampaignOptions:
    """The campaign options the Admin page edits.

    ``require_russian`` is the content rule of `nudge.content.campaign`; the
    flight length and exclusion buffer are the defaults of the Content and
    Plan pages. All three live in ``<data_dir>/content/campaign.toml``, next to
    any other overrides of the campaign file, which are kept.
    """

    require_russian: bool = False
    flight_weeks: int = DEFAULT_FLIGHT_WEEKS
    exclusion_buffer_m: float = DEFAULT_EXCLUSION_BUFFER_M


def campaign_file(settings: Settings) -> Path:
    """Return the path of the campaign overrides of a data folder."""
    return settings.data_dir / "content" / "campaign.toml"


def _read_overrides(path: Path) -> dict[str, Any]:
    import tomllib

    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"The campaign settings file {path} is not valid TOML: {exc}."
        raise InputFileError(
            msg, code="campaign_settings_invalid", path=str(path), reason=str(exc)
        ) from None


def campaign_options(settings: Settings) -> CampaignOptions:
    """Read the campaign options of a data folder (defaults when the file is missing)."""
    from nudge.content.campaign import campaign_for_settings

    raw = _read_overrides(campaign_file(settings))
    return CampaignOptions(
        require_russian=campaign_for_settings(settings).require_russian,
        flight_weeks=int(raw.get("rotation", {}).get("flight_weeks", DEFAULT_FLIGHT_WEEKS)),
        exclusion_buffer_m=float(
            raw.get("placement", {}).get("exclusion_buffer_m", DEFAULT_EXCLUSION_BUFFER_M)
        ),
    )


def save_campaign_options(settings: Settings, options: CampaignOptions) -> Path:
    """Write the campaign options, keeping every other override in the file.

    Raises
    ------
    InputFileError
        When the flight length is not 1–52 weeks or the buffer not 0–1000 m.
    """
    if not 1 <= options.flight_weeks <= 52 or not 0 <= options.exclusion_buffer_m <= 1000:
        weeks, buffer = options.flight_weeks, f"{options.exclusion_buffer_m:g}"
        msg = (
            f"A flight lasts 1–52 weeks (got {weeks}) and the exclusion buffer "
            f"is 0–1000 m (got {buffer})."
        )
        raise InputFileError(msg, code="campaign_options_out_of_range", weeks=weeks, buffer=buffer)
    path = campaign_file(settings)
    data = _read_overrides(path)
    data.setdefault("language", {})["require_russian"] = bool(options.require_russian)
    data.setdefault("rotation", {})["flight_weeks"] = int(options.flight_weeks)
    data.setdefault("placement", {})["exclusion_buffer_m"] = float(options.exclusion_buffer_m)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(toml_text(data), encoding="utf-8")
    tmp.replace(path)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def toml_text(data: Mapping[str, Any], prefix: str = "") -> str:
    """Return nested tables of scalars and lists as TOML text (what ``tomllib`` reads back)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, Mapping):
            name = f"{prefix}{key}"
            body = toml_text(value, prefix=f"{name}.")
            out += f"\n[{name}]\n{body}"
    return out


# --- content library forms ----------------------------------------------------------------


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


# --- registry ---------------------------------------------------------------------------


def region_label(code: str, lang: str) -> str:
    """Return a region's name in ``kk``, ``ru`` or ``en`` (the code when unknown)."""
    from nudge.registry.regions import REGION_BY_CODE

    region = REGION_BY_CODE.get(code)
    if region is None:
        return code
    return {"kk": region.name_kk, "ru": region.name_ru}.get(lang, region.name)


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


@dataclass(frozen=True)
class LoggedInstallation:
    """An installation just logged, and what attaching its photo raised."""

    record: Any
    evidence: Any | None


def log_with_photo(
    engine: Engine,
    *,
    user: Any,
    fields: Mapping[str, Any],
    photo: tuple[str, bytes] | None,
    photo_dir: Path,
    districts: Any | None = None,
) -> LoggedInstallation:
    """Log an installation, then attach its evidence photo (when one was uploaded).

    `districts` (a registry `DistrictLayer`) assigns the city district.
    """
    from nudge.registry import attach_photo, get_installation, log_installation

    record = log_installation(engine, user=user, districts=districts, **fields)
    evidence = None
    if photo is not None:
        name, data = photo
        evidence = attach_photo(
            engine, record.id, data, user=user, photo_dir=photo_dir, filename=name
        )
        record = get_installation(engine, record.id)
    return LoggedInstallation(record, evidence)
