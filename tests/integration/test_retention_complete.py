"""Retention, complete and enforced at the door: data past a contract's retention are
refused at presign and at completion (their uploads deleted), a file's rows must be of its
day partition, and the scheduled purge leaves the catalog's and the registry's counts
equal to what the lake holds.

Oracles: the rows of every stored object (read back from the store), every key under
``lake/`` and ``quarantine/``, the audit rows."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from connector.pipeline.client import HubRefused
from connector.pipeline.runner import Target, push
from connector.pipeline.state import PipelineState
from contracts.batch_manifest import sign_manifest
from hub.audit.schedule import AuditScheduler
from hub.catalog.models import Dataset
from hub.contracts.models import ContractVersion
from hub.ingest.models import BatchStatus, IngestBatch
from hub.storage.s3 import S3Store
from hub.trail.models import AuditEvent
from tests.support.ingest_batches import Shipment, presigned, recent_day, statements
from tests.support.ingest_fixtures import IngestSetup

RETENTION = 180  # the test contract's retention_days
DPO_API = "/api/v1/pseudonym/dpo/erasure-requests"


def _presign(setup: IngestSetup, day: str, sequence: int = 1, count: int = 20) -> Shipment:
    """A batch of ``count`` statements of ``day``, presigned (raises ``HubRefused``) by a
    connector that does not drop days past retention itself: the hub's door is tested."""
    return presigned(setup, sequence=sequence, count=count, day=day, retention=False)


def _complete(ship: Shipment, key: Ed25519PrivateKey) -> dict:
    ship.upload_all()
    return dict(ship.client.complete(ship.grant["batch_id"], sign_manifest(ship.manifest(), key)))


