"""Names instead of identifiers on the pages: organisation names, project and dataset
titles, and a contract shown as the title of its project. The identifier stays on hover
(``title``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from hub.catalog.models import Dataset
from hub.contracts.models import Contract
from hub.registry.models import Organisation, Project


def names_for(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Id → name for the organisations, projects, datasets and contracts among ``ids``
    (others are left out: the page shows their identifier)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    named = (
        (select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(wanted)), "{}"),
        (select(Project.id, Project.title).where(col(Project.id).in_(wanted)), "{}"),
        (
            select(Dataset.id, Dataset.title).where(col(Dataset.id).in_(wanted)),
            "jeu de données « {} »",
        ),
        (
            select(Contract.id, Project.title)
            .join(Project, col(Project.id) == col(Contract.project_id))
            .where(col(Contract.id).in_(wanted)),
            "contrat « {} »",
        ),
    )
    return {
        ident: shape.format(name) for query, shape in named for ident, name in session.exec(query)
    }
