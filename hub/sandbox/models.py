"""Sandbox tables: query jobs (the airlock's and the privacy budget's are beside)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from hub.columns import timestamp_column, utcnow

ACTIVE = ("queued", "running")
"""The statuses of a job that a hub process still has to finish."""


class QueryJob(SQLModel, table=True):
    """One researcher query: SQL, decision, status, timings, resources, result, report.

    While the job is active, ``runner`` is the sandbox runtime (hub process) that holds it
    and ``heartbeat_at`` the last time that runtime said it is alive (``lease``).
    """

    __tablename__ = "sandbox_query_job"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    project_id: str = Field(max_length=64, index=True)
    submitted_by: str = Field(max_length=255, index=True)
    sql_text: str = Field(sa_column=Column(Text, nullable=False))
    sql_hash: str = Field(max_length=64)
    purpose: str | None = Field(default=None, max_length=2000)
    epsilon: float | None = None  # the ε it asked to spend (None: the contract's default)
    status: str = Field(max_length=16, index=True)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tables: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contract_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stats: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(False))
    started_at: datetime | None = Field(default=None, sa_column=timestamp_column(True))
    finished_at: datetime | None = Field(default=None, sa_column=timestamp_column(True))
    runner: str | None = Field(default=None, max_length=128)
    heartbeat_at: datetime | None = Field(default=None, sa_column=timestamp_column(True))
