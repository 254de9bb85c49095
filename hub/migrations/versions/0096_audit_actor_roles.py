"""Audit: an event's actor_role holds every role of the principal (comma-joined), which
outgrew 64 characters once the output checker role was added.

Revision ID: 0096_audit_actor_roles
Revises: 0075_audit_contract_ids
"""

from __future__ import annotations

import sqlmodel
from alembic import op

revision = "0096_audit_actor_roles"
down_revision = "0075_audit_contract_ids"
branch_labels = None
depends_on = None

TABLES = ("audit_event", "audit_pending")
_STR = sqlmodel.sql.sqltypes.AutoString


def _retype(old: int, new: int) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("actor_role", existing_type=_STR(length=old), type_=_STR(length=new))


def upgrade() -> None:
    _retype(64, 255)


def downgrade() -> None:
    _retype(255, 64)
