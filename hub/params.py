"""Value types of the API. Bounded integers for request parameters: every integer a
client sends fits the database's signed 64-bit INTEGER, so an oversized or negative
number is a 400 problem+json naming the parameter, never a 500 (``OverflowError`` in the
driver). UTC timestamps for answers: always with their offset (RFC 3339), also on
SQLite, which returns them naive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

SQL_INT_MAX = 2**63 - 1
"""The largest integer SQLite and PostgreSQL (BIGINT) store."""

EventSeq = Annotated[int, Path(ge=1, le=SQL_INT_MAX, description="Event sequence number.")]
"""An audit event's ``seq`` in a path."""

TreeSize = Annotated[int, Query(ge=1, le=SQL_INT_MAX, description="Merkle tree size.")]
"""A Merkle tree size (number of events) in a query."""


def bounded_int(text: str | None, lo: int = 1, hi: int = SQL_INT_MAX) -> int | None:
    """``text`` as an integer in ``lo..hi``; ``None`` when empty; ``ValueError`` otherwise
    (for handlers that read a raw query string, e.g. web pages answering in French)."""
    if not text:
        return None
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(f"{value} is outside {lo}..{hi}")
    return value


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A timestamp in an answer: naive values (SQLite) are UTC, so it always has an offset."""
