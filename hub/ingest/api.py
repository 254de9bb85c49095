"""Ingest API under ``/api/v1/ingest``: connectors (own key pair) presign and complete
batches; operators, providers and the DPO read the batch registry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hub.auth import Principal, Role, require
from hub.bus import outbox
from hub.context import HubContext
from hub.db import session_scope
from hub.deps import SessionDep, hub_context
from hub.errors import Forbidden, HubError
from hub.ingest.batches import batches
from hub.ingest.complete import complete
from hub.ingest.connector_auth import ConnectorDep
from hub.ingest.gate import upload_scope
from hub.ingest.models import BatchStatus, IngestBatch
from hub.ingest.presign import presign
from hub.ingest.records import BatchRecord
from hub.ingest.refusals import audited_refusal
from hub.ingest.retention import PAST_RETENTION, PastRetention, refused_for_retention
from hub.ingest.schemas import BatchOut, CompleteIn, GrantOut, PresignIn, TermsOut
from hub.trail.writer import Resource, Why

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])
Ctx = Annotated[HubContext, Depends(hub_context)]
READERS = (Role.OPERATOR, Role.PROVIDER, Role.DPO)


class BatchRejected(HubError):
    status, slug, title = 400, "batch-rejected", "Batch refused and quarantined"


@router.get("/contracts/{contract_id}/terms", response_model=TermsOut)
def terms(contract_id: str, ctx: Ctx, connector: ConnectorDep) -> TermsOut:
    """Provider, datasets and allowed fields of a contract in force (role: its connector)."""
    resource, why = Resource("contract", contract_id), Why(contract_id=contract_id)
    with (
        audited_refusal(ctx, connector, "ingest.terms", resource, why),
        session_scope(ctx.engine) as session,
    ):
        scope = upload_scope(session, connector, contract_id, datetime.now(UTC).date())
    return TermsOut(
        contract_id=scope.contract_id,
        provider_id=scope.provider_id,
        datasets=list(scope.datasets),
        allowed_fields=list(scope.allowed_fields),
        retention_days=scope.retention_days,
    )


@router.post("/batches", response_model=GrantOut)
def create_batch(body: PresignIn, ctx: Ctx, connector: ConnectorDep) -> GrantOut:
    """Presigned PUT URLs for one batch under the contract's lake prefix (role: a connector
    bound to the contract). Idempotent by (connector, sequence); ``status=registered``
    means the batch is already in the lake."""
    resource = Resource("batch", f"{connector.id}#{body.sequence}")
    why = Why(contract_id=body.contract_id, dataset_id=body.dataset_id)
    with (
        audited_refusal(ctx, connector, "ingest.presign", resource, why),
        session_scope(ctx.engine) as session,
    ):
        return presign(ctx, session, connector, body)


@router.post("/batches/{batch_id}/complete", response_model=BatchOut)
def complete_batch(
    batch_id: str, body: CompleteIn, ctx: Ctx, connector: ConnectorDep
) -> BatchRecord:
    """Verify and register an uploaded batch (role: its connector). Idempotent. A batch that
    fails verification is quarantined and answered 400 ``batch-rejected`` with ``reasons``.
    A batch past the contract's retention is refused (422 ``past-retention``), its uploads
    deleted. Its ``edh.batch.registered`` (or alert) event is committed with it to the outbox and
    published by the relay, at least once, even if the hub stops right after the commit."""
    with session_scope(ctx.engine) as session:
        batch = complete(ctx, session, connector, batch_id, body.manifest)
    outbox.flush(ctx)
    if refused_for_retention(batch):
        raise PastRetention(
            f"batch {batch.sequence} holds data {PAST_RETENTION}: refused, uploads deleted",
            reasons=batch.reasons,
            batch_id=batch.id,
        )
    if batch.status == BatchStatus.QUARANTINED:
        raise BatchRejected(
            f"batch {batch.sequence} was refused and quarantined: {batch.reasons[0]}",
            reasons=batch.reasons,
            batch_id=batch.id,
        )
    return batch


@router.get("/batches", response_model=list[BatchOut])
def list_batches(
    session: SessionDep,
    who: Annotated[Principal, Depends(require(*READERS))],
    contract_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[IngestBatch]:
    """The batch registry, newest first (roles: operator, dpo; provider: its own batches)."""
    provider = None
    if Role.OPERATOR not in who.roles and Role.DPO not in who.roles:
        if not who.org:
            raise Forbidden("a provider token must name its organisation")
        provider = who.org
    return batches(session, limit, provider, contract_id, status)
