"""Enforcement (interface 4) on SQLite and PostgreSQL, with facts made through the real API:
every decision audited with the bundle hash, and the very next decision after a
revocation, a membership removal or an expiry refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from hub.context import HubContext
from hub.db import session_scope
from hub.enforcement.data import sync_for
from hub.enforcement.enforce import NO_ENGINE, check
from hub.errors import Forbidden, PolicyUnavailable
from hub.metrics import POLICY_DECISIONS
from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from hub.policy.port import PolicyDecision
from hub.registry.models import Organisation, Researcher
from hub.trail.models import AuditEvent
from hub.trail.writer import Actor, Resource, Why
from tests.support.contracts_fixtures import World
from tests.support.factories import new_siren
from tests.support.policy_fixtures import claire, claire_id, query_input

QUERY = "edh/sandbox/query"


def _ask(
    ctx: HubContext, world: World, contract: dict[str, Any], today: date | None = None
) -> PolicyDecision:
    why = Why(contract_id=contract["id"], project_id=world.project_id)
    with session_scope(ctx.engine) as session:
        return check(
            ctx,
            session,
            QUERY,
            query_input(world, contract),
            claire(world),
            Resource("query", None),
            why,
            today=today,
        )


def _refusal(ctx: HubContext, world: World, contract: dict[str, Any], **kw: Any) -> list[str]:
    with pytest.raises(Forbidden) as info:
        _ask(ctx, world, contract, **kw)
    assert info.value.extra["decision"] == QUERY
    return list(info.value.extra["reasons"])


def _policy_events(ctx: HubContext, action: str) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return list(session.exec(query.order_by(col(AuditEvent.seq))).all())


def test_allowed_query_carries_obligations_and_is_audited(
    hub_ctx: HubContext, world: World
) -> None:
    contract = world.finalized()
    decision = _ask(hub_ctx, world, contract)
    assert decision.allow, decision.reasons
    assert decision.obligations["min_cell_size"] == 10
    [event] = _policy_events(hub_ctx, f"policy.{QUERY}")
    assert event.decision == "allow" and event.actor_sub == "claire"
    assert event.details["bundle_hash"] == PolicyBundle.load().hash
    assert event.contract_id == contract["id"] and event.project_id == world.project_id


def _allowed_first(
    hub_ctx: HubContext, client: TestClient, world: World
) -> tuple[dict[str, Any], str]:
    """A finalized contract under which claire's query is allowed, and claire's id."""
    contract = world.finalized()
    assert _ask(hub_ctx, world, contract).allow
    return contract, claire_id(client, world)


@pytest.mark.parametrize("target", ["researcher", "contract"])
def test_revoking_an_accreditation_or_suspending_a_contract_denies_the_next_query(
    hub_ctx: HubContext, client: TestClient, world: World, target: str
) -> None:
    contract, rid = _allowed_first(hub_ctx, client, world)
    if target == "researcher":
        path = f"/researchers/{rid}/revoke"
        reason = "the accreditation of researcher claire is revoked"
    else:
        cid = contract["id"]
        path, reason = f"/contracts/{cid}/suspend", f"contract {cid} is SUSPENDED, not FINALIZED"
    body = {"reason": "Signalement de la CNIL en cours d'instruction."}
    world.post(path, world.as_operator(), body)
    assert _refusal(hub_ctx, world, contract) == [reason]
    allow, deny = _policy_events(hub_ctx, f"policy.{QUERY}")
    assert (allow.decision, deny.decision) == ("allow", "deny")
    assert deny.reasons == [reason]
    assert deny.details["bundle_hash"] == allow.details["bundle_hash"] != ""


def test_removing_a_member_denies_the_next_query(
    hub_ctx: HubContext, client: TestClient, world: World
) -> None:
    contract, rid = _allowed_first(hub_ctx, client, world)
    resp = client.delete(
        f"/api/v1/projects/{world.project_id}/members/{rid}", headers=world.as_operator()
    )
    assert resp.status_code == 204, resp.text
    reasons = _refusal(hub_ctx, world, contract)
    assert reasons == [f"researcher claire is not a member of project {world.project_id}"]


def test_a_bulk_update_outside_the_api_is_seen_too(
    hub_ctx: HubContext, client: TestClient, world: World
) -> None:
    contract, rid = _allowed_first(hub_ctx, client, world)
    with session_scope(hub_ctx.engine) as session:
        stmt = update(Researcher).where(col(Researcher.id) == rid)
        session.execute(stmt.values(accredited_until=date.today() - timedelta(days=1)))
    [reason] = _refusal(hub_ctx, world, contract)
    assert reason.startswith("researcher claire is accredited from")


def test_stale_data_is_refreshed_before_deciding(hub_ctx: HubContext, world: World) -> None:
    contract = world.finalized()
    sync = sync_for(hub_ctx.engine)
    assert sync is not None and not sync.is_stale
    sync.published = None
    assert _ask(hub_ctx, world, contract).allow
    assert not sync.is_stale


def test_an_expired_contract_denies_the_next_day(hub_ctx: HubContext, world: World) -> None:
    contract = world.finalized()
    last_day = date.fromisoformat(world.terms()["valid_until"])
    assert _ask(hub_ctx, world, contract, today=last_day).allow
    reasons = _refusal(hub_ctx, world, contract, today=last_day + timedelta(days=1))
    assert any("not on" in r and contract["id"] in r for r in reasons), reasons


def test_a_refusal_keeps_its_audit_event_but_not_the_callers_change(
    hub_ctx: HubContext, world: World
) -> None:
    contract = world.request()
    with pytest.raises(Forbidden), session_scope(hub_ctx.engine) as session:
        session.add(Organisation(name="half-done", siren=new_siren(), kind="lab"))
        session.flush()
        check(
            hub_ctx,
            session,
            QUERY,
            query_input(world, contract),
            claire(world),
            Resource("query", None),
            Why(),
        )
    with Session(hub_ctx.engine) as session:
        names = session.exec(select(Organisation.name)).all()
    assert "half-done" not in names
    [event] = _policy_events(hub_ctx, f"policy.{QUERY}")
    assert event.decision == "deny"
    assert any("not FINALIZED" in r or "is unknown" in r for r in event.reasons)


def test_no_engine_means_no_access(hub_ctx: HubContext, world: World) -> None:
    contract = world.finalized()
    hub_ctx.policy = None
    with pytest.raises(PolicyUnavailable) as info:
        _ask(hub_ctx, world, contract)
    assert info.value.extra["reasons"] == [NO_ENGINE]
    [event] = _policy_events(hub_ctx, "policy.outage")
    assert (event.decision, event.reasons) == ("deny", [NO_ENGINE])


Auth = Callable[..., dict[str, str]]

FROZEN = """# METADATA
# description: registry administration frozen (a real policy, for this test)
package edh.decisions.admin

