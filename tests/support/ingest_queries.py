"""A researcher's exact query over an ingest setup's lake, released through the airlock."""

from __future__ import annotations

import time

from hub.sandbox.models import ACTIVE
from tests.support.ingest_fixtures import IngestSetup
from tests.support.sandbox_fixtures import approve_held


def wait_job(setup: IngestSetup, job_id: str) -> str:
    """Poll the job as the project's researcher until it leaves queued/running."""
    deadline = time.monotonic() + 60
    while True:
        job = setup.client.get(f"/api/v1/queries/{job_id}", headers=setup.world.as_lab())
        status = str(job.json()["status"])
        if status not in ACTIVE:
            return status
        assert time.monotonic() < deadline, "the query did not finish"
        time.sleep(0.05)


def released_exact_job(setup: IngestSetup, sql: str) -> str:
    """Submit ``sql`` for the world's project (a contract with ``release_mode=reviewed``),
    have it held, then released by two checkers; the job id."""
    world = setup.world
    body = {"sql": sql, "purpose": world.terms()["purpose"]}
    url = f"/api/v1/projects/{world.project_id}/queries"
    resp = setup.client.post(url, json=body, headers=world.as_lab())
    assert resp.status_code == 202, resp.text
    job_id = str(resp.json()["id"])
    assert wait_job(setup, job_id) == "pending_review"
    approve_held(setup.client, setup.ctx, job_id)
    assert wait_job(setup, job_id) == "released"
    return job_id
