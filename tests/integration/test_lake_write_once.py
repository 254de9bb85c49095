"""Upload grants are single-use and scoped to their batch: once a batch is completed no
write to its keys succeeds, on the local store and on S3 (attacker's tests; the oracle is
the stored object's SHA-256 against the registry, and what the sandbox serves)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from connector.pipeline.client import HubRefused
from contracts.batch_manifest import sign_manifest
from hub.ingest.models import IngestBatch
from hub.sandbox.runtime import SandboxRuntime, install, uninstall
from hub.trail.models import AuditEvent
from tests.support.ingest_batches import Shipment, presigned
from tests.support.ingest_fixtures import IngestSetup, ingest_setup, s3_settings
from tests.support.ingest_queries import released_exact_job
from tests.support.sandbox_fixtures import sandbox_settings


def registered_shipment(setup: IngestSetup, count: int = 20) -> Shipment:
    ship = presigned(setup, count=count)
    ship.upload_all()
    done = ship.client.complete(
        ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
    )
    assert done["status"] == "registered"
    return ship


def injected_rows(setup: IngestSetup) -> bytes:
    """A valid lake file with 5,000 other rows (what the attacker puts in the lake)."""
    return presigned(setup, sequence=99, count=5000).batch.files[0].data


def stored_sha(setup: IngestSetup, key: str) -> str:
    assert setup.ctx.store is not None
    return hashlib.sha256(setup.ctx.store.get(key)).hexdigest()


def batch_row(setup: IngestSetup, batch_id: str) -> IngestBatch:
    with Session(setup.ctx.engine) as session:
        batch = session.get(IngestBatch, batch_id)
        assert batch is not None
        return batch


def upload_denials(setup: IngestSetup) -> list[AuditEvent]:
    with Session(setup.ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == "storage.upload")
        return list(session.exec(query).all())


def put(upload: dict[str, Any], data: bytes) -> httpx.Response:
    return httpx.put(upload["url"], content=data, headers=upload.get("headers") or {})


@pytest.fixture
def ingest(db_url: str, tmp_path: Path) -> Iterator[IngestSetup]:
    """The ingest world with a contract asking for reviewed (exact) release, so the oracle
    compares exact counts with the lake."""
    with ingest_setup(db_url, tmp_path, release_mode="reviewed") as setup:
        yield setup


def sandbox_rows(setup: IngestSetup) -> list[Any]:
    """What the project's researcher gets for the whole lake of the contract."""
    world = setup.world
    install(SandboxRuntime(setup.ctx, sandbox_settings()))
    try:
        sql = "SELECT count(*) AS n, count(DISTINCT pupil_id) AS p FROM statements"
        job_id = released_exact_job(setup, sql)
        result = setup.client.get(f"/api/v1/queries/{job_id}/result", headers=world.as_lab())
        assert result.status_code == 200, result.text
        return list(result.json()["rows"])
    finally:
        uninstall(setup.ctx)


def test_presigned_url_reused_after_registration_changes_nothing(ingest: IngestSetup) -> None:
    ship = registered_shipment(ingest)
    upload = ship.grant["uploads"][0]
    before = batch_row(ingest, ship.grant["batch_id"])
    resp = put(upload, injected_rows(ingest))
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert "signature" not in resp.text and "upload grant is closed" in resp.json()["detail"]
    after = batch_row(ingest, ship.grant["batch_id"])
    assert (after.status, after.files, after.row_count) == (
        before.status,
        before.files,
        before.row_count,
    )
    assert stored_sha(ingest, upload["key"]) == after.files[0]["sha256"]
    assert stored_sha(ingest, upload["key"]) == ship.batch.files[0].sha256
    assert [e.decision for e in upload_denials(ingest)] == ["deny"]
    assert sandbox_rows(ingest) == [[20, 20]]


def test_upload_url_is_single_use_even_before_completion(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    upload = ship.grant["uploads"][0]
    assert put(upload, ship.batch.files[0].data).status_code == 204
    second = put(upload, injected_rows(ingest))
    assert second.status_code == 409
    assert stored_sha(ingest, upload["key"]) == ship.batch.files[0].sha256
    assert (
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), ingest.connector_key)
        )["status"]
        == "registered"
    )


def test_quarantined_batch_keys_take_no_more_writes(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    upload = ship.grant["uploads"][0]
    with pytest.raises(HubRefused):  # nothing uploaded: quarantined
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), ingest.connector_key)
        )
    assert put(upload, ship.batch.files[0].data).status_code == 403
    assert ingest.ctx.store is not None and ingest.ctx.store.size(upload["key"]) is None


def test_announcing_a_batch_again_gives_fresh_single_use_grants(ingest: IngestSetup) -> None:
    """A connector that crashed after its upload presigns the same sequence again: the
    unverified upload is cleared, the new grant writes once, the batch registers."""
    first = presigned(ingest)
    assert put(first.grant["uploads"][0], injected_rows(ingest)).status_code == 204
    again = presigned(ingest)
    again.upload_all()
    jws = sign_manifest(again.manifest(), ingest.connector_key)
    assert again.client.complete(again.grant["batch_id"], jws)["status"] == "registered"
    key = again.grant["uploads"][0]["key"]
    assert stored_sha(ingest, key) == again.batch.files[0].sha256
    assert put(first.grant["uploads"][0], injected_rows(ingest)).status_code in (403, 409)


def test_s3_presigned_url_is_write_once(tmp_path: Path, s3_endpoint: str) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    with ingest_setup(url, tmp_path, storage=s3_settings(s3_endpoint)) as setup:
        ship = registered_shipment(setup)
        upload = ship.grant["uploads"][0]
        assert upload["headers"] == {"If-None-Match": "*"}
        assert "if-none-match" in upload["url"].lower()  # a signed header, not optional
        resp = put(upload, injected_rows(setup))
        assert resp.status_code == 412
        batch = batch_row(setup, ship.grant["batch_id"])
        assert batch.status == "registered"
        assert stored_sha(setup, upload["key"]) == batch.files[0]["sha256"]
