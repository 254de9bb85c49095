"""Erasure and re-pseudonymisation API, under ``/api/v1/pseudonym``: erasure requests
(from connectors and the DPO), and a contract's move to a new key version (the old and
new keys for its connector, then the vendor's pseudonym pairs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from hub.auth import Principal, Role, require
from hub.context import HubContext
from hub.db import session_scope
from hub.deps import hub_context
from hub.erasure.register import request_erasure
from hub.erasure.rekey import HEX64, MAX_PAIRS, repseudonymise, rotation_keys
from hub.ingest.public import (
    ConnectorDep,
    audited_refusal,
    connector_actor,
    record_handout,
    store_of,
    upload_scope,
)
from hub.pseudonym.public import KEY_VERSION, key_text
from hub.trail.writer import Actor, Resource, Why

router = APIRouter(prefix="/api/v1/pseudonym", tags=["pseudonym"])
Ctx = Annotated[HubContext, Depends(hub_context)]
Dpo = Annotated[Principal, Depends(require(Role.DPO))]


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
        record_handout(
            session,
            connector,
            scope,
            "pseudonym.rotation.keys",
            resource,
            from_version=keys.from_version,
            to_version=keys.to_version,
        )
    return RotationOut(
        contract_id=contract_id,
        from_version=keys.from_version,
        from_key=key_text(keys.from_key),
        to_version=keys.to_version,
        to_key=key_text(keys.to_key),
    )


Pseudonym = Annotated[str, Field(pattern=HEX64.pattern)]


class RepseudonymisationIn(BaseModel):
    """The (old, new) pseudonym pairs of every identifier of the vendor's roster."""

    model_config = ConfigDict(extra="forbid")
    from_version: str = Field(pattern=KEY_VERSION.pattern)
    to_version: str = Field(pattern=KEY_VERSION.pattern)
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
