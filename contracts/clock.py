"""Time helpers shared by the hub and the connector."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(ts: datetime) -> datetime:
    """``ts`` in UTC; a naive value is taken as UTC (SQLite returns timestamps naive), one
    already in UTC is returned as it is (no conversion to make)."""
    if ts.tzinfo is UTC:
        return ts
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
