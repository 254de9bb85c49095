"""A browser never lands on raw JSON: every page sends a visitor without a session to the
login page, an address no route answers is a French page, and a refusal names the roles
in French. The API keeps answering problem+json."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.support.routes import declared_roles, page_routes
from tests.support.web import form

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PARAMETER = re.compile(r"\{[^}]+\}")


def page_paths(client: TestClient) -> list[tuple[str, bool]]:
    """Each web page of the app (path parameters filled in) and whether it needs a role."""
    pages = page_routes(client.app)
    assert len(pages) >= 10, [p.path for p in pages]
    return [(PARAMETER.sub("1", p.path), bool(declared_roles(p.dependant))) for p in pages]


def sign_in(client: TestClient, token: str) -> None:
    response = client.post(
        "/login", data=form(client, token=token, next="/"), headers=BROWSER, follow_redirects=False
    )
    assert response.status_code == 303


def test_every_page_sends_a_visitor_without_a_session_to_the_login_page(
    client: TestClient,
) -> None:
    for path, needs_role in page_paths(client):
        response = client.get(path, headers=BROWSER, follow_redirects=False)
        if needs_role:
            assert response.status_code == 303, (path, response.status_code, response.text[:200])
            assert response.headers["location"].startswith("/login?next="), path
        else:
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html"), path


def assert_french_page(response: object, status: int, title: str) -> str:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    text = html.unescape(response.text)  # type: ignore[attr-defined]
    assert f"<h1>{title}</h1>" in text and "Retour à l'accueil" in text
    assert "Not Found" not in text and "Method Not Allowed" not in text
    return text


@pytest.mark.parametrize("signed_in", [False, True])
def test_an_address_no_route_answers_is_a_french_page_for_a_browser(
    client: TestClient, token: Callable[..., str], signed_in: bool
) -> None:
    if signed_in:
        sign_in(client, token("dpo", "researcher", sub="visiteur"))
    for path in ("/page-qui-n-existe-pas", "/audit/evenements/1/suite", "/controle-sorties/1/x"):
        text = assert_french_page(client.get(path, headers=BROWSER), 404, "Page introuvable")
        assert "Aucune page ne se trouve à cette adresse" in text
    assert_french_page(client.get("/logout", headers=BROWSER), 405, "Action impossible")


def test_the_api_and_non_browser_clients_keep_problem_json(client: TestClient) -> None:
    for path, headers in [
        ("/api/v1/rien-ici", BROWSER),
        ("/page-qui-n-existe-pas", {"accept": "application/json"}),
        ("/page-qui-n-existe-pas", {}),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", (path, headers)
        assert response.json()["type"] == "urn:edh:problem:not-found"
    refused = client.post("/health", headers={"accept": "application/json"})
    assert refused.status_code == 405 and refused.json()["status"] == 405


def test_a_refused_page_names_the_roles_in_french(
    client: TestClient, token: Callable[..., str]
) -> None:
    sign_in(client, token("researcher", sub="curieux"))
    text = assert_french_page(client.get("/audit", headers=BROWSER), 403, "Accès refusé")
    assert "délégué à la protection des données, opérateur de la plateforme" in text
    assert "dpo" not in text.split("<main", 1)[-1]
