"""A research transfer's pull data address: the sandbox's query API of the agreement's
project behind a token scoped to that transfer and bound to the researcher who asked for
it, expiring, audited, and ending with the transfer. Oracle: the token's claims, the
sandbox's job table (which project a query reached, as whom) and the audit log; the
attacker holds a token of another transfer, a forged or expired one, one whose transfer
was suspended, or the right token without being its researcher (another member of the
same project, a researcher of no project, a forged identity, no identity)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.dsp import messages
from hub.context import HubContext
from hub.dataspace.pull import RESEARCHER_HEADER
from hub.sandbox.models import QueryJob
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import World
from tests.support.dsp_peer import Peer

PURPOSE = "Mesurer l'effet des vidéos sur la persévérance des élèves."


def _dsp(world: World, path: str, body: Any) -> Any:
    headers = world.auth("researcher", sub="claire", org=world.lab_id)
    return world.client.post("/dsp" + path, json=body, headers=headers)


def _started_transfer(world: World, peer: Peer, tag: str) -> tuple[str, dict[str, Any], str]:
    """A transfer STARTED under the lab's finalized contract: (its pid, the data address
    the consumer received, the contract id)."""
    offer = {
        "@type": "Offer",
        "@id": f"urn:edh:offer:{world.dataset_id}",
        "target": world.dataset_id,
        "permission": [{"action": "use"}],
    }
    request = messages.contract_request(f"urn:c:{tag}", offer, callback_address=peer.url)
    pid = _dsp(world, "/negotiations/request", request).json()["providerPid"]
    contract = world.finalized()
    bound = world.client.post(
        f"/api/v1/dataspace/negotiations/{pid}/agreement",
        json={"contract_id": contract["id"]},
        headers=world.as_operator(),
    )
    assert bound.status_code == 200, bound.text
    verification = messages.agreement_verification(pid, f"urn:c:{tag}")
    assert _dsp(world, f"/negotiations/{pid}/agreement/verification", verification).is_success
    peer.wait(f"urn:c:{tag}", "FINALIZED")
    agreement_id = f"urn:edh:contract:{contract['id']}:v{contract['version']}"
    ask = messages.transfer_request(f"urn:t:{tag}", agreement_id, "HttpData-PULL", peer.url)
    transfer_pid = _dsp(world, "/transfers/request", ask).json()["providerPid"]
    peer.wait(f"urn:t:{tag}", "STARTED")
    (start,) = peer.received[f"urn:t:{tag}"]
    return transfer_pid, start["dataAddress"], contract["id"]


def _token(address: dict[str, Any]) -> str:
    return str({p["name"]: p["value"] for p in address["endpointProperties"]}["authorization"])


def _query(client: TestClient, endpoint: str, token: str, researcher: str | None = "claire") -> Any:
    """POST a query with the pull ``token`` and, unless None, the access token of the
    hub's realm of ``researcher`` (``claire`` asked for the transfers)."""
    body = {"sql": "SELECT count(*) FROM statements", "purpose": PURPOSE}
    path = endpoint.split("://", 1)[1].split("/", 1)[1]
    headers = {"Authorization": f"Bearer {token}"}
    if researcher is not None:
        hub: HubContext = client.app.state.hub  # type: ignore[attr-defined]
        own = hub.issuer.mint(researcher, ["researcher"])
        headers[RESEARCHER_HEADER] = f"Bearer {own}"
    return client.post("/" + path, json=body, headers=headers)


def _jobs(ctx: HubContext) -> list[tuple[str, str]]:
    with Session(ctx.engine) as session:
        return [(j.project_id, j.submitted_by) for j in session.exec(select(QueryJob)).all()]


