"""The researcher page in a real Chromium: write a query, follow it, read how it was
released (differential privacy: noise and budget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from demo.research import DEMO_SQL
from hub.sandbox.runtime import uninstall
from tests.support.browser import ARTIFACTS, LiveHub
from tests.support.sandbox_fixtures import build_sandbox_world


def test_researcher_runs_a_query_and_reads_the_report(
    live_hub: LiveHub, page: Any, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    build_sandbox_world(None, live_hub.ctx, lake, pupils=1000, release_mode="differential_privacy")
    try:
        live_hub.login(page, "researcher", sub="alice")
        page.goto(f"{live_hub.url}/research")
        assert page.locator("html").get_attribute("lang") == "fr"
        page.get_by_label("Requête SQL (une seule instruction SELECT)").fill(DEMO_SQL)
        page.get_by_role("button", name="Exécuter la requête").click()
        page.wait_for_selector("text=terminée", timeout=30_000)
        table = page.get_by_role("table", name="Résultat communiqué")
        assert "school-" in table.inner_text() and "masqué" not in table.inner_text()
        report = page.get_by_role("heading", name="Diffusion avec confidentialité différentielle")
        assert report.is_visible() and "budget restant du projet" in page.content()
        page.screenshot(path=str(ARTIFACTS / "sandbox-research-job.png"), full_page=True)

        page.goto(f"{live_hub.url}/research")
        page.get_by_label("Requête SQL (une seule instruction SELECT)").fill(
            "SELECT * FROM read_csv('/etc/passwd')"
        )
        page.get_by_role("button", name="Exécuter la requête").click()
        alert = page.get_by_role("alert")
        assert "Requête refusée" in alert.inner_text() and "read_csv" in alert.inner_text()
    finally:
        uninstall(live_hub.ctx)
