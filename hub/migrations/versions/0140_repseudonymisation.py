"""pseudonym: the record of each re-pseudonymisation (a contract's data moved to a new
master key version; counts only)

Revision ID: 0140_repseudonymisation
Revises: 0041_pupil_use
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0140_repseudonymisation"
down_revision = "0041_pupil_use"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "repseudonymisation",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("contract_id", _STR(length=36), nullable=False),
        sa.Column("from_version", _STR(length=8), nullable=False),
        sa.Column("to_version", _STR(length=8), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("objects_rewritten", sa.Integer(), nullable=False),
        sa.Column("rows_kept", sa.Integer(), nullable=False),
        sa.Column("rows_dropped", sa.Integer(), nullable=False),
        sa.Column("requested_by", _STR(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_repseudonymisation_contract_id", "repseudonymisation", ["contract_id"])


def downgrade() -> None:
    op.drop_index("ix_repseudonymisation_contract_id", table_name="repseudonymisation")
    op.drop_table("repseudonymisation")
