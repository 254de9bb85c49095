"""Pseudonymisation service API: the contract key for its bound connector, and erasure."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from hub.audit.trail import EventDraft, Resource, Why, record
from hub.context import HubContext
from hub.contracts.service import get_contract
from hub.db import session_scope
from hub.deps import hub_context
from hub.errors import Forbidden
from hub.ingest.connector_auth import ConnectorDep
from hub.ingest.erasure import erase_pupil
from hub.ingest.gate import connector_actor, upload_scope
from hub.ingest.presign import store_of
from hub.ingest.refusals import audited_refusal
from hub.ingest.schemas import KeyOut
from hub.pseudonym.service import contract_key

router = APIRouter(prefix="/api/v1/pseudonym", tags=["pseudonym"])
Ctx = Annotated[HubContext, Depends(hub_context)]


@router.get("/contracts/{contract_id}/key", response_model=KeyOut)
def key(contract_id: str, ctx: Ctx, connector: ConnectorDep) -> KeyOut:
    """The contract's pseudonymisation key (role: a connector bound to the contract in
    force). Every hand-out is audited."""
    resource, why = Resource("pseudonym-key", contract_id), Why(contract_id=contract_id)
    with (
        audited_refusal(ctx, connector, "pseudonym.key", resource, why),
        session_scope(ctx.engine) as session,
    ):
        scope = upload_scope(session, connector, contract_id, datetime.now(UTC).date())
        record(
            session,
            EventDraft(connector_actor(connector), "pseudonym.key", resource, why=scope.why()),
        )
    secret = contract_key(ctx.settings.pseudonymisation_secret, contract_id)
    return KeyOut(contract_id=contract_id, key=base64.b64encode(secret).decode())


class ErasureIn(BaseModel):
    """An erasure request: the pupil's pseudonym under the contract (computed by the
    connector with the contract key; the clear identifier never leaves the vendor)."""

    model_config = ConfigDict(extra="forbid")
    contract_id: str = Field(min_length=1, max_length=36)
    pseudonym: str = Field(pattern=r"^[0-9a-f]{64}$")


class ErasureOut(BaseModel):
    rows_removed: int
    objects_rewritten: list[str]


@router.post("/erasures", response_model=ErasureOut)
def erase(body: ErasureIn, ctx: Ctx, connector: ConnectorDep) -> ErasureOut:
    """Remove one pupil's rows from every batch of the contract (role: a connector of the
    contract's provider; allowed even after the contract ended). Audited, idempotent."""
    resource, why = Resource("pupil", body.pseudonym), Why(contract_id=body.contract_id)
    with (
        audited_refusal(ctx, connector, "ingest.erasure", resource, why),
        session_scope(ctx.engine) as session,
    ):
        contract = get_contract(session, body.contract_id)
        if contract.provider_id != connector.organisation_id:
            raise Forbidden(
                f"contract {contract.id} is not a contract of this connector's provider"
            )
        change = erase_pupil(
            store_of(ctx), session, connector_actor(connector), body.contract_id, body.pseudonym
        )
    return ErasureOut(rows_removed=change.rows_removed, objects_rewritten=change.objects_rewritten)
