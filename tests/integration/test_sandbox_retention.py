"""The sandbox's results and ledgers end with the retention of the contracts they came
from: the released result (410 once purged), the airlock's held rows, per-cell values and
pupil sketches, the privacy budget spend's details; the budget itself does not grow back.

Oracle: every value the sandbox stored about the job before the purge (result values,
sketch ids) is searched for in the sandbox's tables afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from hub.context import HubContext
from hub.db import session_scope
from hub.sandbox.airlock.models import OutputHold
from hub.sandbox.dp.models import BudgetSpend
from hub.sandbox.models import QueryJob
from hub.sandbox.retention import purge_results
from hub.sandbox.runtime import uninstall
from hub.trail.models import AuditEvent
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world

SQL = "SELECT school_id, count(*) AS n FROM statements GROUP BY 1"
RETENTION = 365  # the sandbox contracts' retention_days
TABLES = ("sandbox_query_job", "sandbox_output_hold", "sandbox_dp_spend")


@pytest.fixture(params=["reviewed", "differential_privacy"])
def world(
    request: pytest.FixtureRequest, client: TestClient, hub_ctx: HubContext, lake: Path
) -> Iterator[SandboxWorld]:
    built = build_sandbox_world(client, hub_ctx, lake, pupils=1000, release_mode=request.param)
    yield built
    uninstall(hub_ctx)


def _stored(ctx: HubContext) -> str:
    with ctx.engine.connect() as conn:
        rows = [r for t in TABLES for r in conn.execute(text(f"SELECT * FROM {t}"))]
    return "\n".join("|".join(map(str, r)) for r in rows)  # str(row) would abbreviate


def _sketch_ids(ctx: HubContext, job_id: str) -> set[str]:
    """The project pupil ids the airlock keeps for the job's cells (none under DP)."""
    with session_scope(ctx.engine) as session:
        hold = session.get(OutputHold, job_id)
        if hold is not None:
            return {str(x) for c in hold.cells for x in c["sketch"]}
    return set()


def test_results_and_ledgers_are_purged_after_retention(world: SandboxWorld) -> None:
    job, result = world.run(SQL)
    assert job["status"] in ("released", "succeeded"), job
    assert result["rows"]
    ctx, headers = world.ctx, world.headers()
    budget = world.client.get(f"/api/v1/projects/{world.project()}/budget", headers=headers)
    values = _sketch_ids(ctx, job["id"])
    assert all(v in _stored(ctx) for v in values)
    today = datetime.now(UTC).date()

    with session_scope(ctx.engine) as session:  # the last day the contracts keep it
        assert purge_results(session, today + timedelta(days=RETENTION)).jobs == 0
    assert world.client.get(f"/api/v1/queries/{job['id']}/result", headers=headers).is_success

    with session_scope(ctx.engine) as session:
        done = purge_results(session, today + timedelta(days=RETENTION + 1))
    assert done.jobs == 1
    gone = world.client.get(f"/api/v1/queries/{job['id']}/result", headers=headers)
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    report = world.report(job["id"])
    assert report["retention_purged_on"] == (today + timedelta(days=RETENTION + 1)).isoformat()
    stored = _stored(ctx)
    assert not [v for v in values if v in stored]
    with session_scope(ctx.engine) as session:
        hold = session.get(OutputHold, job["id"])
        spends = session.exec(select(BudgetSpend).where(BudgetSpend.job_id == job["id"])).all()
        stored_job = session.get(QueryJob, job["id"])
        assert stored_job is not None and stored_job.result is None
        if hold is not None:
            assert values and hold.cells == [] and hold.result["rows"] == []
            assert hold.findings["cells"] == []
        for spend in spends:
            assert spend.details == {} and spend.epsilon > 0
        assert hold is not None or spends  # one of the two ledgers held the job
        purged = AuditEvent.action == "sandbox.retention.purged"
        events = session.exec(select(AuditEvent).where(purged)).all()
        assert len(events) == 1 and events[0].details["jobs"] == 1
    after = world.client.get(f"/api/v1/projects/{world.project()}/budget", headers=headers)
    assert after.json() == budget.json()  # ε spent stays spent
    with session_scope(ctx.engine) as session:  # idempotent
        assert purge_results(session, today + timedelta(days=RETENTION + 2)).jobs == 0
