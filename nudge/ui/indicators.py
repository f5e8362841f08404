"""What the Indicators page draws: region values that tell zero from unknown, city symbols."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

PER_CAPITA = ("installations_per_100k", "publications_per_100k")


def region_values(
    rows: pd.DataFrame, measure: str, regions: Iterable[str], populations: Any
) -> dict[str, float | None]:
    """Return the value of `measure` for every region: 0 where nothing was counted, None
    (unknown) only where the figure cannot be known (a rate without the region's population).
    """
    known_population = set(getattr(populations, "regions", {}) or {})
    out: dict[str, float | None] = {}
    for code in regions:
        out[str(code)] = None if measure in PER_CAPITA and code not in known_population else 0.0
    if measure in rows.columns:
        for code, value in zip(rows["region"], rows[measure], strict=True):
            out[str(code)] = float(value) if pd.notna(value) else None
    return out


def city_symbols(report: Any, measure: str) -> pd.DataFrame:
    """Return ``name``, ``lat``, ``lon``, ``value`` of each city with records, for circles.

    A city stands where its counted installations are (their mean position); its value is
    the measure of the city table.
    """
    inst = report.installations
    table = report.tables.get("city")
    if table is None or inst.empty or measure not in table.rows.columns:
        return pd.DataFrame(columns=["name", "lat", "lon", "value"])
    where = inst.dropna(subset=["city"]).groupby("city")[["lat", "lon"]].mean()
    values = table.rows.set_index("city")[measure]
    out = where.join(values.rename("value"), how="inner").dropna()
    return out.reset_index().rename(columns={"city": "name"})[["name", "lat", "lon", "value"]]
