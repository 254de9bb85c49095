"""sandbox: the privacy budget ledger of differentially private releases

Revision ID: 0020_sandbox_dp
Revises: 0011_sandbox_lease
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020_sandbox_dp"
down_revision = "0011_sandbox_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_dp_spend",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id"),
    )
    with op.batch_alter_table("sandbox_dp_spend", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_dp_spend_project_id", ["project_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sandbox_dp_spend", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_dp_spend_project_id")
    op.drop_table("sandbox_dp_spend")
