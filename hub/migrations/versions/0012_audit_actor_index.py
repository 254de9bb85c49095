"""Audit: drop the actor index, a prefix of the (actor, time) index (one index less to
update per appended event).

Revision ID: 0012_audit_actor_index
Revises: 0010_audit_schedule
"""

from __future__ import annotations

from alembic import op

revision = "0012_audit_actor_index"
down_revision = "0010_audit_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_event_actor", table_name="audit_event")


def downgrade() -> None:
    op.create_index("ix_audit_event_actor", "audit_event", ["actor_sub"])
