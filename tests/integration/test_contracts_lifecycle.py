"""The contract lifecycle through the API, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from contracts.verify import verify_file
from hub.audit.verify import verify_chain
from hub.context import HubContext
from hub.contracts.events import TOPIC
from hub.contracts.policy_data import contract_documents
from hub.contracts.service import get_contract, is_in_force
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import World


def _in_force(hub_ctx: HubContext, contract_id: str) -> tuple[bool, list[str]]:
    with Session(hub_ctx.engine) as session:
        return is_in_force(get_contract(session, contract_id), datetime.now(UTC).date())


def test_full_lifecycle_reaches_finalized_and_verifies_offline(
    world: World, hub_ctx: HubContext
) -> None:
    contract = world.request()
    cid = contract["id"]
    assert contract["state"] == "REQUESTED" and contract["version"] == 1
    assert _in_force(hub_ctx, cid)[0] is False
    assert world.post(f"/contracts/{cid}/offer", world.as_provider())["state"] == "OFFERED"
    accepted = world.post(f"/contracts/{cid}/accept", world.as_lab())
    assert (accepted["state"], accepted["review_status"]) == ("ACCEPTED", "pending")
    body = {"verdict": "approve", "reason": "Finalité claire et proportionnée."}
    agreed = world.post(f"/contracts/{cid}/reviews", world.as_reviewer(), body)
    assert agreed["state"] == "AGREED"
    world.post(
        f"/contracts/{cid}/signatures", world.as_provider(), {"jws": world.jws(cid, "provider")}
    )
    verified = world.post(
        f"/contracts/{cid}/signatures", world.as_lab(), {"jws": world.jws(cid, "lab")}
    )
    assert verified["state"] == "VERIFIED"
    final = world.post(f"/contracts/{cid}/finalize", world.as_operator())
    assert final["state"] == "FINALIZED" and final["in_force"] is True
    assert {s["party"] for s in final["signatures"]} == {"provider", "lab", "hub"}
    assert _in_force(hub_ctx, cid) == (True, [])

    exported = world.client.get(f"/api/v1/contracts/{cid}/export", headers=world.as_lab()).json()
    report = verify_file(exported)
    assert report.ok, report.problems
    exported["document"]["terms"]["min_cell_size"] = 11
    tampered = verify_file(exported)
    assert not tampered.ok and tampered.signed_by == {}
    assert "missing valid signature of: provider, lab, hub" in tampered.problems

    with Session(hub_ctx.engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.contract_id == cid)).all()
        docs = contract_documents(session)
        assert verify_chain(session).ok
    for expected in (
        "contract.requested",
        "contract.offered",
        "contract.accepted",
        "contract.review_decided",
        "contract.agreed",
        "contract.signed",
        "contract.verified",
        "contract.finalized",
    ):
        assert expected in actions
    assert actions.count("contract.signed") == 3
    assert actions.count("policy.edh/contracts/transition") == 2  # offer, accept
    assert actions.count("policy.edh/contracts/review") == 1
    assert actions.count("policy.edh/contracts/sign") == 3  # provider, lab, hub
    doc = docs[cid]
    assert doc["state"] == "FINALIZED" and doc["datasets"] == [world.dataset_id]
    assert doc["min_cell_size"] == 10 and doc["row_level"] is False


def test_suspension_and_termination_stop_the_flow_at_once(
    world: World, hub_ctx: HubContext
) -> None:
    cid = world.finalized()["id"]
    reason = {"reason": "Incident de sécurité chez l'éditeur."}
    refused = world.client.post(
        f"/api/v1/contracts/{cid}/suspend", json=reason, headers=world.as_provider()
    )
    assert refused.status_code == 403
    suspended = world.post(f"/contracts/{cid}/suspend", world.auth("dpo", sub="dpo"), reason)
    assert suspended["in_force"] is False
    ok, reasons = _in_force(hub_ctx, cid)
    assert not ok and "suspended" in reasons[0]
    with Session(hub_ctx.engine) as session:
        assert contract_documents(session)[cid]["state"] == "SUSPENDED"
    again = world.client.post(
        f"/api/v1/contracts/{cid}/suspend", json=reason, headers=world.as_operator()
    )
    assert again.status_code == 409
    world.post(
        f"/contracts/{cid}/resume", world.as_operator(), {"reason": "Incident clos, audit fait."}
    )
    assert _in_force(hub_ctx, cid)[0] is True
    world.post(
        f"/contracts/{cid}/terminate", world.as_lab(), {"reason": "Fin anticipée du projet."}
    )
    ok, reasons = _in_force(hub_ctx, cid)
    assert not ok and "TERMINATED" in reasons[0]
    resp = world.client.post(
        f"/api/v1/contracts/{cid}/resume", json=reason, headers=world.as_operator()
    )
    assert resp.status_code == 409


def test_expired_contract_is_not_in_force(world: World, hub_ctx: HubContext) -> None:
    cid = world.finalized()["id"]
    with Session(hub_ctx.engine) as session:
        contract = get_contract(session, cid)
        ok, reasons = is_in_force(
            contract, contract.valid_until.replace(year=contract.valid_until.year + 1)
        )
        docs = contract_documents(
            session, on=contract.valid_until.replace(year=contract.valid_until.year + 1)
        )
    assert not ok and "expired" in reasons[0]
    assert docs[cid]["state"] == "EXPIRED"


def test_illegal_transition_is_refused_with_the_allowed_ones(world: World) -> None:
    cid = world.request()["id"]
    resp = world.client.post(f"/api/v1/contracts/{cid}/accept", headers=world.as_lab())
    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["allowed"] == ["OFFERED", "TERMINATED"]
    resp = world.client.post(f"/api/v1/contracts/{cid}/finalize", headers=world.as_operator())
    assert resp.status_code == 409
    assert (
        world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_lab()).json()["state"]
        == "REQUESTED"
    )


def test_only_the_right_party_may_act_and_refusals_are_audited(
    world: World, hub_ctx: HubContext
) -> None:
    cid = world.request()["id"]
    resp = world.client.post(f"/api/v1/contracts/{cid}/offer", headers=world.as_lab())
    assert resp.status_code == 403
    stranger = world.auth("provider", sub="autre", org="another-org")
    assert world.client.post(f"/api/v1/contracts/{cid}/offer", headers=stranger).status_code == 403
    assert world.client.get(f"/api/v1/contracts/{cid}", headers=stranger).status_code == 403
    assert (
        world.client.post(f"/api/v1/contracts/{cid}/offer", headers=world.auth("dpo")).status_code
        == 403
    )
    with Session(hub_ctx.engine) as session:
        denied = session.exec(
            select(AuditEvent).where(AuditEvent.action == "contract.access_denied")
        ).all()
    assert [(e.actor_sub, e.decision, e.contract_id) for e in denied] == [
        ("claire", "deny", cid),
        ("autre", "deny", cid),
        ("autre", "deny", cid),
    ]


def test_amendment_makes_a_new_version_that_needs_review_again(world: World) -> None:
    cid = world.request()["id"]
    world.post(f"/contracts/{cid}/offer", world.as_provider())
    resp = world.client.put(
        f"/api/v1/contracts/{cid}/terms",
        json=world.terms(min_cell_size=20),
        headers=world.as_provider(),
    )
    assert resp.status_code == 200, resp.text
    amended = resp.json()
    assert (amended["version"], amended["state"], amended["terms"]["min_cell_size"]) == (
        2,
        "OFFERED",
        20,
    )
    world.post(f"/contracts/{cid}/accept", world.as_lab())
    body = {"verdict": "request_changes", "reason": "Préciser la durée de conservation."}
    back = world.post(f"/contracts/{cid}/reviews", world.as_reviewer(), body)
    assert (back["state"], back["review_status"]) == ("REQUESTED", "changes_requested")
    resp = world.client.put(
        f"/api/v1/contracts/{cid}/terms",
        json=world.terms(retention_days=90),
        headers=world.as_lab(),
    )
    assert resp.json()["version"] == 3 and resp.json()["review_status"] == "none"
    reviews = world.client.get(f"/api/v1/contracts/{cid}/reviews", headers=world.as_lab()).json()
    assert [r["version"] for r in reviews] == [2]


def test_frozen_terms_cannot_be_amended(world: World) -> None:
    cid = world.agreed()["id"]
    resp = world.client.put(
        f"/api/v1/contracts/{cid}/terms", json=world.terms(), headers=world.as_lab()
    )
    assert resp.status_code == 409
    assert "frozen" in resp.json()["detail"]


def test_every_committed_change_is_announced_on_the_bus(world: World, hub_ctx: HubContext) -> None:
    seen: list[tuple[str, str]] = []
    assert hub_ctx.bus is not None
    hub_ctx.bus.subscribe(TOPIC, "contracts-test", lambda key, ev: seen.append((key, ev["state"])))
    cid = world.finalized()["id"]
    states = [state for key, state in seen if key == cid]
    assert states == [
        "REQUESTED",
        "OFFERED",
        "ACCEPTED",
        "AGREED",
        "AGREED",
        "VERIFIED",
        "FINALIZED",
    ]
    refused = world.client.post(f"/api/v1/contracts/{cid}/offer", headers=world.as_provider())
    assert refused.status_code == 409
    assert len([k for k, _ in seen if k == cid]) == len(states)  # nothing sent on rollback
