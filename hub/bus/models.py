"""The transactional outbox: events written in the same transaction as the change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel


class OutboxEvent(SQLModel, table=True):
    """One event to publish; ``published_at`` is set once the bus acknowledged it."""

    __tablename__ = "outbox_event"
    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64)
    topic: str = Field(max_length=128)
    key: str = Field(max_length=255)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC),
        sa_column=Column(DateTime(timezone=True), nullable=False),
    )
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    attempts: int = Field(default=0)
