"""City districts: one layer for the plan and the registry, its names and its point lookup.

A `DistrictLayer` is built from a GeoDataFrame (`DistrictLayer.from_frame`, as the
planner reads any vector file) or from GeoJSON files (`district_layer_from_file`,
`district_layer_from_dir`, as the registry reads ``<data_dir>/districts/``). Both
name a district by the same rule (`name_fields`), so one file names a district the
same way in a plan and in the registry, and both find the district of a point the
same way (`DistrictLayer.districts_of_points`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from nudge._errors import EmptyDataError, InputFileError, Notice
from nudge.io.limits import check_degrees

NAME_FIELDS: tuple[str, ...] = ("district", "district_name", "name_en", "name", "NAME")
"""Properties that may hold a district's name, most preferred first (no language asked)."""
LANG_FIELDS: dict[str, tuple[str, ...]] = {
    "kk": ("name:kk", "name_kk"),
    "ru": ("name:ru", "name_ru"),
    "en": ("name:en", "name_en"),
}
"""OpenStreetMap name tags of each interface language, as OSM and as shapefile columns."""


def name_fields(*, lang: str | None = None) -> tuple[str, ...]:
    """Return the properties that may hold a district's name, most preferred first.

    Parameters
    ----------
    lang
        Interface language (``"kk"``, ``"ru"`` or ``"en"``). The layer's own
        ``district`` or ``district_name`` come first; then the OSM name in that
        language (``name:kk``, ``name_kk``...), then ``name`` (OSM's local name,
        in Cyrillic in Kazakhstan), then ``name_en`` and ``NAME``. Without a
        language (or an unknown one): ``district``, ``district_name``,
        ``name_en``, ``name``, ``NAME``.

    Returns
    -------
    tuple of str
    """
    own = LANG_FIELDS.get(lang or "")
    if own is None:
        return NAME_FIELDS
    return tuple(dict.fromkeys(("district", "district_name", *own, "name", "name_en", "NAME")))


def _first_named(props: pd.DataFrame, fields: tuple[str, ...]) -> pd.Series:
    """Return, for every row, the first non-empty value of `fields` as text (None if none)."""
    out = pd.Series(None, index=props.index, dtype=object)
    for field in fields:
        if field in props.columns:
            values = props[field]
            text = values.astype(str).str.strip()
            named = values.notna() & (text != "") & out.isna()
            out[named] = text[named]
    return out


def district_names(
    districts: pd.DataFrame,
    *,
    lang: str | None = None,
    population: Mapping[str, float] | None = None,
    column: str | None = None,
) -> pd.Series:
    """Return the name of each district of a table of districts.

    Parameters
    ----------
    districts
        District polygons (or any table of district properties).
    lang
        Interface language whose OSM names are preferred; see `name_fields`.
    population
        Population per district name; when given, the name columns that match
        most of its names are preferred.
    column
        Name column to use instead of `name_fields`.

    Returns
    -------
    pandas.Series
        District names as strings, on the index of `districts`; each row takes
        the first of the name columns it has a value in.

    Raises
    ------
    EmptyDataError
        When `column` (or every name column) is missing, or two districts share a name.
    """
    columns = list(map(str, districts.columns))
    if column is not None and column not in districts.columns:
        raise EmptyDataError(
            code="districts_column_missing", column=column, columns=", ".join(columns)
        )
    fields = name_fields(lang=lang) if column is None else (column,)
    present = [c for c in fields if c in districts.columns]
    if not present:
        raise EmptyDataError(
            code="districts_name_column_missing",
            allowed=", ".join(fields),
            columns=", ".join(columns),
        )
    if population:
        keys = set(map(str, population))
        present.sort(key=lambda c: -districts[c].astype(str).isin(keys).sum())
    names = _first_named(districts, tuple(present))
    names = names.fillna(districts[present[0]].astype(str)).astype(str)
    if names.duplicated().any():
        dupes = sorted(set(names[names.duplicated()]))
        raise EmptyDataError(code="districts_names_repeated", names=", ".join(dupes))
    return names


