"""Every error path answers RFC 9457 problem+json, and bad input writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from hub.app import create_app
from hub.auth import ALL_ROLES
from hub.context import HubContext
from hub.registry.models import Organisation, Project
from hub.trail.models import AuditEvent
from tests.support.factories import make_context, new_siren
from tests.support.routes import api_routes, declared_roles

Auth = Callable[..., dict[str, str]]
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_problem(resp: object, status: int) -> dict[str, object]:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    assert resp.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = resp.json()  # type: ignore[attr-defined]
    assert body.keys() >= PROBLEM_KEYS and body["status"] == status
    assert str(body["type"]).startswith("urn:edh:problem:")
    return body


def _api_routes(client: TestClient, *, with_body: bool = False) -> list[tuple[str, str]]:
    """(method, concrete path) of every protected API route (optionally: taking a body)."""
    out = []
    for route in api_routes(client.app):
        if declared_roles(route.dependant) == () or (with_body and not route.dependant.body_params):
            continue
        concrete = route.path.replace("{", "").replace("}", "")
        out += [(m, concrete) for m in sorted(route.methods)]
    return out


def test_every_api_route_without_token_is_a_401_problem(client: TestClient) -> None:
    routes = _api_routes(client)
    assert len(routes) >= 15
    for method, path in routes:
        assert_problem(client.request(method, path), 401)


def test_every_body_route_refuses_malformed_json_with_400(client: TestClient, auth: Auth) -> None:
    headers = {**auth(*ALL_ROLES), "Content-Type": "application/json"}
    routes = _api_routes(client, with_body=True)
    assert len(routes) >= 8
    for method, path in routes:
        resp = client.request(method, path, content=b'{"name": ', headers=headers)
        assert resp.status_code in {400, 404}, (method, path, resp.text)
        assert_problem(resp, resp.status_code)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "A", "siren": "732829320", "kind": "provider", "admin": True}, "admin"),
        ({"name": "A", "siren": 732829320, "kind": "provider"}, "siren"),
        ({"name": "A", "siren": "732829321", "kind": "provider"}, "Luhn"),
        ({"name": "A", "siren": "12345", "kind": "provider"}, "9 digits"),
        ({"name": "", "siren": "732829320", "kind": "provider"}, "name"),
        ({"name": "A", "siren": "732829320", "kind": "bank"}, "kind"),
        ([1, 2], "body"),
    ],
)
def test_invalid_organisation_is_400_naming_the_field(
    client: TestClient, auth: Auth, hub_ctx: HubContext, body: object, fragment: str
) -> None:
    resp = client.post("/api/v1/organisations", json=body, headers=auth("operator"))
    problem = assert_problem(resp, 400)
    assert fragment in str(problem["detail"])
    with Session(hub_ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(Organisation)).one() == 0


def test_oversized_body_is_413(tmp_path: Path, token: Callable[..., str]) -> None:
    ctx = make_context(f"sqlite:///{tmp_path / 'h.db'}", tmp_path, max_body_bytes=2048)
    headers = {"Authorization": f"Bearer {ctx.issuer.mint('op', ['operator'])}"}
    big = {"name": "x" * 4000, "siren": "732829320", "kind": "lab"}
    with TestClient(create_app(context=ctx)) as client:
        resp = client.post("/api/v1/organisations", json=big, headers=headers)
        chunked = client.post(
            "/api/v1/organisations",
            content=iter([b"{" + b" " * 3000 + b"}"]),
            headers={**headers, "Content-Type": "application/json"},
        )
    assert_problem(resp, 413)
    assert_problem(chunked, 413)
    ctx.engine.dispose()


def test_unknown_path_and_method_are_problems(client: TestClient, auth: Auth) -> None:
    assert_problem(client.get("/api/v1/nope", headers=auth("operator")), 404)
    assert_problem(client.put("/health"), 405)
    missing = client.get("/api/v1/organisations/does-not-exist", headers=auth("operator"))
    assert "does-not-exist" in str(assert_problem(missing, 404)["detail"])


def test_bad_query_parameters_are_400(client: TestClient, auth: Auth) -> None:
    for query in ("limit=0", "limit=100000", "offset=-1", "limit=abc", "kind=bank"):
        assert_problem(client.get(f"/api/v1/organisations?{query}", headers=auth("dpo")), 400)


def test_unexpected_error_is_a_500_problem_without_internals(hub_ctx: HubContext) -> None:
    app = create_app(context=hub_ctx)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_problem(client.get("/boom"), 500)
    assert "secret" not in str(body)


def test_failed_project_creation_leaves_nothing_half_written(
    client: TestClient, auth: Auth, hub_ctx: HubContext
) -> None:
    lab = client.post(
        "/api/v1/organisations",
        headers=auth("operator"),
        json={"name": "Lab", "siren": new_siren(), "kind": "lab"},
    ).json()
    with Session(hub_ctx.engine) as session:
        events_before = session.exec(select(func.count()).select_from(AuditEvent)).one()
    resp = client.post(
        "/api/v1/projects",
        headers=auth("operator"),
        json={"title": "T", "purpose": "P", "lab_id": lab["id"], "members": ["no-such-researcher"]},
    )
    assert_problem(resp, 404)
    with Session(hub_ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(Project)).one() == 0
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == events_before
