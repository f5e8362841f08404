"""The registry of installed billboards and exhibitions, publications, and indicators.

This is nudge's database (SQLite by default, PostgreSQL when
``NUDGE_DATABASE_URL`` says so). Its schema is created and upgraded only by the
Alembic migrations in ``nudge/migrations`` (`upgrade_database`, ``nudge db
upgrade``).

Tables
------
users, user_regions
    People and their role (admin, planner, designer, coordinator, viewer);
    coordinators are limited to their regions.
planned_sites
    Sites of imported plans (``plan_name``, ``site_id``, ``kind``, ``name``,
    ``score``, ``pick_order``, ``district``, location, region).
installations
    What is in place: kind (banner, billboard, city_light, photo_exhibition,
    led_screen), location, region / city / district (assigned from the
    location), planned site, content item id and its themes, size, facing
    bearing, illumination, install and removal dates, status, natural key
    ``uid`` (a hash of the identifying fields).
status_changes
    Every status step (planned → ordered → installed → verified → damaged →
    replaced → removed; see `TRANSITIONS`).
photos, installation_photos
    Evidence photos stored once by SHA-256, with EXIF time and GPS.
flags
    Possible mistakes shown to people: duplicate, photo far away, photo older
    than the install date, photo without GPS, photo reused.
publications
    TV programmes, podcasts, challenge posts, articles, open days, contest
    events with date, region, title, link and reach.
event_plan_items
    Items of the republican and regional action plans of events (indicator
    1): region (none for the republican plan), year, kind, title, planned
    date, status (planned, held, cancelled) and the evidence that an item
    was held (a publication or an address); see `import_event_plan`.
import_batches, audit_log
    Every import, and every change (who, when, old and new values).

Every function that changes data takes ``user=`` (a `UserInfo` or user name),
checks the user's role and region itself, and writes the audit log in the
same transaction. Functions take an `Engine` (create one per process with
`engine_from_url` or `engine_from_settings`, and reuse it) and return plain
frozen records detached from the database.

Given an engine, a function runs in a transaction of its own. Given instead a
`Session` the caller owns, it works inside the caller's transaction and never
commits: several steps are then stored together or not at all::

    with write_session(engine) as session:           # one transaction: all or nothing
        rec = log_installation(session, user=me, kind="banner", lat=43.24, lon=76.89,
                               installed_on=date(2025, 3, 1))
        attach_photo(session, rec.id, upload_bytes, user=me, photo_dir=settings.photo_dir)
        change_status(session, rec.id, "verified", user=me)

Typical use (e.g. from the app)::

    engine = engine_from_settings(settings)          # once per process
    upgrade_database(engine)                          # at start-up, safe to repeat
    preload()                                         # region and city lookups
    districts = district_layer_from_dir(settings.data_dir / "districts")
    me = authenticate(engine, username, password)    # UserInfo, keep in the session
    rec = log_installation(engine, user=me, kind="banner", lat=43.24, lon=76.89,
                           installed_on=date(2025, 3, 1), content_id="proverb-001",
                           themes=("diligence",), districts=districts)
    attach_photo(engine, rec.id, upload_bytes, user=me, photo_dir=settings.photo_dir,
                 filename=upload_name)               # flags in the result
    result = import_installations(engine, file_bytes, filename=name, user=me)
    table = indicator_table(engine, by=["region", "month"], date_from=..., date_to=...)
    records = list_installations(engine, ids=table.rows.loc[0, "installation_ids"])
    xlsx = report_bytes(build_report(engine, active_on=date.today()), "xlsx")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each name is imported from its module on first use (PEP 562), so that signing in to the
# app (users and the database) does not wait for pandas, scipy, geopandas and openpyxl.
# mypy and readers see the plain imports.
if TYPE_CHECKING:
    from nudge.geo.regions import (
        REGIONS,
        DistrictLayer,
        Region,
        district_layer_from_dir,
        district_layer_from_file,
        preload,
        region_boundaries,
        region_code,
        region_of_point,
    )
    from nudge.registry.audit import AuditRecord, audit_entries
    from nudge.registry.auth import (
        PERMISSIONS,
        UserInfo,
        UserRef,
        add_user,
        authenticate,
        list_users,
        session_token,
        update_user,
        user_from_token,
    )
    from nudge.registry.db import (
        BackupResult,
        backup_database,
        engine_from_settings,
        engine_from_url,
        read_session,
        require_schema,
        schema_revision,
        upgrade_database,
        write_session,
    )
    from nudge.registry.event_counts import event_indicator
    from nudge.registry.events import (
        EVENT_COLUMNS,
        EVENT_KINDS,
        EVENT_STATUSES,
        EventImportResult,
        EventPlanRecord,
        import_event_plan,
        list_event_items,
        set_event_status,
    )
    from nudge.registry.evidence import (
        EvidenceResult,
        PhotoFacts,
        PhotoRecord,
        attach_photo,
        inspect_photo,
        log_with_photo,
        photos_of_installation,
    )
    from nudge.registry.imports import (
        PUBLICATION_COLUMNS,
        ImportResult,
        import_installations,
        import_plan,
        import_publications,
    )
    from nudge.registry.indicators import (
        BREAKDOWNS,
        IndicatorTable,
        Populations,
        indicator_table,
        indicators_from_frames,
        installations_frame,
        planned_sites_frame,
        populations_default,
        publications_frame,
    )
    from nudge.registry.installations import (
        TRANSITIONS,
        change_status,
        log_installation,
        resolve_flag,
        update_installation,
    )
    from nudge.registry.models import INSTALLATION_KINDS, PUBLICATION_KINDS, ROLES, STATUSES
    from nudge.registry.publications import PublicationRecord, list_publications, log_publication
    from nudge.registry.records import (
        FlagRecord,
        InstallationRecord,
        StatusStep,
        get_installation,
        list_installations,
        status_history,
    )
    from nudge.registry.reports import (
        Report,
        build_report,
        export_installations,
        installations_bytes,
        report_bytes,
        write_report,
    )
else:
    _MODULES = {
        "nudge.geo.regions": (
            "REGIONS",
            "DistrictLayer",
            "Region",
            "district_layer_from_dir",
            "district_layer_from_file",
            "preload",
            "region_boundaries",
            "region_code",
            "region_of_point",
        ),
        "nudge.registry.audit": (
            "AuditRecord",
            "audit_entries",
        ),
        "nudge.registry.auth": (
            "PERMISSIONS",
            "UserInfo",
            "UserRef",
            "add_user",
            "authenticate",
            "list_users",
            "session_token",
            "update_user",
            "user_from_token",
        ),
        "nudge.registry.db": (
            "BackupResult",
            "backup_database",
            "engine_from_settings",
            "engine_from_url",
            "read_session",
            "require_schema",
            "schema_revision",
            "upgrade_database",
            "write_session",
        ),
        "nudge.registry.event_counts": ("event_indicator",),
        "nudge.registry.events": (
            "EVENT_COLUMNS",
            "EVENT_KINDS",
            "EVENT_STATUSES",
            "EventImportResult",
            "EventPlanRecord",
            "import_event_plan",
            "list_event_items",
            "set_event_status",
        ),
        "nudge.registry.evidence": (
            "EvidenceResult",
            "PhotoFacts",
            "PhotoRecord",
            "attach_photo",
            "inspect_photo",
            "log_with_photo",
            "photos_of_installation",
        ),
        "nudge.registry.imports": (
            "PUBLICATION_COLUMNS",
            "ImportResult",
            "import_installations",
            "import_plan",
            "import_publications",
        ),
        "nudge.registry.indicators": (
            "BREAKDOWNS",
            "IndicatorTable",
            "Populations",
            "indicator_table",
            "indicators_from_frames",
            "installations_frame",
            "planned_sites_frame",
            "populations_default",
            "publications_frame",
        ),
        "nudge.registry.installations": (
            "TRANSITIONS",
            "change_status",
            "log_installation",
            "resolve_flag",
            "update_installation",
        ),
        "nudge.registry.models": (
            "INSTALLATION_KINDS",
            "PUBLICATION_KINDS",
            "ROLES",
            "STATUSES",
        ),
        "nudge.registry.publications": (
            "PublicationRecord",
            "list_publications",
            "log_publication",
        ),
        "nudge.registry.records": (
            "FlagRecord",
            "InstallationRecord",
            "StatusStep",
            "get_installation",
            "list_installations",
            "status_history",
        ),
        "nudge.registry.reports": (
            "Report",
            "build_report",
            "export_installations",
            "installations_bytes",
            "report_bytes",
            "write_report",
        ),
    }
    _LAZY = {name: module for module, names in _MODULES.items() for name in names}

    def __getattr__(name: str) -> Any:
        """Import a public name from its module on first use and keep it here."""
        module = _LAZY.get(name)
        if module is None:
            msg = f"module {__name__!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """List the public names too, loaded or not."""
        return sorted({*globals(), *_LAZY})


__all__ = [
    "BREAKDOWNS",
    "EVENT_COLUMNS",
    "EVENT_KINDS",
    "EVENT_STATUSES",
    "INSTALLATION_KINDS",
    "PERMISSIONS",
    "PUBLICATION_COLUMNS",
    "PUBLICATION_KINDS",
    "REGIONS",
    "ROLES",
    "STATUSES",
    "TRANSITIONS",
    "AuditRecord",
    "BackupResult",
    "DistrictLayer",
    "EventImportResult",
    "EventPlanRecord",
    "EvidenceResult",
    "FlagRecord",
    "ImportResult",
    "IndicatorTable",
    "InstallationRecord",
    "PhotoFacts",
    "PhotoRecord",
    "Populations",
    "PublicationRecord",
    "Region",
    "Report",
    "StatusStep",
    "UserInfo",
    "UserRef",
    "add_user",
    "attach_photo",
    "audit_entries",
    "authenticate",
    "backup_database",
    "build_report",
    "change_status",
    "district_layer_from_dir",
    "district_layer_from_file",
    "engine_from_settings",
    "engine_from_url",
    "event_indicator",
    "export_installations",
    "get_installation",
    "import_event_plan",
    "import_installations",
    "import_plan",
    "import_publications",
    "indicator_table",
    "indicators_from_frames",
    "inspect_photo",
    "installations_bytes",
    "installations_frame",
    "list_event_items",
    "list_installations",
    "list_publications",
    "list_users",
    "log_installation",
    "log_publication",
    "log_with_photo",
    "photos_of_installation",
    "planned_sites_frame",
    "populations_default",
    "preload",
    "publications_frame",
    "read_session",
    "region_boundaries",
    "region_code",
    "region_of_point",
    "report_bytes",
    "require_schema",
    "resolve_flag",
    "schema_revision",
    "session_token",
    "set_event_status",
    "status_history",
    "update_installation",
    "update_user",
    "upgrade_database",
    "user_from_token",
    "write_report",
    "write_session",
]
