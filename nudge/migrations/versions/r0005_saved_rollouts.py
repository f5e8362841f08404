"""Keep rollout plans as saved work, and their flights in the plans of events.

Widens the check on ``saved_work.kind`` to take ``rollout`` beside ``plan`` and
``rotation``: a rollout (which units start in which flight, its seed and its
dated flights) is shared state that `nudge evaluate effect --rollout`, the
rotation and the registry's plans of events read back. Widens the check on
``event_plan_items.kind`` to take ``campaign_flight``: the day the campaign
starts in a region, exported from a saved rollout (`nudge rollout export`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_EVENT_KINDS = (
    "'tv_programme', 'podcast', 'dynasty_photo_session', 'social_challenge', 'contest_stage', "
    "'career_day_excursion', 'career_day_meeting', 'career_day_open_day'"
)


def _kind_check(table: str, kinds: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_{table}_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f(f"ck_{table}_kind"), f"kind IN ({kinds})")


def upgrade() -> None:
    """Apply this revision."""
    _kind_check("saved_work", "'plan', 'rotation', 'rollout'")
    _kind_check("event_plan_items", _EVENT_KINDS + ", 'campaign_flight'")


def downgrade() -> None:
    """Undo this revision (saved rollouts and exported flights are deleted first)."""
    op.execute("DELETE FROM saved_work WHERE kind = 'rollout'")
    op.execute("DELETE FROM event_plan_items WHERE kind = 'campaign_flight'")
    _kind_check("saved_work", "'plan', 'rotation'")
    _kind_check("event_plan_items", _EVENT_KINDS)
