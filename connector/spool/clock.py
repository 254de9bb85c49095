"""The one time format of the spool: UTC, microseconds, ``+00:00`` (sorts lexically)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current UTC time in the spool's format."""
    return datetime.now(UTC).isoformat(timespec="microseconds")
