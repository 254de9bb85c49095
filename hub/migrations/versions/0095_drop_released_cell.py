"""sandbox: drop the released-cell ledger of the old automatic exact release

Exact results now leave only through the airlock, whose holds keep their own cells
(``sandbox_output_hold.cells``); nothing writes ``sandbox_released_cell`` any more.

Revision ID: 0095_drop_released_cell
Revises: 0025_sandbox_airlock
Create Date: 2026-12-06 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0095_drop_released_cell"
down_revision = "0025_sandbox_airlock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("sandbox_released_cell")


def downgrade() -> None:
    op.create_table(
        "sandbox_released_cell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sketch", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sandbox_released_cell", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sandbox_released_cell_project_n", ["project_id", "n"], unique=False
        )
