"""audit: each event's seal (a MAC by the hub's audit key, see hub.trail.seal), and the
first sequence number that must be sealed (events appended before this revision are not)

Revision ID: 0035_audit_event_seal
Revises: 0012_audit_actor_index
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0035_audit_event_seal"
down_revision = "0012_audit_actor_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "audit_event",
        sa.Column("seal", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.add_column(
        "audit_head",
        sa.Column("sealed_from", sa.Integer(), nullable=False, server_default="1"),
    )
    op.execute("UPDATE audit_head SET sealed_from = seq + 1")


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("sealed_from")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("seal")
