"""Tables of the shared state: the content library and saved plans, rotations and rollouts.

The registry's own tables are declared in `nudge.registry.models`; the tables
here belong to no domain package, so the content library and the app can share
them without importing the registry. The audit log is reached through a Core
clause (`AUDIT_LOG`) with the columns of ``nudge.registry.models.AuditEntry``.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
METADATA = sa.MetaData(naming_convention=NAMING_CONVENTION)

CONTENT_ENTRIES = sa.Table(
    "content_entries",
    METADATA,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("collection", sa.String(20), nullable=False, index=True),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("entry", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
    sa.CheckConstraint("collection IN ('proverbs', 'dynasties', 'winners')", name="collection"),
)

SAVED_WORK = sa.Table(
    "saved_work",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("dataset", sa.String(120), nullable=False),
    sa.Column("owner", sa.String(80), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('plan', 'rotation', 'rollout')", name="kind"),
    sa.UniqueConstraint("kind", "dataset", "owner", "name", name="uq_saved_work_name"),
)

AUDIT_LOG = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime()),
    sa.column("user_id", sa.Integer()),
    sa.column("username", sa.String()),
    sa.column("action", sa.String()),
    sa.column("table_name", sa.String()),
    sa.column("record_id", sa.Integer()),
    sa.column("old_values", sa.JSON()),
    sa.column("new_values", sa.JSON()),
)
_USERS = sa.table("users", sa.column("id", sa.Integer()), sa.column("username", sa.String()))
