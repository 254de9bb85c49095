"""Batches announced but never completed: their uploads leave ``lake/`` for quarantine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from hub.ingest.complete import quarantine_objects
from hub.ingest.models import BatchStatus, IngestBatch
from hub.storage.port import ObjectStore
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record

STALE_REASON = "batch never completed"


def quarantine_stale(
    store: ObjectStore, session: Session, actor: Actor, older_than: timedelta
) -> list[str]:
    """Quarantine every batch still ``presigned`` after ``older_than``; audited per batch.

    Idempotent. The connector may still complete it later by presigning the same sequence
    again (its files are then uploaded and verified anew). Returns the batch ids.
    """
    cutoff = datetime.now(UTC) - older_than
    query = select(IngestBatch).where(
        IngestBatch.status == BatchStatus.PRESIGNED, col(IngestBatch.updated_at) < cutoff
    )
    done = []
    for batch in session.exec(query).all():
        quarantine_objects(store, batch)
        batch.status, batch.reasons = BatchStatus.QUARANTINED, [STALE_REASON]
        batch.updated_at = datetime.now(UTC)
        session.add(batch)
        draft = EventDraft(
            actor,
            "ingest.batch.quarantined",
            Resource("batch", batch.id),
            Decision.DENY,
            [STALE_REASON],
            Why(contract_id=batch.contract_id, dataset_id=batch.dataset_id),
        )
        record(session, draft)
        done.append(batch.id)
    return done
