"""Presign: issue upload URLs for one batch, only under the contract's own lake prefix."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from hub.context import HubContext
from hub.errors import Conflict, ServiceUnavailable
from hub.ingest.gate import check_dataset, check_upload_policy, upload_scope
from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.retention import check_fresh
from hub.ingest.schemas import FileIn, GrantOut, PresignIn, UploadOut
from hub.registry.public import ConnectorRecord
from hub.storage.port import ObjectStore


def lake_prefix(provider_id: str, contract_id: str, dataset_id: str) -> str:
    """``lake/<provider>/<contract>/<dataset>/``: the only place a contract's data live."""
    return f"lake/{provider_id}/{contract_id}/{dataset_id}/"


def object_key(batch: IngestBatch, file: FileIn) -> str:
    """The key of one file: ``<prefix>date=<day>/<connector>-<seq:012d>-<n>.parquet``."""
    prefix = lake_prefix(batch.provider_id, batch.contract_id, batch.dataset_id)
    name = f"{batch.connector_id}-{batch.sequence:012d}-{file.index}.parquet"
    return f"{prefix}date={file.date}/{name}"


def quarantine_key(key: str) -> str:
    """Where a refused object goes: ``quarantine/`` instead of ``lake/`` (never served)."""
    return "quarantine/" + key.removeprefix("lake/")


def store_of(ctx: HubContext) -> ObjectStore:
    """The hub's object store; ``ServiceUnavailable`` when none is configured."""
    if ctx.store is None:
        raise ServiceUnavailable("no object store is configured")
    return ctx.store


def find_batch(session: Session, connector_id: str, sequence: int) -> IngestBatch | None:
    """The batch ``sequence`` of a connector, if announced."""
    query = select(IngestBatch).where(
        IngestBatch.connector_id == connector_id, IngestBatch.sequence == sequence
    )
    return session.exec(query).first()


def _announce(
    session: Session,
    connector: ConnectorRecord,
    body: PresignIn,
    provider: str,
    batch: IngestBatch | None,
) -> IngestBatch:
    if batch is None:
        batch = IngestBatch(
            connector_id=connector.id,
            sequence=body.sequence,
            contract_id=body.contract_id,
            provider_id=provider,
            dataset_id=body.dataset_id,
            status=BatchStatus.PRESIGNED,
            files=[],
        )
    elif (batch.contract_id, batch.dataset_id) != (body.contract_id, body.dataset_id):
        raise Conflict(
            f"sequence {body.sequence} of connector {connector.id} is already used for "
            f"contract {batch.contract_id}, dataset {batch.dataset_id}"
        )
    indexes = [f.index for f in body.files]
    if len(set(indexes)) != len(indexes):
        raise Conflict("file indexes must be unique within a batch")
    batch.files = [{**f.model_dump(), "key": object_key(batch, f)} for f in body.files]
    batch.status, batch.reasons = BatchStatus.PRESIGNED, []
    batch.updated_at = datetime.now(UTC)
    session.add(batch)
    session.flush()
    return batch


def _clear_unverified(store: ObjectStore, batch: IngestBatch) -> None:
    """Erase what was uploaded for a batch announced again (never registered, hence
    unverified), every stored version too (the new file list may name other days, whose
    keys nothing would purge), so that the new single-use grants can write its keys."""
    for entry in batch.files:
        store.erase(str(entry["key"]))


def presign(
    ctx: HubContext, session: Session, connector: ConnectorRecord, body: PresignIn
) -> GrantOut:
    """Check the gate, record the batch (idempotent by connector + sequence), sign URLs.

    A registered batch answers ``status=registered`` with no URL (the connector skips it);
    a presigned or quarantined one is announced again with the new file list, its
    unverified uploads deleted (upload URLs never overwrite). Raises
    ``NotFound``/``Forbidden`` from the gate, ``PastRetention`` when a file's day is past
    the contract's retention (``hub.ingest.retention``) and ``Conflict`` when the sequence
    number belongs to another contract or dataset.
    """
    today = datetime.now(UTC).date()
    scope = upload_scope(session, connector, body.contract_id, today)
    check_dataset(scope, body.dataset_id)
    check_fresh((f.date for f in body.files), scope.retention_days, today)
    check_upload_policy(ctx, session, connector, scope, body.dataset_id)
    ttl = ctx.settings.storage.presign_ttl_seconds
    existing = find_batch(session, connector.id, body.sequence)
    if existing is not None and existing.status == BatchStatus.REGISTERED:
        return GrantOut(batch_id=existing.id, status=existing.status, uploads=[], expires_in=0)
    store = store_of(ctx)
    if existing is not None:
        _clear_unverified(store, existing)
    batch = _announce(session, connector, body, scope.provider_id, existing)
    uploads = []
    for f in batch.files:
        grant = store.presign_put(str(f["key"]), ttl)
        uploads.append(
            UploadOut(key=grant.key, url=grant.url, method=grant.method, headers=grant.headers)
        )
    return GrantOut(batch_id=batch.id, status=batch.status, uploads=uploads, expires_in=ttl)
