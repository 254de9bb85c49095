"""The hub's web sections and who may open them: the main navigation and the home page
list only the sections the signed-in roles can use (each page still checks its roles)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hub.auth import Role


@dataclass(frozen=True)
class Section:
    """One web section: its path, its name and what it lets a person do (French)."""

    path: str
    name: str
    what: str
    roles: frozenset[str]


SECTIONS = (
    Section(
        "/review",
        "Comité d'éthique",
        "Examiner les demandes de contrat et rendre un avis motivé.",
        frozenset({Role.ETHICS_REVIEWER}),
    ),
    Section(
        "/audit",
        "Journal d'audit",
        "Rechercher les accès, vérifier l'intégrité du journal, exporter, suivre les alertes.",
        frozenset({Role.DPO, Role.OPERATOR}),
    ),
    Section(
        "/research",
        "Espace chercheur",
        "Interroger les traces de vos projets dans le bac à sable et lire les résultats.",
        frozenset({Role.RESEARCHER}),
    ),
    Section(
        "/controle-sorties",
        "Contrôle des sorties",
        "Examiner les résultats exacts retenus et les approuver ou les rejeter avant diffusion.",
        frozenset({Role.OUTPUT_CHECKER}),
    ),
    Section(
        "/docs",
        "API",
        "Documentation interactive de l'API de la plateforme (OpenAPI).",
        frozenset(Role),
    ),
)


def sections_for(roles: Iterable[str]) -> list[Section]:
    """The sections open to any of ``roles``, in navigation order."""
    held = set(roles)
    return [s for s in SECTIONS if held & s.roles]
