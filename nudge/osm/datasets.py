"""City datasets: a folder with public spaces, streets and a small description.

``<data_dir>/<slug>/`` holds ``features.parquet``, ``streets.parquet`` (both
GeoParquet in EPSG:4326) and ``meta.json``; ``routes.parquet`` (stops of public-transport
route relations) and ``buildings.parquet`` (building points with floor area) when the source
carries them (`nudge.osm.routes`, `nudge.osm.buildings`). A dataset is written to a
temporary folder beside its target and moved into place only when complete,
so a failed load never leaves a half-written folder.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nudge._errors import DatasetError, EmptyDataError, InputFileError, InvalidQueryError
from nudge.geo.regions import distance_m
from nudge.io.limits import check_degrees
from nudge.osm.features import combine_features
from nudge.osm.files import OsmLayers, concat_optional, layers_from_file, merge_streets
from nudge.osm.gtfs import departures_from_gtfs
from nudge.osm.routes import route_count
from nudge.osm.streets import node_count
from nudge.osm.taxonomy import category_counts

log = logging.getLogger(__name__)

FEATURES_FILE = "features.parquet"
STREETS_FILE = "streets.parquet"
META_FILE = "meta.json"
ROUTES_FILE = "routes.parquet"
DEPARTURES_FILE = "departures.parquet"
BUILDINGS_FILE = "buildings.parquet"
# A generous box around Kazakhstan (lon 46.5-87.3 E, lat 40.6-55.4 N).
KAZAKHSTAN_BOUNDS = (45.0, 40.0, 88.0, 56.0)


@dataclass(frozen=True)
class CityDataset:
    """Public spaces and streets of one city, with their description."""

    features: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    routes: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None
    departures: gpd.GeoDataFrame | None = None

    @property
    def has_streets(self) -> bool:
        """Return whether the dataset has a street network."""
        return len(self.streets) > 0


def slug_from_text(text: str) -> str:
    """Return a folder-safe slug, e.g. ``"Astana, Kazakhstan"`` → ``astana-kazakhstan``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = ascii_text if ascii_text.strip() else text
    slug = re.sub(r"[^\w]+", "-", base.lower(), flags=re.UNICODE).strip("-_")
    return slug[:60] or "dataset"


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``"W,S,E,N"`` into four floats, checking their order and range.

    A box outside Kazakhstan is allowed, with a warning.

    Raises
    ------
    InvalidQueryError
        When the text is not four numbers, or west ≥ east, or south ≥ north.
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        msg = f"The bounding box {text!r} must be four numbers 'west,south,east,north' in degrees."
        raise InvalidQueryError(msg, code="bbox_not_numbers", text=text) from None
    bbox = (w, s, e, n)
    check_bbox(bbox)
    return bbox


def check_bbox(bbox: tuple[float, float, float, float]) -> None:
    """Refuse a malformed box; warn when it lies outside Kazakhstan."""
    w, s, e, n = bbox
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        msg = f"The bounding box {bbox} is outside longitude ±180 / latitude ±90."
        raise InvalidQueryError(msg, code="bbox_out_of_range", bbox=bbox)
    if w >= e or s >= n:
        fixed = f"{min(w, e)},{min(s, n)},{max(w, e)},{max(s, n)}"
        msg = (
            f"The bounding box {bbox} is in the wrong order: give west,south,east,north "
            f"with west < east and south < north (did you mean {fixed}?)."
        )
        raise InvalidQueryError(msg, code="bbox_wrong_order", bbox=bbox, fixed=fixed)
    kw, ks, ke, kn = KAZAKHSTAN_BOUNDS
    if w < kw or e > ke or s < ks or n > kn:
        warnings.warn(
            f"The area {bbox} lies (partly) outside Kazakhstan "
            f"(about {kw}-{ke} E, {ks}-{kn} N); continuing.",
            UserWarning,
            stacklevel=2,
        )


