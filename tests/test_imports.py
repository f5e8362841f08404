"""What importing nudge costs: the sign-in path loads no pandas, scipy, geopandas or openpyxl.

`nudge.registry` and `nudge.geo.regions` load their heavy names on first use (PEP 562); every
public name must still resolve, and a registry already at the newest revision is checked
without loading Alembic. Import checks run in a fresh interpreter (``sys.modules`` of the
test process has everything loaded already).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

import nudge.registry
from nudge.db.engine import MIGRATIONS_DIR, _shipped_head
from nudge.registry import engine_from_url, schema_revision, upgrade_database

pytest_plugins = ["registry_support"]

HEAVY = ("pandas", "scipy", "geopandas", "openpyxl", "pyogrio", "pyproj")
SIGN_IN = (
    "UserInfo, add_user, authenticate, engine_from_url, list_users, region_code, "
    "session_token, update_user, upgrade_database, user_from_token"
)


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Run `code` in a fresh interpreter; return which of `modules` it loaded."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("name", nudge.registry.__all__)
def test_every_public_registry_name_resolves(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from nudge.registry import {name}", namespace)
    value = namespace[name]
    assert value is getattr(nudge.registry, name)
    home = importlib.import_module(getattr(value, "__module__", "") or "nudge.registry")
    if home.__name__ != "builtins" and hasattr(home, name):  # classes and functions
        assert getattr(home, name) is value
    assert name in dir(nudge.registry)


def test_registry_names_are_listed_once_and_unknown_names_fail() -> None:
    assert len(set(nudge.registry.__all__)) == len(nudge.registry.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = nudge.registry.not_a_name  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        exec("from nudge.registry import not_a_name", {})


def test_star_import_of_the_registry_gives_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from nudge.registry import *", namespace)
    assert set(nudge.registry.__all__) <= set(namespace)


def test_importing_the_registry_loads_no_heavy_library() -> None:
    assert _loaded_after("import nudge.registry", (*HEAVY, "numpy", "sqlalchemy")) == []


def test_the_sign_in_path_loads_no_heavy_library() -> None:
    code = f"from nudge.registry import {SIGN_IN}\nimport nudge.ui.signin"
    assert _loaded_after(code, (*HEAVY, "numpy", "shapely", "alembic")) == []


def test_region_codes_load_no_numpy() -> None:
    code = "from nudge.geo.regions import region_code\nassert region_code('Астана') == 'AST'"
    assert _loaded_after(code, (*HEAVY, "numpy", "shapely")) == []


def test_heavy_names_still_load_on_first_use() -> None:
    code = "from nudge.registry import district_layer_from_dir, indicator_table"
    assert set(_loaded_after(code, ("geopandas", "pandas"))) == {"geopandas", "pandas"}


def test_region_lookups_load_no_heavy_library() -> None:
    code = (
        "from nudge.geo.regions import region_code, region_of_point\n"
        "assert region_code('Almaty') == 'ALA'\n"
        "assert region_of_point(51.1282, 71.4307) == 'AST'"
    )
    assert _loaded_after(code, HEAVY) == []


def test_shipped_head_agrees_with_alembic() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert _shipped_head() == ScriptDirectory.from_config(config).get_current_head()


def test_a_registry_at_the_newest_revision_is_checked_without_alembic(registry_url: str) -> None:
    eng = engine_from_url(registry_url)
    assert schema_revision(eng) is None
    head = upgrade_database(eng)
    assert head == _shipped_head() == schema_revision(eng)
    eng.dispose()
    code = (
        "from nudge.registry import engine_from_url, upgrade_database\n"
        f"assert upgrade_database(engine_from_url({registry_url!r})) == {head!r}"
    )
    assert _loaded_after(code, ("alembic",)) == []


def test_an_older_registry_is_still_upgraded(registry_url: str, tmp_path: Path) -> None:
    eng = engine_from_url(registry_url)
    assert upgrade_database(eng, revision="0001", content_dir=tmp_path) == "0001"
    assert upgrade_database(eng, content_dir=tmp_path) == _shipped_head()
    with eng.connect() as conn:
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert [r[0] for r in rows] == [_shipped_head()]
    eng.dispose()
