"""Jobs a stopped hub process left behind are taken over by the next hub (or a peer hub
on the same database): queued ones are vetted again and run, running ones end failed
("submit again"), a job whose hub is alive is never taken, two hubs never take the same
job, and every outcome is audited. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hub.app import create_app
from hub.auth import Principal
from hub.config import Settings
from hub.context import HubContext
from hub.db import session_scope
from hub.sandbox import jobs
from hub.sandbox.airlock.models import OutputHold
from hub.sandbox.models import QueryJob
from hub.sandbox.runtime import SandboxRuntime, runtime_for, uninstall
from hub.sandbox.scope import RegistryContracts
from hub.trail.models import AuditEvent
from tests.support.factories import make_context
from tests.support.sandbox_fixtures import (
    PURPOSE,
    RUNAWAY,
    SandboxWorld,
    build_sandbox_world,
    suspend_contract,
)

BY_SCHOOL = (
    "SELECT school_id, count(DISTINCT pupil_id) AS pupils FROM statements GROUP BY 1 ORDER BY 1"
)
ALICE = Principal(sub="alice", roles=frozenset({"researcher"}))
DEAD_HUB = "gone-host:4242:0123456789ab"


@pytest.fixture
def world(hub_ctx: HubContext, lake: Path, monkeypatch: pytest.MonkeyPatch) -> SandboxWorld:
    """The sandbox world, whose own sandbox runtime has stopped, with short leases
    (renewed every 0.1 s, stale after 0.5 s) and a 2 s deadline for every runtime the test
    starts on the same database."""
    for name, value in {"HEARTBEAT_S": "0.1", "LEASE_S": "0.5", "DEADLINE_S": "2"}.items():
        monkeypatch.setenv(f"EDH_SANDBOX__{name}", value)
    monkeypatch.setenv("EDH_SANDBOX__LAKE_DIR", str(lake))
    built = build_sandbox_world(None, hub_ctx, lake, deadline_s=2)
    uninstall(hub_ctx)
    return built


@contextmanager
def live_runtime(world: SandboxWorld) -> Iterator[SandboxRuntime]:
    """A sandbox runtime working on the world's database, closed after."""
    settings = Settings().sandbox.model_copy(update={"lake_dir": world.lake})  # EDH_SANDBOX__*
    runtime = SandboxRuntime(world.ctx, settings, RegistryContracts())
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def new_hub(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, HubContext]]:
    """Start another hub process's app (own context, same database) and stop it after."""
    ctx = make_context(db_url, tmp_path)
    try:
        with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
            yield client, ctx
    finally:
        ctx.engine.dispose()


def leave_job(ctx: HubContext, world: SandboxWorld, status: str, sql: str = BY_SCHOOL) -> str:
    """The row a killed hub process leaves: an active job whose lease it stopped renewing
    an hour ago (``runner`` = the dead process)."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    job = QueryJob(
        project_id=world.project(),
        submitted_by="alice",
        sql_text=sql,
        sql_hash=hashlib.sha256(sql.encode()).hexdigest(),
        purpose=PURPOSE,
        status=status,
        contract_ids=["c-alice"],
        runner=DEAD_HUB,
        heartbeat_at=an_hour_ago,
        started_at=an_hour_ago if status == "running" else None,
    )
    with session_scope(ctx.engine) as session:
        session.add(job)
    return job.id


def wait_finished(ctx: HubContext, job_id: str, timeout: float = 30) -> QueryJob:
    """Poll the job's row until it leaves queued/running."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(ctx.engine) as session:
            job = session.get(QueryJob, job_id)
            assert job is not None
        if job.status not in jobs.ACTIVE or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def events(ctx: HubContext, job_id: str) -> list[AuditEvent]:
    with Session(ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.resource_id == job_id)
        return list(session.exec(query.order_by(col(AuditEvent.seq))).all())


def held_cells(ctx: HubContext, job_id: str) -> int:
    """The cells of the job's exact result held in the airlock (0 when nothing is held)."""
    with Session(ctx.engine) as session:
        found = session.get(OutputHold, job_id)
        return len(found.cells) if found else 0


def test_queued_job_of_a_killed_hub_is_vetted_again_and_run_by_the_next_hub(
    world: SandboxWorld, db_url: str, tmp_path: Path
) -> None:
    job_id = leave_job(world.ctx, world, "queued")
    with new_hub(db_url, tmp_path) as (client, ctx):
        wait_finished(ctx, job_id)
        headers = {"Authorization": f"Bearer {ctx.issuer.mint('alice', ['researcher'])}"}
        status = client.get(f"/api/v1/queries/{job_id}", headers=headers).json()
        runner = runtime_for(ctx).runner_id
    assert status["status"] == "pending_review", status  # exact: held for the checkers
    with Session(world.ctx.engine) as session:
        row = session.get(QueryJob, job_id)
        assert row is not None and row.runner == runner != DEAD_HUB
        hold = session.get(OutputHold, job_id)
        assert hold is not None and [r[1] for r in hold.result["rows"]] == [50, 50, 50, 50]
    actions = [(e.action, e.decision) for e in events(world.ctx, job_id)]
    assert actions.count(("sandbox.query.resume", "allow")) == 1
    assert actions.count(("policy.edh/sandbox/query", "allow")) == 1  # asked again
    assert actions.count(("sandbox.output.hold", "info")) == 1
    assert held_cells(world.ctx, job_id) == 4


