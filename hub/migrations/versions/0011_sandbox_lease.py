"""sandbox: job leases (runner, heartbeat) so that a restarted or peer hub resumes orphans

Revision ID: 0011_sandbox_lease
Revises: 0007_sandbox
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011_sandbox_lease"
down_revision = "0007_sandbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_query_job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("runner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_sandbox_query_job_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_query_job", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_query_job_status")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("runner")
