"""dataspace: the lab a trusted participant acts for

Revision ID: 0090_dsp_participant_org
Revises: 0060_dataspace
Create Date: 2026-12-06 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0090_dsp_participant_org"
down_revision = "0060_dataspace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dsp_participant") as batch:
        batch.add_column(sa.Column("organisation_id", AutoString(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dsp_participant") as batch:
        batch.drop_column("organisation_id")
