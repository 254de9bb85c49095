"""Audit: an event's contract_id holds every contract of a query (comma-joined ids), no
longer cut at 64 characters.

Revision ID: 0075_audit_contract_ids
Revises: 0012_audit_actor_index
"""

from __future__ import annotations

import sqlmodel
from alembic import op

revision = "0075_audit_contract_ids"
down_revision = "0012_audit_actor_index"
branch_labels = None
depends_on = None

TABLES = ("audit_event", "audit_pending")
_STR = sqlmodel.sql.sqltypes.AutoString


def _retype(old: int, new: int) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "contract_id", existing_type=_STR(length=old), type_=_STR(length=new)
            )


def upgrade() -> None:
    _retype(64, 2000)


def downgrade() -> None:
    _retype(2000, 64)
