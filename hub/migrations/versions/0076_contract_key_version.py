"""Contracts: the pseudonymisation master key version each contract's key derives from
(existing contracts: v1, the only version before rotation).

Revision ID: 0076_contract_key_version
Revises: 0005_contracts
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0076_contract_key_version"
down_revision = "0005_contracts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contract") as batch:
        batch.add_column(
            sa.Column(
                "key_version",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="v1",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("contract") as batch:
        batch.drop_column("key_version")
