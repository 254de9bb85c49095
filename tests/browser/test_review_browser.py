"""The ethics committee's review pages in a real Chromium (screenshots in test-artifacts/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from tests.support.browser import ARTIFACTS, LiveHub
from tests.support.contracts_fixtures import World, build_world, issuer_auth

pytestmark = pytest.mark.browser


@pytest.fixture
def live_world(live_hub: LiveHub) -> Iterator[World]:
    """Parties registered in the live hub's own database through its real API."""
    with TestClient(create_app(context=live_hub.ctx)) as client:
        yield build_world(client, issuer_auth(live_hub.ctx))


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review-{name}.png"), full_page=True)


def test_quorum_of_two_reviewers_approves_a_request(
    live_hub: LiveHub, live_world: World, page: Any
) -> None:
    live_hub.ctx.settings.review.quorum = 2
    cid = live_world.accepted(retention_days=90)["id"]

    live_hub.login(page, "ethics_reviewer", sub="comite.1")
    page.goto(f"{live_hub.url}/review")
    assert page.locator("html").get_attribute("lang") == "fr"
    _shot(page, "file")
    page.get_by_role("link", name="Examiner la demande : Persévérance").click()
    assert page.get_by_role("heading", name="Conditions complètes (version 2)").is_visible()
    diff = page.locator(".diff table")
    assert "Durée de conservation (jours)" in diff.inner_text()
    assert diff.locator("del").inner_text() == "180" and diff.locator("ins").inner_text() == "90"

    page.locator("label[for=verdict-approve]").click()
    page.get_by_role("button", name="Enregistrer la décision").click()  # no reason: blocked
    assert page.locator("#motif:invalid").count() == 1
    page.get_by_label("Motif (obligatoire, au moins 10 caractères)").fill(
        "Finalité d'intérêt public, minimisation suffisante."
    )
    page.get_by_role("button", name="Enregistrer la décision").click()
    assert "Décision enregistrée" in page.get_by_role("status").first.text_content()
    assert page.locator("#avis").text_content() == "en attente d'avis"
    assert "déjà rendu votre décision" in page.locator("main").inner_text()
    _shot(page, "premier-avis")

    live_hub.login(page, "ethics_reviewer", sub="comite.2")
    page.goto(f"{live_hub.url}/review/{cid}")
    page.locator("label[for=verdict-approve]").click()
    page.get_by_label("Motif (obligatoire, au moins 10 caractères)").fill(
        "Avis favorable, garanties suffisantes."
    )
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/*?enregistre=1")
    assert page.locator("#etat").text_content() == "approuvé par le comité"
    assert page.locator("#etat").get_attribute("title") == "AGREED"  # the code on hover
    assert page.locator("#avis").text_content() == "approuvé"
    history = page.get_by_role("table", name="Historique des décisions").inner_text()
    assert "comite.1" in history and "comite.2" in history
    _shot(page, "quorum-atteint")


def test_a_party_reviewer_is_refused_and_other_roles_cannot_enter(
    live_hub: LiveHub, live_world: World, page: Any
) -> None:
    cid = live_world.accepted()["id"]
    live_hub.login(page, "ethics_reviewer", sub="juge.partie", org=live_world.provider_id)
    page.goto(f"{live_hub.url}/review/{cid}")
    assert "conflit d'intérêts" in page.locator("#conflit").inner_text()
    assert page.get_by_role("button", name="Enregistrer la décision").count() == 0
    assert page.locator("#etat").text_content() == "accepté, en attente de l'avis du comité"
    _shot(page, "conflit-interets")

    live_hub.login(page, "provider", sub="ent.editeur", org=live_world.provider_id)
    response = page.goto(f"{live_hub.url}/review")
    assert response.status == 403
    assert "réservée" in page.get_by_role("alert").inner_text()
