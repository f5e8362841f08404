"""What every page shares: session state, cached loaders, errors, maps, the page table.

Session-state keys are created in one place (`init_state`); heavy work is
cached here (`st.cache_resource` for the database engine and the scored candidates,
shared read-only; `st.cache_data` for datasets); errors raised on purpose by nudge
are shown as readable messages in the user's language (`guarded`), never as
tracebacks.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from nudge._errors import BatchValidationError, NudgeError, RowProblem
from nudge.i18n import Translator, error_key, error_text, problem_text, translator
from nudge.registry import UserInfo, engine_from_url, upgrade_database
from nudge.settings import Settings, settings_from_env
from nudge.ui.signin import TOKEN_PARAM, recall, remember

if TYPE_CHECKING:  # heavy modules are imported by the pages that use them
    import folium
    from sqlalchemy.engine import Engine

    from nudge.osm.datasets import CityDataset
    from nudge.placement import ScoreResult

log = logging.getLogger("nudge.app")

STATE_DEFAULTS: dict[str, Any] = {
    "lang": "kk",  # interface language (sidebar)
    "user": None,  # signed-in nudge.registry.UserInfo
    "dataset": None,  # slug of the active city dataset (sidebar widget)
    "dataset_next": None,  # slug a page just loaded; the sidebar switches to it
    "plan_selected": None,  # candidate id picked on the Plan map
    "plan_click": None,  # last map click handled on the Plan page
    "plan_locked": [],  # candidate ids the planner locked
    "plan_excluded": [],  # candidate ids the planner excluded
    "plans": {},  # label -> (dataset slug, PlanResult) made in this session
    "plan_shown": None,  # label of the plan shown on the Plan page
    "rotation": None,  # last RotationResult of the Content page
    "registry_pin": None,  # (lat, lon) picked on the Registry map
    "registry_click": None,  # last map click handled on the Registry page
    "flash": None,  # (kind, text) shown once after a rerun
}


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page of the app and the roles that see it."""

    key: str
    path: str
    icon: str
    roles: tuple[str, ...]


ALL_ROLES = ("admin", "planner", "designer", "coordinator", "viewer")
PAGES: tuple[PageSpec, ...] = (
    PageSpec("data", "app_pages/data.py", ":material/database:", ("admin", "planner", "designer")),
    PageSpec("plan", "app_pages/plan.py", ":material/pin_drop:", ("admin", "planner")),
    PageSpec("content", "app_pages/content.py", ":material/format_quote:", ("admin", "designer")),
    PageSpec(
        "registry",
        "app_pages/registry.py",
        ":material/fact_check:",
        ("admin", "planner", "coordinator", "designer"),
    ),
    PageSpec("indicators", "app_pages/indicators.py", ":material/monitoring:", ALL_ROLES),
    PageSpec("evaluation", "app_pages/evaluation.py", ":material/query_stats:", ALL_ROLES),
    PageSpec("admin", "app_pages/admin.py", ":material/admin_panel_settings:", ("admin",)),
)
HOME_PAGE = {
    "admin": "data",
    "planner": "data",
    "designer": "content",
    "coordinator": "registry",
    "viewer": "indicators",
}


def pages_for(role: str | None) -> list[PageSpec]:
    """Return the pages a role sees, in menu order (none when signed out)."""
    return [p for p in PAGES if role in p.roles]


def init_state() -> None:
    """Create every session-state key the app uses, once per session."""
    for key, value in STATE_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = copy.deepcopy(value)


def sign_out() -> None:
    """Forget the user and everything made in the session (the language stays)."""
    for key, value in STATE_DEFAULTS.items():
        if key not in ("lang", "dataset"):
            st.session_state[key] = copy.deepcopy(value)
    st.query_params.pop(TOKEN_PARAM, None)


def signed_in(user: UserInfo) -> None:
    """Keep `user` in the session and a sign-in token in the address (survives a refresh)."""
    st.session_state["user"] = user
    st.query_params[TOKEN_PARAM] = remember(engine(), user, settings())


def resume_sign_in() -> None:
    """Sign the user in again from the address's token after a browser refresh."""
    if current_user() is None and TOKEN_PARAM in st.query_params:
        user = recall(engine(), st.query_params.get(TOKEN_PARAM), settings())
        if user is None:
            st.query_params.pop(TOKEN_PARAM, None)  # expired or no longer valid
        else:
            st.session_state["user"] = user


def t() -> Translator:
    """Return the translator of the session's language."""
    return translator(st.session_state.get("lang"))


def settings() -> Settings:
    """Return the settings of this process (from the environment)."""
    return settings_from_env()


@st.cache_resource(show_spinner=False)
def registry_engine(url: str) -> Engine:
    """Return the registry engine of `url`, with the schema migrated (once per process)."""
    engine = engine_from_url(url)
    upgrade_database(engine)
    return engine


def engine() -> Engine:
    """Return the registry engine of the current settings."""
    return registry_engine(settings().database_url)


def current_user() -> UserInfo | None:
    """Return the signed-in user, or None."""
    user = st.session_state.get("user")
    return user if isinstance(user, UserInfo) else None


@st.cache_data(show_spinner=False, max_entries=6)
def cached_dataset(path: str, stamp: float) -> CityDataset:
    """Read a dataset folder (cached until its ``meta.json`` changes)."""
    from nudge.osm.datasets import dataset_from_dir

    del stamp  # part of the cache key only
    return dataset_from_dir(path)