def dataset_from_layers(layers: Sequence[OsmLayers]) -> CityDataset:
    """Combine the layers of several sources into one dataset.

    Raises
    ------
    EmptyDataError
        When the sources hold no public space and no street at all.
    InputFileError
        When a coordinate is not longitude/latitude degrees.
    """
    features = combine_features([layer.features for layer in layers])
    streets = merge_streets([layer.streets for layer in layers])
    sources = [layer.source for layer in layers]
    if features.empty and streets.empty:
        msg = (
            f"{', '.join(sources)} hold(s) no public spaces or streets that nudge knows. "
            "Check that the area or file is the right one and contains OpenStreetMap data."
        )
        raise EmptyDataError(msg, code="no_data_in_sources", sources=", ".join(sources))
    check_degrees(np.r_[features.geometry.array, streets.geometry.array], name=", ".join(sources))
    check_one_place(layers)
    routes = concat_optional([layer.routes for layer in layers])
    buildings = concat_optional([layer.buildings for layer in layers])
    meta = _meta(features, streets, sources)
    meta["routes"] = None if routes is None else route_count(routes)
    meta["buildings"] = None if buildings is None else len(buildings)
    return CityDataset(features, streets, meta, routes=routes, buildings=buildings)


MAX_SOURCE_GAP_KM = 100.0
"""Sources farther apart than this are not one city: combining them is refused."""


def check_one_place(layers: Sequence[OsmLayers], *, max_gap_km: float = MAX_SOURCE_GAP_KM) -> None:
    """Refuse sources that lie far apart: one dataset is one city (or one area of a city).

    Raises
    ------
    InputFileError
        When the centres of two sources are more than `max_gap_km` apart, naming both.
    """
    centres = []
    for layer in layers:
        geoms = np.r_[layer.features.geometry.array, layer.streets.geometry.array]
        geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
        if len(geoms):
            w, s, e, n = shapely.total_bounds(geoms)
            centres.append((layer.source, (s + n) / 2, (w + e) / 2))
    for i, (a, lat_a, lon_a) in enumerate(centres):
        for b, lat_b, lon_b in centres[i + 1 :]:
            gap = float(distance_m(lat_a, lon_a, lat_b, lon_b)) / 1000
            if gap > max_gap_km:
                km = f"{gap:,.0f}"
                msg = (
                    f"{a} and {b} lie {km} km apart, so they are not one city: load each as its "
                    "own dataset."
                )
                raise InputFileError(msg, code="sources_far_apart", first=a, second=b, km=km)


def dataset_from_files(paths: Sequence[str | Path]) -> CityDataset:
    """Read one or more local OSM files into one dataset (see `nudge.osm.files`)."""
    return dataset_from_layers([layers_from_file(p) for p in paths])


def _bbox(features: gpd.GeoDataFrame, streets: gpd.GeoDataFrame) -> list[float]:
    geoms = np.r_[features.geometry.array, streets.geometry.array]
    if len(geoms) == 0:
        return []
    return [round(float(v), 7) for v in shapely.total_bounds(geoms)]


def _meta(features: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, sources: list[str]) -> dict:
    return {
        "source": sources,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "bbox": _bbox(features, streets),
        "features": len(features),
        "streets": len(streets),
        "nodes": node_count(streets),
        "by_category": category_counts(features["category"]),
    }


