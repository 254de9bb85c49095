"""The audit pages show names where the hub knows them: a dataset by its catalog title,
a contract by its project's title, the identifier only on hover."""

from __future__ import annotations

import html
import re

from tests.support.contracts_fixtures import World
from tests.support.web import form

BROWSER = {"accept": "text/html"}


def sign_in_as_dpo(world: World) -> None:
    token = world.client.app.state.hub.issuer.mint("dpo.1", ["dpo"])  # type: ignore[attr-defined]
    data = form(world.client, token=token, next="/audit")
    assert world.client.post("/login", data=data, follow_redirects=False).status_code == 303


def page(world: World, path: str) -> str:
    response = world.client.get(path, headers=BROWSER)
    assert response.status_code == 200, path
    return html.unescape(response.text)


def bare_identifiers(page: str, ident: str) -> int:
    """Occurrences of ``ident`` in the page's tables other than in a hover title (the
    search form and the links carry it by design)."""
    tables = "".join(re.findall(r"<table.*?</table>", page, flags=re.S))
    assert ident in tables
    return tables.count(ident) - tables.count(f'title="{ident}"')


def test_the_audit_pages_name_the_dataset_and_the_contract(world: World) -> None:
    contract_id = world.accepted()["id"]
    sign_in_as_dpo(world)
    dataset = "jeu de données « Vidéos pédagogiques FUN-MOOC »"
    published = page(world, "/audit?action=dataset.created")
    assert f'<span title="{world.dataset_id}">{dataset}</span>' in published
    assert bare_identifiers(published, world.dataset_id) == 0
    reviewed = page(world, f"/audit?contract={contract_id}")
    assert f'<span title="{contract_id}">contrat « Persévérance »</span>' in reviewed
    assert bare_identifiers(reviewed, contract_id) == 0

    seq = re.findall(r'href="/audit/evenements/(\d+)"', published)
    assert len(seq) == 1
    detail = page(world, f"/audit/evenements/{seq[0]}")
    assert f'<td><span title="{world.dataset_id}">{dataset}</span></td>' in detail
