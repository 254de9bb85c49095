"""Bad input at every step of ingestion is refused with a reason, audited, and the lake
keeps only verified data (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from connector.pipeline.client import HubClient, HubRefused
from contracts.batch_manifest import sign_manifest
from contracts.connector_token import mint_connector_token
from hub.ingest.models import IngestBatch
from hub.trail.models import AuditEvent
from tests.support.ingest_batches import presigned
from tests.support.ingest_fixtures import IngestSetup


def audit_actions(setup: IngestSetup, decision: str) -> list[str]:
    with Session(setup.ctx.engine) as session:
        query = select(AuditEvent.action).where(AuditEvent.decision == decision)
        return list(session.exec(query).all())


def lake_keys(setup: IngestSetup, prefix: str = "lake/") -> list[str]:
    assert setup.ctx.store is not None
    return list(setup.ctx.store.list(prefix))


def test_valid_batch_registers_once_and_completion_is_idempotent(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    ship.upload_all()
    jws = sign_manifest(ship.manifest(), ingest.connector_key)
    first = ship.client.complete(ship.grant["batch_id"], jws)
    again = ship.client.complete(ship.grant["batch_id"], jws)
    assert first["status"] == again["status"] == "registered"
    assert first["row_count"] == 20
    assert presigned(ingest).grant["status"] == "registered"
    with Session(ingest.ctx.engine) as session:
        assert len(session.exec(select(IngestBatch)).all()) == 1
    assert audit_actions(ingest, "info").count("ingest.batch.registered") == 1
    stats = ingest.client.get(
        f"/api/v1/catalog/datasets/{ingest.dataset_id}", headers=ingest.world.as_operator()
    ).json()
    assert stats["edh:statementCount"] == 20 and stats["edh:batchCount"] == 1


def test_tampered_file_is_quarantined_never_served(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    data = bytearray(ship.batch.files[0].data)
    data[len(data) // 2] ^= 0xFF
    ship.client.upload(ship.grant["uploads"][0], bytes(data))
    with pytest.raises(HubRefused) as refused:
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), ingest.connector_key)
        )
    assert refused.value.status == 400
    assert "does not match its manifest digest" in refused.value.detail
    assert lake_keys(ingest) == []
    assert len(lake_keys(ingest, "quarantine/")) == 1
    assert "ingest.batch.quarantined" in audit_actions(ingest, "deny")


def test_truncated_upload_is_quarantined(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    ship.client.upload(ship.grant["uploads"][0], ship.batch.files[0].data[:-100])
    with pytest.raises(HubRefused) as refused:
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), ingest.connector_key)
        )
    assert refused.value.body["reasons"][0].endswith("(truncated or altered)")
    assert lake_keys(ingest) == []


def test_manifest_signed_by_another_key_is_refused(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    ship.upload_all()
    forged = sign_manifest(ship.manifest(), Ed25519PrivateKey.generate())
    with pytest.raises(HubRefused) as refused:
        ship.client.complete(ship.grant["batch_id"], forged)
    assert "manifest signature invalid" in refused.value.detail
    assert lake_keys(ingest) == []


def test_manifest_for_other_keys_is_refused(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    ship.upload_all()
    manifest = ship.manifest()
    manifest["sequence"] = 99
    with pytest.raises(HubRefused) as refused:
        ship.client.complete(ship.grant["batch_id"], sign_manifest(manifest, ingest.connector_key))
    assert "manifest sequence is 99, expected 1" in refused.value.detail


def test_presigned_url_reused_for_another_key_is_refused(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    url = ship.grant["uploads"][0]["url"]
    key = ship.grant["uploads"][0]["key"]
    other = url.replace(key.rsplit("/", 1)[1], "evil.parquet")
    resp = httpx.put(other, content=b"x")
    assert resp.status_code == 403
    assert resp.json()["detail"] == "the upload URL was not signed for this key"
    assert all("evil" not in k for k in lake_keys(ingest))


def test_suspended_contract_stops_uploads(ingest: IngestSetup) -> None:
    ingest.world.post(
        f"/contracts/{ingest.contract_id}/suspend",
        ingest.world.as_operator(),
        {"reason": "Incident de sécurité chez l'éditeur."},
    )
    with pytest.raises(HubRefused) as refused:
        presigned(ingest)
    assert refused.value.status == 403
    assert "suspended" in refused.value.detail
    assert "ingest.terms" in audit_actions(ingest, "deny")


def test_connector_of_another_provider_cannot_use_the_contract(ingest: IngestSetup) -> None:
    other_org = ingest.world.post(
        "/organisations",
        ingest.world.as_operator(),
        {"name": "Autre éditeur", "siren": "552100554", "kind": "provider"},
    )["id"]
    connector_id, key = ingest.register_connector(other_org)
    client = HubClient(ingest.url, connector_id, key)
    with pytest.raises(HubRefused) as refused:
        client.terms(ingest.contract_id)
    assert refused.value.status == 403
    assert "does not belong to the contract's provider" in refused.value.detail


def test_connector_token_must_be_signed_by_the_registered_key(ingest: IngestSetup) -> None:
    forged = mint_connector_token(Ed25519PrivateKey.generate(), ingest.connector_id)
    path = f"{ingest.url}/api/v1/ingest/contracts/{ingest.contract_id}/terms"
    resp = httpx.get(path, headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert httpx.get(path).status_code == 401


def test_malformed_presign_request_is_a_400_problem(ingest: IngestSetup) -> None:
    token = mint_connector_token(ingest.connector_key, ingest.connector_id)
    body = {
        "contract_id": ingest.contract_id,
        "dataset_id": ingest.dataset_id,
        "sequence": 0,
        "files": [{"date": "2026-02-30", "index": 0, "sha256": "zz", "bytes": 1}],
    }
    resp = httpx.post(
        f"{ingest.url}/api/v1/ingest/batches",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 400
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"sequence", "files.0.date", "files.0.sha256"} <= fields
