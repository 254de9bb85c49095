"""The batch registry as its readers list it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from hub.ingest.models import BatchStatus, IngestBatch


def batches(
    session: Session,
    limit: int,
    provider_id: str | None = None,
    contract_id: str | None = None,
    status: str | None = None,
) -> list[IngestBatch]:
    """The newest ``limit`` batches, of ``provider_id``, ``contract_id`` and ``status`` when
    given (None: any)."""
    query = select(IngestBatch)
    if provider_id is not None:
        query = query.where(IngestBatch.provider_id == provider_id)
    if contract_id:
        query = query.where(IngestBatch.contract_id == contract_id)
    if status:
        query = query.where(IngestBatch.status == status)
    query = query.order_by(col(IngestBatch.created_at).desc()).limit(limit)
    return list(session.exec(query).all())


def contract_of_batch(session: Session, batch_id: str) -> str | None:
    """The contract of batch ``batch_id`` (None: no such batch)."""
    batch = session.get(IngestBatch, batch_id)
    return None if batch is None else batch.contract_id


def registered_keys(session: Session, contract_id: str) -> frozenset[str]:
    """Object keys of the contract's registered (verified) batches."""
    rows = session.exec(
        select(IngestBatch.files).where(
            IngestBatch.contract_id == contract_id,
            IngestBatch.status == BatchStatus.REGISTERED,
        )
    ).all()
    return frozenset(str(f["key"]) for files in rows for f in files)
