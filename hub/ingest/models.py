"""The batch registry: one row per (connector, sequence number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.columns import new_id, timestamp_column, utcnow


class BatchStatus:
    """Life of a batch: URLs issued → verified and registered, or quarantined."""

    PRESIGNED = "presigned"
    REGISTERED = "registered"
    QUARANTINED = "quarantined"


class IngestBatch(SQLModel, table=True):
    """A batch announced by a connector; ``files`` lists ``{key, date, index, sha256, bytes}``."""

    __tablename__ = "ingest_batch"
    __table_args__ = (UniqueConstraint("connector_id", "sequence", name="uq_ingest_batch_seq"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    connector_id: str = Field(foreign_key="connector.id", max_length=36, index=True)
    sequence: int
    contract_id: str = Field(max_length=36, index=True)
    provider_id: str = Field(max_length=36)
    dataset_id: str = Field(max_length=255)
    status: str = Field(max_length=16, index=True)
    files: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    row_count: int | None = None
    time_from: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    time_to: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    manifest_jws: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
