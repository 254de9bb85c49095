"""Every page in a real Chromium: axe-core finds no serious or critical violation, the
review, research and output-checking forms work with the keyboard alone, and each page is
photographed at desktop and phone width (test-artifacts/screenshots/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.app import create_app
from hub.sandbox.airlock.models import OutputReview
from hub.sandbox.runtime import uninstall
from tests.support.accessibility import assert_accessible, screenshots, tab_to
from tests.support.audit_fixtures import seed
from tests.support.browser import LiveHub
from tests.support.contracts_fixtures import World, build_world, issuer_auth
from tests.support.sandbox_fixtures import build_sandbox_world

pytestmark = pytest.mark.browser
ROLES = ("ethics_reviewer", "researcher", "dpo")


@pytest.fixture
def world(live_hub: LiveHub, tmp_path: Path) -> Iterator[World]:
    """A contract awaiting review, two research projects with data (results released at
    once with noise, so the privacy budget shows), and audit events."""
    lake = tmp_path / "lake"
    lake.mkdir()
    build_sandbox_world(None, live_hub.ctx, lake, release_mode="differential_privacy")
    seed(live_hub.ctx, 3)
    with TestClient(create_app(context=live_hub.ctx)) as client:
        yield build_world(client, issuer_auth(live_hub.ctx))
    uninstall(live_hub.ctx)


def visit(page: Any, url: str, name: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert_accessible(page)
    screenshots(page, name)


def submit_review_with_the_keyboard(page: Any) -> None:
    tab_to(page, "verdict-approve")
    page.keyboard.press("Space")
    tab_to(page, "motif")
    page.keyboard.type("Finalité d'intérêt public, minimisation suffisante.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review/*?enregistre=1")


def submit_query_with_the_keyboard(page: Any, state: str = "terminée") -> None:
    tab_to(page, "sql")
    page.keyboard.press("Control+A")
    page.keyboard.type("SELECT school_id, count(DISTINCT pupil_id) AS eleves FROM statements ")
    page.keyboard.type("GROUP BY school_id ORDER BY school_id")
    tab_to(page, "purpose")  # optional; a purpose must match the contract's
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/research/jobs/*")
    page.wait_for_selector(f"#etat:has-text('{state}')", timeout=30_000)


def test_every_page_is_accessible_and_the_forms_work_with_the_keyboard(
    live_hub: LiveHub, world: World, page: Any
) -> None:
    cid = world.accepted(retention_days=90)["id"]
    url = live_hub.url
    visit(page, f"{url}/login", "connexion")
    visit(page, f"{url}/accessibilite", "accessibilite")
    live_hub.login(page, *ROLES, sub="alice")
    page.wait_for_url(f"{url}/")
    visit(page, f"{url}/", "accueil")
    visit(page, f"{url}/review", "comite-file")
    visit(page, f"{url}/review/{cid}", "comite-demande")
    submit_review_with_the_keyboard(page)
    assert "Décision enregistrée" in page.get_by_role("status").first.text_content()
    visit(page, page.url, "comite-decision-enregistree")
    visit(page, f"{url}/research", "chercheur")
    submit_query_with_the_keyboard(page)
    visit(page, page.url, "chercheur-resultat")
    for path, name in [
        ("/audit", "audit-journal"),
        ("/audit/evenements/1", "audit-evenement"),
        ("/audit/alertes", "audit-alertes"),
        ("/audit/points-de-controle", "audit-points-de-controle"),
        ("/audit/eleve", "audit-eleve"),
    ]:
        visit(page, f"{url}{path}", name)
    page.goto(f"{url}/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=30_000)  # rendered with local assets
    screenshots(page, "api-docs")


def approve_with_the_keyboard(page: Any) -> None:
    tab_to(page, "action-approve")
    page.keyboard.press("Space")
    assert page.locator("#action-approve").is_checked()
    tab_to(page, "commentaire")
    page.keyboard.type("Agrégats par école, aucun constat bloquant.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/controle-sorties/*?enregistre=1")


def test_the_output_checkers_pages_are_accessible_and_the_decision_works_with_the_keyboard(
    live_hub: LiveHub, page: Any, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    build_sandbox_world(None, live_hub.ctx, lake, release_mode="reviewed")
    try:
        url = live_hub.url
        live_hub.login(page, "researcher", sub="alice")
        page.goto(f"{url}/research")
        submit_query_with_the_keyboard(page, "en attente du contrôle des sorties")
        visit(page, page.url, "chercheur-resultat-retenu")
        job_id = page.url.rsplit("/", 1)[-1]
        live_hub.login(page, "output_checker", sub="carol")
        page.wait_for_url(f"{url}/")
        visit(page, f"{url}/", "accueil-controleur")
        assert page.get_by_role("link", name="Contrôle des sorties").first.is_visible()
        visit(page, f"{url}/controle-sorties", "controle-sorties-file")
        visit(page, f"{url}/controle-sorties/{job_id}", "controle-sorties-resultat")
        approve_with_the_keyboard(page)
        assert "Décision enregistrée" in page.get_by_role("status").first.text_content()
        visit(page, page.url, "controle-sorties-decision-enregistree")
        with Session(live_hub.ctx.engine) as session:  # ground truth: the review is stored
            reviews = session.exec(select(OutputReview)).all()
        assert [(r.job_id, r.checker, r.decision) for r in reviews] == [
            (job_id, "carol", "approve")
        ]
    finally:
        uninstall(live_hub.ctx)


def test_a_refused_page_an_unknown_address_and_the_mobile_menu_are_accessible(
    live_hub: LiveHub, page: Any
) -> None:
    live_hub.login(page, "researcher", sub="curieux")
    response = page.goto(f"{live_hub.url}/audit")
    assert response is not None and response.status == 403
    assert_accessible(page)
    screenshots(page, "acces-refuse")
    response = page.goto(f"{live_hub.url}/page-inconnue")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page introuvable"
    assert_accessible(page)
    screenshots(page, "page-introuvable")
    page.goto(f"{live_hub.url}/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("button", name="Menu").click()
    assert page.get_by_role("link", name="Espace chercheur").first.is_visible()
    assert_accessible(page)
