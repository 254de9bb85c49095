"""Complete: verify an uploaded batch, then register it or quarantine it (never both)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from contracts.batch_manifest import ManifestError
from hub.alerts import ALERT_TOPIC
from hub.bus import outbox
from hub.catalog.public import record_batch_stats
from hub.context import HubContext
from hub.contracts.public import get_contract
from hub.errors import Forbidden, NotFound
from hub.ingest.erasure import strip_erased
from hub.ingest.gate import UploadScope, upload_scope
from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.presign import quarantine_key, store_of
from hub.ingest.records import BatchRecord
from hub.ingest.retention import PAST_RETENTION, batch_expired
from hub.ingest.verify import check_manifest, check_objects
from hub.pseudonym.public import was_repseudonymised
from hub.registry.public import ConnectorRecord
from hub.storage.port import ObjectStore
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record

REGISTERED_TOPIC = "edh.batch.registered"
KEY_ROTATED = "pseudonyms under another key version than the contract's"


def _verify(
    ctx: HubContext, session: Session, connector: ConnectorRecord, batch: IngestBatch, jws: str
) -> tuple[UploadScope | None, dict[str, Any] | None, list[str]]:
    try:
        scope = upload_scope(session, connector, batch.contract_id, datetime.now(UTC).date())
    except Forbidden as exc:
        return None, None, list(exc.extra.get("reasons", [exc.detail]))
    try:
        manifest = check_manifest(batch, connector, jws)
    except ManifestError as exc:
        return scope, None, [str(exc)]
    return scope, manifest, check_objects(store_of(ctx), manifest, scope.allowed_fields)


def quarantine_objects(store: ObjectStore, batch: IngestBatch) -> None:
    """Move the batch's uploaded objects from ``lake/`` to ``quarantine/``, erasing every
    stored version of the lake key (the quarantined copy is then the only one; retention
    and erasure find it there). Idempotent."""
    for entry in batch.files:
        key = str(entry["key"])
        if store.size(key) is not None:
            store.put(quarantine_key(key), store.get(key))
            store.erase(key)


def refuse_batch(store: ObjectStore, batch: IngestBatch, reason: str) -> None:
    """Delete what was uploaded for ``batch`` (every version, in the lake and in
    quarantine) and record it refused: quarantined, files marked purged, ``reason``
    (``PAST_RETENTION``, ``KEY_ROTATED``). Idempotent."""
    files: list[dict[str, Any]] = []
    for entry in batch.files:
        for key in (str(entry["key"]), quarantine_key(str(entry["key"]))):
            store.erase(key)
        files.append({**entry, "purged": True})
    batch.files, batch.status = files, BatchStatus.QUARANTINED
    batch.reasons, batch.row_count = [reason], 0
    batch.updated_at = datetime.now(UTC)


def stale_key(session: Session, batch: IngestBatch, manifest: dict[str, Any]) -> bool:
    """Whether the batch's pseudonyms derive from another key version than its
    contract's: the version its manifest names, or, for a manifest naming none, any
    version once the contract was re-pseudonymised (fail closed)."""
    declared = manifest.get("key_version")
    if declared is None:
        return was_repseudonymised(session, batch.contract_id)
    return bool(declared != get_contract(session, batch.contract_id).key_version)


def _parse(ts: Any) -> datetime | None:
    return datetime.fromisoformat(ts) if isinstance(ts, str) else None


def _register(
    session: Session, batch: IngestBatch, manifest: dict[str, Any], scope: UploadScope
) -> None:
    batch.row_count = int(manifest["row_count"])
    batch.files = [
        {**f, "sha256": str(m["sha256"]), "bytes": int(m["bytes"]), "rows": int(m["rows"])}
        for f, m in zip(batch.files, manifest["files"], strict=True)
    ]
    span = manifest.get("time_range") or {}
    batch.time_from, batch.time_to = _parse(span.get("from")), _parse(span.get("to"))
    batch.status = BatchStatus.REGISTERED
    _audit(session, batch, "ingest.batch.registered", Decision.INFO, scope)


def _count(session: Session, batch: IngestBatch) -> None:
    """Add the registered batch, as the lake now holds it, to its dataset's statistics."""
    if batch.time_from and batch.time_to:
        rows = batch.row_count or 0
        record_batch_stats(session, batch.dataset_id, rows, batch.time_from, batch.time_to)


