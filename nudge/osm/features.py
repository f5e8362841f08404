"""Public spaces: normalise tagged OSM elements into nudge's feature schema.

Pure functions over GeoDataFrames; reading files and fetching from the network
live in `nudge.osm.files` and `nudge.osm._online`.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nudge.osm.taxonomy import Taxonomy, categorise_fclass, categorise_tags, load_taxonomy

FEATURE_COLUMNS = [
    "osm_id",
    "category",
    "subcategory",
    "name",
    "name_kk",
    "name_ru",
    "name_en",
    "source",
    "geometry",
    "point",
]
_NAME_KEYS = {"name": "name", "name_kk": "name:kk", "name_ru": "name:ru", "name_en": "name:en"}
_TYPE_BY_GEOM = {"Point": "node", "MultiPoint": "node"}


def empty_features() -> gpd.GeoDataFrame:
    """Return an empty feature table with the right columns."""
    frame = gpd.GeoDataFrame(
        {c: pd.Series(dtype="string") for c in FEATURE_COLUMNS if c not in ("geometry", "point")},
        geometry=gpd.GeoSeries([], crs=4326),
    )
    frame["point"] = gpd.GeoSeries([], crs=4326)
    return frame[FEATURE_COLUMNS]


def osm_ids(types: pd.Series | np.ndarray, ids: pd.Series | np.ndarray) -> pd.Series:
    """Return ids like ``node/123`` from element types and numeric ids."""
    t = pd.Series(np.asarray(types), dtype="string").str.lower().str.strip()
    i = pd.Series(np.asarray(ids)).astype("string").str.replace(r"\.0$", "", regex=True)
    return (t + "/" + i).astype("string")


def osm_ids_from_geometry(ids: pd.Series, geometry: gpd.GeoSeries) -> pd.Series:
    """Return ``type/id`` strings, guessing the type from the geometry (points are nodes).

    Used for layers that carry bare OSM ids, such as the Geofabrik shapefiles,
    where polygons and lines are ways (or, for some polygons, relations).
    """
    kinds = geometry.geom_type.map(_TYPE_BY_GEOM).fillna("way")
    already = ids.astype("string").str.contains("/", regex=False).fillna(False)
    out = osm_ids(kinds.to_numpy(), ids.to_numpy())
    return out.where(~already.to_numpy(), ids.astype("string").to_numpy())


def names_from_tags(tags: pd.DataFrame) -> pd.DataFrame:
    """Return ``name``, ``name_kk``, ``name_ru``, ``name_en`` from tag columns.

    Parameters
    ----------
    tags
        Tag columns (``name``, ``name:kk``, ...). A ``tags`` column holding a
        dict or a JSON object of further tags (as pyrosm gives) is read too.
    """
    extra = _extra_tags(tags)
    out = {}
    for col, key in _NAME_KEYS.items():
        if key in tags.columns:
            s = tags[key].astype("string")
        elif extra is not None:
            s = extra.map(lambda d, k=key: d.get(k) if d else None).astype("string")
        else:
            s = pd.Series(pd.NA, index=tags.index, dtype="string")
        s = s.str.strip()
        out[col] = s.mask(s == "", pd.NA)
    return pd.DataFrame(out, index=tags.index)


def _extra_tags(tags: pd.DataFrame) -> pd.Series | None:
    if "tags" not in tags.columns:
        return None

    def parse(value: object) -> dict[str, str]:
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value.startswith("{"):
            try:
                parsed = json.loads(value)
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return {}

    return tags["tags"].map(parse)


def _assemble(
    frame: gpd.GeoDataFrame, cats: pd.DataFrame, names: pd.DataFrame, ids: pd.Series, source: str
) -> gpd.GeoDataFrame:
    keep = cats["category"].notna().to_numpy(dtype=bool)
    geometry = (
        frame.geometry.to_crs(4326) if frame.crs is not None else frame.geometry.set_crs(4326)
    )
    valid = keep & ~(geometry.isna().to_numpy() | geometry.is_empty.to_numpy())
    out = gpd.GeoDataFrame(
        {
            "osm_id": ids.to_numpy()[valid],
            "category": cats["category"].to_numpy()[valid],
            "subcategory": cats["subcategory"].to_numpy()[valid],
            **{c: names[c].to_numpy()[valid] for c in _NAME_KEYS},
            "source": source,
        },
        geometry=geometry.to_numpy()[valid],
        crs=4326,
    )
    for col in FEATURE_COLUMNS:
        if col not in ("geometry", "point"):
            out[col] = out[col].astype("string")
    out["point"] = gpd.GeoSeries(shapely.point_on_surface(out.geometry.array), crs=4326)
    return out[FEATURE_COLUMNS]


def features_from_tags(
    frame: gpd.GeoDataFrame, *, ids: pd.Series, source: str, taxonomy: Taxonomy | None = None
) -> gpd.GeoDataFrame:
    """Turn OSM elements with tag columns into public-space features.

    Parameters
    ----------
    frame
        One row per element: tag columns (``amenity``, ``shop``, ``name:kk``, ...)
        and a geometry.
    ids
        The elements' ids as ``type/id`` strings, aligned with `frame`.
    source
        Where the elements came from (file name or query), stored per feature.
    taxonomy
        Category table; by default the shipped one.

    Returns
    -------
    geopandas.GeoDataFrame
        Only the elements that belong to a category, in the feature schema.
    """
    cats = categorise_tags(frame, taxonomy or load_taxonomy())
    return _assemble(frame, cats, names_from_tags(frame), ids, source)


def features_from_geofabrik(frame: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Turn a Geofabrik free-shapefile layer (``osm_id``, ``fclass``, ``name``) into features."""
    cats = categorise_fclass(frame["fclass"])
    names = names_from_tags(frame[["name"]] if "name" in frame.columns else frame.iloc[:, :0])
    ids = osm_ids_from_geometry(frame["osm_id"], frame.geometry)
    return _assemble(frame, cats, names, ids, source)


def combine_features(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Concatenate feature tables, keeping the first copy of each OSM element."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_features()
    out = pd.concat(parts, ignore_index=True)
    out = out.loc[~out["osm_id"].duplicated(keep="first")].reset_index(drop=True)
    frame = gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
    frame["point"] = gpd.GeoSeries(frame["point"], crs=4326)
    return frame
