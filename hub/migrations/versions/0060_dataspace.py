"""dataspace: DSP negotiations (with their agreements), transfer processes, trusted participants

Revision ID: 0060_dataspace
Revises: 0001_foundation
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0060_dataspace"
down_revision = "0001_foundation"
branch_labels = ("dataspace",)
depends_on = None


def _process_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", AutoString(length=200), nullable=False),
        sa.Column("role", AutoString(length=16), nullable=False),
        sa.Column("provider_pid", AutoString(length=200), nullable=False),
        sa.Column("consumer_pid", AutoString(length=200), nullable=False),
        sa.Column("counterparty", AutoString(length=300), nullable=False),
        sa.Column("state", AutoString(length=16), nullable=False),
    ]


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "dsp_negotiation",
        *_process_columns(),
        sa.Column("dataset_id", AutoString(length=200), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=False),
        sa.Column("callback_address", AutoString(length=2000), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("agreement_id", AutoString(length=200), nullable=True),
        sa.Column("agreement", sa.JSON(), nullable=True),
        sa.Column("contract_id", AutoString(length=36), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dsp_negotiation_provider_pid", "dsp_negotiation", ["provider_pid"])
    op.create_index("ix_dsp_negotiation_consumer_pid", "dsp_negotiation", ["consumer_pid"])
    op.create_index(
        "ix_dsp_negotiation_agreement_id", "dsp_negotiation", ["agreement_id"], unique=True
    )
    op.create_table(
        "dsp_transfer",
        *_process_columns(),
        sa.Column("agreement_id", AutoString(length=200), nullable=False),
        sa.Column("format", AutoString(length=200), nullable=False),
        sa.Column("callback_address", AutoString(length=2000), nullable=False),
        sa.Column("data_address", sa.JSON(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dsp_transfer_provider_pid", "dsp_transfer", ["provider_pid"])
    op.create_index("ix_dsp_transfer_consumer_pid", "dsp_transfer", ["consumer_pid"])
    op.create_index("ix_dsp_transfer_agreement_id", "dsp_transfer", ["agreement_id"])

    op.create_table(
        "dsp_participant",
        sa.Column("did", AutoString(length=300), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("added_by", AutoString(length=255), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("did"),
    )


def downgrade() -> None:
    op.drop_table("dsp_participant")
    op.drop_table("dsp_transfer")
    op.drop_table("dsp_negotiation")
