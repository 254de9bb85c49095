"""Authentication and roles over HTTP, with the built-in issuer and an external JWKS."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.app import create_app
from hub.config import AuthSettings
from hub.context import HubContext
from hub.keys import load_or_create_key
from hub.trail.models import AuditEvent
from tests.support.factories import make_context
from tests.support.routes import api_routes, declared_roles

Auth = Callable[..., dict[str, str]]


def _assert_problem(resp: object, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    assert resp.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = resp.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    return body


def test_missing_token_is_401_with_challenge(client: TestClient) -> None:
    resp = client.get("/api/v1/organisations")
    _assert_problem(resp, 401)
    assert resp.headers["www-authenticate"] == "Bearer"


def test_wrong_scheme_is_401(client: TestClient) -> None:
    resp = client.get("/api/v1/organisations", headers={"Authorization": "Basic YTpi"})
    _assert_problem(resp, 401)


def test_wrong_role_is_403_and_audited(client: TestClient, auth: Auth, hub_ctx: HubContext) -> None:
    resp = client.post(
        "/api/v1/organisations",
        json={"name": "X", "siren": "732829320", "kind": "provider"},
        headers=auth("researcher", sub="bob"),
    )
    body = _assert_problem(resp, 403)
    assert body["required_roles"] == ["operator"]
    with Session(hub_ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert [(e.actor_sub, e.decision, e.resource_id) for e in events] == [
        ("bob", "deny", "POST /api/v1/organisations")
    ]


def test_expired_token_is_401(
    client: TestClient, token: Callable[..., str], hub_ctx: HubContext
) -> None:
    key = load_or_create_key(hub_ctx.settings.signing_key_path(), allow_create=False)
    now = int(time.time())
    claims = {"iss": "urn:edh:hub", "aud": "edh-api", "sub": "alice", "roles": ["operator"]}
    claims |= {"iat": now - 300, "nbf": now - 300, "exp": now - 120}
    expired = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": hub_ctx.issuer.jwk["kid"]})
    resp = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {expired}"})
    assert "expired" in str(_assert_problem(resp, 401)["detail"])


def test_every_api_endpoint_declares_its_roles(client: TestClient) -> None:
    """Each /api route depends on ``require(...)``: no endpoint is open by accident."""
    routes = api_routes(client.app)
    assert len(routes) >= 15
    assert [r.path for r in routes if declared_roles(r.dependant) is None] == []


class _JwksHandler(BaseHTTPRequestHandler):
    jwks: dict[str, object] = {}

    def do_GET(self) -> None:
        body = json.dumps(self.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def idp() -> Iterator[tuple[str, object]]:
    """A minimal OIDC-style identity provider: an ES256 key published as JWKS over HTTP."""
    key = generate_private_key(SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid="idp-key", alg="ES256", use="sig")
    _JwksHandler.jwks = {"keys": [jwk]}
    server = HTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/certs", key
    server.shutdown()


def test_external_oidc_provider_via_jwks(idp: tuple[str, object], tmp_path: Path) -> None:
    url, key = idp
    auth = AuthSettings(jwks_url=url, issuer="https://idp.example/realms/edh", audience="edh")
    ctx = make_context(f"sqlite:///{tmp_path / 'h.db'}", tmp_path, auth=auth)
    claims = {
        "iss": auth.issuer,
        "aud": "edh",
        "sub": "kc-user",
        "iat": 1,
        "exp": 4102444800,
        "realm_access": {"roles": ["operator"]},
    }
    good = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "idp-key"})
    builtin = ctx.issuer.mint("x", ["operator"])  # the built-in issuer is not trusted now
    with TestClient(create_app(context=ctx)) as client:
        ok = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {good}"})
        refused = client.get(
            "/api/v1/organisations", headers={"Authorization": f"Bearer {builtin}"}
        )
    assert ok.status_code == 200, ok.text
    _assert_problem(refused, 401)
    ctx.engine.dispose()
