"""Names instead of identifiers on the pages: organisation names, project titles, and a
contract shown as the title of its project. The identifier stays on hover (``title``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from hub.contracts.models import Contract
from hub.registry.models import Organisation, Project


def names_for(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Id → name for the organisations, projects and contracts among ``ids`` (others are
    left out: the page shows their identifier)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    names: dict[str, str] = {}
    for org_id, name in session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted))
    ):
        names[org_id] = name
    for project_id, title in session.exec(
        select(Project.id, Project.title).where(col(Project.id).in_(wanted))
    ):
        names[project_id] = title
    for contract_id, title in session.exec(
        select(Contract.id, Project.title)
        .join(Project, col(Project.id) == col(Contract.project_id))
        .where(col(Contract.id).in_(wanted))
    ):
        names[contract_id] = f"contrat « {title} »"
    return names
