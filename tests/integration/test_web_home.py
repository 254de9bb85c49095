"""The home page, the accessibility statement and the API documentation: French, DSFR,
and every asset served by the hub itself (a closed network has no CDN)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from hub.web.templating import STATIC_DIR
from tests.support.web import form

HTML = {"accept": "text/html"}
ASSET = re.compile(r'(?:src|href)="([^"#]+\.(?:css|js|svg|png|ico))"')


def login(client: TestClient, token: str, next_page: str = "/") -> str:
    response = client.post(
        "/login",
        data=form(client, token=token, next=next_page),
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    return str(response.headers["location"])


def test_the_home_page_needs_a_session_then_lists_what_the_roles_can_do(
    client: TestClient, token: Callable[..., str]
) -> None:
    anonymous = client.get("/", headers=HTML, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2F"

    assert login(client, token("dpo", sub="dpo.1")) == "/"
    home = client.get("/", headers=HTML)
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert 'href="/audit"' in home.text and "délégué à la protection des données" in home.text
    assert 'href="/review"' not in home.text and 'href="/research"' not in home.text

    login(client, token("researcher", "ethics_reviewer", sub="r.1"))
    home = client.get("/", headers=HTML).text
    assert 'href="/review"' in home and 'href="/research"' in home
    assert 'href="/audit"' not in home


def test_the_accessibility_statement_is_public_and_states_the_rgaa_level(
    client: TestClient,
) -> None:
    page = client.get("/accessibilite", headers=HTML)
    assert page.status_code == 200
    assert "RGAA" in page.text and "non conforme" in page.text
    assert 'href="/accessibilite"' in client.get("/login", headers=HTML).text  # footer link


def local_assets(html: str) -> list[str]:
    found = ASSET.findall(html)
    assert found, "the page loads no asset"
    return found


@pytest.mark.parametrize("path", ["/login", "/accessibilite", "/docs"])
def test_pages_load_only_assets_the_hub_serves(client: TestClient, path: str) -> None:
    html = client.get(path, headers=HTML).text
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    for asset in local_assets(html):
        assert asset.startswith("/static/"), asset
        served = client.get(asset)
        assert served.status_code == 200 and served.content, asset
        assert served.content == (STATIC_DIR / asset.removeprefix("/static/")).read_bytes()


def test_every_file_the_design_system_css_asks_for_is_vendored() -> None:
    dsfr = STATIC_DIR / "dsfr"
    css = (dsfr / "dsfr.min.css").read_text()
    wanted = {u for u in re.findall(r"url\(([^)\"']+)\)", css) if not u.startswith("data:")}
    woff2 = {u for u in wanted if not u.endswith(".woff")}  # .woff2 listed first: never fetched
    assert woff2 and all((dsfr / u).is_file() for u in woff2), woff2
    assert (dsfr / "LICENSE.md").is_file() and (STATIC_DIR / "swagger-ui" / "LICENSE").is_file()
    assert "@gouvfr/dsfr 1.15.3" in (dsfr / "VERSION").read_text()


def test_no_redoc_page_that_would_load_a_cdn(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_a_refused_login_is_explained_in_french_without_the_token_or_internals(
    client: TestClient, token: Callable[..., str]
) -> None:
    forged = token("dpo")[:-4] + "AAAA"
    page = client.post("/login", data=form(client, token=forged, next="/"), headers=HTML)
    assert page.status_code == 401
    text = html.unescape(page.text)
    assert "n'est pas valide pour cette plateforme" in text
    assert forged not in text and "invalid token" not in text
