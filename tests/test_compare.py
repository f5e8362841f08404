"""Comparing two plans."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from nudge.placement.compare import compare_plans
from nudge.placement.selection import MaximalCoverage

CRS = "EPSG:32642"


def test_compare_two_plans_by_site_and_district() -> None:
    xy = np.array([[0, 0], [0, 600], [0, 1200], [3000, 0], [3000, 600]], dtype=float)
    ids = ["w0", "w1", "w2", "e0", "e1"]
    pts = gpd.points_from_xy(xy[:, 0] + 500_000, xy[:, 1] + 5_640_000)
    sites = gpd.GeoDataFrame(
        {"kind": "banner", "score": 0.0}, geometry=pts, crs=CRS, index=pd.Index(ids)
    )
    demand = gpd.GeoDataFrame({"weight": [10.0, 9, 8, 2, 1]}, geometry=pts, crs=CRS)
    districts = gpd.GeoDataFrame(
        {"district": ["West", "East"]},
        geometry=[
            box(499_000, 5_639_000, 501_000, 5_645_000),
            box(501_000, 5_639_000, 505_000, 5_645_000),
        ],
        crs=CRS,
    )
    model = MaximalCoverage.from_geodataframe(
        sites, demand, kind="banner", count=2, radius=100, districts=districts
    )
    best = model.solve()
    existing = model.evaluate(["w2", "e0"])
    diff = compare_plans(existing, best)
    assert diff.common == ()
    assert set(diff.only_a) == {"w2", "e0"}
    assert set(diff.only_b) == {"w0", "w1"}
    assert diff.covered_a == pytest.approx(10)
    assert diff.covered_b == pytest.approx(19)
    assert diff.difference == pytest.approx(9)
    assert diff.by_district["West"]["difference"] == pytest.approx(11)
    assert diff.by_district["East"]["difference"] == pytest.approx(-2)
    assert diff.by_district["East"]["sites_a"] == 1
    out = diff.as_dict()
    assert out["share_b"] == pytest.approx(19 / 30, abs=1e-6)
    same = compare_plans(best, best)
    assert set(same.common) == {"w0", "w1"}
    assert same.difference == 0
