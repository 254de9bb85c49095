"""A negotiation's agreement is a signed contract of the contract area: the hub agrees
only under the consumer's lab's FINALIZED contract covering the dataset (the ethics
committee's review and both signatures sit between the consumer's request and the
agreement), the agreement names that contract, and a transfer is granted only while the
contract is in force. Oracle: the database, the audit log and what the consumer received."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from contracts.dsp import messages
from hub.context import HubContext
from hub.dataspace import contract_gate
from hub.dataspace.models import DspNegotiation, DspTransfer
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import World
from tests.support.dsp_peer import Peer
from tests.support.factories import new_siren


def _dsp(world: World, method: str, path: str, body: Any = None, org: str | None = None) -> Any:
    headers = world.auth("researcher", sub="claire", org=org or world.lab_id)
    return world.client.request(method, "/dsp" + path, json=body, headers=headers)


def _negotiate(world: World, peer: Peer, consumer_pid: str, org: str | None = None) -> str:
    offer = {
        "@type": "Offer",
        "@id": f"urn:edh:offer:{world.dataset_id}",
        "target": world.dataset_id,
        "permission": [{"action": "use"}],
    }
    message = messages.contract_request(consumer_pid, offer, callback_address=peer.url)
    answer = _dsp(world, "POST", "/negotiations/request", message, org)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["providerPid"])


def _agree(world: World, pid: str, contract_id: str, role: str = "operator") -> Any:
    return world.client.post(
        f"/api/v1/dataspace/negotiations/{pid}/agreement",
        json={"contract_id": contract_id},
        headers=world.auth(role, sub="admin"),
    )


def _row(ctx: HubContext, pid: str) -> DspNegotiation:
    with Session(ctx.engine) as session:
        row = session.get(DspNegotiation, pid)
        assert row is not None
        return row


def test_the_agreement_waits_for_the_lab_s_finalized_contract(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    pid = _negotiate(world, peer, "urn:c:gate")
    accepted = world.accepted()  # offered and accepted, not yet reviewed nor signed
    assert _agree(world, pid, accepted["id"], role="researcher").status_code == 403
    refused = _agree(world, pid, accepted["id"])
    assert refused.status_code == 409, refused.text
    assert "not FINALIZED" in refused.json()["detail"]
    assert _row(hub_ctx, pid).state == "REQUESTED" and "urn:c:gate" not in peer.received

    contract = world.finalized()
    agreed = _agree(world, pid, contract["id"])
    assert agreed.status_code == 200, agreed.text
    peer.wait("urn:c:gate", "AGREED")
    (sent,) = peer.received["urn:c:gate"]
    expected_id = f"urn:edh:contract:{contract['id']}:v{contract['version']}"
    assert sent["agreement"]["@id"] == expected_id
    assert sent["agreement"]["assignee"] == f"urn:edh:org:{world.lab_id}"
    row = _row(hub_ctx, pid)
    assert (row.state, row.agreement_id, row.contract_id) == ("AGREED", expected_id, contract["id"])
    with Session(hub_ctx.engine) as session:
        query = select(AuditEvent).where(
            AuditEvent.action == "dsp_negotiation.agreed", AuditEvent.resource_id == pid
        )
        assert [e.actor_sub for e in session.exec(query).all()] == ["admin"]

    # One signed contract version is one agreement: a second negotiation cannot reuse it.
    other = _negotiate(world, peer, "urn:c:again")
    assert _agree(world, other, contract["id"]).status_code == 409
    assert _row(hub_ctx, other).state == "REQUESTED"

    # The contract ends before the consumer verified: its negotiation ends with it.
    world.post(
        f"/contracts/{contract['id']}/terminate",
        world.as_operator(),
        {"reason": "Contrat résilié avant usage."},
    )
    peer.wait("urn:c:gate", "AGREED", "TERMINATED")
    assert _row(hub_ctx, pid).state == "TERMINATED" and peer.invalid == []


def test_another_lab_s_contract_opens_nothing(
    world: World, peer: Peer, hub_ctx: HubContext, client: TestClient
) -> None:
    """The attacker: a participant of another organisation asks for the dataset and the
    operator (by mistake or malice) names the lab's contract: refused, nothing sent."""
    contract = world.finalized()
    stranger = world.post(
        "/organisations",
        world.as_operator(),
        {"name": "Autre labo", "siren": new_siren(), "kind": "lab"},
    )["id"]
    pid = _negotiate(world, peer, "urn:c:stranger", org=stranger)
    refused = _agree(world, pid, contract["id"])
    assert refused.status_code == 409
    assert "does not act for the contract's lab" in refused.json()["detail"]
    assert _row(hub_ctx, pid).agreement_id is None and "urn:c:stranger" not in peer.received


def _refusals(ctx: HubContext, pid: str) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(
            AuditEvent.action == "dsp_negotiation.agreed.refused", AuditEvent.resource_id == pid
        )
        return list(session.exec(query).all())


