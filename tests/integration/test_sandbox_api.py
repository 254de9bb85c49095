"""Sandbox API end to end: submit, status, result in three formats, report, cancel, audit."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.context import HubContext
from hub.sandbox.jobs import ACTIVE
from hub.sandbox.runtime import SandboxRuntime, install, uninstall
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import World
from tests.support.sandbox_fixtures import (
    RUNAWAY,
    SandboxWorld,
    new_connector,
    register_batch,
    sandbox_settings,
    write_batch,
)

BY_SCHOOL = (
    "SELECT school_id, count(DISTINCT pupil_id) AS pupils, count(*) AS n, "
    "avg(result_score_scaled) AS mean_score FROM statements GROUP BY school_id ORDER BY 1"
)


def test_aggregate_query_runs_and_is_released(sandbox: SandboxWorld) -> None:
    resp = sandbox.submit(BY_SCHOOL)
    assert resp.status_code == 202, resp.text
    job = sandbox.wait(resp.json()["id"])
    assert job["status"] == "pending_review", job  # exact: held for the output checkers
    job = sandbox.approve(job["id"])
    assert job["status"] == "released", job
    assert job["started_at"] and job["finished_at"]
    result = sandbox.client.get(job["links"]["result"], headers=sandbox.headers()).json()
    assert result["columns"] == ["school_id", "pupils", "n", "mean_score"]
    assert [r[:3] for r in result["rows"]] == [[f"school-{i}", 50, 500] for i in range(4)]
    report = sandbox.report(job["id"])
    assert report["summary"]["rows_released"] == 4 and report["k"] == 10


SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "query-result.schema.json").read_text()
)


def test_result_and_report_follow_the_published_schema(sandbox: SandboxWorld) -> None:
    job, result = sandbox.run(BY_SCHOOL)
    jsonschema.validate(result, SCHEMA)
    report_schema = {**SCHEMA["$defs"]["report"], "$defs": SCHEMA["$defs"]}
    jsonschema.validate(sandbox.report(job["id"]), report_schema)
    refused = sandbox.submit("SELECT * FROM statements").json()
    jsonschema.validate(sandbox.report(refused["job_id"]), report_schema)


def test_result_as_csv_and_parquet(sandbox: SandboxWorld) -> None:
    job, _ = sandbox.run(BY_SCHOOL)
    url = f"/api/v1/queries/{job['id']}/result"
    csv_text = sandbox.client.get(url, params={"format": "csv"}, headers=sandbox.headers()).text
    assert csv_text.splitlines()[0] == "school_id,pupils,n,mean_score"
    assert csv_text.splitlines()[1].startswith("school-0,50,500,")
    raw = sandbox.client.get(url, params={"format": "parquet"}, headers=sandbox.headers())
    table = pq.read_table(io.BytesIO(raw.content))
    assert table.column("pupils").to_pylist() == [50] * 4


def test_everything_is_audited(sandbox: SandboxWorld) -> None:
    job, _ = sandbox.run(BY_SCHOOL)
    with Session(sandbox.ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.resource_id == job["id"])).all()
    by_action = {e.action: e for e in events}
    assert "sandbox.output.release" in by_action, (job, list(by_action))
    submit, hold = by_action["sandbox.query.submit"], by_action["sandbox.output.hold"]
    assert submit.decision == "allow" and submit.details["sql"] == BY_SCHOOL
    assert submit.details["sql_hash"] == job["sql_hash"]
    assert submit.details["tables"] == ["statements"]
    assert "school_id" in submit.details["columns"] and submit.project_id == job["project_id"]
    assert hold.details["resources"]["rows_scanned"] == 2000  # the DPO's, real figures
    assert by_action["sandbox.output.release"].details["summary"]["rows_released"] == 4


def test_refusal_is_recorded_and_audited(sandbox: SandboxWorld) -> None:
    resp = sandbox.submit("SELECT * FROM read_csv('/etc/passwd')")
    assert resp.status_code == 400
    problem = resp.json()
    assert problem["type"] == "urn:edh:problem:query-refused" and problem["reasons"]
    job = sandbox.client.get(f"/api/v1/queries/{problem['job_id']}", headers=sandbox.headers())
    assert job.json()["status"] == "refused"
    with Session(sandbox.ctx.engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.resource_id == problem["job_id"])
        ).one()
    assert event.decision == "deny" and "read_csv" in event.details["sql"]


def test_non_member_and_other_researchers_are_kept_out(sandbox: SandboxWorld) -> None:
    resp = sandbox.submit(BY_SCHOOL, sub="mallory", project=sandbox.project("alice"))
    pid = sandbox.project("alice")
    assert resp.status_code == 403, resp.text
    assert f"researcher mallory is not a member of project {pid}" in resp.json()["reasons"]
    job, _ = sandbox.run(BY_SCHOOL)
    other = sandbox.client.get(f"/api/v1/queries/{job['id']}", headers=sandbox.headers("bob"))
    assert other.status_code == 404
    no_role = sandbox.client.get(
        f"/api/v1/queries/{job['id']}",
        headers={"Authorization": f"Bearer {sandbox.ctx.issuer.mint('x', ['dpo'])}"},
    )
    assert no_role.status_code == 403


def test_malformed_bodies_get_400_problem_json(sandbox: SandboxWorld) -> None:
    url = f"/api/v1/projects/{sandbox.project()}/queries"
    for body in ({}, {"sql": ""}, {"sql": "SELECT 1", "extra": 1}, {"sql": 42}):
        resp = sandbox.client.post(url, json=body, headers=sandbox.headers())
        assert resp.status_code == 400, body
        assert resp.headers["content-type"] == "application/problem+json"
    resp = sandbox.client.post(url, content=b"{not json", headers=sandbox.headers())
    assert resp.status_code == 400
    bad_format = sandbox.client.get(
        "/api/v1/queries/x/result", params={"format": "xlsx"}, headers=sandbox.headers()
    )
    assert bad_format.status_code == 400


def test_result_of_unfinished_or_failed_job_is_a_clear_409(sandbox: SandboxWorld) -> None:
    """A failed run is held for the output checkers like a result; a rejection ends it."""
    failing = "SELECT count(*) AS n FROM statements WHERE CAST(verb_id AS INTEGER) > 0"
    resp = sandbox.submit(failing)
    job = sandbox.wait(resp.json()["id"])
    assert job["status"] == "pending_review" and job["reasons"] == []
    result = f"/api/v1/queries/{job['id']}/result"
    resp = sandbox.client.get(result, headers=sandbox.headers())
    assert resp.status_code == 409 and resp.json()["job_status"] == "pending_review"
    token = sandbox.ctx.issuer.mint("carol", ["output_checker"])
    sandbox.client.post(
        f"/api/v1/reviews/outputs/{job['id']}/reject",
        json={"comment": "échec de conversion"},
        headers={"Authorization": f"Bearer {token}"},
    )
    resp = sandbox.client.get(result, headers=sandbox.headers())
    assert resp.status_code == 409 and resp.json()["job_status"] == "rejected"
    assert "ConversionException" not in str(sandbox.report(job["id"]))


def test_cancel_kills_a_running_query(sandbox: SandboxWorld) -> None:
    resp = sandbox.submit(RUNAWAY)
    job_id = resp.json()["id"]
    while (
        sandbox.client.get(f"/api/v1/queries/{job_id}", headers=sandbox.headers()).json()["status"]
        == "queued"
    ):
        pass
    cancelled = sandbox.client.post(f"/api/v1/queries/{job_id}/cancel", headers=sandbox.headers())
    assert cancelled.json()["status"] == "cancelled"
    final = sandbox.wait(job_id)
    assert final["status"] == "cancelled"
    job, _ = sandbox.run(BY_SCHOOL)
    assert job["status"] == "released"


def test_a_real_finalized_contract_opens_the_sandbox(
    world: World, client: TestClient, hub_ctx: HubContext, lake: Path
) -> None:
    contract = world.finalized()  # through the contracts area: allowed actor, verb, timestamp
    path = write_batch(
        lake, world.provider_id, contract["id"], world.dataset_id, statements=600, pupils=60
    )
    register_batch(hub_ctx, lake, new_connector(hub_ctx)[1], path)
    install(SandboxRuntime(hub_ctx, sandbox_settings(lake_dir=lake)))  # contracts service source
    try:
        url = f"/api/v1/projects/{world.project_id}/queries"
        sql = (  # released under differential privacy (the contract's default terms)
            "WITH p AS (SELECT pupil_id, count(*) AS n_statements FROM statements "
            "GROUP BY pupil_id) SELECT count(*) AS pupils, "
            "avg(least(greatest(n_statements, 0), 20)) AS mean FROM p"
        )
        purpose = world.terms()["purpose"]  # the policy requires the contract's purpose
        resp = client.post(url, json={"sql": sql, "purpose": purpose}, headers=world.as_lab())
        assert resp.status_code == 202, resp.text
        assert resp.json()["contract_ids"] == [contract["id"]]
        job_url = f"/api/v1/queries/{resp.json()['id']}"
        while client.get(job_url, headers=world.as_lab()).json()["status"] in ACTIVE:
            time.sleep(0.05)
        result = client.get(f"{job_url}/result", headers=world.as_lab()).json()
        [[pupils, mean]] = result["rows"]  # 60 pupils of 10 statements
        assert abs(pupils - 60) <= 30 and 0 <= mean <= 20, result
        hidden = "SELECT school_id, count(*) AS n FROM statements GROUP BY 1"
        body = {"sql": hidden, "purpose": purpose}
        refused = client.post(url, json=body, headers=world.as_lab())
        assert refused.status_code == 400
        assert refused.json()["reasons"] == [
            f"field 'school_id' is not allowed by contract {contract['id']} "
            "(not in its allowed_fields)"
        ]
    finally:
        uninstall(hub_ctx)


def test_only_registered_batches_are_served(sandbox: SandboxWorld) -> None:
    lake, connector = sandbox.lake, sandbox.connector
    more: dict[str, Any] = {"statements": 1000, "pupils": 100, "salt": "c-alice"}
    quarantined = write_batch(lake, sandbox.provider, "c-alice", "videos", seq=2, **more)
    register_batch(sandbox.ctx, lake, connector, quarantined, status="quarantined")
    write_batch(lake, sandbox.provider, "c-alice", "videos", seq=3, **more)  # never registered
    job, result = sandbox.run("SELECT count(*) AS n, count(DISTINCT pupil_id) AS p FROM statements")
    assert result["rows"] == [[2000, 200]]
    registered = write_batch(
        lake, sandbox.provider, "c-alice", "videos", seq=4, day="2026-09-02", **more
    )
    register_batch(sandbox.ctx, lake, connector, registered)
    job, result = sandbox.run("SELECT count(DISTINCT pupil_id) AS p, count(*) AS n FROM statements")
    assert result["rows"] == [[200, 3000]], job
