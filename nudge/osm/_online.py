"""Fetch public spaces and streets online through osmnx (Nominatim and Overpass).

The HTTP cache lives in the data folder (``Settings.cache_dir``), so a city
that was loaded once loads again without the network.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import shapely

from nudge._errors import EmptyDataError, InvalidQueryError, OnlineSourceError
from nudge.osm.buildings import buildings_from_frame, empty_buildings
from nudge.osm.features import features_from_tags, osm_ids
from nudge.osm.files import OsmLayers, empty_streets
from nudge.osm.routes import ROUTE_TYPES, route_stops_from_elements
from nudge.osm.streets import streets_from_edges
from nudge.osm.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from shapely.geometry import MultiPolygon, Polygon

log = logging.getLogger(__name__)


@contextmanager
def _network_errors(what: str, *, service: str) -> Iterator[None]:
    """Turn connection failures and refusals of an online service into one readable error.

    Parameters
    ----------
    what
        What nudge was doing, for the English message (``"geocoding 'Astana'"``).
    service
        The service asked, ``Nominatim`` or ``Overpass``.
    """
    import osmnx as ox
    import requests

    try:
        yield
    except requests.exceptions.RequestException as exc:
        msg = (
            f"OpenStreetMap's online services could not be reached while {what} "
            f"({type(exc).__name__}). Check the internet connection, try again later, "
            "or load a local file with --file."
        )
        raise OnlineSourceError(msg, code="osm_service_unreachable", service=service) from exc
    except ox._errors.ResponseStatusCodeError as exc:
        msg = (
            f"OpenStreetMap's {service} service refused the request while {what} "
            f"({str(exc)[:200]}). "
            "It may be busy: try again later, choose a smaller area, "
            "or load a local file with --file."
        )
        raise OnlineSourceError(msg, code="osm_service_refused", service=service) from exc


def _configure(cache_dir: Path) -> None:
    import osmnx as ox

    cache_dir.mkdir(parents=True, exist_ok=True)
    # osmnx keeps its settings in its module; every nudge process uses the same values.
    ox.settings.use_cache = True
    ox.settings.cache_folder = str(cache_dir)
    ox.settings.log_console = False


def polygon_from_place(place: str, *, cache_dir: Path) -> Polygon | MultiPolygon:
    """Geocode `place` with Nominatim and return its boundary polygon."""
    import osmnx as ox

    _configure(cache_dir)
    try:
        with _network_errors(f"geocoding {place!r}", service="Nominatim"):
            gdf = ox.geocode_to_gdf(place)
    except (ox._errors.InsufficientResponseError, TypeError, ValueError) as exc:
        msg = (
            f"The place {place!r} could not be found by Nominatim ({exc}). Check the spelling, "
            "add the country (e.g. 'Astana, Kazakhstan'), or pass --bbox or --polygon instead."
        )
        raise InvalidQueryError(msg, code="place_not_found", place=place) from exc
    geom = gdf.geometry.iloc[0]
    if not isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        msg = (
            f"The place {place!r} geocodes to a {geom.geom_type}, not an area. Name a city or "
            "district, or pass --bbox or --polygon instead."
        )
        raise InvalidQueryError(
            msg, code="place_not_an_area", place=place, geom_type=geom.geom_type
        )
    return geom


def layers_from_polygon(
    polygon: Polygon | MultiPolygon, *, cache_dir: Path, source: str
) -> OsmLayers:
    """Download public spaces and the street network inside `polygon` (EPSG:4326)."""
    import osmnx as ox

    _configure(cache_dir)
    try:
        with _network_errors(f"downloading public spaces of {source}", service="Overpass"):
            raw = ox.features_from_polygon(polygon, tags=load_taxonomy().osm_filter())
    except ox._errors.InsufficientResponseError as exc:
        msg = f"OpenStreetMap has no public spaces in {source}; choose a larger or other area."
        raise EmptyDataError(msg, code="area_no_public_spaces", source=source) from exc
    raw = raw.reset_index()
    features = features_from_tags(raw, ids=osm_ids(raw["element"], raw["id"]), source=source)
    try:
        with _network_errors(f"downloading the streets of {source}", service="Overpass"):
            graph = ox.graph_from_polygon(polygon, network_type="all", retain_all=True)
        streets = streets_from_edges(ox.graph_to_gdfs(graph, nodes=False))
    except (ox._errors.InsufficientResponseError, ValueError):
        log.warning("%s: no street network found", source)
        streets = empty_streets()
    routes = _optional(
        lambda: route_stops_from_elements(route_elements_from_polygon(polygon)),
        "public-transport routes",
        source,
    )
    buildings = _optional(lambda: _buildings_from_polygon(polygon), "buildings", source)
    return OsmLayers(features, streets, source, routes=routes, buildings=buildings)


def _optional(
    fetch: Callable[[], gpd.GeoDataFrame], what: str, source: str
) -> gpd.GeoDataFrame | None:
    """Return an optional layer, or None (the signal is then missing) when it cannot be fetched.

    Public spaces and streets are what a dataset needs; routes and buildings refine the score,
    so a refusal of the service for them keeps the load and says so in the log and the data.
    """
    try:
        with _network_errors(f"downloading the {what} of {source}", service="Overpass"):
            return fetch()
    except OnlineSourceError as exc:
        log.warning("%s: %s are missing from the dataset (%s)", source, what, exc)
        return None


def route_elements_from_polygon(polygon: Polygon | MultiPolygon) -> list[dict[str, Any]]:
    """Return the raw Overpass elements of the route relations inside `polygon`.

    The relations come with their members' nodes and ways (``out body; >; out skel qt;``), so
    `nudge.osm.routes.route_stops_from_elements` can locate each stop.
    """
    import osmnx as ox

    kinds = "|".join(sorted(ROUTE_TYPES))
    elements: list[dict[str, Any]] = []
    for coords in ox._overpass._make_overpass_polygon_coord_strs(polygon):
        query = (
            f"{ox._overpass._make_overpass_settings()};"
            f'(relation["type"="route"]["route"~"^({kinds})$"](poly:"{coords}"););'
            "out body;>;out skel qt;"
        )
        answer = ox._overpass._overpass_request(OrderedDict(data=query))
        elements.extend(answer.get("elements", []))
    return elements


def _buildings_from_polygon(polygon: Polygon | MultiPolygon) -> gpd.GeoDataFrame:
    import osmnx as ox

    try:
        raw = ox.features_from_polygon(polygon, tags={"building": True})
    except ox._errors.InsufficientResponseError:
        return empty_buildings()
    return buildings_from_frame(raw.reset_index())


def layers_from_place(place: str, *, cache_dir: Path) -> OsmLayers:
    """Geocode `place` and download its public spaces and streets."""
    polygon = polygon_from_place(place, cache_dir=cache_dir)
    return layers_from_polygon(polygon, cache_dir=cache_dir, source=f"place:{place}")


def layers_from_bbox(bbox: tuple[float, float, float, float], *, cache_dir: Path) -> OsmLayers:
    """Download public spaces and streets inside ``(west, south, east, north)``."""
    polygon = shapely.box(*bbox)
    label = ",".join(f"{v:g}" for v in bbox)
    return layers_from_polygon(polygon, cache_dir=cache_dir, source=f"bbox:{label}")


def polygon_from_file(path: Path) -> Polygon | MultiPolygon:
    """Read the union of the polygons in a vector file (GeoJSON, GeoPackage, ...)."""
    from nudge._errors import InputFileError

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:
        msg = f"The polygon file {path} could not be read ({exc}); use a GeoJSON or GeoPackage."
        raise InputFileError(
            msg, code="polygon_file_unreadable", path=Path(path).name, reason=str(exc)
        ) from exc
    gdf = gdf.to_crs(4326) if gdf.crs is not None else gdf.set_crs(4326)
    polys = gdf.loc[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        msg = f"The file {path} holds no polygon; draw the area as a polygon and save it again."
        raise InputFileError(msg, code="polygon_file_no_polygon", path=Path(path).name)
    union = shapely.union_all(polys.geometry.array)
    if not isinstance(union, shapely.Polygon | shapely.MultiPolygon):
        msg = f"The polygons in {path} do not make one area; check the file."
        raise InputFileError(msg, code="polygon_file_not_one_area", path=Path(path).name)
    return union
