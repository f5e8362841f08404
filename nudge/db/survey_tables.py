"""Tables of the yearly values survey: stored waves, their files, respondents and aggregates.

A wave is one import (``nudge survey import``): respondent-level files scored with a
questionnaire map, or a published region-level table. ``survey_wave_files`` names every file
of a wave with its SHA-256 (unique, so one file is never stored twice). The tables live on the
shared `METADATA` (migration ``0004``); `nudge.evaluation.store` reads and writes them.
"""

from __future__ import annotations

import sqlalchemy as sa

from nudge.db.tables import METADATA

WAVE_KINDS = ("respondents", "aggregates")

SURVEY_WAVES = sa.Table(
    "survey_waves",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("year", sa.Integer(), nullable=True),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("row_count", sa.Integer(), nullable=False),
    sa.Column("indices", sa.JSON(), nullable=False),
    sa.Column("questionnaire", sa.Text(), nullable=True),
    sa.Column("questionnaire_sha256", sa.String(64), nullable=True),
    sa.Column("imported_at", sa.DateTime(), nullable=False),
    sa.Column("imported_by", sa.String(80), nullable=False),
    sa.CheckConstraint("kind IN ('respondents', 'aggregates')", name="kind"),
)

SURVEY_WAVE_FILES = sa.Table(
    "survey_wave_files",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("wave_id", sa.Integer(), sa.ForeignKey("survey_waves.id"), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.UniqueConstraint("sha256", name="uq_survey_wave_files_sha256"),
)

SURVEY_RESPONDENTS = sa.Table(
    "survey_respondents",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column(
        "wave_id", sa.Integer(), sa.ForeignKey("survey_waves.id"), nullable=False, index=True
    ),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("region_code", sa.String(8), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("urban", sa.String(120), nullable=False),
    sa.Column("age_group", sa.String(120), nullable=False),
    sa.Column("sex", sa.String(120), nullable=False),
    sa.Column("weight", sa.Float(), nullable=False),
    sa.Column("stratum", sa.Text(), nullable=False),
    sa.Column("psu", sa.Text(), nullable=False),
    sa.Column("index_values", sa.JSON(), nullable=False),
    sa.Column("answers", sa.JSON(), nullable=False),
    sa.CheckConstraint("weight > 0", name="weight"),
)

SURVEY_AGGREGATES = sa.Table(
    "survey_aggregates",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column(
        "wave_id", sa.Integer(), sa.ForeignKey("survey_waves.id"), nullable=False, index=True
    ),
    sa.Column("region_code", sa.String(8), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("group_name", sa.String(120), nullable=False),
    sa.Column("index_name", sa.String(120), nullable=False),
    sa.Column("estimate", sa.Float(), nullable=False),
    sa.Column("se", sa.Float(), nullable=True),
    sa.Column("ci_low", sa.Float(), nullable=True),
    sa.Column("ci_high", sa.Float(), nullable=True),
    sa.Column("n", sa.Integer(), nullable=False),
)

__all__ = [
    "SURVEY_AGGREGATES",
    "SURVEY_RESPONDENTS",
    "SURVEY_WAVES",
    "SURVEY_WAVE_FILES",
    "WAVE_KINDS",
]
