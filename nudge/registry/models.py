"""SQLAlchemy 2 models of the registry.

Every table is created and changed only by the Alembic migrations shipped in
``nudge/migrations``; a test checks that these models and the migrations agree.
Times are stored as naive UTC datetimes, dates as calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nudge.db.tables import NAMING_CONVENTION

INSTALLATION_KINDS = ("banner", "billboard", "city_light", "photo_exhibition", "led_screen")
STATUSES = ("planned", "ordered", "installed", "verified", "damaged", "replaced", "removed")
PUBLICATION_KINDS = (
    "tv_programme",
    "podcast",
    "challenge_post",
    "news_article",
    "open_day",
    "contest_event",
)
SITE_KINDS = ("banner", "exhibition", "career")
ROLES = ("admin", "planner", "designer", "coordinator", "viewer")
FLAG_CODES = ("duplicate", "photo_far", "photo_older", "photo_no_gps", "photo_reused")
EVENT_KINDS = (
    "tv_programme",
    "podcast",
    "dynasty_photo_session",
    "social_challenge",
    "contest_stage",
    "career_day_excursion",
    "career_day_meeting",
    "career_day_open_day",
    "campaign_flight",
)
EVENT_STATUSES = ("planned", "held", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Base of the registry models, with a constraint naming convention for Alembic."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A person who may read or change the registry."""

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    regions: Mapped[list[UserRegion]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def region_codes(self) -> tuple[str, ...]:
        """Return the codes of the regions a coordinator may change, sorted."""
        return tuple(sorted(r.region_code for r in self.regions))


class UserRegion(Base):
    """One region a coordinator is responsible for."""

    __tablename__ = "user_regions"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    user: Mapped[User] = relationship(back_populates="regions")


class ImportBatch(Base):
    """One imported file: who imported it, when, and with what result."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    what: Mapped[str] = mapped_column(sa.String(20))
    file_name: Mapped[str] = mapped_column(sa.String(200))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int]
    stored: Mapped[int]
    skipped_existing: Mapped[int]
    errors: Mapped[int]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    imported_at: Mapped[datetime]


class PlannedSite(Base):
    """A site chosen by a plan (one row of a plan GeoJSON)."""

    __tablename__ = "planned_sites"
    __table_args__ = (
        sa.UniqueConstraint("plan_name", "site_id", name="uq_planned_sites_plan_site"),
        sa.CheckConstraint(_in("kind", SITE_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_name: Mapped[str] = mapped_column(sa.String(120))
    site_id: Mapped[str] = mapped_column(sa.String(80), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    score: Mapped[float | None]
    pick_order: Mapped[int | None]
    lat: Mapped[float]
    lon: Mapped[float]
    region_code: Mapped[str] = mapped_column(sa.String(3))
    city: Mapped[str | None] = mapped_column(sa.String(80))
    district: Mapped[str | None] = mapped_column(sa.String(120))
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    created_at: Mapped[datetime]


class Installation(Base):
    """A banner, billboard, city-light, photo exhibition or LED screen in place."""

    __tablename__ = "installations"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", INSTALLATION_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", STATUSES), name="status"),
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="lat_lon"),
        sa.CheckConstraint(
            "facing_deg IS NULL OR (facing_deg >= 0 AND facing_deg < 360)", name="facing"
        ),
        sa.Index("ix_installations_kind_lat_lon", "kind", "lat", "lon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(12))
    lat: Mapped[float]
    lon: Mapped[float]
    region_code: Mapped[str] = mapped_column(sa.String(3), index=True)
    city: Mapped[str | None] = mapped_column(sa.String(80))
    district: Mapped[str | None] = mapped_column(sa.String(120))
    planned_site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("planned_sites.id"))
    content_id: Mapped[str | None] = mapped_column(sa.String(120))
    themes: Mapped[str | None] = mapped_column(sa.String(400))
    size: Mapped[str | None] = mapped_column(sa.String(40))
    facing_deg: Mapped[float | None]
    illuminated: Mapped[bool | None]
    installed_on: Mapped[date | None] = mapped_column(index=True)
    removed_on: Mapped[date | None]
    external_id: Mapped[str | None] = mapped_column(sa.String(80))
    note: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(200))
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class StatusChange(Base):
    """One step of an installation's life: planned → ordered → installed → ... → removed."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    installation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("installations.id", ondelete="CASCADE"), index=True
    )
    old_status: Mapped[str | None] = mapped_column(sa.String(12))
    new_status: Mapped[str] = mapped_column(sa.String(12))
    effective_on: Mapped[date | None]
    changed_at: Mapped[datetime]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)


class Photo(Base):
    """An evidence photo, stored once under the photo folder by its SHA-256."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    stored_name: Mapped[str] = mapped_column(sa.String(100))
    original_name: Mapped[str | None] = mapped_column(sa.String(200))
    format: Mapped[str] = mapped_column(sa.String(10))
    bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    taken_at: Mapped[datetime | None]
    gps_lat: Mapped[float | None]
    gps_lon: Mapped[float | None]
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]


class InstallationPhoto(Base):
    """A photo attached as evidence to an installation."""

    __tablename__ = "installation_photos"
    __table_args__ = (
        sa.UniqueConstraint("installation_id", "photo_id", name="uq_installation_photos_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    installation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("installations.id", ondelete="CASCADE"), index=True
    )
    photo_id: Mapped[int] = mapped_column(sa.ForeignKey("photos.id"))
    attached_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    attached_at: Mapped[datetime]


class Flag(Base):
    """A possible mistake shown to people (never applied silently): duplicate, far photo..."""

    __tablename__ = "flags"
    __table_args__ = (sa.CheckConstraint(_in("code", FLAG_CODES), name="code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    installation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("installations.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(20))
    message: Mapped[str] = mapped_column(sa.Text)
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photos.id"))
    other_installation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("installations.id"))
    distance_m: Mapped[float | None]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)


class Publication(Base):
    """A publication or event: TV programme, podcast, challenge post, article, open day..."""

    __tablename__ = "publications"
    __table_args__ = (sa.CheckConstraint(_in("kind", PUBLICATION_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(300))
    published_on: Mapped[date] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(sa.String(3), index=True)
    city: Mapped[str | None] = mapped_column(sa.String(80))
    district: Mapped[str | None] = mapped_column(sa.String(120))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    link: Mapped[str | None] = mapped_column(sa.String(500))
    reach: Mapped[int | None]
    content_id: Mapped[str | None] = mapped_column(sa.String(120))
    themes: Mapped[str | None] = mapped_column(sa.String(400))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class EventPlanItem(Base):
    """One item of the republican plan (no region) or of a region's action plan of events."""

    __tablename__ = "event_plan_items"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
        sa.Index("ix_event_plan_items_year_region", "year", "region_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_key: Mapped[str] = mapped_column(sa.String(240), unique=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(3))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(30))
    title: Mapped[str] = mapped_column(sa.String(300))
    planned_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(sa.String(12))
    evidence_publication_id: Mapped[int | None] = mapped_column(sa.ForeignKey("publications.id"))
    evidence_url: Mapped[str | None] = mapped_column(sa.String(500))
    import_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batches.id"))
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Who changed what and when, with the old and new values."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_table_record", "table_name", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(20))
    table_name: Mapped[str] = mapped_column(sa.String(40))
    record_id: Mapped[int | None]
    old_values: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    new_values: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
