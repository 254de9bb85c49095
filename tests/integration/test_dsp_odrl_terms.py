"""ODRL is the wire form of a research contract's terms, Rego the engine that decides.

Both ways: every constraint the catalog offers maps to a contract term that a sandbox
decision enforces (oracle: the real OPA engine, whose decision flips when the term
does), and a request carrying a constraint Rego cannot enforce is refused (400, audited,
nothing stored). A request with valid terms opens the lab's contract request by itself;
once the contract went through the ethics committee and both signatures, the hub sends
it as the agreement (the contract's terms as ODRL constraints) without any operator
step, retrying while the consumer is briefly down. Oracle: the database, the audit log
and what the consumer received."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from contracts.dsp import messages, odrl
from contracts.dsp.vocab import CONTEXT
from hub.context import HubContext
from hub.contracts.models import Contract
from hub.contracts.service import current_terms
from hub.dataspace import negotiation
from hub.dataspace.models import DspNegotiation
from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import FIELDS, World
from tests.support.dsp_peer import Peer
from tests.support.factories import new_siren

TODAY = date.today()
PURPOSE = "Mesurer l'effet des vidéos sur la persévérance des élèves."


def asked(world: World, **changes: Any) -> list[dict[str, Any]]:
    """The terms a lab asks for, as ODRL constraints; ``changes`` by contract field (None
    drops the term)."""
    values: dict[str, Any] = {
        "purpose": PURPOSE,
        "project_id": world.project_id,
        "allowed_fields": ["actor_pseudonym", "verb_id", "timestamp"],
        "min_cell_size": "20",
        "release_mode": "reviewed",
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=200)).isoformat(),
        **changes,
    }
    return [
        {"leftOperand": t.left, "operator": t.operator, "rightOperand": values[t.field]}
        for t in odrl.TERMS
        if values[t.field] is not None
    ]


def _request(world: World, consumer_pid: str, constraints: list[Any], peer: Peer) -> Any:
    offer = {
        "@type": "Offer",
        "@id": f"urn:edh:offer:{world.dataset_id}",
        "target": world.dataset_id,
        "permission": [{"action": "use", "constraint": constraints}],
    }
    message = messages.contract_request(consumer_pid, offer, callback_address=peer.url)
    headers = world.auth("researcher", sub="claire", org=world.lab_id)
    return world.client.post("/dsp/negotiations/request", json=message, headers=headers)


def _contracts(ctx: HubContext) -> list[Contract]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(Contract)).all())


def _negotiation(ctx: HubContext, pid: str) -> DspNegotiation:
    with Session(ctx.engine) as session:
        row = session.get(DspNegotiation, pid)
        assert row is not None
        return row


def _denials(ctx: HubContext, action: str) -> list[list[str]]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.decision == "deny")
        return [list(e.reasons or []) for e in session.exec(query.order_by(col(AuditEvent.seq)))]


# ODRL → Rego: what the hub offers is what Rego enforces ---------------------------------


def test_every_offered_constraint_is_a_term_rego_enforces(world: World) -> None:
    headers = world.auth("researcher", sub="claire", org=world.lab_id)
    request = {"@context": CONTEXT, "@type": "CatalogRequestMessage"}
    catalog = world.client.post("/dsp/catalog/request", json=request, headers=headers).json()
    (offer,) = catalog["dataset"][0]["hasPolicy"]
    (permission,) = offer["permission"]
    offered = permission["constraint"]
    assert offered, "the offer carries the dataset's terms"
    for constraint in offered:
        (term,) = [t for t in odrl.TERMS if (t.left, t.offered) == tuple(constraint.values())[:2]]
        assert term.enforced_by.startswith("edh/sandbox/")
    fields = next(c for c in offered if c["leftOperand"] == "edh:allowedFields")
    assert fields["rightOperand"] == sorted(FIELDS)


OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "isA", "isAllOf", "isAnyOf", "isNoneOf")


def test_rego_enforces_exactly_the_odrl_table() -> None:
    """The allowlist of the Rego decision edh/dataspace/terms is the ODRL table: each of
    its (leftOperand, operator) pairs is allowed, every other operator refused."""
    engine = InProcessPolicyEngine(PolicyBundle.load())
    base = {
        "subject": {"sub": "urn:lab", "role": "dsp_participant"},
        "today": TODAY.isoformat(),
        "participant": {"id": "urn:lab", "trusted": True},
    }
    pairs = {(t.left, t.operator) for t in odrl.TERMS}
    for left in {t.left for t in odrl.TERMS}:
        for operator in OPERATORS:
            constraint = {"leftOperand": left, "operator": operator}
            terms = {"constraints": [constraint], "problems": []}
            decision = engine.decide("edh/dataspace/terms", {**base, "terms": terms})
            assert decision.allow == ((left, operator) in pairs), (left, operator)


CONTRACT = {
    "id": "c1",
    "version": 1,
    "state": "FINALIZED",
    "provider_id": "p1",
    "project_id": "pr1",
    "datasets": ["video"],
    "allowed_fields": ["verb_id"],
    "min_cell_size": 10,
    "row_level": False,
    "rounding_base": None,
    "release_mode": "differential_privacy",
    "purpose": "study",
    "valid_from": (TODAY - timedelta(days=1)).isoformat(),
    "valid_until": (TODAY + timedelta(days=1)).isoformat(),
    "retention_days": 30,
    "connector_ids": [],
}
QUERY = {
    "subject": {"sub": "alice", "role": "researcher"},
    "today": TODAY.isoformat(),
    "project_id": "pr1",
    "contract_id": "c1",
    "purpose": "study",
    "tables": ["video"],
    "columns": [{"table": "video", "column": "verb_id"}],
    "row_level": False,
    "job": {"owner": "alice", "row_level": False, "disclosure_checked": True, "min_cell_count": 12},
}
# A change of each term the hub offers or accepts, and what the term's decision must do.
VIOLATIONS: dict[str, tuple[Any, Callable[[Any], bool]]] = {
    "purpose": ("another purpose", lambda d: not d.allow),
    "project_id": ("pr2", lambda d: not d.allow),
    "allowed_fields": (["object_id"], lambda d: not d.allow),
    "min_cell_size": (20, lambda d: not d.allow),
    "release_mode": ("reviewed", lambda d: d.obligations["release_mode"] == "reviewed"),
    "valid_from": ((TODAY + timedelta(days=1)).isoformat(), lambda d: not d.allow),
    "valid_until": ((TODAY - timedelta(days=1)).isoformat(), lambda d: not d.allow),
}


@pytest.mark.parametrize("term", odrl.TERMS, ids=lambda t: f"{t.left}-{t.operator}")
def test_each_term_is_enforced_by_its_rego_decision(term: odrl.Term) -> None:
    """The oracle is OPA itself: the decision the table names allows the base query (or
    release) and answers differently once the contract's term changes."""
    engine = InProcessPolicyEngine(PolicyBundle.load())
    engine.put_data(
        "edh/researchers",
        {
            "alice": {
                "id": "r1",
                "lab_id": "lab1",
                "revoked": False,
                "accredited_from": CONTRACT["valid_from"],
                "accredited_until": CONTRACT["valid_until"],
            }
        },
    )
    engine.put_data("edh/projects", {"pr1": {"lab_id": "lab1", "members": ["alice"]}})
    engine.put_data("edh/contracts", {"c1": CONTRACT})
    base = engine.decide(term.enforced_by, QUERY)
    assert base.allow, base.reasons
    assert base.obligations.get("release_mode", "differential_privacy") == "differential_privacy"
    value, changed = VIOLATIONS[term.field]
    engine.put_data("edh/contracts", {"c1": {**CONTRACT, term.field: value}})
    assert changed(engine.decide(term.enforced_by, QUERY))