def test_the_pull_token_queries_its_project_only_and_ends_with_the_transfer(
    world: World, peer: Peer, hub_ctx: HubContext, client: TestClient
) -> None:
    pid, address, contract_id = _started_transfer(world, peer, "pull")
    token = _token(address)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["transfer"], claims["project"], claims["contract"]) == (
        pid,
        world.project_id,
        contract_id,
    )
    ttl = hub_ctx.settings.dataspace.pull_token_ttl_seconds
    assert claims["exp"] - claims["iat"] == ttl
    assert claims["sub"] == claims["researcher"] == "claire"  # who asked for the transfer
    with Session(hub_ctx.engine) as session:
        issued = session.exec(
            select(AuditEvent).where(AuditEvent.action == "dsp_transfer.token.issued")
        ).one()
    assert issued.resource_id == pid and issued.details["jti"] == claims["jti"]
    assert token not in str(issued.details)

    # The token reaches the sandbox, on the contract's project (the sandbox's Rego decides).
    answer = _query(client, address["endpoint"], token)
    assert answer.status_code not in (401, 403, 404), answer.text
    assert _jobs(hub_ctx) == [(world.project_id, "claire")]

    # Another transfer's address, a forged token, an expired one: refused, no job.
    other_pid, other_address, _ = _started_transfer(world, peer, "other")
    assert _query(client, other_address["endpoint"], token).status_code == 401
    forged = jwt.encode(
        {**claims, "exp": int(time.time()) + 60}, Ed25519PrivateKey.generate(), "EdDSA"
    )
    assert _query(client, address["endpoint"], forged).status_code == 401
    key = client.app.state.dataspace.key  # type: ignore[attr-defined]
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, key, algorithm="EdDSA")
    assert _query(client, address["endpoint"], expired).status_code == 401
    assert len(_jobs(hub_ctx)) == 1

    # The contract's suspension suspends the transfer: its token opens nothing any more.
    world.post(
        f"/contracts/{contract_id}/suspend",
        world.as_operator(),
        {"reason": "Manquement signalé par le DPO."},
    )
    peer.wait("urn:t:pull", "STARTED", "SUSPENDED")
    refused = _query(client, address["endpoint"], token)
    assert refused.status_code == 403, refused.text
    assert "the transfer is SUSPENDED, not STARTED" in refused.json()["reasons"]
    assert len(_jobs(hub_ctx)) == 1
    with Session(hub_ctx.engine) as session:
        denied = session.exec(
            select(AuditEvent).where(AuditEvent.action == "dsp_transfer.query.refused")
        ).all()
    assert [e.resource_id for e in denied] == [pid]
    assert denied[0].details["decision"] == "edh/dataspace/pull"
    assert denied[0].reasons == refused.json()["reasons"]
    assert any(
        r.endswith("is suspended: Manquement signalé par le DPO.") for r in denied[0].reasons
    )
    assert other_pid != pid


def test_no_policy_engine_no_pull(
    world: World,
    peer: Peer,
    hub_ctx: HubContext,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fail closed: a valid token of a STARTED transfer opens nothing while no policy
    engine answers (503, audited with the reason), and no job reaches the sandbox."""
    pid, address, _ = _started_transfer(world, peer, "closed")
    monkeypatch.setattr(hub_ctx, "policy", None)
    answer = _query(client, address["endpoint"], _token(address))
    assert answer.status_code == 503, answer.text
    assert _jobs(hub_ctx) == []
    with Session(hub_ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == "dsp_transfer.query.refused")
        assert [(e.resource_id, e.reasons) for e in session.exec(query).all()] == [
            (pid, ["no policy engine is configured"])
        ]


def _refusals(ctx: HubContext) -> list[tuple[str, str, list[str]]]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == "dsp_transfer.query.refused")
        return [(e.actor_sub, e.resource_id, list(e.reasons)) for e in session.exec(query).all()]


def test_the_pull_token_opens_queries_only_to_its_researcher(
    world: World, peer: Peer, hub_ctx: HubContext, client: TestClient
) -> None:
    """Bob, accredited member of the same project, and Zoé, accredited in the lab but
    member of no project, hold Claire's token: both refused (403 problem+json, audited,
    no job); without an identity or with a forged one: 401; Claire herself: a job."""
    pid, address, _ = _started_transfer(world, peer, "bound")
    token, op = _token(address), world.as_operator()
    accreditation = {
        "granted_by": "CASD",
        "valid_from": time.strftime("%Y-%m-%d"),
        "valid_until": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 100 * 86400)),
    }
    for subject in ("bob", "zoe"):
        body = {
            "subject": subject,
            "name": subject.title(),
            "email": f"{subject}@lab.example.fr",
            "organisation_id": world.lab_id,
            "accreditation": accreditation,
        }
        researcher = world.post("/researchers", op, body)
        if subject == "bob":
            member = {"researcher_id": researcher["id"]}
            world.post(f"/projects/{world.project_id}/members", op, member)
    reason = "the caller is not the researcher the token was issued to"
    for intruder in ("bob", "zoe"):
        refused = _query(client, address["endpoint"], token, intruder)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["reasons"] == [reason]
        assert "claire" not in refused.text
    assert _refusals(hub_ctx) == [("bob", pid, [reason]), ("zoe", pid, [reason])]

    assert _query(client, address["endpoint"], token, None).status_code == 401
    forged_identity = jwt.encode(
        {"sub": "claire", "roles": ["researcher"], "exp": int(time.time()) + 60},
        Ed25519PrivateKey.generate(),
        "EdDSA",
    )
    headers = {"Authorization": f"Bearer {token}", RESEARCHER_HEADER: f"Bearer {forged_identity}"}
    path = "/" + address["endpoint"].split("://", 1)[1].split("/", 1)[1]
    body = {"sql": "SELECT count(*) FROM statements", "purpose": PURPOSE}
    assert client.post(path, json=body, headers=headers).status_code == 401
    with Session(hub_ctx.engine) as session:
        failures = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.failed"))
        assert len(failures.all()) >= 2
    assert _jobs(hub_ctx) == []

    answer = _query(client, address["endpoint"], token, "claire")
    assert answer.status_code not in (401, 403, 404), answer.text
    assert _jobs(hub_ctx) == [(world.project_id, "claire")]
