"""The registry's policy data documents (interface 3): ``data.edh.researchers``,
``projects`` and ``connectors``, published by ``hub.enforcement.data``."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from hub.enforcement.public import PolicyDocument
from hub.registry.models import Connector, Project, ProjectMember, Researcher


def researcher_documents(session: Session) -> dict[str, dict[str, Any]]:
    """``data.edh.researchers``, keyed by token subject."""
    return {
        r.subject: {
            "id": r.id,
            "lab_id": r.organisation_id,
            "accredited_from": r.accredited_from.isoformat(),
            "accredited_until": r.accredited_until.isoformat(),
            "revoked": r.revoked_at is not None,
        }
        for r in session.exec(select(Researcher)).all()
    }


def project_documents(session: Session) -> dict[str, dict[str, Any]]:
    """``data.edh.projects``: lab, purpose and member subjects of every project."""
    members: dict[str, list[str]] = {}
    rows = session.exec(
        select(ProjectMember.project_id, Researcher.subject).where(
            ProjectMember.researcher_id == Researcher.id
        )
    ).all()
    for project_id, subject in rows:
        members.setdefault(project_id, []).append(subject)
    return {
        p.id: {"lab_id": p.lab_id, "members": sorted(members.get(p.id, [])), "purpose": p.purpose}
        for p in session.exec(select(Project)).all()
    }


def connector_documents(session: Session) -> dict[str, dict[str, Any]]:
    """``data.edh.connectors``: organisation and revocation of every connector."""
    return {
        c.id: {"organisation_id": c.organisation_id, "revoked": c.revoked_at is not None}
        for c in session.exec(select(Connector)).all()
    }


DOCUMENTS = (
    PolicyDocument("researchers", frozenset({"researcher"}), researcher_documents),
    PolicyDocument(
        "projects", frozenset({"project", "project_member", "researcher"}), project_documents
    ),
    PolicyDocument("connectors", frozenset({"connector"}), connector_documents),
)
