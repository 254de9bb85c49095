"""The hub's own API for the data space (``/api/v1/dataspace``): the operator's trust list,
the ethics committee's gate before an agreement, and the hub acting as a consumer for its
researchers. Every route declares its roles; every change is audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import Session

from contracts.dsp.schema import InvalidMessage
from contracts.dsp.vocab import Role as DspRole
from contracts.errors import TransitionError
from hub.auth import Principal, Role, require
from hub.dataspace import catalog, contract_gate, did, negotiation, push, transfer
from hub.dataspace import trust as trust_list
from hub.dataspace.node import Node
from hub.dataspace.outbox import DeliveryFailed
from hub.dataspace.reactions import react_negotiation
from hub.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from hub.trail.writer import Actor

router = APIRouter(prefix="/api/v1/dataspace", tags=["dataspace"])

Did = Annotated[str, StringConstraints(pattern=r"^did:web:[A-Za-z0-9.%:_-]{3,290}$")]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S{3,490}$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    did: Did = Field(description="The participant's did:web; its document is read now.")
    organisation_id: Ident | None = Field(
        default=None,
        description="The lab of the hub's registry this participant acts for (its "
        "negotiations can then become that lab's contracts).",
    )


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: Ident = Field(description="The FINALIZED contract the agreement is.")


class ConstraintIn(BaseModel):
    """One ODRL atomic constraint (``rightOperand``: a string or a list of strings)."""

    model_config = ConfigDict(extra="forbid")
    leftOperand: Ident
    operator: Literal["eq", "neq", "gt", "gteq", "lt", "lteq", "isA", "isAllOf", "isAnyOf"]
    rightOperand: Annotated[str, StringConstraints(max_length=5000)] | list[Ident]


class NegotiationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_url: Url = Field(description="The provider's DSP base URL.")
    provider_id: Did = Field(description="The provider's did:web (on the trust list).")
    dataset_id: Ident
    offer_id: Ident
    constraints: list[ConstraintIn] = Field(
        default_factory=list,
        max_length=20,
        description="The terms asked for, as ODRL atomic constraints of the offer's "
        "permission (leftOperand, operator, rightOperand; see docs/dataspace.md).",
    )


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_url: Url = Field(description="The provider's DSP base URL.")
    provider_id: Did = Field(description="The provider's did:web (on the trust list).")


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agreement_id: Ident
    format: Ident = "HttpData-PULL"


def _node(request: Request) -> Node:
    node: Node = request.app.state.dataspace
    return node


def _actor(principal: Principal, *roles: Role) -> Actor:
    return Actor(principal.sub, principal.acting_role(roles), principal.org)


@router.post("/participants", status_code=201)
def trust(
    body: ParticipantIn,
    request: Request,
    principal: Principal = Depends(require(Role.OPERATOR)),
) -> dict[str, Any]:
    """Put a participant on the trust list with the keys its DID document has now."""
    node = _node(request)
    try:
        keys = did.resolve_keys(body.did, node.ctx.settings.dev_mode, node.timeout)
    except did.DidError as exc:
        raise ValidationFailed(str(exc)) from exc
    with Session(node.ctx.engine) as session:
        actor = _actor(principal, Role.OPERATOR)
        trust_list.trust(session, actor, body.did, keys, body.organisation_id)
    return {"did": body.did, "keys": len(keys)}


@router.get("/participants")
def trusted(
    request: Request, _: Principal = Depends(require(Role.OPERATOR, Role.DPO))
) -> list[dict[str, Any]]:
    """The trust list."""
    with Session(_node(request).ctx.engine) as session:
        rows = trust_list.trusted(session)
        return [
            {
                "did": r.did,
                "keys": len(r.keys),
                "added_by": r.added_by,
                "organisation_id": r.organisation_id,
            }
            for r in rows
        ]


@router.delete("/participants/{participant:path}", status_code=204)
def distrust(
    participant: str,
    request: Request,
    principal: Principal = Depends(require(Role.OPERATOR)),
) -> None:
    """Remove a participant from the trust list: its tokens are refused from now on."""
    with Session(_node(request).ctx.engine) as session:
        trust_list.distrust(session, _actor(principal, Role.OPERATOR), participant)


@router.post("/negotiations/{pid}/agreement")
def approve(
    pid: str,
    body: AgreementIn,
    request: Request,
    principal: Principal = Depends(require(Role.OPERATOR)),
) -> dict[str, Any]:
    """The ethics gate: send the hub's agreement of a negotiation it provides (REQUESTED or
    ACCEPTED → AGREED) as the contract ``contract_id``, which must be FINALIZED (reviewed
    by the ethics committee, signed), in force, the consumer's lab's and cover the
    dataset (``hub.dataspace.contract_gate``)."""
    node = _node(request)
    with Session(node.ctx.engine) as session:
        row, contract = contract_gate.contract_for_agreement(node, session, pid, body.contract_id)
        try:
            negotiation.agree(node, session, pid, by=principal.sub, contract=contract)
        except TransitionError as exc:
            raise InvalidTransition(str(exc), allowed=exc.allowed) from exc
        except DeliveryFailed as exc:
            raise ServiceUnavailable("the consumer did not take the agreement") from exc
        return negotiation.document(row)


@router.post("/catalog")
async def discover(
    body: ProviderIn,
    request: Request,
    principal: Principal = Depends(require(Role.RESEARCHER, Role.OPERATOR)),
) -> dict[str, Any]:
    """The catalog a provider of the data space shows the hub (its datasets and ODRL
    offers), the hub as consumer; validated against the protocol's schema."""
    node = _node(request)

    def run() -> dict[str, Any]:
        with Session(node.ctx.engine) as session:
            _trusted_provider(session, body.provider_id, str(body.provider_url))
        return catalog.remote(node, body.provider_url, body.provider_id)

    return await run_in_threadpool(_outgoing, run)


