"""The DPO's pages in a real Chromium: search, detail, verification status, export, alerts."""

from __future__ import annotations

from typing import Any

from hub.db import session_scope
from hub.trail.writer import Decision, record
from tests.support.audit_fixtures import draft, seed, sql
from tests.support.browser import LiveHub


def test_dpo_searches_reads_verifies_and_sees_tampering(live_hub: LiveHub, page: Any) -> None:
    seed(live_hub.ctx, 6)
    with session_scope(live_hub.ctx.engine) as session:
        record(session, draft(7, decision=Decision.DENY, sub="eve"))
    live_hub.login(page, "dpo", sub="dpo.1")
    page.goto(f"{live_hub.url}/audit")
    assert page.locator("html").get_attribute("lang") == "fr"
    status = page.get_by_role("status")
    assert "pas encore été vérifié" in status.inner_text()
    page.get_by_role("button", name="Vérifier maintenant").click()
    verified = page.locator("#etat-verification").text_content()
    assert "intègre" in verified and "9 événements vérifiés" in verified

    page.get_by_label("Acteur (identifiant)").fill("eve")
    page.get_by_label("Décision").select_option("deny")
    page.get_by_role("button", name="Rechercher").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and "Refusé" in rows.first.text_content()
    rows.first.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Événement n° 7"
    assert "k-anonymity: cell below 10" in page.locator("main table").inner_text()

    csv_text = page.request.get(f"{live_hub.url}/audit/export?actor=eve&format=csv").text()
    assert (
        csv_text.splitlines()[0].startswith("seq,event_id,ts") and len(csv_text.splitlines()) == 2
    )

    sql(live_hub.ctx, "UPDATE audit_event SET resource_id = 'q-altered' WHERE seq = 3")
    page.goto(f"{live_hub.url}/audit")
    page.get_by_role("button", name="Vérifier maintenant").click()
    status_text = page.get_by_role("status").inner_text()
    assert "Altération détectée" in status_text and "événement 3 : modifié" in status_text
    page.get_by_role("link", name="Alertes").click()
    assert "Échec de la vérification du journal" in page.locator("ul.rules").inner_text()
    assert "vérification échouée" in page.locator("table").inner_text()


def test_bad_filter_in_the_url_gets_a_french_error(live_hub: LiveHub, page: Any) -> None:
    live_hub.login(page, "operator", sub="op.1")
    response = page.goto(f"{live_hub.url}/audit?since=2026-13-45")
    assert response.status == 400
    assert "Recherche invalide" in page.get_by_role("alert").inner_text()
    assert "Depuis le" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Évaluer les règles maintenant").count() == 0


def test_researcher_is_refused_and_the_refusal_is_audited(live_hub: LiveHub, page: Any) -> None:
    live_hub.login(page, "researcher", sub="curieux")
    response = page.goto(f"{live_hub.url}/audit")
    assert response.status == 403
    assert "réservée aux rôles" in page.get_by_role("alert").inner_text()
    live_hub.login(page, "dpo", sub="dpo.2")
    page.goto(f"{live_hub.url}/audit?actor=curieux&decision=deny")
    assert page.locator("table tbody tr").count() == 1
    assert "/audit" in page.locator("table tbody tr").first.inner_text()


def test_pupil_report_page_is_dpo_only_and_explains_bad_input(live_hub: LiveHub, page: Any) -> None:
    live_hub.login(page, "dpo", sub="dpo.3")
    page.goto(f"{live_hub.url}/audit")
    page.get_by_role("link", name="Rapport par élève").click()
    page.get_by_label("Identifiant xAPI de l'élève").fill("Jean Dupont")
    page.get_by_role("button", name="Établir le rapport").click()
    assert "Identifiant invalide" in page.get_by_role("alert").inner_text()
    page.get_by_label("Identifiant xAPI de l'élève").fill("account:https://ent.exemple.fr|42")
    page.get_by_role("button", name="Établir le rapport").click()
    assert "Aucun contrat ne détient ni n'a utilisé de données de cet élève." in (
        page.locator("main").inner_text()
    )
    live_hub.login(page, "operator", sub="op.2")
    assert page.goto(f"{live_hub.url}/audit/eleve").status == 403
