"""What every area's tables share (kernel): new row ids, the current UTC time, and
timezone-aware timestamp columns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime


def new_id() -> str:
    """A new random row id (UUID 4, as text)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def timestamp_column(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    """A column holding a timezone-aware timestamp."""
    return Column(DateTime(timezone=True), nullable=nullable)
