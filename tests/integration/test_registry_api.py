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
    assert (
        client.post("/api/v1/organisations", json=body, headers=auth("operator")).status_code == 201
    )
    resp = client.post("/api/v1/organisations", json=body, headers=auth("operator"))
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert siren in resp.json()["detail"]


def _researcher(client: TestClient, auth: Auth, lab_id: str, subject: str, **acc: str) -> dict:  # type: ignore[type-arg]
    accreditation = {"granted_by": "CASD", "valid_from": "2026-01-01", "valid_until": "2099-12-31"}
    accreditation.update(acc)
    body = {
        "subject": subject,
        "name": subject.title(),
        "email": f"{subject}@lab.example.fr",
        "organisation_id": lab_id,
        "accreditation": accreditation,
    }
    resp = client.post("/api/v1/researchers", json=body, headers=auth("operator"))
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_accreditation_lifecycle(client: TestClient, auth: Auth) -> None:
    lab = _org(client, auth, "lab")
    r = _researcher(client, auth, str(lab["id"]), "alice")
    assert r["accredited_now"] is True
    revoked = client.post(
        f"/api/v1/researchers/{r['id']}/revoke",
        headers=auth("operator"),
        json={"reason": "fin de contrat"},
    )
    assert revoked.json()["accredited_now"] is False
    again = client.post(
        f"/api/v1/researchers/{r['id']}/revoke", headers=auth("operator"), json={"reason": "twice"}
    )
    assert again.status_code == 409
    renewed = client.put(
        f"/api/v1/researchers/{r['id']}/accreditation",
        headers=auth("operator"),
        json={"granted_by": "CASD", "valid_from": "2026-01-01", "valid_until": "2099-01-01"},
    )
    assert renewed.json()["accredited_now"] is True and renewed.json()["revoked_at"] is None


def test_researcher_reads_only_self(client: TestClient, auth: Auth) -> None:
    lab = _org(client, auth, "lab")
    alice = _researcher(client, auth, str(lab["id"]), "alice")
    bob = _researcher(client, auth, str(lab["id"]), "bob")
    mine = client.get(f"/api/v1/researchers/{alice['id']}", headers=auth("researcher", sub="alice"))
    theirs = client.get(f"/api/v1/researchers/{bob['id']}", headers=auth("researcher", sub="alice"))
    assert mine.status_code == 200 and theirs.status_code == 403


def test_researcher_must_belong_to_a_lab_and_window_is_ordered(
    client: TestClient, auth: Auth
) -> None:
    provider = _org(client, auth, "provider")
    body = {
        "subject": "x",
        "name": "X",
        "email": "x@example.fr",
        "organisation_id": provider["id"],
        "accreditation": {
            "granted_by": "CASD",
            "valid_from": "2026-01-01",
            "valid_until": "2099-01-01",
        },
    }
    assert (
        client.post("/api/v1/researchers", json=body, headers=auth("operator")).status_code == 400
    )
    body["accreditation"]["valid_until"] = "2025-01-01"  # type: ignore[index]
    resp = client.post("/api/v1/researchers", json=body, headers=auth("operator"))
    assert resp.status_code == 400 and "valid_until" in resp.json()["detail"]


def test_accredited_researcher_creates_project_and_operator_manages_members(
    client: TestClient, auth: Auth
) -> None:
    lab = _org(client, auth, "lab")
    alice = _researcher(client, auth, str(lab["id"]), "alice")
    bob = _researcher(client, auth, str(lab["id"]), "bob")
    resp = client.post(
        "/api/v1/projects",
        headers=auth("researcher", sub="alice"),
        json={"title": "Décrochage", "purpose": "Signaux précoces", "lab_id": lab["id"]},
    )
    assert resp.status_code == 201, resp.text
    project = resp.json()
    assert project["members"] == [alice["id"]]
    added = client.post(
        f"/api/v1/projects/{project['id']}/members",
        headers=auth("operator"),
        json={"researcher_id": bob["id"]},
    )
    assert sorted(added.json()["members"]) == sorted([alice["id"], bob["id"]])
    dup = client.post(
        f"/api/v1/projects/{project['id']}/members",
        headers=auth("operator"),
        json={"researcher_id": bob["id"]},
    )
    assert dup.status_code == 409
    gone = client.delete(
        f"/api/v1/projects/{project['id']}/members/{bob['id']}", headers=auth("operator")
    )
    assert gone.status_code == 204
    after = client.get(f"/api/v1/projects/{project['id']}", headers=auth("dpo")).json()
    assert after["members"] == [alice["id"]]


def test_unaccredited_researcher_cannot_create_project(client: TestClient, auth: Auth) -> None:
    lab = _org(client, auth, "lab")
    _researcher(
        client, auth, str(lab["id"]), "carol", valid_until="2020-01-01", valid_from="2019-01-01"
    )
    resp = client.post(
        "/api/v1/projects",
        headers=auth("researcher", sub="carol"),
        json={"title": "T", "purpose": "P", "lab_id": lab["id"]},
    )
    assert resp.status_code == 403


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_connectors_are_bound_to_their_provider(client: TestClient, auth: Auth) -> None:
    mine, other = _org(client, auth), _org(client, auth)
    pem = _pem()
    body = {"name": "ENT", "organisation_id": mine["id"], "public_key": pem}
    created = client.post("/api/v1/connectors", json=body, headers=auth("provider", org=mine["id"]))
    assert created.status_code == 201, created.text
    foreign = {"name": "ENT", "organisation_id": other["id"], "public_key": _pem()}
    assert (
        client.post(
            "/api/v1/connectors", json=foreign, headers=auth("provider", org=mine["id"])
        ).status_code
        == 403
    )
    reused = client.post("/api/v1/connectors", json=body, headers=auth("operator"))
    assert reused.status_code == 409
    listed = client.get("/api/v1/connectors", headers=auth("provider", org=other["id"])).json()
    assert listed["total"] == 0
    bad_key = {**body, "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}
    assert (
        client.post("/api/v1/connectors", json=bad_key, headers=auth("operator")).status_code == 400
    )


def test_pagination(client: TestClient, auth: Auth) -> None:
    for _ in range(5):
        _org(client, auth, "lab")
    first = client.get("/api/v1/organisations?limit=2", headers=auth("operator")).json()
    last = client.get("/api/v1/organisations?limit=2&offset=4", headers=auth("operator")).json()
    assert first["total"] == 5 and len(first["items"]) == 2 and len(last["items"]) == 1
    ids = {o["id"] for o in first["items"]} | {o["id"] for o in last["items"]}
    assert len(ids) == 3


def test_organisation_in_use_cannot_be_deleted(client: TestClient, auth: Auth) -> None:
    lab = _org(client, auth, "lab")
    _researcher(client, auth, str(lab["id"]), "dan")
    assert (
        client.delete(f"/api/v1/organisations/{lab['id']}", headers=auth("operator")).status_code
        == 409
    )
    empty = _org(client, auth, "lab")
    assert (
        client.delete(f"/api/v1/organisations/{empty['id']}", headers=auth("operator")).status_code
        == 204
    )
