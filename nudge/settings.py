"""Settings for nudge, read once from the environment.

One frozen object is built at start-up and passed explicitly to the functions
that need it; nothing mutates it afterwards, because Streamlit sessions share a
process.

Environment variables
---------------------
NUDGE_DATA_DIR
    Folder holding city datasets, the osmnx cache, the SQLite registry and
    uploaded photos. Default ``data/geo``.
NUDGE_DATABASE_URL
    SQLAlchemy URL of the registry. Default a SQLite file ``nudge.sqlite`` in
    the data folder; for PostgreSQL use for example
    ``postgresql+psycopg://postgres@127.0.0.1:5432/test``.
NUDGE_TILE_URL, NUDGE_TILE_ATTRIBUTION
    Map tiles (a ``{z}/{x}/{y}`` URL template) and their attribution; default
    OpenStreetMap's. A ministry may run its own tile server.
NUDGE_SESSION_SECRET, NUDGE_SESSION_HOURS
    Key that signs the app's sign-in tokens (default: a random key kept in
    ``<data_dir>/.session_secret``) and how long a sign-in survives a browser
    refresh (default 12 hours).
NUDGE_MAP_ASSETS_URL
    Where the browser loads Leaflet and its plugins from; default the app's own
    ``static/leaflet/`` (no CDN, so maps work offline and on an intranet).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("data/geo")
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"
DEFAULT_MAP_ASSETS_URL = "/app/static/leaflet/"


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed, immutable settings of one nudge process."""

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_TILE_ATTRIBUTION
    map_assets_url: str = DEFAULT_MAP_ASSETS_URL
    session_secret: str = ""
    session_hours: float = 12.0

    @property
    def cache_dir(self) -> Path:
        """Return the folder of the osmnx HTTP cache."""
        return self.data_dir / "_cache" / "osmnx"

    @property
    def photo_dir(self) -> Path:
        """Return the folder where evidence photos are stored by hash."""
        return self.data_dir / "_photos"

    def dataset_dir(self, slug: str) -> Path:
        """Return the folder of the city dataset called `slug`."""
        return self.data_dir / slug


def _normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables.

    Parameters
    ----------
    environ
        Mapping to read instead of ``os.environ`` (tests pass their own).

    Returns
    -------
    Settings
    """
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("NUDGE_DATA_DIR") or DEFAULT_DATA_DIR)
    url = env.get("NUDGE_DATABASE_URL") or f"sqlite:///{(data_dir / 'nudge.sqlite').as_posix()}"
    return Settings(
        data_dir=data_dir,
        database_url=_normalise_database_url(url),
        tile_url=env.get("NUDGE_TILE_URL") or DEFAULT_TILE_URL,
        tile_attribution=env.get("NUDGE_TILE_ATTRIBUTION") or DEFAULT_TILE_ATTRIBUTION,
        map_assets_url=env.get("NUDGE_MAP_ASSETS_URL") or DEFAULT_MAP_ASSETS_URL,
        session_secret=env.get("NUDGE_SESSION_SECRET") or "",
        session_hours=float(env.get("NUDGE_SESSION_HOURS") or 12.0),
    )
