"""audit: chain head, signed checkpoints, purges, alerts, search indexes

Revision ID: 0008_audit
Revises: 0001_foundation
Create Date: 2026-11-23 14:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_audit"
down_revision = "0001_foundation"
branch_labels = ("audit",)
depends_on = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", _STR(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) "
        "SELECT 1, seq, hash FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)"
    )
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", _STR(length=36), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_sub", _STR(length=255), nullable=False),
        sa.Column("actor_role", _STR(length=64), nullable=False),
        sa.Column("actor_org", _STR(length=64), nullable=True),
        sa.Column("action", _STR(length=128), nullable=False),
        sa.Column("resource_type", _STR(length=64), nullable=False),
        sa.Column("resource_id", _STR(length=255), nullable=True),
        sa.Column("decision", _STR(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("contract_id", _STR(length=64), nullable=True),
        sa.Column("project_id", _STR(length=64), nullable=True),
        sa.Column("dataset_id", _STR(length=255), nullable=True),
        sa.Column("purpose", _STR(length=2000), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", _STR(length=64), nullable=False),
        sa.Column("head_hash", _STR(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", _STR(length=64), nullable=False),
        sa.Column("signature", _STR(length=128), nullable=False),
        sa.Column("peaks", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tree_size"),
    )
    op.create_table(
        "audit_purge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_end", _STR(length=10), nullable=False),
        sa.Column("up_to_seq", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["audit_checkpoint.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", _STR(length=64), nullable=False),
        sa.Column("key", _STR(length=255), nullable=False),
        sa.Column("message", _STR(length=2000), nullable=False),
        sa.Column("actor_sub", _STR(length=255), nullable=True),
        sa.Column("contract_id", _STR(length=64), nullable=True),
        sa.Column("event_seqs", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "key"),
    )
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_dataset", ["dataset_id"], unique=False)
        batch_op.create_index("ix_audit_event_org", ["actor_org"], unique=False)
        batch_op.create_index("ix_audit_event_decision_ts", ["decision", "ts"], unique=False)
        batch_op.create_index("ix_audit_event_actor_ts", ["actor_sub", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_actor_ts")
        batch_op.drop_index("ix_audit_event_decision_ts")
        batch_op.drop_index("ix_audit_event_org")
        batch_op.drop_index("ix_audit_event_dataset")
    op.drop_table("audit_verification")
    op.drop_table("audit_alert")
    op.drop_table("audit_purge")
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_head")
    op.drop_table("audit_pending")
