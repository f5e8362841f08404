"""The category taxonomy of public spaces, read from ``nudge/osm/data/taxonomy.toml``.

One table maps both raw OpenStreetMap tags and Geofabrik ``fclass`` values to
nudge's categories. `categorise_tags` and `categorise_fclass` apply it to whole
frames at once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Category:
    """One category of public spaces and the tags that make it."""

    key: str
    labels: dict[str, str]
    osm: dict[str, tuple[str, ...]]
    fclass: tuple[str, ...]
    exclusion: bool = False

    def label(self, lang: str = "kk") -> str:
        """Return the category's name in `lang` (``kk``, ``ru`` or ``en``)."""
        return self.labels.get(lang) or self.labels["en"]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The ordered categories; the first category whose tags match wins."""

    categories: tuple[Category, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Return the category keys in priority order."""
        return tuple(c.key for c in self.categories)

    @property
    def exclusion_keys(self) -> tuple[str, ...]:
        """Return the keys of the categories near which nothing may be placed."""
        return tuple(c.key for c in self.categories if c.exclusion)

    @property
    def tag_keys(self) -> tuple[str, ...]:
        """Return every OSM tag key the taxonomy reads, sorted."""
        return tuple(sorted({k for c in self.categories for k in c.osm}))

    def osm_filter(self) -> dict[str, bool | str | list[str]]:
        """Return the tags as a filter for osmnx (``tags=``) and pyrosm (``custom_filter=``)."""
        out: dict[str, set[str] | bool] = {}
        for cat in self.categories:
            for key, values in cat.osm.items():
                if WILDCARD in values or out.get(key) is True:
                    out[key] = True
                else:
                    current = out.setdefault(key, set())
                    assert isinstance(current, set)
                    current.update(values)
        return {k: (True if v is True else sorted(v)) for k, v in out.items()}  # type: ignore[arg-type]

    def get(self, key: str) -> Category:
        """Return the category called `key`."""
        for cat in self.categories:
            if cat.key == key:
                return cat
        msg = f"Unknown category {key!r}; known categories are {', '.join(self.keys)}."
        raise KeyError(msg)


@cache
def load_taxonomy() -> Taxonomy:
    """Read the taxonomy shipped with the package."""
    text = resources.files("nudge.osm").joinpath("data/taxonomy.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    cats = tuple(
        Category(
            key=c["key"],
            labels={lang: c[lang] for lang in ("kk", "ru", "en")},
            osm={k: tuple(v) for k, v in c.get("osm", {}).items()},
            fclass=tuple(c.get("fclass", ())),
            exclusion=bool(c.get("exclusion", False)),
        )
        for c in raw["category"]
    )
    return Taxonomy(categories=cats)


def _clean(values: pd.Series) -> pd.Series:
    """Return tag values as stripped strings, with missing and empty values as NA."""
    s = values.astype("string").str.strip()
    return s.mask(s == "", pd.NA)


def categorise_tags(tags: pd.DataFrame, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Assign a category and subcategory to every row of an OSM tag table.

    Parameters
    ----------
    tags
        One row per OSM element, one column per tag key (missing keys are fine).
    taxonomy
        The taxonomy to apply; by default the shipped one.

    Returns
    -------
    pandas.DataFrame
        Columns ``category`` and ``subcategory`` on the input's index; both NA
        where no category matches.
    """
    taxonomy = taxonomy or load_taxonomy()
    category = pd.Series(pd.NA, index=tags.index, dtype="string")
    subcategory = pd.Series(pd.NA, index=tags.index, dtype="string")
    cleaned = {k: _clean(tags[k]) for k in taxonomy.tag_keys if k in tags.columns}
    for cat in taxonomy.categories:
        for key, values in cat.osm.items():
            col = cleaned.get(key)
            if col is None:
                continue
            if WILDCARD in values:
                matched = col.notna() & (col.str.lower() != "no")
            else:
                matched = col.isin(values).fillna(False)
            hit = matched.to_numpy(dtype=bool) & category.isna().to_numpy()
            if hit.any():
                category[hit] = cat.key
                subcategory[hit] = col[hit]
    return pd.DataFrame({"category": category, "subcategory": subcategory})


def categorise_fclass(fclass: pd.Series, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Assign a category to Geofabrik ``fclass`` values.

    Returns
    -------
    pandas.DataFrame
        Columns ``category`` and ``subcategory`` (the fclass) on the input's
        index; both NA where the fclass belongs to no category.
    """
    taxonomy = taxonomy or load_taxonomy()
    lookup = {v: c.key for c in reversed(taxonomy.categories) for v in c.fclass}
    values = _clean(fclass)
    category = values.map(lookup).astype("string")
    subcategory = values.where(category.notna(), pd.NA)
    return pd.DataFrame({"category": category, "subcategory": subcategory.astype("string")})


def category_counts(categories: pd.Series) -> dict[str, int]:
    """Return how many features fall in each category, in taxonomy order."""
    order = {k: i for i, k in enumerate(load_taxonomy().keys)}
    counts = categories.value_counts()
    keys = sorted(counts.index, key=lambda k: order.get(str(k), np.iinfo(np.int32).max))
    return {str(k): int(counts[k]) for k in keys}