def _events(setup: IngestSetup, action: str) -> list[AuditEvent]:
    with Session(setup.ctx.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def _keys(setup: IngestSetup) -> list[str]:
    store = setup.ctx.store
    assert store is not None
    return [*store.list("lake/"), *store.list("quarantine/")]


def test_presign_refuses_a_day_past_retention_with_a_problem_and_audits_it(
    ingest: IngestSetup,
) -> None:
    kept = _presign(ingest, recent_day(RETENTION), sequence=1)  # the last day still kept
    assert kept.grant["status"] == "presigned"
    with pytest.raises(HubRefused) as refused:
        _presign(ingest, recent_day(RETENTION + 1), sequence=2)
    assert refused.value.status == 422
    body = refused.value.body
    assert body["type"].endswith("past-retention") and body["cutoff"] == recent_day(RETENTION)
    denied = [e for e in _events(ingest, "ingest.presign") if e.decision == "deny"]
    assert len(denied) == 1 and "retention" in denied[0].reasons[0]
    with Session(ingest.ctx.engine) as session:
        assert [b.sequence for b in session.exec(select(IngestBatch)).all()] == [1]
    # the raw answer is problem+json
    resp = ingest.client.post("/api/v1/ingest/batches", json={})
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_completion_past_retention_deletes_the_uploads(ingest: IngestSetup) -> None:
    ship = _presign(ingest, recent_day(3))
    ship.upload_all()
    assert len(_keys(ingest)) == 1
    with Session(ingest.ctx.engine) as session:  # two days pass: retention is now 1 day
        version = session.exec(
            select(ContractVersion).where(ContractVersion.contract_id == ingest.contract_id)
        ).one()
        version.terms = {**version.terms, "retention_days": 1}
        session.add(version)
        session.commit()
    with pytest.raises(HubRefused) as refused:
        ship.client.complete(
            ship.grant["batch_id"], sign_manifest(ship.manifest(), ingest.connector_key)
        )
    assert refused.value.status == 422
    assert refused.value.body["batch_id"] == ship.grant["batch_id"]
    assert _keys(ingest) == []  # not in the lake, not in quarantine
    with Session(ingest.ctx.engine) as session:
        batch = session.get(IngestBatch, ship.grant["batch_id"])
        assert batch is not None and batch.status == BatchStatus.QUARANTINED
        assert batch.row_count == 0 and all(f["purged"] for f in batch.files)
        assert session.get(Dataset, ingest.dataset_id).statement_count == 0  # type: ignore[union-attr]
    assert len(_events(ingest, "ingest.batch.expired")) == 1


def test_rows_outside_their_day_partition_are_quarantined(ingest: IngestSetup) -> None:
    client = ingest.hub_client()
    ship = _presign(ingest, recent_day(3))
    request = {
        "contract_id": ingest.contract_id,
        "dataset_id": ingest.dataset_id,
        "sequence": 2,
        "files": [
            {"date": recent_day(2), "index": f.index, "sha256": f.sha256, "bytes": len(f.data)}
            for f in ship.batch.files
        ],
    }
    ship.grant, ship.sequence = client.presign(request), 2  # rows of day 3, declared day 2
    with pytest.raises(HubRefused) as refused:
        _complete(ship, ingest.connector_key)
    assert refused.value.status == 400
    assert "outside its day partition" in " ".join(refused.value.body["reasons"])


def _lake_rows(setup: IngestSetup) -> int:
    store = setup.ctx.store
    assert store is not None
    return sum(pq.read_metadata(io.BytesIO(store.get(k))).num_rows for k in store.list("lake/"))


def _counts(setup: IngestSetup) -> tuple[int, int, int, int, date | None]:
    """(lake rows, registry rows, catalog rows, catalog batches, catalog first day)."""
    with Session(setup.ctx.engine) as session:
        batches = session.exec(
            select(IngestBatch).where(IngestBatch.status == BatchStatus.REGISTERED)
        ).all()
        dataset = session.get(Dataset, setup.dataset_id)
        assert dataset is not None
        first = dataset.first_statement_at.date() if dataset.first_statement_at else None
        registry = sum(b.row_count or 0 for b in batches)
        return _lake_rows(setup), registry, dataset.statement_count, dataset.batch_count, first


def test_scheduled_purge_leaves_catalog_and_registry_equal_to_the_lake(
    ingest: IngestSetup,
) -> None:
    for sequence, age in enumerate((5, 4, 3), start=1):
        _complete(_presign(ingest, recent_day(age), sequence=sequence), ingest.connector_key)
    refused = _presign(ingest, recent_day(5), sequence=4)
    with pytest.raises(HubRefused):
        _complete(refused, Ed25519PrivateKey.generate())  # quarantined, day 5
    assert _counts(ingest) == (60, 60, 60, 3, date.fromisoformat(recent_day(5)))

    dpo = ingest.world.auth("dpo", sub="dpo.1")
    identifier = "account:https://ent.example.fr|eleve-1"
    resp = ingest.client.post(DPO_API, json={"identifier": identifier}, headers=dpo)
    assert resp.status_code == 200 and resp.json()["rows_removed"] == 4  # 3 + quarantine
    assert _counts(ingest) == (57, 57, 57, 3, date.fromisoformat(recent_day(5)))

    # the day when recent_day(5) leaves retention: the purge runs on schedule
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    later = today + timedelta(days=RETENTION - 4)
    assert AuditScheduler(ingest.ctx).tick(later)["lake-purge"] is True
    assert _counts(ingest) == (38, 38, 38, 2, date.fromisoformat(recent_day(4)))
    assert not [k for k in _keys(ingest) if f"date={recent_day(5)}" in k]  # lake, quarantine
    assert len([k for k in _keys(ingest) if k.startswith("quarantine/")]) == 0
    assert len(_events(ingest, "ingest.retention.purged")) == 1


def test_connector_drops_statements_past_retention_before_shipping(
    ingest: IngestSetup, tmp_path: Path
) -> None:
    client = ingest.hub_client()
    terms = client.terms(ingest.contract_id)
    assert terms.retention_days == RETENTION
    old, fresh = statements(10, recent_day(RETENTION + 5)), statements(10, recent_day(3))
    for i, st in enumerate(old):  # other statement ids, same pupils
        st["id"] = f"10000000-0000-4000-8000-{i:012d}"
    report = push(
        enumerate([*old, *fresh], start=1),
        source="t",
        client=client,
        key=ingest.connector_key,
        target=Target(terms, ingest.dataset_id),
        state=PipelineState.load(tmp_path / "state.json"),
        batch_size=100,
    )
    assert (report.accepted, report.dropped_expired, report.batches_registered) == (10, 10, 1)
    assert _counts(ingest)[:3] == (10, 10, 10)
    assert [k for k in _keys(ingest) if "date=" in k] == [
        k for k in _keys(ingest) if f"date={recent_day(3)}" in k
    ]


def _versioned_keys(setup: IngestSetup) -> list[str]:
    """Every key of the bucket with at least one stored version (delete markers aside)."""
    store = setup.ctx.store
    assert isinstance(store, S3Store)
    listed = store._client.list_objects(store.bucket, recursive=True, include_version=True)
    return sorted({str(v.object_name) for v in listed if not v.is_delete_marker})


def test_no_version_of_a_replaced_or_quarantined_upload_lingers(s3_ingest: IngestSetup) -> None:
    first = _presign(s3_ingest, recent_day(4))
    first.upload_all()
    again = _presign(s3_ingest, recent_day(3))  # the same sequence announced again
    assert again.grant["batch_id"] == first.grant["batch_id"]
    with pytest.raises(HubRefused):
        _complete(again, Ed25519PrivateKey.generate())  # quarantined
    kept = _versioned_keys(s3_ingest)
    assert len(kept) == 1 and kept[0].startswith("quarantine/")
    assert f"date={recent_day(3)}" in kept[0]
