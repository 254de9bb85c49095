"""What a connector reads before shipping, under ``/api/v1/pseudonym``: its contract's
pseudonymisation key and the erasure register's pseudonyms it must drop (role: a connector
bound to the contract in force; every read is audited)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hub.context import HubContext
from hub.contracts.public import get_contract
from hub.db import session_scope
from hub.deps import hub_context
from hub.ingest.connector_auth import ConnectorDep
from hub.ingest.gate import record_handout, upload_scope
from hub.ingest.refusals import audited_refusal
from hub.ingest.schemas import KeyOut
from hub.pseudonym.public import contract_key, earlier_erasures, erased_pseudonyms, key_text
from hub.trail.writer import Resource, Why

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
        record_handout(session, connector, scope, "pseudonym.key", resource)
        contract = get_contract(session, contract_id)
    secret = contract_key(ctx.settings, contract)
    return KeyOut(contract_id=contract_id, key=key_text(secret), key_version=contract.key_version)


class EarlierErasures(BaseModel):
    contract_id: str
    key: str = Field(description="Base64 pseudonymisation key of that earlier contract.")
    pseudonyms: list[str]


class ErasedOut(BaseModel):
    contract_id: str
    pseudonyms: list[str] = Field(description="Erased pupils' pseudonyms under the contract.")
    earlier: list[EarlierErasures] = Field(
        description="The register under the provider's other contracts (e.g. the one this "
        "contract renews): the connector drops a pupil matching them and declares the "
        "erasure again, which extends the register to this contract."
    )


@router.get("/contracts/{contract_id}/erasures", response_model=ErasedOut)
def erased(contract_id: str, ctx: Ctx, connector: ConnectorDep) -> ErasedOut:
    """The register's pseudonyms under the contract, for the connector to drop before
    shipping (role: a connector bound to the contract in force). Audited."""
    resource, why = Resource("erasure-register", contract_id), Why(contract_id=contract_id)
    with (
        audited_refusal(ctx, connector, "pseudonym.erasures.read", resource, why),
        session_scope(ctx.engine) as session,
    ):
        scope = upload_scope(session, connector, contract_id, datetime.now(UTC).date())
        pseudonyms = sorted(erased_pseudonyms(session, contract_id))
        earlier = [
            EarlierErasures(contract_id=e.contract_id, key=key_text(e.key), pseudonyms=e.pseudonyms)
            for e in earlier_erasures(session, ctx.settings, contract_id)
        ]
        record_handout(
            session,
            connector,
            scope,
            "pseudonym.erasures.read",
            resource,
            count=len(pseudonyms),
            earlier_contracts=len(earlier),
        )
    return ErasedOut(contract_id=contract_id, pseudonyms=pseudonyms, earlier=earlier)
