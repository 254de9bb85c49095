"""Erasure of one pupil (via the pseudonymisation service), retention purge, and the
quarantine of batches never completed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select

from connector.pipeline.client import HubRefused
from connector.pipeline.pseudonymise import Pseudonymiser
from contracts.batch_manifest import sign_manifest
from contracts.pseudonym import identifier_of
from hub.ingest.erasure import locate_pupil, purge_expired
from hub.ingest.janitor import quarantine_stale
from hub.ingest.models import IngestBatch
from hub.pseudonym.service import pseudonym_for
from hub.trail.models import AuditEvent
from hub.trail.writer import SYSTEM
from tests.support.contract_ref import ContractRef
from tests.support.ingest_batches import Shipment, presigned, recent_day, statements
from tests.support.ingest_cli import lake_column
from tests.support.ingest_fixtures import IngestSetup


def registered_shipment(setup: IngestSetup) -> Shipment:
    ship = presigned(setup, count=40)
    ship.upload_all()
    ship.client.complete(
        ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
    )
    return ship


def lake_pseudonyms(setup: IngestSetup) -> list[str]:
    return lake_column(setup, "actor_pseudonym")


def audit_actions(setup: IngestSetup) -> list[str]:
    with Session(setup.ctx.engine) as session:
        return list(session.exec(select(AuditEvent.action)).all())


def test_erasure_removes_one_pupil_everywhere_and_is_audited(ingest: IngestSetup) -> None:
    ship = registered_shipment(ingest)
    pupil = statements(1)[0]["actor"]
    identifier = identifier_of(pupil)
    assert identifier is not None
    pseudonym = Pseudonymiser(ship.target.terms.pseudonym_key).pseudonym(identifier)
    assert pseudonym == pseudonym_for(
        ingest.ctx.settings, ContractRef(ingest.contract_id), identifier
    )
    assert lake_pseudonyms(ingest).count(pseudonym) == 1
    resp = ship.client.erase(identifier)
    assert resp["rows_removed"] == 1 and resp["batches_rewritten"] == 1
    remaining = lake_pseudonyms(ingest)
    assert pseudonym not in remaining and len(remaining) == 39
    again = ship.client.erase(identifier)
    assert again["rows_removed"] == 0 and again["request_id"] == resp["request_id"]
    assert audit_actions(ingest).count("pseudonym.erasure") == 2
    assert ingest.ctx.store is not None
    with Session(ingest.ctx.engine) as session:
        assert locate_pupil(ingest.ctx.store, session, ingest.contract_id, pseudonym) == []


@pytest.mark.parametrize("identifier", ["eleve-1", "account:nopipe", "mbox:alice"])
def test_erasure_request_with_a_malformed_identifier_is_a_400(
    ingest: IngestSetup, identifier: str
) -> None:
    client = ingest.hub_client()
    with pytest.raises(HubRefused) as refused:
        client.erase(identifier)
    assert refused.value.status == 400
    assert identifier not in refused.value.detail


def test_retention_purge_deletes_only_expired_partitions(ingest: IngestSetup) -> None:
    registered_shipment(ingest)
    store = ingest.ctx.store
    assert store is not None
    day = date.fromisoformat(recent_day())
    with Session(ingest.ctx.engine) as session:
        kept = purge_expired(store, session, SYSTEM, ingest.contract_id, day + timedelta(days=180))
        session.commit()
    assert kept.objects_deleted == [] and len(list(store.list("lake/"))) == 1
    with Session(ingest.ctx.engine) as session:
        gone = purge_expired(store, session, SYSTEM, ingest.contract_id, day + timedelta(days=181))
        session.commit()
    assert len(gone.objects_deleted) == 1 and gone.rows_removed == 40
    assert list(store.list("lake/")) == []
    assert "ingest.retention.purged" in audit_actions(ingest)


def test_batches_never_completed_leave_the_lake(ingest: IngestSetup) -> None:
    ship = presigned(ingest)
    ship.upload_all()
    store = ingest.ctx.store
    assert store is not None and len(list(store.list("lake/"))) == 1
    with Session(ingest.ctx.engine) as session:
        assert quarantine_stale(store, session, SYSTEM, timedelta(hours=1)) == []
        stale = quarantine_stale(store, session, SYSTEM, timedelta(seconds=-1))
        session.commit()
    assert stale == [ship.grant["batch_id"]]
    assert list(store.list("lake/")) == [] and len(list(store.list("quarantine/"))) == 1
    again = presigned(ingest)  # the connector retries the same sequence: accepted anew
    again.upload_all()
    done = again.client.complete(
        again.grant["batch_id"], sign_manifest(again.manifest(), ingest.connector_key)
    )
    assert done["status"] == "registered" and len(list(store.list("lake/"))) == 1


def test_retention_purges_quarantine_and_registry_counts_on_schedule(ingest: IngestSetup) -> None:
    from datetime import UTC, datetime

    from hub.audit.schedule import AuditScheduler
    from hub.ingest.presign import quarantine_key

    registered_shipment(ingest)
    refused = presigned(ingest, sequence=2)
    refused.upload_all()
    with pytest.raises(HubRefused):
        refused.client.complete(
            refused.grant["batch_id"],
            sign_manifest(refused.manifest(), Ed25519PrivateKey.generate()),
        )
    store = ingest.ctx.store
    assert store is not None and len(list(store.list("quarantine/"))) == 1
    later = datetime.fromisoformat(recent_day()).replace(tzinfo=UTC) + timedelta(days=181)
    ran = AuditScheduler(ingest.ctx).tick(later)
    assert ran["lake-purge"] is True
    assert list(store.list("lake/")) == [] and list(store.list("quarantine/")) == []
    with Session(ingest.ctx.engine) as session:
        batches = session.exec(select(IngestBatch)).all()
        assert {b.status: b.row_count for b in batches}["registered"] == 0
        for batch in batches:
            for entry in batch.files:
                assert entry["purged"] and store.size(quarantine_key(str(entry["key"]))) is None
    assert audit_actions(ingest).count("ingest.retention.purged") == 1
