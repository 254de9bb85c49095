"""Catalog table: a provider's dataset offer and the statistics ingestion keeps current."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from hub.columns import new_id, timestamp_column, utcnow


class Dataset(SQLModel, table=True):
    """A dataset in the catalog (DCAT-AP ``dcat:Dataset``)."""

    __tablename__ = "dataset"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    provider_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    title: str = Field(max_length=300)
    description: str = Field(max_length=5000)
    xapi_profile: str = Field(max_length=500)
    verbs: list[str] = Field(sa_column=Column(JSON, nullable=False))
    fields: list[str] = Field(sa_column=Column(JSON, nullable=False))
    keywords: list[str] = Field(sa_column=Column(JSON, nullable=False))
    coverage: str = Field(max_length=500)
    update_frequency: str = Field(max_length=16)
    statement_count: int = Field(default=0)
    batch_count: int = Field(default=0)
    first_statement_at: datetime | None = Field(
        default=None, sa_column=timestamp_column(nullable=True)
    )
    last_statement_at: datetime | None = Field(
        default=None, sa_column=timestamp_column(nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
