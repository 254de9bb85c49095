"""The privacy budget ledger: one row per differentially private release."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from hub.columns import timestamp_column, utcnow


class BudgetSpend(SQLModel, table=True):
    """ε and δ one released query spent on a project, with how the noise was calibrated."""

    __tablename__ = "sandbox_dp_spend"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    project_id: str = Field(max_length=64, index=True)
    job_id: str = Field(max_length=36, unique=True)
    epsilon: float
    delta: float
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column(False))
