"""policy: the version of the policy facts (one row), read before every decision

Revision ID: 0009_policy
Revises: 0001_foundation
Create Date: 2026-11-23 15:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0009_policy"
down_revision = "0001_foundation"
branch_labels = ("policy",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO policy_data_version (id, version, token) VALUES (1, 0, 'initial')")


def downgrade() -> None:
    op.drop_table("policy_data_version")
