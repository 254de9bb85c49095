"""The web session under attack: cross-site form posts (login CSRF included), missing
tokens, cookie flags behind https, security headers, and failed authentications counted
per source and subject into an alert the DPO reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hub.app import create_app
from hub.audit import alerts
from hub.auth import ALL_ROLES
from hub.context import HubContext
from hub.trail.models import AuditEvent
from hub.web.csrf import CSRF_COOKIE, CSRF_FIELD, csrf_protect
from hub.web.session import COOKIE
from tests.support.contracts_fixtures import World
from tests.support.factories import make_context
from tests.support.routes import RouteInfo, has_dependency, iter_routes
from tests.support.web import form

Token = Callable[..., str]
Auth = Callable[..., dict[str, str]]
EVIL = "https://evil.example"


def _events(ctx: HubContext, action: str) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return list(session.exec(query.order_by(col(AuditEvent.seq))).all())


def test_login_csrf_from_another_site_gets_no_session(
    client: TestClient, token: Token, hub_ctx: HubContext
) -> None:
    data = form(client, token=token("dpo"), next="/audit")
    for headers in ({"Origin": EVIL}, {"Referer": f"{EVIL}/page"}):
        resp = client.post("/login", data=data, headers=headers, follow_redirects=False)
        assert resp.status_code == 403 and COOKIE not in resp.cookies
    assert COOKIE not in client.cookies
    refused = _events(hub_ctx, "web.csrf.refused")
    assert [e.resource_id for e in refused] == ["POST /login", "POST /login"]


def test_login_without_the_token_field_or_cookie_is_refused(
    client: TestClient, token: Token
) -> None:
    data = form(client, token=token("dpo"))
    missing = {k: v for k, v in data.items() if k != "csrf_token"}
    assert client.post("/login", data=missing, follow_redirects=False).status_code == 403
    forged = {**data, "csrf_token": "x" * 43}
    assert client.post("/login", data=forged, follow_redirects=False).status_code == 403
    client.cookies.delete(CSRF_COOKIE)
    assert client.post("/login", data=data, follow_redirects=False).status_code == 403
    assert COOKIE not in client.cookies


def test_same_site_login_works_and_pages_carry_the_token(client: TestClient, token: Token) -> None:
    page = client.get("/login")
    assert client.cookies[CSRF_COOKIE] in page.text  # the hidden field
    set_cookie = page.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert "Secure" not in set_cookie  # the test hub's public URL is http
    data = form(client, token=token("dpo"), next="/audit")
    resp = client.post(
        "/login", data=data, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert resp.status_code == 303 and COOKIE in client.cookies


def test_review_decision_posted_cross_site_records_nothing(world: World) -> None:
    cid = world.accepted()["id"]
    client = world.client
    reviewer = world.auth("ethics_reviewer", sub="comite.1")["Authorization"].split()[1]
    login = client.post("/login", data=form(client, token=reviewer), follow_redirects=False)
    assert login.status_code == 303
    body = form(client, verdict="approve", reason="Approuvé depuis un site tiers.")
    resp = client.post(f"/review/{cid}/decision", data=body, headers={"Origin": EVIL})
    assert resp.status_code == 403
    reviews = client.get(f"/api/v1/contracts/{cid}/reviews", headers=world.as_operator())
    assert reviews.json() == []


UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORMS = {
    "/login", "/logout", "/review/{contract_id}/decision", "/research", "/research/preview",
    "/research/jobs/{job_id}/cancel", "/controle-sorties/{job_id}/decision",
    "/audit/verifier", "/audit/alertes/evaluer", "/audit/eleve",
}  # fmt: skip


def _is_page_form(route: RouteInfo) -> bool:
    """A route a browser posts to with its session cookie: a form body, or a page's roles."""
    forms = any(type(p.field_info).__name__ == "Form" for p in route.dependant.body_params)
    calls = [getattr(d.call, "__qualname__", "") for d in _deps(route.dependant)]
    pages = any(c.startswith("page_roles.") for c in calls)
    return bool(route.methods & UNSAFE) and (forms or pages or route.path == "/logout")


def _deps(dependant: object) -> list[object]:
    found = list(getattr(dependant, "dependencies", []))
    return found + [d for dep in found for d in _deps(dep)]