def test_queued_jobs_handed_back_at_a_clean_shutdown_run_on_the_next_hub(
    world: SandboxWorld, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDH_SANDBOX__CONCURRENCY", "1")
    monkeypatch.setenv("EDH_SANDBOX__LEASE_S", "600")  # taken over only if handed back
    with live_runtime(world) as runtime:
        with session_scope(world.ctx.engine) as session:
            busy = jobs.submit(runtime, session, ALICE, world.project(), RUNAWAY, None)
        with session_scope(world.ctx.engine) as session:
            waiting = jobs.submit(runtime, session, ALICE, world.project(), BY_SCHOOL, None)
    # closed as at a redeploy: the running query has ended, the queued one is handed back
    with Session(world.ctx.engine) as session:
        left = session.get(QueryJob, waiting.id)
        assert left is not None and (left.status, left.runner) == ("queued", None)
    assert wait_finished(world.ctx, busy.id).status == "pending_review"  # failed: held
    with new_hub(db_url, tmp_path) as (_, ctx):
        assert wait_finished(ctx, waiting.id).status == "pending_review"
    assert held_cells(world.ctx, waiting.id) == 4


def test_running_job_of_a_killed_hub_fails_and_releases_nothing(
    world: SandboxWorld, db_url: str, tmp_path: Path
) -> None:
    job_id = leave_job(world.ctx, world, "running")
    with new_hub(db_url, tmp_path) as (client, ctx):
        job = wait_finished(ctx, job_id)
        headers = {"Authorization": f"Bearer {ctx.issuer.mint('alice', ['researcher'])}"}
        result = client.get(f"/api/v1/queries/{job_id}/result", headers=headers)
        again = client.post(
            f"/api/v1/projects/{world.project()}/queries", json={"sql": BY_SCHOOL}, headers=headers
        )
        assert again.status_code == 202, again.text
        assert wait_finished(ctx, again.json()["id"]).status == "pending_review"
    assert job.status == "failed" and job.reasons == [jobs.INTERRUPTED]
    assert job.report == {"decision": "failed", "reasons": [jobs.INTERRUPTED]}
    assert result.status_code == 409 and result.json()["job_status"] == "failed"
    assert held_cells(world.ctx, job_id) == 0
    failed = [e for e in events(world.ctx, job_id) if e.action == "sandbox.query.failed"]
    assert [e.reasons for e in failed] == [[jobs.INTERRUPTED]]
    assert not any(e.action == "sandbox.output.hold" for e in events(world.ctx, job_id))


def test_queued_job_whose_contract_was_suspended_meanwhile_ends_refused(
    world: SandboxWorld, db_url: str, tmp_path: Path
) -> None:
    job_id = leave_job(world.ctx, world, "queued")
    suspend_contract(world.ctx, "c-alice")
    with new_hub(db_url, tmp_path) as (_, ctx):
        job = wait_finished(ctx, job_id)
    reason = "contract c-alice is SUSPENDED, not FINALIZED"
    assert job.status == "refused" and reason in job.reasons, job.reasons
    assert job.result is None and held_cells(world.ctx, job_id) == 0
    denials = {e.action: e.reasons for e in events(world.ctx, job_id) if e.decision == "deny"}
    assert reason in denials["policy.edh/sandbox/query"]
    assert reason in denials["sandbox.query.resume"][0]


def test_job_running_on_a_live_hub_is_not_taken(
    world: SandboxWorld, db_url: str, tmp_path: Path
) -> None:
    with live_runtime(world) as live, new_hub(db_url, tmp_path) as (_, ctx):
        with session_scope(world.ctx.engine) as session:
            job = jobs.submit(live, session, ALICE, world.project(), RUNAWAY, None)
        time.sleep(1.2)  # more than two leases: the peer hub sweeps about ten times
        with Session(ctx.engine) as session:
            during = session.get(QueryJob, job.id)
            assert during is not None
        final = wait_finished(ctx, job.id)
    assert during.status == "running" and during.runner == live.runner_id
    assert during.heartbeat_at is not None and job.heartbeat_at is not None
    renewed = during.heartbeat_at.replace(tzinfo=UTC)  # SQLite gives it back naive (UTC)
    assert renewed > job.heartbeat_at  # renewed by the live hub
    assert final.status == "pending_review"  # its own end (the deadline), held
    assert any(e.action == "sandbox.output.hold" and "deadline" in str(e.reasons)
               for e in events(world.ctx, job.id))  # fmt: skip


def test_two_hubs_starting_together_take_each_orphan_once(
    world: SandboxWorld, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 3 s lease: on a host loaded many times over, a live hub's renewal thread can
    # miss 0.5 s, and the peer then rightly takes the job as orphaned (not what this tests).
    monkeypatch.setenv("EDH_SANDBOX__LEASE_S", "3")
    left = [leave_job(world.ctx, world, "queued") for _ in range(4)]
    left.append(leave_job(world.ctx, world, "running"))
    with ExitStack() as stack:
        hubs = [stack.enter_context(new_hub(db_url, tmp_path)) for _ in range(2)]
        finished = [wait_finished(hubs[0][1], job_id) for job_id in left]
    assert [j.status for j in finished] == ["pending_review"] * 4 + ["failed"]
    actions = Counter(e.action for job_id in left for e in events(world.ctx, job_id))
    assert actions["sandbox.query.resume"] == 4
    assert actions["sandbox.output.hold"] == 4
    assert actions["sandbox.query.failed"] == 1
    assert sum(held_cells(world.ctx, job_id) for job_id in left) == 16