def _linked(world: World, peer: Peer, ctx: HubContext, tag: str, org: str) -> tuple[str, str]:
    """A negotiation of ``org`` linked to the lab's FINALIZED contract, as a consumer's
    terms would link it (the link is set in the database: the attacker's case)."""
    pid = _negotiate(world, peer, tag, org=org)
    contract_id = str(world.finalized()["id"])
    with Session(ctx.engine) as session:
        row = session.get(DspNegotiation, pid)
        assert row is not None
        row.contract_id = contract_id
        session.add(row)
        session.commit()
    return pid, contract_id


def test_the_automatic_agreement_is_the_policy_s_decision_with_its_reasons(
    world: World, peer: Peer, hub_ctx: HubContext, client: TestClient
) -> None:
    """A contract FINALIZED for the lab is not sent as the agreement of a negotiation of
    another organisation: Rego refuses (edh/dataspace/agreement), the refusal is audited
    with the policy's reasons, nothing is sent."""
    stranger = world.post(
        "/organisations",
        world.as_operator(),
        {"name": "Labo tiers", "siren": new_siren(), "kind": "lab"},
    )["id"]
    pid, contract_id = _linked(world, peer, hub_ctx, "urn:c:auto", stranger)
    contract_gate.agree_linked(client.app.state.dataspace, contract_id)  # type: ignore[attr-defined]
    (refusal,) = _refusals(hub_ctx, pid)
    assert refusal.reasons == ["the consumer does not act for the contract's lab"]
    assert refusal.details["decision"] == "edh/dataspace/agreement"
    assert refusal.details["bundle_hash"] == hub_ctx.policy.bundle_hash  # type: ignore[union-attr]
    assert _row(hub_ctx, pid).agreement_id is None and "urn:c:auto" not in peer.received


def test_no_policy_engine_no_agreement(
    world: World,
    peer: Peer,
    hub_ctx: HubContext,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fail closed: the lab's own FINALIZED contract is not sent as its agreement while no
    policy engine answers (by the hub itself: audited; by the operator: 503)."""
    pid, contract_id = _linked(world, peer, hub_ctx, "urn:c:closed", world.lab_id)
    monkeypatch.setattr(hub_ctx, "policy", None)
    contract_gate.agree_linked(client.app.state.dataspace, contract_id)  # type: ignore[attr-defined]
    assert [e.reasons for e in _refusals(hub_ctx, pid)] == [["no policy engine is configured"]]
    assert _agree(world, pid, contract_id).status_code == 503
    assert _row(hub_ctx, pid).state == "REQUESTED" and "urn:c:closed" not in peer.received


def test_a_transfer_is_granted_only_while_the_contract_is_in_force(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    pid = _negotiate(world, peer, "urn:c:xfer")
    contract = world.finalized()
    assert _agree(world, pid, contract["id"]).status_code == 200
    verification = messages.agreement_verification(pid, "urn:c:xfer")
    answer = _dsp(world, "POST", f"/negotiations/{pid}/agreement/verification", verification)
    assert answer.status_code == 200, answer.text
    peer.wait("urn:c:xfer", "AGREED", "FINALIZED")
    agreement_id = _row(hub_ctx, pid).agreement_id
    assert agreement_id is not None

    world.post(
        f"/contracts/{contract['id']}/suspend",
        world.as_operator(),
        {"reason": "Manquement signalé par le DPO."},
    )
    request = messages.transfer_request("urn:t:1", agreement_id, "HttpData-PULL", peer.url)
    refused = _dsp(world, "POST", "/transfers/request", request)
    assert refused.status_code == 400
    assert refused.json()["reason"] == ["the agreement's contract is not in force"]
    with Session(hub_ctx.engine) as session:
        assert session.exec(select(DspTransfer)).all() == []

    world.post(
        f"/contracts/{contract['id']}/resume",
        world.as_operator(),
        {"reason": "Manquement corrigé, levée."},
    )
    granted = _dsp(world, "POST", "/transfers/request", request)
    assert granted.status_code == 201, granted.text
    transfer_pid = granted.json()["providerPid"]
    peer.wait("urn:t:1", "STARTED")

    # The contract's suspension suspends the started transfer, its termination ends it;
    # the consumer hears both (the oracle: what it received and the database).
    world.post(
        f"/contracts/{contract['id']}/suspend",
        world.as_operator(),
        {"reason": "Nouveau manquement signalé."},
    )
    peer.wait("urn:t:1", "STARTED", "SUSPENDED")
    assert _transfer_state(hub_ctx, transfer_pid) == "SUSPENDED"
    world.post(
        f"/contracts/{contract['id']}/terminate",
        world.as_operator(),
        {"reason": "Contrat résilié par le hub."},
    )
    peer.wait("urn:t:1", "STARTED", "SUSPENDED", "TERMINATED")
    assert _transfer_state(hub_ctx, transfer_pid) == "TERMINATED"
    assert peer.invalid == []


def _transfer_state(ctx: HubContext, pid: str) -> str:
    with Session(ctx.engine) as session:
        row = session.get(DspTransfer, pid)
        assert row is not None
        return row.state