@router.post("/negotiations", status_code=201)
async def negotiate(
    body: NegotiationIn,
    request: Request,
    tasks: BackgroundTasks,
    principal: Principal = Depends(require(Role.RESEARCHER, Role.OPERATOR)),
) -> dict[str, Any]:
    """Ask a provider of the data space for a dataset's offer, the hub as consumer."""
    node = _node(request)

    def run() -> dict[str, Any]:
        with Session(node.ctx.engine) as session:
            _trusted_provider(session, body.provider_id, str(body.provider_url))
            row = negotiation.initiate(
                node,
                session,
                body.provider_url,
                body.provider_id,
                body.dataset_id,
                body.offer_id,
                [c.model_dump() for c in body.constraints],
            )
            return negotiation.document(row)

    document = await run_in_threadpool(_outgoing, run)
    tasks.add_task(react_negotiation, node, document["consumerPid"], "initiated", 1)
    return document


@router.post("/transfers", status_code=201)
async def request_transfer(
    body: TransferIn,
    request: Request,
    principal: Principal = Depends(require(Role.RESEARCHER, Role.OPERATOR)),
) -> dict[str, Any]:
    """Ask the provider of a finalized agreement for a transfer, the hub as consumer, on
    behalf of the caller (the provider binds the pull token it grants to that person)."""
    node = _node(request)

    def run() -> dict[str, Any]:
        with Session(node.ctx.engine) as session:
            agreement = negotiation.finalized_agreement(
                session, body.agreement_id, DspRole.CONSUMER
            )
            if agreement is None or agreement.state != "FINALIZED":
                raise NotFound("no finalized agreement of the hub as consumer with this id")
            granted = (agreement.counterparty, agreement.agreement_id or "")
            row = transfer.initiate(
                node,
                session,
                granted,
                body.format,
                agreement.callback_address,
                researcher=principal.sub,
            )
            return transfer.document(row)

    return await run_in_threadpool(_outgoing, run)


class PushIn(BaseModel):
    """A push of the vendor's next batch under its contract, over DSP."""

    model_config = ConfigDict(extra="forbid")
    contract_id: str = Field(min_length=1, max_length=36)
    connector_url: str = Field(
        min_length=1, max_length=2000, description="The DSP base URL of the bound connector."
    )


@router.post("/push-transfers", status_code=201)
async def request_push(
    body: PushIn,
    request: Request,
    _: Principal = Depends(require(Role.OPERATOR)),
) -> dict[str, Any]:
    """Ask the connector bound to a FINALIZED contract for its next batch (the hub as
    consumer of an ``HttpData-PUSH``, ``hub.dataspace.push``); the transfer, REQUESTED."""
    node = _node(request)

    def run() -> dict[str, Any]:
        return push.initiate(node, body.contract_id, body.connector_url)

    return await run_in_threadpool(_outgoing, run)


def _trusted_provider(session: Session, provider_id: str, provider_url: str) -> None:
    """The hub calls only a provider on the operator's trust list, at the host of its
    ``did:web`` (an allowlist: no request leaves for an address a caller chose)."""
    if not provider_id.startswith("did:web:") or not trust_list.is_trusted(session, provider_id):
        raise Forbidden("the provider is not on the hub's trust list")
    host = unquote(provider_id[len("did:web:") :].split(":")[0])
    if urlsplit(provider_url).netloc != host:
        raise Forbidden("provider_url is not on the host of the provider's did:web")


def _outgoing(run: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = run()
    except (DeliveryFailed, InvalidMessage) as exc:
        raise ServiceUnavailable("the provider did not accept the request") from exc
    return result


@router.get("/negotiations/{pid}")
def read_negotiation(
    pid: str,
    request: Request,
    _: Principal = Depends(require(Role.RESEARCHER, Role.OPERATOR, Role.DPO)),
) -> dict[str, Any]:
    with Session(_node(request).ctx.engine) as session:
        row = negotiation.find(session, pid)
        return {
            **negotiation.document(row),
            "role": row.role,
            "agreement": row.agreement,
            "contract_id": row.contract_id,
        }


@router.get("/transfers/{pid}")
def read_transfer(
    pid: str,
    request: Request,
    _: Principal = Depends(require(Role.RESEARCHER, Role.OPERATOR)),
) -> dict[str, Any]:
    with Session(_node(request).ctx.engine) as session:
        row = transfer.find(session, pid)
        return {**transfer.document(row), "role": row.role, "dataAddress": row.data_address}
