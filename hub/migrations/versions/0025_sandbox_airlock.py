"""sandbox: the airlock (exact results held for review, and the output checkers' reviews)

Revision ID: 0025_sandbox_airlock
Revises: 0011_sandbox_lease
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0025_sandbox_airlock"
down_revision = "0011_sandbox_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_output_hold",
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
    )
    with op.batch_alter_table("sandbox_output_hold", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_output_hold_project_id", ["project_id"], unique=False)
        batch_op.create_index("ix_sandbox_output_hold_status", ["status"], unique=False)
    op.create_table(
        "sandbox_output_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("checker", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "checker", name="uq_sandbox_output_review"),
    )
    with op.batch_alter_table("sandbox_output_review", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_output_review_job_id", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sandbox_output_review")
    op.drop_table("sandbox_output_hold")
