"""Read OpenStreetMap data from local files, chosen by content, not by extension.

Supported: ``.osm`` and ``.osm.bz2`` XML, ``.osm.pbf``, Overpass JSON,
overpass-turbo GeoJSON (or any GeoJSON with OSM tags), GeoParquet, plain
Parquet or CSV with latitude/longitude columns, GeoPackage, and Geofabrik
"free" shapefile layers (``gis_osm_*_free``, one ``.shp``, a folder, or a
``.zip``). Every reader returns the same `OsmLayers`.
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from nudge._errors import InputFileError
from nudge.io.limits import MAX_OSM_XML_BYTES, check_bz2, check_size, check_zip, in_degrees
from nudge.io.tables import coordinates_of, csv_frame, parquet_frame
from nudge.osm.buildings import buildings_from_file, buildings_from_frame
from nudge.osm.features import (
    combine_features,
    empty_features,
    features_from_geofabrik,
    features_from_tags,
    osm_ids,
    osm_ids_from_geometry,
)
from nudge.osm.overpass import elements_to_frame
from nudge.osm.routes import route_stops_from_elements, route_stops_from_file
from nudge.osm.streets import (
    STREET_CLASSES,
    STREET_COLUMNS,
    streets_from_edges,
    streets_from_lines,
    streets_from_segments,
)
from nudge.osm.taxonomy import load_taxonomy

log = logging.getLogger(__name__)

_LINES = ("LineString", "MultiLineString")


@dataclass(frozen=True, slots=True)
class OsmLayers:
    """Public-space features and street edges read from one source.

    ``routes`` (stops of public-transport route relations, `nudge.osm.routes`) and
    ``buildings`` (`nudge.osm.buildings`) are None when the source cannot carry them
    (Geofabrik shapefiles, GeoJSON of points, CSV), and empty when it can but has none.
    """

    features: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    source: str
    routes: gpd.GeoDataFrame | None = None
    buildings: gpd.GeoDataFrame | None = None


def empty_streets() -> gpd.GeoDataFrame:
    """Return an empty street table with the right columns."""
    cols = {c: pd.Series(dtype="float64") for c in STREET_COLUMNS if c != "geometry"}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=4326))[STREET_COLUMNS]


def sniff_kind(path: Path) -> str:
    """Return the kind of OSM file at `path`, judged by its first bytes.

    Returns one of ``pbf``, ``xml``, ``overpass_json``, ``geojson``, ``parquet``,
    ``gpkg``, ``shp``, ``zip``, ``dir`` or ``csv``.

    Raises
    ------
    InputFileError
        When the file is missing, empty or of a kind nudge cannot read.
    """
    if not path.exists():
        msg = f"The file {path} does not exist; check the path."
        raise InputFileError(msg, code="osm_file_missing", path=path.name)
    if path.is_dir():
        return "dir"
    head = path.read_bytes()[:4096] if path.stat().st_size < 4096 else _head(path)
    if not head.strip():
        msg = f"The file {path} is empty; export the data again or choose another file."
        raise InputFileError(msg, code="osm_file_empty", path=path.name)
    kind = _kind_from_head(head, path)
    if kind is None:
        msg = (
            f"nudge cannot tell what kind of file {path} is (it starts with {head[:16]!r}). "
            "Use .osm / .osm.bz2 XML, .osm.pbf, Overpass JSON, GeoJSON, GeoParquet, GeoPackage, "
            "CSV with lat/lon, or Geofabrik shapefiles (.shp or .zip)."
        )
        raise InputFileError(
            msg, code="osm_file_unknown_kind", path=path.name, start=repr(head[:16])
        )
    return kind


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(4096)


def _kind_from_head(head: bytes, path: Path) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    checks = (
        (b"OSMHeader" in head[:64], "pbf"),
        (head.startswith(b"BZh"), "xml"),
        (text.startswith((b"<?xml", b"<osm")), "xml"),
        (head.startswith(b"PAR1"), "parquet"),
        (head.startswith(b"SQLite format 3\x00"), "gpkg"),
        (head.startswith(b"\x00\x00\x27\x0a"), "shp"),
        (head.startswith(b"PK\x03\x04"), "zip"),
    )
    for hit, kind in checks:
        if hit:
            return kind
    if text.startswith(b"{"):
        return "overpass_json" if b'"elements"' in head else "geojson"
    if path.suffix.lower() in (".csv", ".txt") and b"," in head:
        return "csv"
    return None


def layers_from_file(path: str | Path) -> OsmLayers:
    """Read public spaces and streets from one local file or folder.

    Parameters
    ----------
    path
        An OSM file of any supported kind (see the module docstring), a folder
        of Geofabrik shapefiles, or a ``.zip`` of them.

    Returns
    -------
    OsmLayers

    Raises
    ------
    InputFileError
        When the file is missing, empty, truncated, corrupt or of an unknown kind.
    """
    path = Path(path)
    kind = sniff_kind(path)
    reader = _READERS[kind]
    try:
        layers = reader(path)
    except InputFileError:
        raise
    except Exception as exc:
        msg = (
            f"nudge could not read {path} as {kind.upper()} data ({type(exc).__name__}: {exc}). "
            "The file may be truncated or corrupt; download or export it again."
        )
        raise InputFileError(
            msg,
            code="osm_file_unreadable",
            path=path.name,
            kind=kind.upper(),
            reason=f"{type(exc).__name__}: {exc}",
        ) from exc
    log.info("%s: %d features, %d streets", path, len(layers.features), len(layers.streets))
    return layers


def _read_pbf(path: Path) -> OsmLayers:
    import pyrosm

    osm = pyrosm.OSM(str(path))
    raw = osm.get_data_by_custom_criteria(
        custom_filter=load_taxonomy().osm_filter(),
        filter_type="keep",
        keep_nodes=True,
        keep_ways=True,
        keep_relations=True,
    )
    if raw is None or raw.empty:
        features = empty_features()
    else:
        ids = osm_ids(raw["osm_type"], raw["id"])
        features = features_from_tags(raw, ids=ids, source=path.name)
    network = osm.get_network(network_type="all", nodes=True)
    streets = empty_streets() if network is None else streets_from_segments(network[1])
    return OsmLayers(
        features,
        streets,
        path.name,
        routes=route_stops_from_file(path, file_format="pbf"),
        buildings=buildings_from_file(path, file_format="pbf"),
    )


def _read_xml(path: Path) -> OsmLayers:
    import osmnx as ox

    _check_xml_complete(path)
    try:
        raw = ox.features_from_xml(path, tags=load_taxonomy().osm_filter())
    except ox._errors.InsufficientResponseError:
        features = empty_features()
    else:
        raw = raw.reset_index()
        ids = osm_ids(raw["element"], raw["id"])
        features = features_from_tags(raw, ids=ids, source=path.name)
    try:
        graph = ox.graph_from_xml(path, bidirectional=True, simplify=True, retain_all=True)
        edges = ox.graph_to_gdfs(graph, nodes=False)
        streets = streets_from_edges(edges)
    except (ox._errors.InsufficientResponseError, ValueError):
        streets = empty_streets()
    fmt = "osm.bz2" if _head(path)[:3] == b"BZh" else "osm"
    return OsmLayers(
        features,
        streets,
        path.name,
        routes=route_stops_from_file(path, file_format=fmt),
        buildings=buildings_from_file(path, file_format=fmt),
    )


def _check_xml_complete(path: Path) -> None:
    """Refuse an XML file whose end is missing, or a bomb, before the parser reads it."""
    if _head(path)[:3] == b"BZh":
        tail = check_bz2(path, max_unpacked=MAX_OSM_XML_BYTES)
    else:
        size = check_size(path, max_bytes=MAX_OSM_XML_BYTES)
        with path.open("rb") as plain:
            plain.seek(max(0, size - 256))
            tail = plain.read()
    if b"</osm>" not in tail:
        msg = (
            f"The OSM XML file {path} ends before its closing </osm> tag: it is truncated. "
            "Download or export it again."
        )
        raise InputFileError(msg, code="osm_xml_truncated", path=path.name)


def _read_overpass_json(path: Path) -> OsmLayers:
    data = json.loads(path.read_text(encoding="utf-8"))
    elements = data.get("elements") if isinstance(data, dict) else None
    if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
        msg = (
            f"The file {path} is not Overpass JSON: it needs an object with a list of "
            "'elements'. Download it again from Overpass with [out:json]."
        )
        raise InputFileError(msg, code="osm_json_not_overpass", path=path.name)
    frame = elements_to_frame(elements)
    layers = _layers_from_tagged(frame, source=path.name)
    return replace(
        layers, routes=route_stops_from_elements(elements), buildings=buildings_from_frame(frame)
    )


def _read_vector(path: Path | str, *, layer: str | None = None) -> gpd.GeoDataFrame:
    return in_degrees(gpd.read_file(path, layer=layer, engine="pyogrio"), name=Path(path).name)


def _read_geojson(path: Path) -> OsmLayers:
    return _layers_from_frame(_read_vector(path), source=path.name)


def _read_parquet(path: Path) -> OsmLayers:
    frame = parquet_frame(path)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = _points_from_table(frame, path)
    return _layers_from_frame(in_degrees(frame, name=path.name), source=path.name)


def _read_csv(path: Path) -> OsmLayers:
    check_size(path, max_bytes=MAX_OSM_XML_BYTES)
    table = csv_frame(path.read_bytes(), path.name).replace("", None)  # empty cells: no tag
    return _layers_from_frame(_points_from_table(table, path), source=path.name)


def _read_gpkg(path: Path) -> OsmLayers:
    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    parts = [
        _layers_from_frame(_read_vector(path, layer=n), source=f"{path.name}:{n}") for n in names
    ]
    return _merge(parts, source=path.name)


def _read_shapefiles(path: Path) -> OsmLayers:
    shps: list[Path | str]
    if path.is_dir():
        shps = sorted(path.glob("*.shp"))
    elif path.suffix.lower() == ".zip":
        check_zip(path, name=path.name, max_unpacked=MAX_OSM_XML_BYTES)
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        shps = [f"/vsizip/{path.resolve()}/{m}" for m in sorted(members)]
    else:
        shps = [path]
    if not shps:
        msg = f"{path} holds no shapefile (.shp); point nudge at the Geofabrik layers."
        raise InputFileError(msg, code="osm_no_shapefile", path=path.name)
    parts = [_layers_from_frame(_read_vector(p), source=Path(p).name) for p in shps]
    return _merge(parts, source=path.name)


def _read_dir(path: Path) -> OsmLayers:
    if any(path.glob("*.shp")):
        return _read_shapefiles(path)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        msg = f"The folder {path} is empty; put OSM files or Geofabrik shapefiles in it."
        raise InputFileError(msg, code="osm_folder_empty", path=path.name)
    return _merge([layers_from_file(p) for p in files], source=path.name)


def _points_from_table(table: pd.DataFrame, path: Path) -> gpd.GeoDataFrame:
    y, x = coordinates_of(table, name=f"{path} (a table without geometry)", file=Path(path).name)
    good = y.between(-90, 90) & x.between(-180, 180)
    if (~good).any():
        log.warning("%s: %d rows with missing or invalid coordinates skipped", path, (~good).sum())
    table = table.loc[good.to_numpy()]
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(x[good], y[good]), crs=4326)


def _ids_of(frame: gpd.GeoDataFrame) -> pd.Series:
    """Return ``type/id`` strings from whichever id columns a layer has."""
    if "osm_type" in frame.columns and "osm_id" in frame.columns:
        return osm_ids(frame["osm_type"], frame["osm_id"])
    for col in ("@id", "id", "osm_id", "osmid"):
        if col in frame.columns:
            return osm_ids_from_geometry(frame[col].astype("string"), frame.geometry)
    return osm_ids_from_geometry(pd.Series(frame.index.astype(str)), frame.geometry)


def _layers_from_frame(frame: gpd.GeoDataFrame, *, source: str) -> OsmLayers:
    """Normalise one vector layer, whichever schema it has."""
    if "category" in frame.columns and "osm_id" in frame.columns and "subcategory" in frame.columns:
        feats = frame.copy()
        feats["source"] = feats.get("source", source)
        return OsmLayers(combine_features([_as_features(feats)]), empty_streets(), source)
    if "fclass" in frame.columns:
        return _layers_from_geofabrik(frame, source=source)
    return _layers_from_tagged(frame, source=source)


def _as_features(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.to_crs(4326)
    for col in ("name", "name_kk", "name_ru", "name_en"):
        if col not in out.columns:
            out[col] = pd.NA
    if "point" not in out.columns or not isinstance(out["point"], gpd.GeoSeries):
        out["point"] = gpd.GeoSeries(shapely.point_on_surface(out.geometry.array), crs=4326)
    return out


def _layers_from_geofabrik(frame: gpd.GeoDataFrame, *, source: str) -> OsmLayers:
    is_line = frame.geom_type.isin(_LINES).to_numpy()
    features = features_from_geofabrik(frame.loc[~is_line], source=source)
    if is_line.any() and _looks_like_roads(frame.loc[is_line, "fclass"]):
        streets = streets_from_lines(frame.loc[is_line], highway_column="fclass")
    else:
        streets = empty_streets()
    return OsmLayers(features, streets, source)


def _looks_like_roads(fclass: pd.Series) -> bool:
    return bool(fclass.isin(STREET_CLASSES).mean() > 0.5)


def _layers_from_tagged(frame: gpd.GeoDataFrame, *, source: str) -> OsmLayers:
    if frame.empty:
        return OsmLayers(empty_features(), empty_streets(), source)
    ids = _ids_of(frame)
    is_street = frame.geom_type.isin(_LINES).to_numpy().copy()
    if "highway" in frame.columns:
        is_street &= frame["highway"].isin(STREET_CLASSES).to_numpy(dtype=bool)
    else:
        is_street[:] = False
    features = features_from_tags(frame.loc[~is_street], ids=ids[~is_street], source=source)
    streets = streets_from_lines(frame.loc[is_street]) if is_street.any() else empty_streets()
    return OsmLayers(features, streets, source)


def _merge(parts: list[OsmLayers], *, source: str) -> OsmLayers:
    return OsmLayers(
        combine_features([p.features for p in parts]),
        merge_streets([p.streets for p in parts]),
        source,
        routes=concat_optional([p.routes for p in parts]),
        buildings=concat_optional([p.buildings for p in parts]),
    )


def concat_optional(parts: list[gpd.GeoDataFrame | None]) -> gpd.GeoDataFrame | None:
    """Concatenate the tables that sources carry; None when no source carries one."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return gpd.GeoDataFrame(pd.concat(present, ignore_index=True), crs=4326)


def merge_streets(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Concatenate street tables, renumbering nodes of later parts so ids never clash.

    Lines from different sources are not joined to each other; combine one
    street source with any number of feature sources.
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_streets()
    if len(parts) == 1:
        return parts[0]
    offset = 0
    shifted = []
    for part in parts:
        moved = part.copy()
        low = int(min(moved["u"].min(), moved["v"].min()))
        moved["u"] = moved["u"] - low + offset
        moved["v"] = moved["v"] - low + offset
        offset = int(max(moved["u"].max(), moved["v"].max())) + 1
        shifted.append(moved)
    return gpd.GeoDataFrame(pd.concat(shifted, ignore_index=True), crs=4326)


_READERS = {
    "pbf": _read_pbf,
    "xml": _read_xml,
    "overpass_json": _read_overpass_json,
    "geojson": _read_geojson,
    "parquet": _read_parquet,
    "gpkg": _read_gpkg,
    "shp": _read_shapefiles,
    "zip": _read_shapefiles,
    "dir": _read_dir,
    "csv": _read_csv,
}
