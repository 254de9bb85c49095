"""Every route of the app (API, web pages, storage, well-known, system) is declared public
or role-bound, and a walk over all of them checks the declaration holds: no credentials
is 401 (or the login page), a token or session of another role is 403 (401 on the
connector routes, which accept only a connector's signed requests)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import Mount

from hub.auth import ALL_ROLES
from hub.web.session import COOKIE
from tests.support.routes import RouteInfo, declared_roles, iter_routes

Token = Callable[..., str]

FASTAPI_DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
"""FastAPI's own routes (the published API description): public."""
PUBLIC_MOUNTS = {"/static"}
"""Style sheets and images of the pages: public."""


def _routes(client: TestClient) -> list[RouteInfo]:
    return [r for r in iter_routes(client.app.routes) if r.path not in FASTAPI_DOCS]  # type: ignore[attr-defined]


def _concrete(path: str) -> str:
    path = re.sub(r"\{[a-z_]+:path\}", "a/b.json", path)
    path = re.sub(r"\{(seq|first|second)\}", "1", path)
    return re.sub(r"\{[a-z_]+\}", "x1", path)


def _call(client: TestClient, method: str, path: str, **kw: Any) -> Any:
    return client.request(method, _concrete(path), follow_redirects=False, **kw)


def test_every_route_declares_public_or_roles(client: TestClient) -> None:
    routes = _routes(client)
    paths = {r.path for r in routes}
    for expected in ("/health", "/.well-known/jwks.json", "/storage/uploads/{key:path}",
                     "/metrics", "/login", "/review", "/audit", "/research"):  # fmt: skip
        assert expected in paths, expected
    undeclared = [
        f"{sorted(r.methods)} {r.path}" for r in routes if declared_roles(r.dependant) is None
    ]
    assert undeclared == []
    app: Any = client.app
    mounts = {m.path for m in app.routes if isinstance(m, Mount)}
    assert mounts == PUBLIC_MOUNTS


def test_role_bound_routes_refuse_without_credentials(client: TestClient) -> None:
    wrong = []
    for route in _routes(client):
        if not declared_roles(route.dependant):
            continue
        for method in route.methods - {"HEAD"}:
            resp = _call(client, method, route.path)
            to_login = resp.status_code == 303 and resp.headers["location"].startswith("/login")
            if resp.status_code != 401 and not to_login:
                wrong.append(f"{method} {route.path}: {resp.status_code}")
    assert wrong == []


def test_role_bound_routes_refuse_other_roles(client: TestClient, token: Token) -> None:
    wrong = []
    for route in _routes(client):
        roles = declared_roles(route.dependant)
        others = [str(r) for r in ALL_ROLES if str(r) not in (roles or ())]
        if not roles or not others:
            continue
        bearer = token(*others, sub="someone-else")
        for method in route.methods - {"HEAD"}:
            client.cookies.set(COOKIE, bearer)
            headers = {"Authorization": f"Bearer {bearer}"}
            resp = _call(client, method, route.path, headers=headers)
            client.cookies.clear()
            if resp.status_code not in (401, 403):  # 401: connector routes take signatures
                wrong.append(f"{method} {route.path}: {resp.status_code}")
    assert wrong == []


def test_public_routes_answer_without_credentials(client: TestClient) -> None:
    public = [r for r in _routes(client) if declared_roles(r.dependant) == ()]
    assert {r.path for r in public} >= {"/health", "/.well-known/jwks.json", "/login"}
    for route in public:
        for method in route.methods - {"HEAD"}:
            resp = _call(client, method, route.path)
            if route.path.startswith("/dsp/") and resp.status_code == 401:
                continue  # Dataspace Protocol: participants prove their identity per message
            assert resp.status_code != 401 and resp.status_code < 500, (method, route.path)
