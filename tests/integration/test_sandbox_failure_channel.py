"""Whether a run fails is one exact bit about the data: a query can make itself fail only
when some pupil's row meets a condition. The probes below run on a lake where the test
knows (ground truth, read directly) whether such a row exists; the researcher must not
tell the two cases apart beyond what the release accounts for: under differential
privacy both cost the query's ε and a failure reads the same whatever its cause; on the
reviewed path both are held for the output checkers, who alone see the failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.context import HubContext
from hub.sandbox.dp.models import BudgetSpend
from hub.sandbox.jobs import RUN_FAILED
from hub.sandbox.runtime import uninstall
from tests.support.sandbox_fixtures import SandboxWorld, build_sandbox_world

# overflows (BIGINT) on the rows of pupils whose best score is above {t}, on no other row
OVERFLOW_PROBE = (
    "WITH p AS (SELECT pupil_id, (CASE WHEN max(result_score_scaled) > {t} "
    "THEN 9223372036854775807 ELSE 0 END) + count(*) AS big FROM statements "
    "GROUP BY pupil_id) SELECT count(*) AS n FROM p WHERE big > 0"
)
# fails to convert 'a' on the rows whose score is above {t}, on no other row
CONVERSION_PROBE = (
    "SELECT count(*) AS n FROM statements "
    "WHERE (CASE WHEN result_score_scaled > {t} THEN 'a' ELSE '1' END) = 1"
)
# overflows on every row: a failure that tells nothing about the data
ALWAYS_FAILS = (
    "WITH p AS (SELECT pupil_id, 9223372036854775807 + count(*) AS big FROM statements "
    "GROUP BY pupil_id) SELECT count(*) AS n FROM p WHERE big > 0"
)
PER_JOB = ("id", "sql_hash", "columns", "created_at", "started_at", "finished_at", "links")
REVIEWS = "/api/v1/reviews/outputs"


def thresholds(world: SandboxWorld) -> tuple[float, float]:
    """(a score some row is above, a score no row is above), checked on the raw lake."""
    files = [f"'{p}'" for p in world.lake.glob(f"{world.provider}/c-alice/videos/*/*.parquet")]
    with duckdb.connect() as con:
        top = con.execute(
            f"SELECT max(result_score_scaled) FROM read_parquet([{', '.join(files)}])"
        ).fetchone()
    assert top is not None and top[0] is not None
    hit, miss = float(top[0]) - 0.001, float(top[0]) + 1.0
    return hit, miss


def seen(job: dict[str, Any]) -> dict[str, Any]:
    """What the researcher reads of a job, without what their own SQL or the clock set."""
    return {k: v for k, v in job.items() if k not in PER_JOB}


def spent(world: SandboxWorld) -> dict[str, float]:
    with Session(world.ctx.engine) as session:
        return {s.job_id: s.epsilon for s in session.exec(select(BudgetSpend)).all()}


def finished(world: SandboxWorld, sql: str) -> dict[str, Any]:
    resp = world.submit(sql)
    assert resp.status_code == 202, resp.text
    return world.wait(resp.json()["id"])


@pytest.fixture
def dp(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    world = build_sandbox_world(client, hub_ctx, lake, release_mode="differential_privacy")
    yield world
    uninstall(hub_ctx)


@pytest.fixture
def airlock(client: TestClient, hub_ctx: HubContext, lake: Path) -> Iterator[SandboxWorld]:
    world = build_sandbox_world(client, hub_ctx, lake, release_mode="reviewed")
    yield world
    uninstall(hub_ctx)


def test_a_conversion_probe_is_refused_before_it_runs(dp: SandboxWorld) -> None:
    """The text-versus-number comparison is refused at submission, whatever the data."""
    answers = []
    for t in thresholds(dp):
        resp = dp.submit(CONVERSION_PROBE.format(t=t))
        assert resp.status_code == 400, resp.text
        body = resp.json()
        answers.append((body["type"], body["reasons"]))
    assert answers[0] == answers[1]
    assert "text value compared with a number" in answers[0][1][0]
    assert spent(dp) == {}


def test_under_dp_a_failing_probe_costs_epsilon_and_reads_like_any_failure(
    dp: SandboxWorld,
) -> None:
    hit, miss = thresholds(dp)
    failed = finished(dp, OVERFLOW_PROBE.format(t=hit))  # some pupil's row overflows
    passed = finished(dp, OVERFLOW_PROBE.format(t=miss))  # no row does
    always = finished(dp, ALWAYS_FAILS)
    assert passed["status"] == "succeeded", passed
    assert failed["status"] == "failed" and failed["reasons"] == [RUN_FAILED]
    assert seen(failed) == seen(always)  # same reasons, no figures, whatever the cause
    assert failed["resources"] == {}
    reports = [dp.report(j["id"]) | {"job_id": "", "budget": None} for j in (failed, always)]
    assert reports[0] == reports[1]
    costs = spent(dp)
    assert costs[failed["id"]] == pytest.approx(costs[passed["id"]])  # a probe is paid for
    assert costs[failed["id"]] == pytest.approx(1.0) and len(costs) == 3


def test_under_dp_a_probe_stops_when_the_budget_is_spent(
    client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    """Each failed probe is debited, so the budget bounds how many may run (2 here)."""
    world = build_sandbox_world(
        client, hub_ctx, lake, release_mode="differential_privacy", epsilon_budget=2.0
    )
    try:
        hit, _ = thresholds(world)
        probe = OVERFLOW_PROBE.format(t=hit)
        assert [finished(world, probe)["status"] for _ in range(2)] == ["failed", "failed"]
        refused = world.submit(probe)
        assert refused.status_code == 409 and refused.json()["type"].endswith("budget-spent")
        assert sum(spent(world).values()) == pytest.approx(2.0)
    finally:
        uninstall(hub_ctx)


def test_on_the_reviewed_path_a_failing_probe_is_held_like_a_result(
    airlock: SandboxWorld,
) -> None:
    hit, miss = thresholds(airlock)
    failed = finished(airlock, OVERFLOW_PROBE.format(t=hit))
    passed = finished(airlock, OVERFLOW_PROBE.format(t=miss))
    assert failed["status"] == passed["status"] == "pending_review"
    assert seen(failed) == seen(passed)  # reasons, resources, contracts: all the same
    reports = [airlock.report(j["id"]) | {"job_id": ""} for j in (failed, passed)]
    assert reports[0] == reports[1] and reports[0]["decision"] == "pending_review"
    carol = {"Authorization": f"Bearer {airlock.ctx.issuer.mint('carol', ['output_checker'])}"}
    shown = airlock.client.get(f"{REVIEWS}/{failed['id']}", headers=carol).json()
    assert "OutOfRangeException" in str(shown["findings"]["failure"])
    assert "9223372036854775807" not in str(shown["findings"])  # class only, no message
    approve = airlock.client.post(
        f"{REVIEWS}/{failed['id']}/approve", json={"comment": "ok"}, headers=carol
    )
    assert approve.status_code == 400 and "problem+json" in approve.headers["content-type"]
    for job in (failed, passed):
        resp = airlock.client.post(
            f"{REVIEWS}/{job['id']}/reject", json={"comment": "refusé"}, headers=carol
        )
        assert resp.status_code == 200, resp.text
    ended = [airlock.wait(j["id"]) for j in (failed, passed)]
    assert ended[0]["status"] == ended[1]["status"] == "rejected"
    assert seen(ended[0]) == seen(ended[1])
