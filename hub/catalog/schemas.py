"""Catalog API payloads (unknown fields refused)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from contracts.model import FieldName
from hub.params import UtcDatetime

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Iri = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S{3,490}$")]


class Frequency(StrEnum):
    """EU frequency vocabulary (DCAT-AP ``dct:accrualPeriodicity``)."""

    CONTINUOUS = "CONT"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    ANNUAL = "ANNUAL"


class DatasetIn(BaseModel):
    """A provider's description of a dataset it offers."""

    model_config = ConfigDict(extra="forbid")

    provider_id: str = Field(max_length=36)
    title: Short
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=5000)
    ]
    xapi_profile: Iri = Field(description="IRI of the xAPI profile the statements follow.")
    verbs: list[Iri] = Field(min_length=1, max_length=100, description="xAPI verb IRIs.")
    fields: list[FieldName] = Field(min_length=1, max_length=100, description="Offered columns.")
    keywords: list[Short] = Field(default_factory=list, max_length=30)
    coverage: Short = Field(description="Who and where: e.g. 'collèges, académie de Lyon'.")
    update_frequency: Frequency

    @field_validator("verbs", "fields", "keywords")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("contains duplicates")
        return v


class DatasetOut(BaseModel):
    id: str
    provider_id: str
    title: str
    description: str
    xapi_profile: str
    verbs: list[str]
    fields: list[str]
    keywords: list[str]
    coverage: str
    update_frequency: Frequency
    statement_count: int
    batch_count: int
    first_statement_at: UtcDatetime | None
    last_statement_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
