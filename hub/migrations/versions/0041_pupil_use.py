"""pseudonym: the record of use (keyed digests of the pupils in each released query)

Revision ID: 0041_pupil_use
Revises: 0040_erasure_register
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0041_pupil_use"
down_revision = "0040_erasure_register"
branch_labels = None
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "pupil_use",
        sa.Column("digest", _STR(length=64), nullable=False),
        sa.Column("job_id", _STR(length=36), nullable=False),
        sa.Column("contract_id", _STR(length=36), nullable=False),
        sa.Column("project_id", _STR(length=64), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", "job_id"),
    )


def downgrade() -> None:
    op.drop_table("pupil_use")
