"""The registry's published interface: the only module other areas and the pages import.

The registry owns the organisations (providers, labs, the hub), the researchers and their
accreditation, the projects and their members, and the vendors' connectors. It publishes
read-only records of those rows, the look-ups other areas make on them, the organisation
kinds, the creation of an organisation (the data-space test fixture's provider) and the
names the pages show instead of identifiers.

Rows handed out are the registry's own: callers read them through the record Protocols
below (mypy refuses a write) and change them only by asking the registry. Look-ups raise
``NotFound`` (``hub.errors``) for an unknown id, ``ValidationFailed`` for an organisation
of another kind; ``find_*`` answer None instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlmodel import Session

from hub.registry import service
from hub.registry.schemas import OrganisationIn, OrgKind
from hub.registry.service import names_of, organisation_names, project_members, project_titles
from hub.trail.writer import Actor

__all__ = [
    "ConnectorRecord",
    "OrgKind",
    "OrganisationIn",
    "OrganisationRecord",
    "ProjectRecord",
    "ResearcherRecord",
    "create_org",
    "find_connector",
    "find_project",
    "get_org",
    "get_project",
    "names_of",
    "org_by_siren",
    "organisation_names",
    "project_members",
    "project_titles",
    "projects_of",
    "researcher_by_subject",
]


class OrganisationRecord(Protocol):
    """An organisation, read-only: a provider, a lab or the hub."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...


class ResearcherRecord(Protocol):
    """A researcher, read-only."""

    @property
    def id(self) -> str: ...
    def is_accredited(self, on: date) -> bool:
        """Accredited on day ``on``: inside the validity window and not revoked."""
        ...


class ProjectRecord(Protocol):
    """A research project of a lab, read-only."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def lab_id(self) -> str: ...


class ConnectorRecord(Protocol):
    """A vendor's connector, read-only: its provider, its public key (PEM) and when it was
    revoked (None while live)."""

    @property
    def id(self) -> str: ...
    @property
    def organisation_id(self) -> str: ...
    @property
    def public_key_pem(self) -> str: ...
    @property
    def revoked_at(self) -> datetime | None: ...


def get_org(session: Session, org_id: str, kind: OrgKind | None = None) -> OrganisationRecord:
    """The organisation ``org_id`` (of ``kind`` when given)."""
    return service.get_org(session, org_id, kind)


def org_by_siren(session: Session, siren: str) -> OrganisationRecord | None:
    """The organisation registered with SIREN ``siren``, if any."""
    return service.org_by_siren(session, siren)


def create_org(session: Session, actor: Actor, data: OrganisationIn) -> OrganisationRecord:
    """Register an organisation (audited in the caller's transaction); ``Conflict`` when
    its SIREN is already registered."""
    return service.create_org(session, actor, data)


def researcher_by_subject(session: Session, subject: str) -> ResearcherRecord | None:
    """The researcher whose tokens carry ``subject``, if registered."""
    return service.researcher_by_subject(session, subject)


def get_project(session: Session, project_id: str) -> ProjectRecord:
    """The project ``project_id``."""
    return service.get_project(session, project_id)


def find_project(session: Session, project_id: str) -> ProjectRecord | None:
    """The project ``project_id``, if it exists."""
    return service.find_project(session, project_id)


def projects_of(session: Session, researcher_id: str) -> list[ProjectRecord]:
    """The projects ``researcher_id`` is a member of, by title."""
    return list(service.projects_of(session, researcher_id))


def find_connector(session: Session, connector_id: str) -> ConnectorRecord | None:
    """The connector ``connector_id`` (revoked or not), if it is registered."""
    return service.find_connector(session, connector_id)
