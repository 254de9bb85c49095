"""Bad input on the contracts API: refused with reasons (problem+json), nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from contracts.model import ContractTerms, contract_document, document_bytes
from contracts.signing import sign_detached
from hub.app import create_app
from hub.config import Settings
from hub.keys import public_jwk
from tests.support.contracts_fixtures import Auth, World, build_world, issuer_auth
from tests.support.factories import make_context


def _refused(resp: Any, status: int, *fragments: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    for fragment in fragments:
        assert fragment in resp.text, body
    return body


@pytest.mark.parametrize(
    ("overrides", "status", "fragment"),
    [
        ({"surprise": 1}, 400, "surprise"),
        ({"min_cell_size": 5}, 400, "below the default k=10"),
        ({"retention_days": 4000}, 400, "exceeds the limit of 365"),
        ({"row_level": True}, 400, "row_level access requires a row_level_reason"),
        ({"valid_until": "2020-01-01"}, 400, "valid_until must be after valid_from"),
        ({"datasets": ["nope"]}, 400, "dataset nope is not in the catalog"),
        (
            {"allowed_fields": ["result_score_raw"]},
            400,
            "not offered by the datasets: result_score_raw",
        ),
        ({"legal_basis": ["consent"]}, 400, "legal_basis"),
    ],
)
def test_bad_terms_are_refused_with_reasons(
    world: World, overrides: dict[str, Any], status: int, fragment: str
) -> None:
    resp = world.client.post(
        "/api/v1/contracts", json=world.terms(**overrides), headers=world.as_lab()
    )
    _refused(resp, status, fragment)
    listed = world.client.get("/api/v1/contracts", headers=world.as_operator()).json()
    assert listed["total"] == 0


def test_a_refused_amendment_keeps_the_accepted_version(world: World) -> None:
    cid = world.request()["id"]
    resp = world.client.put(
        f"/api/v1/contracts/{cid}/terms", json=world.terms(min_cell_size=3), headers=world.as_lab()
    )
    _refused(resp, 400, "below the default")
    contract = world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_lab()).json()
    assert contract["version"] == 1 and contract["terms"]["min_cell_size"] == 10


def test_non_member_researcher_cannot_request(world: World) -> None:
    outsider = world.auth("researcher", sub="intrus", org=world.lab_id)
    _refused(
        world.client.post("/api/v1/contracts", json=world.terms(), headers=outsider), 403, "member"
    )


def test_reviewer_needs_a_reason_and_a_pending_request(world: World) -> None:
    cid = world.accepted()["id"]
    url = f"/api/v1/contracts/{cid}/reviews"
    _refused(
        world.client.post(
            url, json={"verdict": "approve", "reason": ""}, headers=world.as_reviewer()
        ),
        400,
        "reason",
    )
    body = {"verdict": "reject", "reason": "Finalité trop large, données non minimisées."}
    assert (
        world.client.post(url, json=body, headers=world.as_reviewer()).json()["state"]
        == "TERMINATED"
    )
    _refused(world.client.post(url, json=body, headers=world.as_reviewer()), 409)


def test_party_member_cannot_approve_its_own_contract(world: World) -> None:
    cid = world.accepted()["id"]
    body = {"verdict": "approve", "reason": "Tout est parfait, j'approuve."}
    insider = world.as_reviewer(sub="reviewer.ent", org=world.provider_id)
    _refused(
        world.client.post(f"/api/v1/contracts/{cid}/reviews", json=body, headers=insider),
        403,
        "own contract",
    )
    author = world.as_reviewer(sub="claire")
    _refused(
        world.client.post(f"/api/v1/contracts/{cid}/reviews", json=body, headers=author),
        403,
        "author",
    )
    contract = world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_lab()).json()
    assert (contract["state"], contract["review_status"]) == ("ACCEPTED", "pending")


def test_other_roles_cannot_review(world: World) -> None:
    cid = world.accepted()["id"]
    body = {"verdict": "approve", "reason": "Je suis le fournisseur et j'approuve."}
    _refused(
        world.client.post(
            f"/api/v1/contracts/{cid}/reviews", json=body, headers=world.as_provider()
        ),
        403,
    )


def test_forged_stale_and_misattributed_signatures_are_refused(world: World) -> None:
    cid = world.agreed()["id"]
    url = f"/api/v1/contracts/{cid}/signatures"
    forged = world.jws(cid, "provider", key=Ed25519PrivateKey.generate())
    _refused(
        world.client.post(url, json={"jws": forged}, headers=world.as_provider()),
        400,
        "not registered",
    )
    real = world.jws(cid, "provider")
    head, _, sig = real.split(".")
    flipped = f"{head}..{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    _refused(
        world.client.post(url, json={"jws": flipped}, headers=world.as_provider()),
        400,
        "does not match",
    )
    _refused(
        world.client.post(url, json={"jws": real}, headers=world.as_lab()), 400, "you sign as lab"
    )
    _refused(
        world.client.post(url, json={"jws": "not-a-jws-at-all-really"}, headers=world.as_lab()),
        400,
        "detached",
    )
    assert (
        world.client.post(url, json={"jws": real}, headers=world.as_provider()).status_code == 200
    )
    _refused(
        world.client.post(url, json={"jws": real}, headers=world.as_provider()),
        409,
        "already signed",
    )


def test_stale_signature_of_an_earlier_version_is_named(world: World) -> None:
    cid = world.accepted(retention_days=30)["id"]
    first = contract_document(cid, 1, ContractTerms.model_validate(world.terms()))
    key = world.keys["lab"]
    old = sign_detached(
        key, document_bytes(first), kid=public_jwk(key.public_key())["kid"], party="lab"
    )
    world.post(
        f"/contracts/{cid}/reviews",
        world.as_reviewer(),
        {"verdict": "approve", "reason": "Conforme et proportionné."},
    )
    resp = world.client.post(
        f"/api/v1/contracts/{cid}/signatures", json={"jws": old}, headers=world.as_lab()
    )
    _refused(resp, 403, "stale signature: it signs version 1, current is 2")


@pytest.fixture
def quorum_client(tmp_path: Path) -> Iterator[TestClient]:
    ctx = make_context(f"sqlite:///{tmp_path / 'q.sqlite3'}", tmp_path)
    ctx.settings.review.quorum = 2
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
        yield client
    ctx.engine.dispose()


def test_quorum_of_two_needs_two_distinct_reviewers(
    quorum_client: TestClient, tmp_path: Path
) -> None:
    ctx = quorum_client.app.state.hub  # type: ignore[attr-defined]
    world = build_world(quorum_client, issuer_auth(ctx))
    cid = world.accepted()["id"]
    body = {"verdict": "approve", "reason": "Avis favorable du premier membre."}
    first = world.post(f"/contracts/{cid}/reviews", world.as_reviewer("comite.1"), body)
    assert (first["state"], first["review_status"]) == ("ACCEPTED", "pending")
    twice = world.client.post(
        f"/api/v1/contracts/{cid}/reviews", json=body, headers=world.as_reviewer("comite.1")
    )
    _refused(twice, 409, "already decided")
    second = world.post(f"/contracts/{cid}/reviews", world.as_reviewer("comite.2"), body)
    assert (second["state"], second["review_status"]) == ("AGREED", "approved")


def test_quorum_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDH_REVIEW__QUORUM", "2")
    monkeypatch.setenv("EDH_CONTRACTS__MAX_RETENTION_DAYS", "90")
    settings = Settings()
    assert (settings.review.quorum, settings.contracts.max_retention_days) == (2, 90)


def test_organisation_keys_only_for_own_organisation(world: World, auth: Auth) -> None:
    from tests.support.contracts_fixtures import public_pem

    body = {"organisation_id": world.lab_id, "public_key": public_pem(Ed25519PrivateKey.generate())}
    _refused(
        world.client.post("/api/v1/organisation-keys", json=body, headers=world.as_provider()), 403
    )
    assert (
        world.client.post(
            "/api/v1/organisation-keys", json=body, headers=world.as_lab()
        ).status_code
        == 201
    )
    _refused(
        world.client.post("/api/v1/organisation-keys", json=body, headers=world.as_lab()),
        409,
        "already registered",
    )
    bad = {"organisation_id": world.lab_id, "public_key": "-----BEGIN PUBLIC KEY-----\nxx\n"}
    _refused(
        world.client.post("/api/v1/organisation-keys", json=bad, headers=world.as_lab()), 400, "PEM"
    )


def test_organisation_keys_listing_refuses_bad_queries(world: World) -> None:
    url = "/api/v1/organisation-keys"
    _refused(world.client.get(url, headers=world.as_lab()), 400, "organisation_id")
    unknown = world.client.get(url, params={"organisation_id": "nope"}, headers=world.as_lab())
    _refused(unknown, 404, "nope")
    _refused(world.client.get(url, params={"organisation_id": world.lab_id}), 401)
    listed = world.client.get(url, params={"organisation_id": world.lab_id}, headers=world.as_lab())
    assert [k["edh_party"] for k in listed.json()["keys"]] == ["lab"]
