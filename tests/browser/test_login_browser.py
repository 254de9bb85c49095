"""The login page in a real Chromium."""

from __future__ import annotations

from typing import Any

from tests.support.browser import LiveHub


def test_login_page_is_french_and_refuses_a_forged_token(live_hub: LiveHub, page: Any) -> None:
    page.goto(f"{live_hub.url}/login")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_label("Jeton d'accès").is_visible()
    page.fill("#token", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln")
    page.click("button[type=submit]")
    alert = page.locator("[role=alert]").text_content()
    assert "Connexion refusée" in alert and "n'est pas valide" in alert


def test_valid_login_sets_an_httponly_session(live_hub: LiveHub, page: Any) -> None:
    live_hub.login(page, "dpo", sub="dpo.1")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["edh_session"]["httpOnly"] is True
    assert cookies["edh_session"]["sameSite"] == "Strict"
