"""pseudonym: the erasure register (keyed digests, per-contract pseudonyms, rewrites)

Revision ID: 0040_erasure_register
Revises: 0004_ingest
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0040_erasure_register"
down_revision = "0004_ingest"
branch_labels = ("pseudonym",)
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "erasure_request",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("digest", _STR(length=64), nullable=False),
        sa.Column("origin", _STR(length=16), nullable=False),
        sa.Column("requested_by", _STR(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "erasure_pseudonym",
        sa.Column("contract_id", _STR(length=36), nullable=False),
        sa.Column("pseudonym", _STR(length=64), nullable=False),
        sa.Column("request_id", _STR(length=36), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["erasure_request.id"]),
        sa.PrimaryKeyConstraint("contract_id", "pseudonym"),
    )
    with op.batch_alter_table("erasure_pseudonym", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_pseudonym_request_id"), ["request_id"], unique=False
        )
    op.create_table(
        "erasure_rewrite",
        sa.Column("id", _STR(length=36), nullable=False),
        sa.Column("request_ids", sa.JSON(), nullable=False),
        sa.Column("batch_id", _STR(length=36), nullable=False),
        sa.Column("old_key", _STR(length=900), nullable=False),
        sa.Column("new_key", _STR(length=900), nullable=False),
        sa.Column("old_sha256", _STR(length=64), nullable=False),
        sa.Column("new_sha256", _STR(length=64), nullable=False),
        sa.Column("rows_removed", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("manifest_jws", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["ingest_batch.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_rewrite", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_rewrite_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure_rewrite", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_rewrite_batch_id"))
    op.drop_table("erasure_rewrite")
    with op.batch_alter_table("erasure_pseudonym", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_pseudonym_request_id"))
    op.drop_table("erasure_pseudonym")
    op.drop_table("erasure_request")
