"""Pseudonymisation service API: the contract key for its bound connector, the erasure
register (requests from connectors and the DPO; the pseudonyms a connector must drop)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from hub.auth import Principal, Role, require
from hub.context import HubContext
from hub.contracts.models import Contract
from hub.contracts.service import get_contract
from hub.db import session_scope
from hub.deps import hub_context
from hub.ingest.connector_auth import ConnectorDep
from hub.ingest.erasure import erased_pseudonyms
from hub.ingest.gate import connector_actor, upload_scope
from hub.ingest.presign import store_of
from hub.ingest.refusals import audited_refusal
from hub.ingest.schemas import KeyOut
from hub.pseudonym.keys import VERSION
from hub.pseudonym.register import request_erasure
from hub.pseudonym.rekey import HEX64, MAX_PAIRS, repseudonymise, rotation_keys
from hub.pseudonym.service import contract_key
from hub.trail.writer import Actor, EventDraft, Resource, Why, record

router = APIRouter(prefix="/api/v1/pseudonym", tags=["pseudonym"])
Ctx = Annotated[HubContext, Depends(hub_context)]
Dpo = Annotated[Principal, Depends(require(Role.DPO))]


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
        contract = get_contract(session, contract_id)
    secret = contract_key(ctx.settings, contract)
    return KeyOut(contract_id=contract_id, key=_b64(secret), key_version=contract.key_version)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


class ErasureIn(BaseModel):
    """An erasure request: the pupil's canonical identifier (``account:<homePage>|<name>``,
    ``mbox:mailto:...``). The service keeps only a keyed digest of it."""

    model_config = ConfigDict(extra="forbid")
    identifier: str = Field(min_length=3, max_length=2000)


class ErasureOut(BaseModel):
    request_id: str
    contracts: int = Field(description="Contracts the register covers for this pupil.")
    rows_removed: int
    batches_rewritten: int
    released_cells_updated: int = Field(
        description="Cells of exact results (airlock) whose sketch changed."
    )


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


def _earlier(ctx: HubContext, session: Session, contract_id: str) -> list[EarlierErasures]:
    provider = get_contract(session, contract_id).provider_id
    others = session.exec(
        select(Contract).where(Contract.provider_id == provider, Contract.id != contract_id)
    )
    earlier = []
    for other in others.all():
        pseudonyms = sorted(erased_pseudonyms(session, other.id))
        if pseudonyms:
            key = contract_key(ctx.settings, other)
            earlier.append(
                EarlierErasures(contract_id=other.id, key=_b64(key), pseudonyms=pseudonyms)
            )
    return earlier


def _erase(
    ctx: HubContext, session: Session, actor: Actor, body: ErasureIn, origin: str
) -> ErasureOut:
    outcome = request_erasure(store_of(ctx), session, ctx.settings, actor, body.identifier, origin)
    return ErasureOut(
        request_id=outcome.request_id,
        contracts=outcome.contracts,
        rows_removed=outcome.rows_removed,
        batches_rewritten=outcome.batches,
        released_cells_updated=outcome.cells_updated,
    )


@router.post("/erasure-requests", response_model=ErasureOut)
def erase(body: ErasureIn, ctx: Ctx, connector: ConnectorDep) -> ErasureOut:
    """Erase one pupil from every contract of every provider, now and at every later
    registration (role: any registered connector; its vendor received the request).
    Audited with the request id and counts only; idempotent."""
    resource, why = Resource("erasure-request", "new"), Why(purpose="erasure request")
    with (
        audited_refusal(ctx, connector, "pseudonym.erasure", resource, why),
        session_scope(ctx.engine) as session,
    ):
        return _erase(ctx, session, connector_actor(connector), body, "provider")


@router.post("/dpo/erasure-requests", response_model=ErasureOut)
def erase_for_dpo(body: ErasureIn, ctx: Ctx, who: Dpo) -> ErasureOut:
    """The same erasure, asked by the hub's DPO (role: dpo)."""
    actor = Actor(who.sub, str(Role.DPO), who.org)
    with session_scope(ctx.engine) as session:
        return _erase(ctx, session, actor, body, "dpo")


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
        earlier = _earlier(ctx, session, contract_id)
        details = {"count": len(pseudonyms), "earlier_contracts": len(earlier)}
        draft = EventDraft(
            connector_actor(connector),
            "pseudonym.erasures.read",
            resource,
            why=scope.why(),
            details=details,
        )
        record(session, draft)
    return ErasedOut(contract_id=contract_id, pseudonyms=pseudonyms, earlier=earlier)