def test_every_form_of_every_page_refuses_a_foreign_origin_and_a_missing_token(
    client: TestClient, token: Token, hub_ctx: HubContext
) -> None:
    routes = [r for r in iter_routes(client.app.routes) if _is_page_form(r)]  # type: ignore[attr-defined]
    assert {r.path for r in routes} == FORMS  # a new form joins this list (and this test)
    assert [r.path for r in routes if not has_dependency(r.dependant, csrf_protect)] == []
    client.cookies.set(COOKIE, token(*(str(r) for r in ALL_ROLES), sub="everyone"))
    good = form(client, token="t", action="approve", comment="c", verdict="approve", reason="r")
    missing = {k: v for k, v in good.items() if k != CSRF_FIELD}
    attempts = 0
    for route in routes:
        path = route.path.replace("{contract_id}", "x").replace("{job_id}", "x")
        for data, headers in ((good, {"Origin": EVIL}), (missing, {})):
            resp = client.post(path, data=data, headers=headers, follow_redirects=False)
            assert resp.status_code == 403, (path, headers, resp.text[:200])
            attempts += 1
    refused = _events(hub_ctx, "web.csrf.refused")
    assert len(refused) == attempts == 2 * len(FORMS)


def test_secure_cookies_when_the_public_url_is_https(db_url: str, tmp_path: Path) -> None:
    ctx = make_context(db_url, tmp_path, public_url="https://hub.example.fr")
    with TestClient(create_app(context=ctx), base_url="https://hub.example.fr") as client:
        login = client.get("/login")
        assert "Secure" in login.headers["set-cookie"]
        assert login.headers["strict-transport-security"].startswith("max-age=")
        data = form(client, token=ctx.issuer.mint("dpo", ["dpo"]))
        resp = client.post("/login", data=data, follow_redirects=False)
        assert resp.status_code == 303
        session_cookie = [c for c in resp.headers.get_list("set-cookie") if c.startswith(COOKIE)]
        assert session_cookie and "Secure" in session_cookie[0] and "HttpOnly" in session_cookie[0]
    ctx.engine.dispose()


def test_security_headers_on_every_kind_of_page(client: TestClient, auth: Auth) -> None:
    client.cookies.set(COOKIE, auth("dpo")["Authorization"].split()[1])
    for path in ("/login", "/audit", "/review", "/research", "/health", "/static/style.css",
                 "/api/v1/organisations", "/.well-known/jwks.json", "/no-such-page"):  # fmt: skip
        resp = client.get(path, follow_redirects=False)
        csp = resp.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp, path
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert resp.headers["referrer-policy"] == "same-origin", path
    assert "frame-ancestors 'none'" in client.get("/docs").headers["content-security-policy"]


def test_pages_have_no_inline_script() -> None:
    templates = Path(__file__).resolve().parents[2] / "hub" / "web" / "templates"
    for page in templates.rglob("*.html"):
        text = page.read_text("utf-8").lower()
        assert "<script>" not in text and " on" + "click=" not in text, page
        assert "<script" not in text or "src=" in text.split("<script", 1)[1].split(">")[0]


def test_failed_authentications_are_audited_per_source_and_subject(
    client: TestClient, hub_ctx: HubContext, token: Token, auth: Auth
) -> None:
    forged = token("dpo", sub="mallory")[:-4] + "AAAA"
    for _ in range(3):
        resp = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {forged}"})
        assert resp.status_code == 401
    assert client.get("/api/v1/organisations").status_code == 401
    client.cookies.set(COOKIE, forged)
    assert client.get("/audit", follow_redirects=False).status_code == 401  # no text/html
    client.cookies.clear()
    failed = _events(hub_ctx, "auth.failed")
    assert [e.actor_sub for e in failed] == ["mallory"] * 3 + ["unknown", "mallory"]
    assert {(e.actor_role, e.resource_type, e.resource_id) for e in failed} == {
        ("unauthenticated", "source", "testclient")
    }
    assert forged not in str([e.reasons for e in failed] + [e.details for e in failed])

    hub_ctx.settings.audit.auth_failure_burst_count = 4
    since = datetime.now(UTC) - timedelta(hours=1)
    with Session(hub_ctx.engine, expire_on_commit=False) as session:
        raised = alerts.run_rules(session, hub_ctx.settings.audit, None, since=since)
        session.commit()
    assert sorted(a.key.split("@")[0] for a in raised) == ["source:testclient", "subject:mallory"]
    seen = client.get("/api/v1/audit/alerts", headers=auth("dpo")).json()
    assert {a["rule"] for a in seen["alerts"]} == {"auth-failure-burst"}
    assert "auth-failure-burst" in {r["id"] for r in seen["rules"]}