@st.cache_resource(show_spinner=False, max_entries=12)
def cached_scores(
    path: str, stamp: float, *, kind: str, profile: str, spacing: float, buffer: float
) -> ScoreResult:
    """Propose and score candidates of one kind for a dataset (cached per parameters).

    Kept as one shared, read-only object (`st.cache_resource`): tens of thousands of scored
    sites are not copied on every rerun, and nothing changes a `ScoreResult` in place
    (new weights make a new one, see `nudge.placement.scoring.rescore`).
    """
    from nudge.ui import planning as ui_planning

    city = cached_dataset(path, stamp)
    return ui_planning.score_dataset(
        city, kind=kind, profile=profile, spacing=spacing, buffer=buffer
    )


def dataset_slugs() -> list[str]:
    """Return the slugs of the datasets in the data folder."""
    from nudge.osm.datasets import META_FILE

    root = settings().data_dir
    folders = sorted(root.iterdir()) if root.is_dir() else []
    return [
        f.name for f in folders if not f.name.startswith((".", "_")) and (f / META_FILE).is_file()
    ]


def active_dataset_path() -> Path | None:
    """Return the folder of the active dataset, or None when none is chosen."""
    slug = st.session_state.get("dataset")
    if not slug:
        return None
    folder = settings().dataset_dir(slug)
    return folder if folder.is_dir() else None


def active_dataset() -> CityDataset | None:
    """Return the active dataset (cached), or None."""
    from nudge.ui import loading as ui_loading

    folder = active_dataset_path()
    if folder is None:
        return None
    return cached_dataset(str(folder), ui_loading.dataset_stamp(folder))


def show_error(exc: BaseException) -> None:
    """Show an error as a headline in the user's language and the library's explanation."""
    tr = t()
    if isinstance(exc, NudgeError):
        text = error_text(exc, tr.lang)
        st.error(f"**{tr(error_key(exc))}**\n\n{text}", icon=":material/error:")
        if isinstance(exc, BatchValidationError):
            show_problems(exc.problems, tr)
        return
    log.exception("Unexpected error in a page", exc_info=exc)
    st.error(f"**{tr('errors.unexpected')}**\n\n{type(exc).__name__}", icon=":material/error:")


def show_problems(problems: Sequence[RowProblem], tr: Translator) -> None:
    """Show the problems of a batch as a table: row, column and message in the user's language."""
    rows = [
        {
            tr("columns.problem_row"): p.row,
            tr("columns.problem_column"): p.column or "",
            tr("columns.problem_message"): problem_text(p, tr.lang),
        }
        for p in problems
    ]
    st.dataframe(rows, hide_index=True, width="stretch")


@contextmanager
def guarded() -> Iterator[None]:
    """Show any error of the block as a message instead of a traceback."""
    try:
        yield
    except NudgeError as exc:
        show_error(exc)
    except Exception as exc:
        show_error(exc)


def flash(kind: str, text: str) -> None:
    """Keep a message to show once after the next rerun (``success``, ``info``, ``warning``)."""
    st.session_state["flash"] = (kind, text)


def show_flash() -> None:
    """Show and forget the kept message, if any."""
    item = st.session_state.get("flash")
    if item:
        kind, text = item
        getattr(st, kind, st.info)(text)
        st.session_state["flash"] = None


def show_map(
    m: folium.Map,
    *,
    key: str,
    height: int = 520,
    layer: folium.FeatureGroup | None = None,
) -> dict[str, Any]:
    """Render a folium map; only clicks come back, so panning does not rerun the page.

    `layer` is added to the map in the browser without reloading it (the view stays).
    """
    from streamlit_folium import st_folium

    from nudge.ui.maps import RETURNED_OBJECTS

    result = st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=list(RETURNED_OBJECTS),
        feature_group_to_add=layer,
    )
    return result if isinstance(result, dict) else {}


def need_dataset() -> CityDataset | None:
    """Return the active dataset, or say on the page how to get one and return None."""
    with guarded():
        city = active_dataset()
        if city is not None:
            return city
    st.info(t()("common.no_dataset"), icon=":material/info:")
    return None


def uploaded(files: Any) -> list[tuple[str, bytes]]:
    """Return Streamlit uploads as ``(name, bytes)`` pairs."""
    if files is None:
        return []
    items = files if isinstance(files, list) else [files]
    return [(f.name, f.getvalue()) for f in items]


@st.cache_data(show_spinner=False, ttl=600)
def districts(data_dir: str) -> Any:
    """Return the city district layer(s) in ``<data dir>/districts/``, or None (cached)."""
    from nudge.registry import district_layer_from_dir

    return district_layer_from_dir(Path(data_dir) / "districts")


@st.cache_resource(show_spinner=False)
def populations() -> Any:
    """Return the inhabitants by region and city for per-100,000 figures (once per process)."""
    from nudge.registry import populations_default

    return populations_default()


@st.cache_resource(show_spinner=False)
def region_outlines() -> dict[str, Any]:
    """Return the region outlines, simplified for maps (once per process)."""
    import shapely

    from nudge.registry import region_boundaries

    return {code: shapely.simplify(g, 0.02) for code, g in region_boundaries().items()}
