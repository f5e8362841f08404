"""Register the republican and regional action plans of events (indicator 1).

Creates ``event_plan_items``: one row per item of a plan (TV programme,
podcast, photo session of a labour dynasty, challenge, contest stage, career
day at a production site), with its region (none for the republican plan),
year, planned date, status (planned, held, cancelled) and the evidence that it
was held (a publication of the registry or an address). ``external_key`` (plan
document and item number) makes a re-imported plan change its rows rather than
add them again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    "'tv_programme', 'podcast', 'dynasty_photo_session', 'social_challenge', 'contest_stage', "
    "'career_day_excursion', 'career_day_meeting', 'career_day_open_day'"
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "event_plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_key", sa.String(length=240), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("evidence_publication_id", sa.Integer(), nullable=True),
        sa.Column("evidence_url", sa.String(length=500), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_event_plan_items_kind")),
        sa.CheckConstraint(
            "status IN ('planned', 'held', 'cancelled')", name=op.f("ck_event_plan_items_status")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_publication_id"],
            ["publications.id"],
            name=op.f("fk_event_plan_items_evidence_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_event_plan_items_import_batch_id_import_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_event_plan_items_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_event_plan_items_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_plan_items")),
        sa.UniqueConstraint("external_key", name=op.f("uq_event_plan_items_external_key")),
    )
    with op.batch_alter_table("event_plan_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_plan_items_year_region", ["year", "region_code"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("event_plan_items", schema=None) as batch_op:
        batch_op.drop_index("ix_event_plan_items_year_region")
    op.drop_table("event_plan_items")
