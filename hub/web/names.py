"""Names instead of identifiers on the pages: organisation names, project and dataset
titles, and a contract shown as the title of its project. The identifier stays on hover
(``title``). Each area answers for its own names."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from hub.catalog.public import dataset_titles
from hub.contracts.public import projects_of_contracts
from hub.registry.public import names_of, project_titles


def names_for(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Id → name for the organisations, projects, datasets and contracts among ``ids``
    (others are left out: the page shows their identifier)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    found = names_of(session, wanted)
    found |= {i: f"jeu de données « {t} »" for i, t in dataset_titles(session, wanted).items()}
    projects = projects_of_contracts(session, wanted)
    titles = project_titles(session, set(projects.values()))
    found |= {c: f"contrat « {titles[p]} »" for c, p in projects.items() if p in titles}
    return found
