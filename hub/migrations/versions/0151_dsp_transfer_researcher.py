"""dataspace: the researcher a transfer's pull token is bound to

Revision ID: 0151_dsp_transfer_researcher
Revises: 0150_dsp_delivery
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0151_dsp_transfer_researcher"
down_revision = "0150_dsp_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dsp_transfer") as batch:
        batch.add_column(sa.Column("researcher", AutoString(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dsp_transfer") as batch:
        batch.drop_column("researcher")
