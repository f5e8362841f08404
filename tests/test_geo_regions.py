"""nudge.geo.regions: its lazily loaded re-exports, city units and population tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import nudge.geo.regions as regions
from nudge.geo import distance, districts

REEXPORTS = {
    "DistrictLayer": districts,
    "district_layer_from_dir": districts,
    "district_layer_from_file": districts,
    "EARTH_RADIUS_M": distance,
    "chord_for_metres": distance,
    "distance_m": distance,
    "unit_vectors": distance,
}


@pytest.mark.parametrize("name", sorted(REEXPORTS))
def test_reexports_are_the_originals(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from nudge.geo.regions import {name}", namespace)
    assert namespace[name] is getattr(REEXPORTS[name], name) is getattr(regions, name)
    assert name in regions.__all__


def test_every_listed_name_resolves_and_unknown_names_fail() -> None:
    for name in regions.__all__:
        assert getattr(regions, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nowhere'"):
        _ = regions.nowhere  # type: ignore[attr-defined]


def test_city_units_take_their_city_whatever_the_point() -> None:
    lat, lon = [0.0, 51.1282, 42.3, 45.0], [0.0, 71.4307, 69.6, 60.0]
    out = regions.cities_of_points(lat, lon, ["ALA", "AST", "SHY", "AKT"])
    assert out.tolist() == ["Almaty", "Astana", "Shymkent", None]
    assert regions._city_units() == {"ALA": "Almaty", "AST": "Astana", "SHY": "Shymkent"}


def test_population_table_default_and_given_reader(tmp_path: Path) -> None:
    path = tmp_path / "pop.csv"
    path.write_text('name,population\nAlmaty,"2 258 253"\nTaraz,358000\n', encoding="utf-8")
    expected = {"Almaty": 2_258_253, "Taraz": 358_000}
    assert regions.population_table_from_file(path) == expected
    seen: list[Path] = []

    def read(p: Path) -> pd.DataFrame:
        seen.append(p)
        return pd.DataFrame({"city": ["Oral"], "pop": ["1,000"]})

    assert regions.population_table_from_file(path, read=read) == {"Oral": 1000}
    assert seen == [path]
