"""bus: transactional outbox

Revision ID: 0030_outbox
Revises: 0001_foundation
Create Date: 2026-12-06 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0030_outbox"
down_revision = "0001_foundation"
branch_labels = ("bus",)
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "outbox_event",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", _STR(length=64), nullable=False),
        sa.Column("topic", _STR(length=128), nullable=False),
        sa.Column("key", _STR(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_event_published_at"), ["published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_event_published_at"))
    op.drop_table("outbox_event")
