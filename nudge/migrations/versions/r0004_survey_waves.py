"""Store the waves of the yearly values survey (indicator 3).

Creates ``survey_waves`` (one row per import: name, year, kind, the questionnaire map's TOML
and the indices it defines, who imported it and when), ``survey_wave_files`` (the files of a
wave with their SHA-256, unique so that a file is never stored twice), ``survey_respondents``
(region, urban/rural, age group, sex, design weight, stratum, PSU, each index's value and the
answers to the map's items as JSON) and ``survey_aggregates`` (published region-level
estimates, for waves where only those exist).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _wave_id(table: str) -> tuple[sa.Column[int], sa.ForeignKeyConstraint]:
    column = sa.Column("wave_id", sa.Integer(), nullable=False)
    fk = sa.ForeignKeyConstraint(
        ["wave_id"], ["survey_waves.id"], name=op.f(f"fk_{table}_wave_id_survey_waves")
    )
    return column, fk


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "survey_waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("indices", sa.JSON(), nullable=False),
        sa.Column("questionnaire", sa.Text(), nullable=True),
        sa.Column("questionnaire_sha256", sa.String(length=64), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "kind IN ('respondents', 'aggregates')", name=op.f("ck_survey_waves_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_waves")),
    )
    op.create_table(
        "survey_wave_files",
        sa.Column("id", sa.Integer(), nullable=False),
        *_wave_id("survey_wave_files"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_wave_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_survey_wave_files_sha256")),
    )
    op.create_table(
        "survey_respondents",
        sa.Column("id", sa.Integer(), nullable=False),
        *_wave_id("survey_respondents"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("urban", sa.String(length=120), nullable=False),
        sa.Column("age_group", sa.String(length=120), nullable=False),
        sa.Column("sex", sa.String(length=120), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("stratum", sa.Text(), nullable=False),
        sa.Column("psu", sa.Text(), nullable=False),
        sa.Column("index_values", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.CheckConstraint("weight > 0", name=op.f("ck_survey_respondents_weight")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_respondents")),
    )
    op.create_table(
        "survey_aggregates",
        sa.Column("id", sa.Integer(), nullable=False),
        *_wave_id("survey_aggregates"),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=120), nullable=False),
        sa.Column("index_name", sa.String(length=120), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=False),
        sa.Column("se", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_aggregates")),
    )
    for table in ("survey_respondents", "survey_aggregates"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_wave_id"), ["wave_id"], unique=False)


def downgrade() -> None:
    """Undo this revision (the stored waves are dropped)."""
    for table in ("survey_aggregates", "survey_respondents"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_wave_id"))
        op.drop_table(table)
    op.drop_table("survey_wave_files")
    op.drop_table("survey_waves")