# Rego → ODRL: what Rego cannot enforce is refused ---------------------------------------


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
            "the constraint spatial eq is not a term the hub enforces",
        ),
        (
            {"leftOperand": "edh:retentionDays", "operator": "lteq", "rightOperand": "30"},
            "the constraint edh:retentionDays lteq is not a term the hub enforces",
        ),
        (
            {"leftOperand": "odrl:purpose", "operator": "neq", "rightOperand": "marketing"},
            "the constraint purpose neq is not a term the hub enforces",
        ),
    ],
)
def test_a_constraint_rego_cannot_enforce_is_refused(
    world: World, peer: Peer, hub_ctx: HubContext, extra: dict[str, Any], reason: str
) -> None:
    answer = _request(world, "urn:c:unenforced", [*asked(world), extra], peer)
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == [reason]
    assert _denials(hub_ctx, "policy.edh/dataspace/terms") == [[reason]]
    assert _contracts(hub_ctx) == []
    with Session(hub_ctx.engine) as session:
        assert session.exec(select(DspNegotiation)).all() == []


def test_terms_outside_the_offer_or_incomplete_are_refused(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    other_lab = world.post(
        "/organisations", world.as_operator(), {"name": "x", "siren": new_siren(), "kind": "lab"}
    )["id"]
    other_project = world.post(
        "/projects",
        world.as_operator(),
        {"title": "Autre", "purpose": "Autre étude.", "lab_id": other_lab, "members": []},
    )["id"]
    cases = [
        (asked(world, allowed_fields=["pupil_name"]), "outside the offer"),
        (asked(world, min_cell_size="5"), "edh:minCellSize is below the offer's 10"),
        (asked(world, release_mode="raw"), "edh:releaseMode is not one the offer"),
        (asked(world, purpose=None), "the request lacks purpose"),
        (asked(world, project_id=other_project), "not a project of the lab"),
        (asked(world, purpose="court"), "purpose: String should have at least 10"),
    ]
    for constraints, reason in cases:
        answer = _request(world, "urn:c:outside", constraints, peer)
        assert answer.status_code == 400, answer.text
        assert any(reason in r for r in answer.json()["reason"]), (reason, answer.json())
    assert len(_denials(hub_ctx, "policy.edh/dataspace/terms")) == len(cases)
    assert _contracts(hub_ctx) == []


# The contract request, the ethics gate and the agreement, with no operator step ---------


def test_a_request_opens_the_contract_and_its_signature_sends_the_agreement(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    peer.down_for = 2  # the consumer is down when the agreement leaves: retried
    answer = _request(world, "urn:c:auto", asked(world), peer)
    assert answer.status_code == 201, answer.text
    pid = answer.json()["providerPid"]
    (contract,) = _contracts(hub_ctx)
    assert (contract.state, contract.lab_id, contract.project_id) == (
        "REQUESTED",
        world.lab_id,
        world.project_id,
    )
    assert _negotiation(hub_ctx, pid).contract_id == contract.id
    with Session(hub_ctx.engine) as session:
        terms = current_terms(session, contract)
    assert terms.datasets == [world.dataset_id] and terms.purpose == PURPOSE
    assert (terms.min_cell_size, terms.release_mode) == (20, "reviewed")
    assert terms.allowed_fields == ["actor_pseudonym", "verb_id", "timestamp"]

    world.post(f"/contracts/{contract.id}/offer", world.as_provider())
    world.post(f"/contracts/{contract.id}/accept", world.as_lab())
    assert _negotiation(hub_ctx, pid).state == "REQUESTED"  # the ethics gate
    world.approve(contract.id)
    assert _negotiation(hub_ctx, pid).state == "REQUESTED"  # the signatures
    world.sign_and_finalize(contract.id)

    peer.wait("urn:c:auto", "AGREED")
    (sent,) = peer.received["urn:c:auto"]
    agreement = sent["agreement"]
    assert agreement["@id"] == f"urn:edh:contract:{contract.id}:v1"
    assert agreement["permission"] == [
        {"action": "use", "constraint": odrl.agreement_constraints(terms.model_dump(mode="json"))}
    ]
    assert agreement["assignee"] == f"urn:edh:org:{world.lab_id}"
    assert peer.attempts.count("/cb/negotiations/urn:c:auto/agreement") == 3
    assert peer.invalid == []
    row = _negotiation(hub_ctx, pid)
    assert (row.state, row.agreement_id) == ("AGREED", agreement["@id"])
    verification = messages.agreement_verification(pid, "urn:c:auto")
    headers = world.auth("researcher", sub="claire", org=world.lab_id)
    verified = world.client.post(
        f"/dsp/negotiations/{pid}/agreement/verification", json=verification, headers=headers
    )
    assert verified.status_code == 200, verified.text
    peer.wait("urn:c:auto", "AGREED", "FINALIZED")


def test_an_ethics_rejection_ends_the_negotiation(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    pid = _request(world, "urn:c:rejected", asked(world), peer).json()["providerPid"]
    (contract,) = _contracts(hub_ctx)
    world.post(f"/contracts/{contract.id}/offer", world.as_provider())
    world.post(f"/contracts/{contract.id}/accept", world.as_lab())
    body = {"verdict": "reject", "reason": "Finalité trop large pour ces données."}
    world.post(f"/contracts/{contract.id}/reviews", world.as_reviewer(), body)
    peer.wait("urn:c:rejected", "TERMINATED")
    assert _negotiation(hub_ctx, pid).state == "TERMINATED"
    assert _negotiation(hub_ctx, pid).agreement_id is None


def test_a_consumer_refusing_the_agreement_is_not_asked_again(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    """A 4xx is an answer, not an outage: one attempt; the negotiation stays AGREED (the
    hub's move is durable) and the failure is logged."""
    pid = _request(world, "urn:c:refusing", asked(world), peer).json()["providerPid"]
    (contract,) = _contracts(hub_ctx)
    peer.refusing = 400
    world.post(f"/contracts/{contract.id}/offer", world.as_provider())
    world.post(f"/contracts/{contract.id}/accept", world.as_lab())
    world.approve(contract.id)
    world.sign_and_finalize(contract.id)
    path = "/cb/negotiations/urn:c:refusing/agreement"
    deadline = time.monotonic() + 20
    while path not in peer.attempts and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(2)  # longer than the first backoffs: no second attempt comes
    assert peer.attempts.count(path) == 1
    assert _negotiation(hub_ctx, pid).state == "AGREED"


# A counter-offer amends the contract while its terms may change, else is refused -------


def _offered_negotiation(world: World, peer: Peer, hub_ctx: HubContext, tag: str) -> str:
    """A negotiation opened with the project's terms, then offered back by the hub (its
    own ``offer`` move): OFFERED, its contract REQUESTED (version 1)."""
    pid = str(_request(world, tag, asked(world), peer).json()["providerPid"])
    node = world.client.app.state.dataspace  # type: ignore[attr-defined]
    with Session(hub_ctx.engine) as session:
        negotiation.offer(node, session, pid)
    peer.wait(tag, "OFFERED")
    return pid


def _counter(world: World, pid: str, consumer_pid: str, constraints: list[Any]) -> Any:
    offer = {
        "@type": "Offer",
        "@id": f"urn:edh:offer:{world.dataset_id}",
        "target": world.dataset_id,
        "permission": [{"action": "use", "constraint": constraints}],
    }
    message = messages.contract_request(consumer_pid, offer, provider_pid=pid)
    headers = world.auth("researcher", sub="claire", org=world.lab_id)
    return world.client.post(f"/dsp/negotiations/{pid}/request", json=message, headers=headers)


def test_a_counter_offer_amends_the_contract_and_its_agreement_carries_the_new_terms(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    pid = _offered_negotiation(world, peer, hub_ctx, "urn:c:counter")
    fields = ["actor_pseudonym", "verb_id"]
    answer = _counter(
        world, pid, "urn:c:counter", asked(world, min_cell_size="30", allowed_fields=fields)
    )
    assert answer.status_code == 200, answer.text
    (contract,) = _contracts(hub_ctx)
    assert (contract.state, contract.version) == ("REQUESTED", 2)
    with Session(hub_ctx.engine) as session:
        terms = current_terms(session, contract)
    assert (terms.min_cell_size, terms.allowed_fields) == (30, fields)
    row = _negotiation(hub_ctx, pid)
    assert (row.state, row.requests, row.contract_id) == ("REQUESTED", 2, contract.id)

    world.post(f"/contracts/{contract.id}/offer", world.as_provider())
    world.post(f"/contracts/{contract.id}/accept", world.as_lab())
    world.approve(contract.id)
    world.sign_and_finalize(contract.id)
    peer.wait("urn:c:counter", "OFFERED", "AGREED")
    agreement = peer.received["urn:c:counter"][-1]["agreement"]
    assert agreement["@id"] == f"urn:edh:contract:{contract.id}:v2"
    constraints = {
        c["leftOperand"]: c["rightOperand"] for c in agreement["permission"][0]["constraint"]
    }
    assert constraints["edh:minCellSize"] == "30"
    assert constraints["edh:allowedFields"] == fields


def test_a_counter_offer_on_a_contract_under_review_or_without_terms_is_refused(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    pid = _offered_negotiation(world, peer, hub_ctx, "urn:c:frozen")
    (contract,) = _contracts(hub_ctx)
    dropped = _counter(world, pid, "urn:c:frozen", [])
    assert dropped.status_code == 400, dropped.text
    assert dropped.json()["reason"] == [
        "a counter-offer on a negotiation bound to a contract must carry its terms"
    ]
    world.post(f"/contracts/{contract.id}/offer", world.as_provider())
    world.post(f"/contracts/{contract.id}/accept", world.as_lab())  # the review is pending
    frozen = _counter(world, pid, "urn:c:frozen", asked(world, min_cell_size="30"))
    assert frozen.status_code == 400, frozen.text
    (reason,) = frozen.json()["reason"]
    assert reason.startswith("the contract's terms are frozen in state ACCEPTED")
    (after,) = _contracts(hub_ctx)
    assert (after.state, after.version) == ("ACCEPTED", 1)
    with Session(hub_ctx.engine) as session:
        assert current_terms(session, after).min_cell_size == 20
    row = _negotiation(hub_ctx, pid)
    assert (row.state, row.requests) == ("OFFERED", 1)
    refused = _denials(hub_ctx, "dsp_negotiation.requested.refused")
    assert refused == [list(dropped.json()["reason"]), [reason]]


def test_a_counter_offer_with_terms_opens_the_contract_a_bare_request_did_not(
    world: World, peer: Peer, hub_ctx: HubContext
) -> None:
    pid = str(_request(world, "urn:c:bare", [], peer).json()["providerPid"])
    assert _contracts(hub_ctx) == []  # a request without terms opens none
    node = world.client.app.state.dataspace  # type: ignore[attr-defined]
    with Session(hub_ctx.engine) as session:
        negotiation.offer(node, session, pid)
    peer.wait("urn:c:bare", "OFFERED")
    answer = _counter(world, pid, "urn:c:bare", asked(world))
    assert answer.status_code == 200, answer.text
    (contract,) = _contracts(hub_ctx)
    assert (contract.state, contract.version, contract.lab_id) == ("REQUESTED", 1, world.lab_id)
    assert _negotiation(hub_ctx, pid).contract_id == contract.id