class RotationOut(BaseModel):
    """The contract's key under its version and under the hub's current one."""

    contract_id: str
    from_version: str
    from_key: str = Field(description="Base64 key under ``from_version`` (current).")
    to_version: str
    to_key: str = Field(description="Base64 key under ``to_version``.")


@router.get("/contracts/{contract_id}/rotation", response_model=RotationOut)
def rotation(contract_id: str, ctx: Ctx, connector: ConnectorDep) -> RotationOut:
    """The contract's old and new keys, for its connector to compute the (old, new)
    pseudonym pairs of its roster (role: a connector bound to the contract in force);
    409 when the contract already derives from the hub's current version. Audited."""
    resource, why = Resource("pseudonym-key", contract_id), Why(contract_id=contract_id)
    with (
        audited_refusal(ctx, connector, "pseudonym.rotation.keys", resource, why),
        session_scope(ctx.engine) as session,
    ):
        scope = upload_scope(session, connector, contract_id, datetime.now(UTC).date())
        keys = rotation_keys(ctx.settings, session, contract_id)
        details = {"from_version": keys.from_version, "to_version": keys.to_version}
        draft = EventDraft(
            connector_actor(connector),
            "pseudonym.rotation.keys",
            resource,
            why=scope.why(),
            details=details,
        )
        record(session, draft)
    return RotationOut(
        contract_id=contract_id,
        from_version=keys.from_version,
        from_key=_b64(keys.from_key),
        to_version=keys.to_version,
        to_key=_b64(keys.to_key),
    )


Pseudonym = Annotated[str, Field(pattern=HEX64.pattern)]


class RepseudonymisationIn(BaseModel):
    """The (old, new) pseudonym pairs of every identifier of the vendor's roster."""

    model_config = ConfigDict(extra="forbid")
    from_version: str = Field(pattern=VERSION.pattern)
    to_version: str = Field(pattern=VERSION.pattern)
    pairs: list[tuple[Pseudonym, Pseudonym]] = Field(min_length=1, max_length=MAX_PAIRS)


class RepseudonymisationOut(BaseModel):
    id: str
    contract_id: str
    key_version: str = Field(description="The contract's key version now.")
    pairs: int
    objects_rewritten: int
    rows_kept: int
    rows_dropped: int = Field(description="Rows of pupils absent from the roster (dropped).")
    quarantined_deleted: int
    erased_mapped: int = Field(description="Register entries moved to the new key.")
    erased_not_in_roster: int
    uses_mapped: int
    cells_mapped: int


@router.post("/contracts/{contract_id}/repseudonymisations", response_model=RepseudonymisationOut)
def repseudonymisation(
    contract_id: str, body: RepseudonymisationIn, ctx: Ctx, connector: ConnectorDep
) -> RepseudonymisationOut:
    """Move the contract's lake to the new key version with the vendor's pairs (role: a
    connector bound to the contract in force); rows of pupils absent from the pairs are
    dropped. Audited with counts only."""
    resource = Resource("contract", contract_id)
    why = Why(contract_id=contract_id, purpose="key rotation")
    with (
        audited_refusal(ctx, connector, "pseudonym.repseudonymisation", resource, why),
        session_scope(ctx.engine) as session,
    ):
        upload_scope(session, connector, contract_id, datetime.now(UTC).date())
        done = repseudonymise(
            store_of(ctx),
            session,
            ctx.settings,
            connector_actor(connector),
            contract_id,
            (body.from_version, body.to_version),
            body.pairs,
        )
    return RepseudonymisationOut(**vars(done))