def save_dataset(dataset: CityDataset, folder: str | Path, *, slug: str | None = None) -> Path:
    """Write `dataset` to `folder`, replacing an older dataset there only when complete.

    Returns
    -------
    pathlib.Path
        The dataset folder.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    meta = {"slug": slug or folder.name, **dataset.meta}
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        dataset.features.to_parquet(tmp / FEATURES_FILE, index=False)
        dataset.streets.to_parquet(tmp / STREETS_FILE, index=False)
        if dataset.routes is not None:
            dataset.routes.to_parquet(tmp / ROUTES_FILE, index=False)
        if dataset.buildings is not None:
            dataset.buildings.to_parquet(tmp / BUILDINGS_FILE, index=False)
        if dataset.departures is not None:
            dataset.departures.to_parquet(tmp / DEPARTURES_FILE, index=False)
        (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), "utf-8")
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def dataset_from_dir(folder: str | Path) -> CityDataset:
    """Read a dataset folder written by `save_dataset`.

    Raises
    ------
    DatasetError
        When the folder or one of its files is missing or cannot be read.
    """
    folder = Path(folder)
    missing = [n for n in (FEATURES_FILE, STREETS_FILE, META_FILE) if not (folder / n).is_file()]
    if missing:
        msg = (
            f"{folder} is not a complete nudge dataset (missing {', '.join(missing)}). "
            "Create it with `nudge load --file ... --out DIR` or `nudge load --place ...`."
        )
        raise DatasetError(
            msg, code="dataset_incomplete", folder=str(folder), missing=", ".join(missing)
        )
    try:
        features = gpd.read_parquet(folder / FEATURES_FILE)
        streets = gpd.read_parquet(folder / STREETS_FILE)
        meta = json.loads((folder / META_FILE).read_text("utf-8"))
        routes = _optional_table(folder / ROUTES_FILE)
        buildings = _optional_table(folder / BUILDINGS_FILE)
        departures = _optional_table(folder / DEPARTURES_FILE)
    except (OSError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        msg = (
            f"The nudge dataset {folder} could not be read ({reason}); it may be damaged. "
            "Load the city's data again with `nudge load`."
        )
        raise DatasetError(
            msg, code="dataset_unreadable", folder=str(folder), reason=reason
        ) from exc
    return CityDataset(
        features, streets, meta, folder, routes=routes, buildings=buildings, departures=departures
    )


def with_gtfs(dataset: CityDataset, path: str | Path) -> CityDataset:
    """Return `dataset` with the weekday departures of a GTFS feed's stops inside its area.

    Scoring then counts departures near a site instead of OSM routes (`nudge.osm.gtfs`).

    Raises
    ------
    InputFileError
        When the feed cannot be read, or none of its stops lies in the dataset's area.
    """
    stops = departures_from_gtfs(path)
    bbox = dataset.meta.get("bbox") or []
    if len(bbox) == 4:
        w, s, e, n = bbox
        pad = 0.01  # about 1 km
        xy = stops.geometry
        inside = xy.x.between(w - pad, e + pad) & xy.y.between(s - pad, n + pad)
        stops = stops.loc[inside.to_numpy()].reset_index(drop=True)
    if stops.empty:
        name = Path(path).name
        msg = f"No stop of the GTFS feed {name} lies in the dataset's area; is it the same city?"
        raise InputFileError(msg, code="gtfs_outside_area", file=name)
    meta = {**dataset.meta, "departures": len(stops), "gtfs": Path(path).name}
    return replace(dataset, departures=stops, meta=meta)


def _optional_table(path: Path) -> gpd.GeoDataFrame | None:
    return gpd.read_parquet(path) if path.is_file() else None


def dataset_summary(dataset: CityDataset) -> dict[str, Any]:
    """Return the figures `nudge load` and `nudge info` print."""
    meta = dataset.meta
    return {
        "features": int(meta.get("features", len(dataset.features))),
        "streets": int(meta.get("streets", len(dataset.streets))),
        "nodes": int(meta.get("nodes", node_count(dataset.streets))),
        "by_category": meta.get("by_category", category_counts(dataset.features["category"])),
        "bbox": meta.get("bbox", []),
        "source": meta.get("source", []),
        "created": meta.get("created"),
        "routes": meta.get("routes"),
        "buildings": meta.get("buildings"),
        "departures": meta.get("departures"),
        "out": str(dataset.path) if dataset.path else None,
    }


def list_datasets(data_dir: str | Path) -> pd.DataFrame:
    """List the complete datasets under `data_dir`, one row each with their counts."""
    rows = []
    root = Path(data_dir)
    for folder in sorted(root.iterdir() if root.is_dir() else []):
        if folder.name.startswith((".", "_")) or not (folder / META_FILE).is_file():
            continue
        meta = json.loads((folder / META_FILE).read_text("utf-8"))
        rows.append(
            {
                "slug": folder.name,
                "path": str(folder),
                "features": meta.get("features", 0),
                "streets": meta.get("streets", 0),
                "created": meta.get("created"),
                "source": ", ".join(meta.get("source", [])),
            }
        )
    return pd.DataFrame(rows, columns=["slug", "path", "features", "streets", "created", "source"])


def rename_dataset(folder: str | Path, name: str) -> Path:
    """Rename a dataset folder to the slug of `name`; return the new folder.

    Raises
    ------
    DatasetError
        When the folder is not a dataset, or another dataset already has that name.
    """
    folder = Path(folder)
    slug = slug_from_text(name)
    target = folder.with_name(slug)
    if not (folder / META_FILE).is_file():
        msg = f"{folder.name} is not a nudge dataset; nothing was renamed."
        raise DatasetError(msg, code="dataset_rename_missing", name=folder.name)
    if target == folder:
        return folder
    if target.exists():
        msg = f"A dataset called {slug} already exists; choose another name."
        raise DatasetError(msg, code="dataset_rename_taken", name=slug)
    meta = json.loads((folder / META_FILE).read_text("utf-8"))
    folder.rename(target)
    (target / META_FILE).write_text(
        json.dumps({**meta, "slug": slug}, ensure_ascii=False, indent=2), "utf-8"
    )
    return target


def delete_dataset(folder: str | Path) -> None:
    """Delete a dataset folder (its public spaces, streets, scores and plans files).

    Raises
    ------
    DatasetError
        When the folder is not a dataset (nothing else is ever deleted).
    """
    folder = Path(folder)
    if not (folder / META_FILE).is_file():
        msg = f"{folder.name} is not a nudge dataset; nothing was deleted."
        raise DatasetError(msg, code="dataset_delete_missing", name=folder.name)
    trash = folder.with_name(f".{folder.name}.deleted")
    shutil.rmtree(trash, ignore_errors=True)
    folder.rename(trash)  # gone from the list at once, even if removing the files fails
    shutil.rmtree(trash, ignore_errors=True)


def dataset_from_place(place: str, *, cache_dir: Path) -> CityDataset:
    """Geocode `place` (e.g. ``"Astana, Kazakhstan"``) and download its data through osmnx."""
    from nudge.osm._online import layers_from_place

    if not place.strip():
        msg = "The place name is empty; give a city such as 'Astana, Kazakhstan'."
        raise InvalidQueryError(msg, code="place_name_empty")
    return dataset_from_layers([layers_from_place(place, cache_dir=cache_dir)])


def dataset_from_bbox(bbox: tuple[float, float, float, float], *, cache_dir: Path) -> CityDataset:
    """Download the data inside ``(west, south, east, north)`` through osmnx."""
    from nudge.osm._online import layers_from_bbox

    check_bbox(bbox)
    return dataset_from_layers([layers_from_bbox(bbox, cache_dir=cache_dir)])


def dataset_from_polygon_file(path: str | Path, *, cache_dir: Path) -> CityDataset:
    """Download the data inside the polygon(s) of a vector file through osmnx."""
    from nudge.osm._online import layers_from_polygon, polygon_from_file

    polygon = polygon_from_file(Path(path))
    check_bbox(tuple(float(v) for v in polygon.bounds))  # type: ignore[arg-type]
    layers = layers_from_polygon(polygon, cache_dir=cache_dir, source=f"polygon:{Path(path).name}")
    return dataset_from_layers([layers])
