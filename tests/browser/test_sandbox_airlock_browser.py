"""The output checkers' page in a real Chromium: read a held result and its findings,
approve it with a comment; a second checker's approval releases it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.sandbox.runtime import uninstall
from tests.support.browser import ARTIFACTS, LiveHub
from tests.support.sandbox_fixtures import build_sandbox_world


def test_two_checkers_approve_a_held_result(live_hub: LiveHub, page: Any, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    build_sandbox_world(None, live_hub.ctx, lake, release_mode="reviewed")
    try:
        live_hub.login(page, "researcher", sub="alice")
        page.goto(f"{live_hub.url}/research")
        page.get_by_label("Requête SQL (une seule instruction SELECT)").fill(
            "SELECT school_id, count(DISTINCT pupil_id) AS eleves, sum(result_duration_s) AS d "
            "FROM statements GROUP BY school_id ORDER BY school_id"
        )
        page.get_by_role("button", name="Exécuter la requête").click()
        page.wait_for_selector("text=en attente du contrôle des sorties", timeout=30_000)
        assert "school-0" not in page.content()
        job_url = page.url

        for checker in ("carol", "dave"):
            live_hub.login(page, "output_checker", sub=checker)
            page.goto(f"{live_hub.url}/controle-sorties")
            assert page.locator("html").get_attribute("lang") == "fr"
            page.get_by_role("link", name=job_url.rsplit("/", 1)[-1][:8]).click()
            table = page.get_by_role("table", name="Résultat exact (non diffusé)")
            assert "school-0" in table.inner_text()
            if checker == "carol":
                page.screenshot(path=str(ARTIFACTS / "sandbox-airlock-detail.png"), full_page=True)
            page.get_by_label("Approuver").check()
            page.get_by_label("Commentaire ou motif du rejet (obligatoire)").fill(
                f"avis de {checker} : agrégats par école"
            )
            page.get_by_role("button", name="Enregistrer la décision").click()
            assert "Décision enregistrée" in page.get_by_role("status").inner_text()
        assert page.locator("#etat").inner_text() == "diffusé"

        live_hub.login(page, "researcher", sub="alice")
        page.goto(job_url)
        assert "diffusée après contrôle" in page.content()
        assert "school-0" in page.get_by_role("table", name="Résultat communiqué").inner_text()
    finally:
        uninstall(live_hub.ctx)
