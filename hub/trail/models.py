"""Audit tables: the append-only hash-chained events, the chain head, signed checkpoints,
purge records, raised alerts and the periodic tasks' last runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

GENESIS_HASH = "0" * 64


class EventFields(SQLModel):
    """The columns an event has before it takes its place in the chain."""

    event_id: str = Field(max_length=36, unique=True)
    ts: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    actor_sub: str = Field(max_length=255)
    actor_role: str = Field(max_length=255)  # every role of the principal, comma-joined
    actor_org: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=128)
    resource_type: str = Field(max_length=64)
    resource_id: str | None = Field(default=None, max_length=255)
    decision: str = Field(max_length=16)
    reasons: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    contract_id: str | None = Field(default=None, max_length=2000)  # every contract of a query
    project_id: str | None = Field(default=None, max_length=64)
    dataset_id: str | None = Field(default=None, max_length=255)
    purpose: str | None = Field(default=None, max_length=2000)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)


class AuditEvent(EventFields, table=True):
    """One audit event. ``hash`` = SHA-256(prev_hash || RFC 8785 JSON of the event body)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_ts", "ts"),
        Index("ix_audit_event_action", "action"),
        Index("ix_audit_event_contract", "contract_id"),
        Index("ix_audit_event_project", "project_id"),
        Index("ix_audit_event_dataset", "dataset_id"),
        Index("ix_audit_event_org", "actor_org"),
        Index("ix_audit_event_decision_ts", "decision", "ts"),
        Index("ix_audit_event_actor_ts", "actor_sub", "ts"),
    )

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    seal: str | None = Field(default=None, max_length=64)  # see hub.trail.seal; not hashed


class AuditPending(EventFields, table=True):
    """An event recorded by a committed transaction and not yet sealed into the chain."""

    __tablename__ = "audit_pending"

    id: int | None = Field(default=None, primary_key=True)


class AuditHead(SQLModel, table=True):
    """The chain head (one row, ``id`` = 1): last ``seq`` and its hash, updated under the
    chain lock so an append never scans the event table."""

    __tablename__ = "audit_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int
    hash: str = Field(max_length=64)
    # the first seq that must carry a seal (events appended before seals existed do not)
    sealed_from: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class AuditCheckpoint(SQLModel, table=True):
    """A signed tree head: the RFC 6962 root over the first ``tree_size`` event hashes.

    ``peaks`` (hex hashes of the tree's perfect subtrees) let the tree grow and proofs be
    computed after the events before it were purged; they are checked against ``root_hash``.
    """

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    tree_size: int = Field(unique=True)
    root_hash: str = Field(max_length=64)
    head_hash: str = Field(max_length=64)
    signed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=128)
    peaks: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class AuditPurge(SQLModel, table=True):
    """A retention purge: events up to ``up_to_seq`` removed, sealed by a checkpoint."""

    __tablename__ = "audit_purge"

    id: int | None = Field(default=None, primary_key=True)
    period_end: str = Field(max_length=10)
    up_to_seq: int
    checkpoint_id: int = Field(foreign_key="audit_checkpoint.id")
    events: int
    purged_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditAlert(SQLModel, table=True):
    """An alert raised by a rule; ``key`` makes raising idempotent per rule."""

    __tablename__ = "audit_alert"
    __table_args__ = (UniqueConstraint("rule", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=64)
    key: str = Field(max_length=255)
    message: str = Field(max_length=2000)
    actor_sub: str | None = Field(default=None, max_length=255)
    contract_id: str | None = Field(default=None, max_length=64)
    event_seqs: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    raised_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditVerification(SQLModel, table=True):
    """The outcome of one verification run (the DPO page shows the latest)."""

    __tablename__ = "audit_verification"

    id: int | None = Field(default=None, primary_key=True)
    ran_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ok: bool
    events: int
    problems: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class AuditTaskRun(SQLModel, table=True):
    """The last run of one periodic audit task (``hub.audit.schedule``), shared by every hub
    on the database: claiming a run moves ``started_at`` forward only when the period has
    elapsed, so one hub runs each period."""

    __tablename__ = "audit_task_run"

    task: str = Field(primary_key=True, max_length=32)
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    runner: str = Field(max_length=128)
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    ok: bool | None = None
    detail: str | None = Field(default=None, max_length=500)
