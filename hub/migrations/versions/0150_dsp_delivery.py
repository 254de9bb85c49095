"""dataspace: the durable delivery of the hub's messages to its counterparties

Revision ID: 0150_dsp_delivery
Revises: 0090_dsp_participant_org
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0150_dsp_delivery"
down_revision = "0090_dsp_participant_org"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dsp_delivery",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("process_id", AutoString(length=200), nullable=False),
        sa.Column("url", AutoString(length=2000), nullable=False),
        sa.Column("kind", AutoString(length=64), nullable=False),
        sa.Column("audience", AutoString(length=300), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", AutoString(length=16), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_dsp_delivery_process_id", "dsp_delivery", ["process_id"])
    op.create_index("ix_dsp_delivery_outcome", "dsp_delivery", ["outcome"])


def downgrade() -> None:
    op.drop_index("ix_dsp_delivery_outcome", "dsp_delivery")
    op.drop_index("ix_dsp_delivery_process_id", "dsp_delivery")
    op.drop_table("dsp_delivery")