@dataclass(frozen=True)
class DistrictLayer:
    """City districts to assign points to (e.g. Almaty's 8 districts from OSM).

    Attributes
    ----------
    names
        District names, one per geometry.
    geometries
        District polygons in EPSG:4326.
    """

    names: tuple[str, ...]
    geometries: tuple[shapely.Geometry, ...]

    @classmethod
    def from_frame(
        cls,
        districts: gpd.GeoDataFrame,
        *,
        lang: str | None = None,
        population: Mapping[str, float] | None = None,
        column: str | None = None,
    ) -> DistrictLayer:
        """Return the layer of a GeoDataFrame of district polygons (names by `district_names`)."""
        names = district_names(districts, lang=lang, population=population, column=column)
        geometry = districts.geometry
        if geometry.crs is not None:
            geometry = geometry.to_crs(4326)
        return cls(tuple(names), tuple(geometry.to_numpy()))

    @cached_property
    def _tree(self) -> shapely.STRtree:
        return shapely.STRtree(np.asarray(self.geometries, dtype=object))

    def districts_of_points(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.object_]:
        """Return the district of every point, or None outside every district.

        A point on a border, or in districts that overlap, gets the first
        district of the layer that holds it.
        """
        lat_a = np.asarray(lat, dtype=float)
        lon_a = np.asarray(lon, dtype=float)
        out = np.full(lat_a.shape, None, dtype=object)
        idx = np.flatnonzero(np.isfinite(lat_a) & np.isfinite(lon_a))
        if idx.size and self.geometries:
            out[idx] = self._lookup(np.asarray(shapely.points(lon_a[idx], lat_a[idx])))
        return out

    def districts_of(self, geometries: gpd.GeoSeries) -> NDArray[np.object_]:
        """Return the district of every geometry (any CRS; none means EPSG:4326), or None."""
        if geometries.crs is not None:
            geometries = geometries.to_crs(4326)
        out = np.full(len(geometries), None, dtype=object)
        if len(geometries) and self.geometries:
            out[:] = self._lookup(geometries.to_numpy())
        return out

    def _lookup(self, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        out = np.full(len(geoms), None, dtype=object)
        geom_i, poly_i = self._tree.query(geoms, predicate="intersects")
        if geom_i.size:
            order = np.lexsort((poly_i, geom_i))  # per geometry, the first district wins
            geom_i, poly_i = geom_i[order], poly_i[order]
            first = np.unique(geom_i, return_index=True)[1]
            out[geom_i[first]] = np.asarray(self.names, dtype=object)[poly_i[first]]
        return out


def district_layer_from_file(
    path: Path | str, *, name_field: str | None = None, lang: str | None = None
) -> DistrictLayer:
    """Read a district layer from a GeoJSON file of polygons.

    Parameters
    ----------
    path
        GeoJSON with one polygon per district: EPSG:4326, or the coordinate
        reference system its ``crs`` member names.
    name_field
        Property holding the district name; by default the first of
        `name_fields` that a district has.
    lang
        Interface language whose OSM names are preferred (see `name_fields`).

    Returns
    -------
    DistrictLayer

    Raises
    ------
    InputFileError
        When the file is not a GeoJSON FeatureCollection, holds no polygons or
        a feature of another geometry, a district has no name, or its
        coordinates are not degrees (metres under a missing ``crs``, or one
        naming a geographic system).
    """
    path = Path(path)
    features, crs = _district_features(path)
    numbered = [(i, f) for i, f in enumerate(features, start=1) if f.get("geometry")]
    if not numbered:
        raise InputFileError(code="district_layer_empty", path=path.name)
    fields = (name_field,) if name_field else name_fields(lang=lang)
    props = pd.DataFrame([f.get("properties") or {} for _, f in numbered])
    names = _first_named(props, fields)
    if names.isna().any():
        i = numbered[int(np.flatnonzero(names.isna().to_numpy())[0])][0]
        raise InputFileError(
            code="district_unnamed", number=i, path=path.name, fields=", ".join(fields)
        )
    geoms = _district_polygons(path, numbered, crs)
    return DistrictLayer(tuple(names), tuple(shapely.make_valid(geoms)))


_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def _district_polygons(
    path: Path, numbered: list[tuple[int, dict]], crs: str | None
) -> NDArray[np.object_]:
    """Return the polygons of the numbered features in EPSG:4326, refusing any other geometry.

    A layer in metres without its coordinate reference system would cover no
    point of Kazakhstan and assign no district without a word: its coordinates
    are refused (`nudge.io.limits.check_degrees`).
    """
    geoms = np.empty(len(numbered), dtype=object)
    for k, (i, feature) in enumerate(numbered):
        try:
            geoms[k] = shapely.from_geojson(json.dumps(feature["geometry"]))
        except (shapely.errors.GEOSException, ValueError, TypeError):
            why = Notice(code="district_reason_bad_feature", number=i)
            raise InputFileError(
                code="district_layer_unreadable", path=path.name, reason=why
            ) from None
    polygonal = np.isin(shapely.get_type_id(geoms), [int(t) for t in _POLYGONAL])
    if not polygonal.any():
        raise InputFileError(code="district_layer_empty", path=path.name)
    if not polygonal.all():
        k = int(np.flatnonzero(~polygonal)[0])
        raise InputFileError(
            code="district_not_polygon",
            number=numbered[k][0],
            path=path.name,
            kind=geoms[k].geom_type,
        )
    if crs is not None:
        try:
            geoms = gpd.GeoSeries(geoms, crs=crs).to_crs(4326).to_numpy()
        except (pyproj.exceptions.CRSError, ValueError):
            why = Notice(code="district_reason_bad_crs", crs=crs)
            raise InputFileError(
                code="district_layer_unreadable", path=path.name, reason=why
            ) from None
    check_degrees(geoms, name=path.name)
    return geoms


def _district_features(path: Path) -> tuple[list[dict], str | None]:
    """Return the features of a district layer and its declared CRS (None: EPSG:4326).

    A file that has no features to read is refused, with the reason in words.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        why = Notice(code="district_reason_unopenable")
    except ValueError:  # also text that is not UTF-8
        why = Notice(code="district_reason_not_json")
    else:
        features = data.get("features") if isinstance(data, dict) else None
        bad = [i for i, f in enumerate(features or [], start=1) if not isinstance(f, dict)]
        if not isinstance(features, list):
            why = Notice(code="district_reason_no_features")
        elif bad:
            why = Notice(code="district_reason_bad_feature", number=bad[0])
        else:
            return features, _declared_crs(data)
    raise InputFileError(code="district_layer_unreadable", path=path.name, reason=why)


def _declared_crs(data: dict) -> str | None:
    """Return the name of a GeoJSON's ``crs`` member (the 2008 form GDAL writes), if any."""
    crs = data.get("crs")
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    return str(name) if name else None  # a member of another shape is read as no CRS


def district_layer_from_dir(folder: Path | str, *, lang: str | None = None) -> DistrictLayer | None:
    """Read every GeoJSON in `folder` as one district layer (None when there is none).

    The app and CLI look in ``<data_dir>/districts/`` so that districts of
    several cities (e.g. Almaty's and Astana's) are assigned together.
    """
    folder = Path(folder)
    paths = sorted(folder.glob("*.geojson")) if folder.is_dir() else []
    if not paths:
        return None
    layers = [district_layer_from_file(p, lang=lang) for p in paths]
    names = tuple(n for layer in layers for n in layer.names)
    geoms = tuple(g for layer in layers for g in layer.geometries)
    return DistrictLayer(names, geoms)


def district_labels(folder: Path | str, *, lang: str) -> dict[str, str]:
    """Return, for every district of `folder`, its name in `lang` by its language-free name.

    The registry stores the language-free name (`name_fields` without a
    language), so that a record names its district the same whoever logged
    it; this mapping shows that name in the reader's language (e.g.
    ``{"Medeu": "Медеу ауданы"}`` for ``lang="kk"``).
    """
    stored = district_layer_from_dir(folder)
    shown = district_layer_from_dir(folder, lang=lang)
    if stored is None or shown is None:
        return {}
    return dict(zip(stored.names, shown.names, strict=True))
