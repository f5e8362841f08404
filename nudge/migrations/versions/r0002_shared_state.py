"""Keep the content library and saved plans and rotations in the database.

Creates ``content_entries`` (one row per proverb, dynasty or winner, with a
version) and ``saved_work`` (plans and rotations per dataset and user), and
imports the YAML library of ``<data_dir>/content`` when it exists (else the
library shipped with nudge). Entries imported from a user's files are written to
the audit log; the shipped seed is not, as nobody changed it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import context, op

import nudge
from nudge._errors import InputFileError
from nudge.db.audit import as_json, utcnow

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLLECTIONS = ("proverbs", "dynasties", "winners")
SHIPPED_DIR = Path(nudge.__file__).resolve().parent / "content" / "data"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "content_entries",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("collection", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "collection IN ('proverbs', 'dynasties', 'winners')",
            name=op.f("ck_content_entries_collection"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_entries")),
    )
    with op.batch_alter_table("content_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_content_entries_collection"), ["collection"], unique=False
        )
    op.create_table(
        "saved_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dataset", sa.String(length=120), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('plan', 'rotation')", name=op.f("ck_saved_work_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_work")),
        sa.UniqueConstraint("kind", "dataset", "owner", "name", name=op.f("uq_saved_work_name")),
    )
    _import_library(_content_dir())


def downgrade() -> None:
    """Undo this revision (the library's YAML files are not written back)."""
    op.drop_table("saved_work")
    with op.batch_alter_table("content_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_content_entries_collection"))
    op.drop_table("content_entries")


# --- import of the YAML library ---------------------------------------------------------------

_ENTRIES = sa.table(
    "content_entries",
    sa.column("id", sa.String()),
    sa.column("collection", sa.String()),
    sa.column("position", sa.Integer()),
    sa.column("entry", sa.JSON()),
    sa.column("status", sa.String()),
    sa.column("version", sa.Integer()),
    sa.column("created_at", sa.DateTime()),
    sa.column("created_by", sa.String()),
    sa.column("updated_at", sa.DateTime()),
    sa.column("updated_by", sa.String()),
)
_AUDIT = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime()),
    sa.column("username", sa.String()),
    sa.column("action", sa.String()),
    sa.column("table_name", sa.String()),
    sa.column("record_id", sa.Integer()),
    sa.column("new_values", sa.JSON()),
)


def _content_dir() -> Path:
    given = context.config.attributes.get("content_dir")
    if given is not None:
        return Path(given)
    from nudge.settings import settings_from_env

    return settings_from_env().data_dir / "content"


def _yaml_list(path: Path) -> list[dict[str, Any]]:
    try:
        # libyaml's safe loader when present: ten times faster on the shipped library
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except yaml.YAMLError as exc:
        msg = f"The library file {path} is not valid YAML: {exc}"
        raise InputFileError(
            msg, code="content_library_bad_yaml", path=str(path), reason=str(exc)
        ) from None
    if not isinstance(data, list):
        return []
    return [dict(r) for r in data if isinstance(r, dict) and r.get("id") is not None]


_IMPORTED = {
    "username": "system",
    "action": "import",
    "table_name": "content_entries",
    "record_id": None,
}
"""Audit columns of an entry imported from the user's YAML files (with its time and values)."""


def _import_library(folder: Path) -> None:
    """Insert the entries of the user's YAML files (or of the shipped ones) once each."""
    now, seen = utcnow(), set[str]()
    stamps = {"created_at": now, "created_by": "system", "updated_at": now, "updated_by": "system"}
    rows: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for collection in COLLECTIONS:
        user_file = folder / f"{collection}.yaml"
        path = user_file if user_file.is_file() else SHIPPED_DIR / f"{collection}.yaml"
        entries = _yaml_list(path) if path.is_file() else []
        for raw in entries:
            entry = as_json(raw)
            item_id = str(entry["id"])
            if item_id in seen:
                continue
            seen.add(item_id)
            place = {"id": item_id, "collection": collection, "position": len(rows) + 1}
            status = str(entry.get("status") or "active")
            rows.append({**place, "entry": entry, "status": status, "version": 1, **stamps})
            if path == user_file:
                new = {"collection": collection, "version": 1, "source": str(path), **entry}
                audit.append({"at": now, **_IMPORTED, "new_values": new})
    if rows:
        op.bulk_insert(_ENTRIES, rows)
    if audit:
        op.bulk_insert(_AUDIT, audit)
