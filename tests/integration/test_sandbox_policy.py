"""The sandbox asks the policy engine (edh/sandbox/query, edh/sandbox/release): a change of
the facts refuses the very next query, with the policy's reasons on the API and in the
audit log; the decision's obligations drive disclosure control."""

from __future__ import annotations

from sqlmodel import Session, select

from hub.db import session_scope
from hub.registry import service as registry
from hub.trail.models import AuditEvent
from hub.trail.writer import Actor
from tests.support.sandbox_fixtures import SandboxWorld, suspend_contract

BY_SCHOOL = (
    "SELECT school_id, count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY 1 ORDER BY 1"
)
OPERATOR = Actor("admin", "operator")


def refused_with(world: SandboxWorld, reason: str) -> None:
    """The next query is a 403 problem+json carrying ``reason``, audited as denied."""
    resp = world.submit(BY_SCHOOL)
    assert resp.status_code == 403, resp.text
    problem = resp.json()
    assert resp.headers["content-type"] == "application/problem+json"
    assert reason in problem["reasons"], problem
    with Session(world.ctx.engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.resource_id == problem["job_id"])
        ).all()
    denials = {e.action: e.reasons for e in events if e.decision == "deny"}
    assert reason in denials["policy.edh/sandbox/query"]
    assert reason in denials["sandbox.query.submit"][0]
    job = world.client.get(f"/api/v1/queries/{problem['job_id']}", headers=world.headers())
    assert job.json()["status"] == "refused" and reason in job.json()["reasons"]


def test_allowed_query_and_release_are_decided_by_the_policy(sandbox: SandboxWorld) -> None:
    job, result = sandbox.run(BY_SCHOOL)
    assert job["status"] == "released" and len(result["rows"]) == 4
    with Session(sandbox.ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.resource_id == job["id"])).all()
    actions = [(e.action, e.decision) for e in events]
    assert ("policy.edh/sandbox/query", "allow") in actions
    assert ("policy.edh/sandbox/release", "allow") in actions


def test_revoked_accreditation_refuses_the_next_query(sandbox: SandboxWorld) -> None:
    assert sandbox.run(BY_SCHOOL)[0]["status"] == "released"
    with session_scope(sandbox.ctx.engine) as session:
        alice = registry.researcher_by_subject(session, "alice")
        assert alice is not None
        registry.revoke_researcher(session, OPERATOR, alice.id, "misconduct")
    refused_with(sandbox, "the accreditation of researcher alice is revoked")


def test_removed_member_is_refused_at_once(sandbox: SandboxWorld) -> None:
    assert sandbox.run(BY_SCHOOL)[0]["status"] == "released"
    pid = sandbox.project("alice")
    with session_scope(sandbox.ctx.engine) as session:
        alice = registry.researcher_by_subject(session, "alice")
        assert alice is not None
        registry.remove_member(session, OPERATOR, pid, alice.id)
    refused_with(sandbox, f"researcher alice is not a member of project {pid}")


def test_suspended_contract_refuses_the_next_query(sandbox: SandboxWorld) -> None:
    assert sandbox.run(BY_SCHOOL)[0]["status"] == "released"
    suspend_contract(sandbox.ctx, "c-alice")
    refused_with(sandbox, "contract c-alice is SUSPENDED, not FINALIZED")


def test_wrong_purpose_is_refused_by_the_policy(sandbox: SandboxWorld) -> None:
    resp = sandbox.client.post(
        f"/api/v1/projects/{sandbox.project()}/queries",
        json={"sql": BY_SCHOOL, "purpose": "marketing"},
        headers=sandbox.headers(),
    )
    assert resp.status_code == 403
    reason = "the declared purpose does not match the purpose of contract c-alice"
    assert reason in resp.json()["reasons"]
