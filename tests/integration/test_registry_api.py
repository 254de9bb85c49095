"""Registry API on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.support.factories import new_siren

Auth = Callable[..., dict[str, str]]


def _org(client: TestClient, auth: Auth, kind: str = "provider") -> dict[str, object]:
    body = {"name": f"Org {kind}", "siren": new_siren(), "kind": kind}
    resp = client.post("/api/v1/organisations", json=body, headers=auth("operator"))
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_operator_registers_organisation_and_lists_it(client: TestClient, auth: Auth) -> None:
    org = _org(client, auth)
    resp = client.get("/api/v1/organisations", headers=auth("researcher"))
    assert resp.status_code == 200
    page = resp.json()
    assert page["total"] == 1 and page["items"][0]["id"] == org["id"]


def test_duplicate_siren_is_a_conflict(client: TestClient, auth: Auth) -> None:
    siren = new_siren()
    body = {"name": "A", "siren": siren, "kind": "lab"}
    assert client.post("/api/v1/organisations", json=body, headers=auth("operator")).status_code == 201
    resp = client.post("/api/v1/organisations", json=body, headers=auth("operator"))
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert siren in resp.json()["detail"]
