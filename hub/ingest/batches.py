"""The batch registry as its readers list it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from hub.ingest.models import IngestBatch


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
