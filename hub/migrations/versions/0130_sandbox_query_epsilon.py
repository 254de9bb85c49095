"""sandbox: the ε a query asked to spend

A query under differential privacy may ask to spend more (or less) than the contract's
default ``epsilon_per_query``, up to the contract's ``epsilon_max_per_query``; the job
keeps what it asked for, so that a job resumed by another hub is vetted again with it.
NULL: the contract's default.

Revision ID: 0130_sandbox_query_epsilon
Revises: 0095_drop_released_cell
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0130_sandbox_query_epsilon"
down_revision = "0095_drop_released_cell"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_query_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epsilon", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_query_job", schema=None) as batch_op:
        batch_op.drop_column("epsilon")
