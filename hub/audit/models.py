"""The audit event table: append-only, hash-chained by ``seq``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    """One audit event. ``hash`` = SHA-256(prev_hash || RFC 8785 JSON of the event body)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_ts", "ts"),
        Index("ix_audit_event_actor", "actor_sub"),
        Index("ix_audit_event_action", "action"),
        Index("ix_audit_event_contract", "contract_id"),
        Index("ix_audit_event_project", "project_id"),
    )

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    event_id: str = Field(max_length=36, unique=True)
    ts: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor_sub: str = Field(max_length=255)
    actor_role: str = Field(max_length=64)
    actor_org: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=128)
    resource_type: str = Field(max_length=64)
    resource_id: str | None = Field(default=None, max_length=255)
    decision: str = Field(max_length=16)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contract_id: str | None = Field(default=None, max_length=64)
    project_id: str | None = Field(default=None, max_length=64)
    dataset_id: str | None = Field(default=None, max_length=255)
    purpose: str | None = Field(default=None, max_length=2000)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