def _audit(
    session: Session,
    batch: IngestBatch,
    action: str,
    decision: Decision,
    scope: UploadScope | None,
) -> None:
    actor = Actor(sub=batch.connector_id, role="connector", org=batch.provider_id)
    draft = EventDraft(
        actor,
        action,
        Resource("batch", batch.id),
        decision,
        batch.reasons,
        scope.why(batch.dataset_id) if scope else Why(batch.contract_id),
        {"sequence": batch.sequence, "rows": batch.row_count, "files": len(batch.files)},
    )
    record(session, draft)


def complete(
    ctx: HubContext, session: Session, connector: ConnectorRecord, batch_id: str, jws: str
) -> BatchRecord:
    """Verify batch ``batch_id`` and register it, or move its objects to quarantine.

    Idempotent: a registered or quarantined batch is returned as it is. Checks: the
    contract is still in force and binds the connector, the manifest is signed by the
    connector's key and describes exactly the presigned keys, every object has the
    manifest's size, SHA-256 and row count, is ``edh-xapi-1`` Parquet, and holds only the
    contract's allowed fields (columns and ``statement_json``). Raises
    ``NotFound`` for a batch of another connector. A batch holding a day past the
    contract's retention, or pseudonymised under another key version than the
    contract's (``stale_key``), is refused and its uploads deleted (``refuse_batch``). The
    batch's event goes to the outbox in the same transaction; the caller commits, then
    nudges the relay.
    """
    batch = session.get(IngestBatch, batch_id)
    if batch is None or batch.connector_id != connector.id:
        raise NotFound(f"batch {batch_id} does not exist for this connector")
    if batch.status != BatchStatus.PRESIGNED:
        return batch
    scope, manifest, reasons = _verify(ctx, session, connector, batch, jws)
    batch.manifest_jws, batch.updated_at = jws, datetime.now(UTC)
    today = batch.updated_at.date()
    if scope is not None and batch_expired(batch, scope.retention_days, today):
        refuse_batch(store_of(ctx), batch, PAST_RETENTION)
        _audit(session, batch, "ingest.batch.expired", Decision.DENY, scope)
    elif manifest is not None and stale_key(session, batch, manifest):
        refuse_batch(store_of(ctx), batch, KEY_ROTATED)
        _audit(session, batch, "ingest.batch.stale-key", Decision.DENY, scope)
    elif reasons or manifest is None or scope is None:
        batch.status, batch.reasons = BatchStatus.QUARANTINED, reasons
        quarantine_objects(store_of(ctx), batch)
        _audit(session, batch, "ingest.batch.quarantined", Decision.DENY, scope)
    else:
        _register(session, batch, manifest, scope)
        strip_erased(store_of(ctx), ctx.settings, session, batch)
        _count(session, batch)
    session.add(batch)
    topic = REGISTERED_TOPIC if batch.status == BatchStatus.REGISTERED else ALERT_TOPIC
    outbox.enqueue(session, topic, batch.id, batch_event(batch))
    session.flush()
    return batch


def batch_event(batch: IngestBatch) -> dict[str, Any]:
    """The ``edh.batch.registered`` (or alert) event of ``batch``; ``id`` = batch id."""
    return {
        "id": batch.id,
        "type": f"batch.{batch.status}",
        "connector_id": batch.connector_id,
        "sequence": batch.sequence,
        "contract_id": batch.contract_id,
        "provider_id": batch.provider_id,
        "dataset_id": batch.dataset_id,
        "row_count": batch.row_count,
        "keys": [str(f["key"]) for f in batch.files],
        "time_from": batch.time_from.isoformat() if batch.time_from else None,
        "time_to": batch.time_to.isoformat() if batch.time_to else None,
        "reasons": list(batch.reasons),
    }
