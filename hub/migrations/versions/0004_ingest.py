"""ingest: batch registry

Revision ID: 0004_ingest
Revises: 0001_foundation
Create Date: 2026-11-23 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_ingest"
down_revision = "0001_foundation"
branch_labels = ("ingest",)
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "ingest_batch",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("connector_id", _STR(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("contract_id", _STR(length=36), nullable=False),
        sa.Column("provider_id", _STR(length=36), nullable=False),
        sa.Column("dataset_id", _STR(length=255), nullable=False),
        sa.Column("status", _STR(length=16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("time_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("manifest_jws", sa.Text(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connector.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector_id", "sequence", name="uq_ingest_batch_seq"),
    )
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_batch_connector_id"), ["connector_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ingest_batch_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ingest_batch_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_batch_status"))
        batch_op.drop_index(batch_op.f("ix_ingest_batch_contract_id"))
        batch_op.drop_index(batch_op.f("ix_ingest_batch_connector_id"))
    op.drop_table("ingest_batch")
