"""Airlock tables: the held exact result of a reviewed job, and each checker's review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.columns import timestamp_column, utcnow

PENDING, RELEASED, REJECTED = "pending_review", "released", "rejected"


class OutputHold(SQLModel, table=True):
    """An exact result held until two output checkers approve it (or one rejects it).

    ``result`` is never served while ``status`` is ``pending_review``: the job's own
    ``result`` stays empty until the release copies it there. ``cells`` keeps, per
    released row, its pupil count, pupil sketch and values (differencing of later
    results); ``findings`` is the checker's disclosure report.
    """

    __tablename__ = "sandbox_output_hold"
    job_id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(max_length=64, index=True)
    submitted_by: str = Field(max_length=255)
    status: str = Field(max_length=16, index=True)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    findings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    cells: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(False))
    decided_at: datetime | None = Field(default=None, sa_column=timestamp_column(True))


class OutputReview(SQLModel, table=True):
    """One output checker's decision on a held result, with their comment."""

    __tablename__ = "sandbox_output_review"
    __table_args__ = (UniqueConstraint("job_id", "checker", name="uq_sandbox_output_review"),)
    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=36, index=True)
    checker: str = Field(max_length=255)
    decision: str = Field(max_length=16)
    comment: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(False))
