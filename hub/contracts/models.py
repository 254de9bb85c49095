"""Contract tables: contracts, their versions, signatures, review decisions, party keys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.columns import new_id, timestamp_column, utcnow


class Contract(SQLModel, table=True):
    """A data-sharing agreement; its terms live in :class:`ContractVersion` rows."""

    __tablename__ = "contract"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    provider_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    lab_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    project_id: str = Field(foreign_key="project.id", max_length=36, index=True)
    state: str = Field(max_length=16, index=True)
    version: int = Field(default=1)
    key_version: str = Field(default="v1", max_length=8)  # pseudonymisation master key
    review_status: str = Field(default="none", max_length=24)
    valid_from: date
    valid_until: date
    created_by: str = Field(max_length=255)
    suspended_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    suspension_reason: str | None = Field(default=None, max_length=2000)
    termination_reason: str | None = Field(default=None, max_length=2000)
    finalized_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ContractVersion(SQLModel, table=True):
    """One immutable version of a contract's terms and the digest of its signed document."""

    __tablename__ = "contract_version"
    __table_args__ = (UniqueConstraint("contract_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contract.id", max_length=36, index=True)
    version: int
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64)
    author_sub: str = Field(max_length=255)
    author_party: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ContractSignature(SQLModel, table=True):
    """A party's detached JWS over one exact version."""

    __tablename__ = "contract_signature"
    __table_args__ = (UniqueConstraint("contract_id", "version", "party"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contract.id", max_length=36, index=True)
    version: int
    party: str = Field(max_length=16)
    kid: str = Field(max_length=64)
    jws: str = Field(sa_column=Column(Text, nullable=False))
    signed_by: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ReviewDecision(SQLModel, table=True):
    """One ethics reviewer's decision on one version (a reviewer decides once)."""

    __tablename__ = "review_decision"
    __table_args__ = (UniqueConstraint("contract_id", "version", "reviewer_sub"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(foreign_key="contract.id", max_length=36, index=True)
    version: int
    reviewer_sub: str = Field(max_length=255)
    reviewer_org: str | None = Field(default=None, max_length=36)
    verdict: str = Field(max_length=24)
    reason: str = Field(max_length=5000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class OrganisationKey(SQLModel, table=True):
    """An organisation's Ed25519 public key for signing contracts (kid = RFC 7638)."""

    __tablename__ = "organisation_key"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    kid: str = Field(max_length=64, unique=True)
    public_key_pem: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
