"""Registry tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.columns import new_id, timestamp_column, utcnow


class Organisation(SQLModel, table=True):
    """An EdTech provider, a research lab, or the hub itself."""

    __tablename__ = "organisation"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    siren: str = Field(max_length=9, unique=True, index=True)
    kind: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class Researcher(SQLModel, table=True):
    """A person in a lab; may query data only while accredited and not revoked."""

    __tablename__ = "researcher"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    subject: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    accreditation_granted_by: str = Field(max_length=200)
    accredited_from: date
    accredited_until: date
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    revocation_reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())

    def is_accredited(self, on: date) -> bool:
        """Accredited on day ``on``: inside the validity window and not revoked."""
        return self.revoked_at is None and self.accredited_from <= on <= self.accredited_until


class Project(SQLModel, table=True):
    """A research project: purpose, lab, members."""

    __tablename__ = "project"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    title: str = Field(max_length=300)
    purpose: str = Field(max_length=5000)
    lab_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ProjectMember(SQLModel, table=True):
    """Membership of a researcher in a project."""

    __tablename__ = "project_member"
    __table_args__ = (UniqueConstraint("project_id", "researcher_id"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(foreign_key="project.id", max_length=36, index=True)
    researcher_id: str = Field(foreign_key="researcher.id", max_length=36, index=True)
    added_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class Connector(SQLModel, table=True):
    """A vendor's connector: one Ed25519 key pair, bound to a provider organisation."""

    __tablename__ = "connector"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36, index=True)
    public_key_pem: str = Field(max_length=2000)
    key_id: str = Field(max_length=64, unique=True)
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