registry := {"allow": false, "reasons": ["registry frozen for the annual audit"]}
"""


def test_operator_registry_actions_go_through_the_policy(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    body = {"name": "Lab A", "siren": new_siren(), "kind": "lab"}
    assert client.post("/api/v1/organisations", json=body, headers=auth("operator")).is_success
    [allowed] = _policy_events(hub_ctx, "policy.edh/admin/registry")
    assert allowed.decision == "allow" and allowed.resource_id == "POST /api/v1/organisations"
    hub_ctx.policy = InProcessPolicyEngine(PolicyBundle.from_sources({"admin.rego": FROZEN}))
    body = {"name": "Lab B", "siren": new_siren(), "kind": "lab"}
    resp = client.post("/api/v1/organisations", json=body, headers=auth("operator"))
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["reasons"] == ["registry frozen for the annual audit"]
    listed = client.get("/api/v1/organisations", headers=auth("operator")).json()
    assert [o["name"] for o in listed["items"]] == ["Lab A"]
    denied = _policy_events(hub_ctx, "policy.edh/admin/registry")[-1]
    assert denied.decision == "deny" and denied.reasons == ["registry frozen for the annual audit"]
    assert denied.details["bundle_hash"] == hub_ctx.policy.bundle_hash


def test_health_reports_the_policy_engine(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["checks"]["policy"] == {"status": "ok"}


def test_decisions_are_counted_in_metrics(hub_ctx: HubContext) -> None:
    counter = POLICY_DECISIONS.labels(decision="edh/audit/read", result="deny")
    before = counter._value.get()
    with pytest.raises(Forbidden), session_scope(hub_ctx.engine) as session:
        check(
            hub_ctx, session, "edh/audit/read", {}, Actor("r", "researcher"), Resource("a"), Why()
        )
    assert counter._value.get() == before + 1


def test_input_cannot_forge_the_subject(hub_ctx: HubContext) -> None:
    forged = {"subject": {"sub": "dpo-1", "role": "dpo"}, "today": "2026-01-01"}
    with pytest.raises(Forbidden) as info, session_scope(hub_ctx.engine) as session:
        check(
            hub_ctx,
            session,
            "edh/audit/read",
            forged,
            Actor("mallory", "researcher"),
            Resource("audit_log", "events"),
            Why(),
        )
    assert info.value.extra["reasons"] == [
        'role "researcher" may not do this (allowed: dpo, operator)'
    ]
