"""Review decisions and signatures go through their own policy decisions, audited."""

from __future__ import annotations

from sqlmodel import Session, col, select

from hub.context import HubContext
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import World


def _policy_events(hub_ctx: HubContext, cid: str, decision: str) -> list[tuple[str, list[str]]]:
    with Session(hub_ctx.engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.contract_id == cid, AuditEvent.action == f"policy.{decision}")
            .order_by(col(AuditEvent.seq))
        ).all()
    return [(str(e.decision), list(e.reasons)) for e in rows]


def test_review_decisions_are_checked_and_audited_as_review(
    world: World, hub_ctx: HubContext
) -> None:
    cid = world.accepted()["id"]
    body = {"verdict": "request_changes", "reason": "Préciser la base légale retenue."}
    insider = world.as_reviewer(sub="relecteur.labo", org=world.lab_id)
    resp = world.client.post(f"/api/v1/contracts/{cid}/reviews", json=body, headers=insider)
    assert resp.status_code == 403, resp.text
    back = world.post(f"/contracts/{cid}/reviews", world.as_reviewer(), body)
    assert back["state"] == "REQUESTED"
    conflict = "conflict of interest: a reviewer from a party's organisation cannot review"
    events = _policy_events(hub_ctx, cid, "edh/contracts/review")
    assert [d for d, _ in events] == ["deny", "allow"]
    assert events[0][1][0].startswith(conflict)
    assert (
        _policy_events(hub_ctx, cid, "edh/contracts/transition")
        == [("allow", ["this role may perform this contract transition"])] * 2
    )  # offer, accept: the review is not a plain transition


def test_signing_is_checked_by_the_sign_decision(world: World, hub_ctx: HubContext) -> None:
    cid = world.agreed()["id"]
    url = f"/api/v1/contracts/{cid}/signatures"
    outsider = world.auth("researcher", sub="claire", org="autre-organisation")
    resp = world.client.post(url, json={"jws": world.jws(cid, "lab")}, headers=outsider)
    assert resp.status_code == 403, resp.text
    assert "only a member of the contract's lab organisation may sign as lab" in resp.text
    contract = world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_lab()).json()
    assert (contract["state"], contract["signatures"]) == ("AGREED", [])
    world.post(url.removeprefix("/api/v1"), world.as_lab(), {"jws": world.jws(cid, "lab")})
    events = _policy_events(hub_ctx, cid, "edh/contracts/sign")
    assert [d for d, _ in events] == ["deny", "allow"]
