"""A vendor's batches as a DSP transfer: the hub consumer of an ``HttpData-PUSH``.

The vendor's consent is its contract with the hub (the contract area): a push transfer's
agreement is that FINALIZED contract (``urn:edh:contract:<id>:v<version>``) and its
provider the vendor's connector bound to it (participant ``urn:edh:connector:<id>``,
identified by its own key, ``hub.dataspace.identity``).

``initiate`` (the operator: ``POST /api/v1/dataspace/push-transfers``,
``hub.dataspace.manage``) sends the
connector's DSP endpoint a TransferRequestMessage, format ``HttpData-PUSH``, whose data
address is the hub's batch endpoint of this transfer,
``<public_url>/api/v1/dataspace/transfers/<pid>``, with a bearer token signed by the
hub's DSP key, scoped to the transfer, its contract and its connector, expiring after
``EDH_DATASPACE__PULL_TOKEN_TTL_SECONDS`` (its issue audited, never the token). The
connector starts the transfer (TransferStartMessage) and pushes one batch through the
presigned upload flow under that token: ``POST {endpoint}/batches`` (upload URLs) and
``POST {endpoint}/batches/{batch_id}/complete`` (verify and register), the ingest
area's own functions, for the token's connector and contract only, while the transfer
is STARTED (Rego's decision ``edh/dataspace/push``; refusals audited
``dsp_transfer.push.refused``). The registered batch completes the transfer: the hub
moves it COMPLETED and tells the connector (TransferCompletionMessage, durable).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from contracts.dsp import messages
from hub.auth import bearer_token, public_endpoint
from hub.bus import outbox
from hub.contracts.public import current_terms, get_contract
from hub.dataspace import scoped, transfer
from hub.dataspace.contract_gate import agreement_id
from hub.dataspace.identity import CONNECTOR_PREFIX, Participant
from hub.dataspace.models import DspTransfer
from hub.dataspace.node import Node
from hub.enforcement.public import decide
from hub.errors import Conflict, Forbidden, NotFound, PolicyUnavailable
from hub.ingest.public import (
    BatchOut,
    BatchRecord,
    BatchStatus,
    CompleteIn,
    GrantOut,
    PresignIn,
    complete,
    contract_of_batch,
    presign,
)
from hub.registry.public import ConnectorRecord, find_connector
from hub.trail.writer import Decision, EventDraft, Resource, record_now

PUSH_FORMAT = "HttpData-PUSH"
PUSH = "edh/dataspace/push"
ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"

router = APIRouter(prefix="/api/v1/dataspace", tags=["dataspace"])


def endpoint(node: Node, pid: str) -> str:
    return node.ctx.settings.public_url.rstrip("/") + f"/api/v1/dataspace/transfers/{pid}"


def address(
    node: Node, session: Session, row: DspTransfer, contract_id: str, connector_id: str
) -> dict[str, Any]:
    """The data address of push transfer ``row``: its batch endpoint and a token scoped to
    it, ``contract_id`` and ``connector_id`` (issue audited in the caller's transaction)."""
    scope = {"sub": f"dsp-transfer:{row.id}", "contract": contract_id, "connector": connector_id}
    audience = endpoint(node, row.id)
    token = scoped.issue(node, session, row, audience, scope, {"connector_id": connector_id})
    return messages.data_address(audience, token, ENDPOINT_TYPE)


def initiate(node: Node, contract_id: str, connector_url: str) -> dict[str, Any]:
    """Ask the connector bound to the FINALIZED contract ``contract_id`` (its DSP base
    ``connector_url``) to push a batch: the document of a push transfer, REQUESTED once
    it answers."""
    with Session(node.ctx.engine) as session:
        contract = get_contract(session, contract_id)
        if contract.state != "FINALIZED":
            raise Conflict("only a FINALIZED contract is the agreement of a push")
        connector_id = _bound_connector(session, contract_id)
        granted = (f"{CONNECTOR_PREFIX}{connector_id}", agreement_id(contract))
        row = transfer.initiate(
            node,
            session,
            granted,
            PUSH_FORMAT,
            connector_url,
            address=lambda row: address(node, session, row, contract_id, connector_id),
        )
        return transfer.document(row)


def _bound_connector(session: Session, contract_id: str) -> str:
    terms = current_terms(session, get_contract(session, contract_id))
    live = [c for c in terms.connector_ids if _live(session, c)]
    if len(live) != 1:
        raise Conflict("a push needs exactly one live connector bound to the contract")
    return live[0]


def _live(session: Session, connector_id: str) -> bool:
    connector = find_connector(session, connector_id)
    return connector is not None and connector.revoked_at is None


# The data address: the batch endpoint of a push transfer ---------------------------------


def _granted(row: DspTransfer) -> dict[str, str]:
    """The contract and connector a push transfer was asked of (from its agreement id
    ``urn:edh:contract:<id>:v<n>`` and its counterparty)."""
    contract = row.agreement_id.removeprefix("urn:edh:contract:").rsplit(":v", 1)[0]
    connector = row.counterparty.removeprefix(CONNECTOR_PREFIX)
    return {"contract": contract, "connector": connector}


def authorize_push(
    node: Node, session: Session, pid: str, claims: dict[str, Any], batch_contract: str
) -> ConnectorRecord:
    """Rego's decision (``edh/dataspace/push``) whether the token may push a batch of
    ``batch_contract`` to transfer ``pid`` now; the token's connector, or the refusal
    raised (403, or 503 without an engine) and audited."""
    row = session.get(DspTransfer, pid)
    facts: dict[str, Any] = {
        "transfer": {"exists": row is not None},
        "token": {"contract": claims.get("contract"), "connector": claims.get("connector")},
        "batch": {"contract": batch_contract},
    }
    if row is not None:
        facts["transfer"].update(state=row.state, role=row.role, format=row.format)
        facts["granted"] = _granted(row)
    actor = Participant(f"{CONNECTOR_PREFIX}{claims.get('connector')}", True, "").actor()
    outcome = decide(node.ctx, session, PUSH, facts, actor, date.today())
    if not outcome.allow:
        session.rollback()
        draft = EventDraft(
            actor,
            "dsp_transfer.push.refused",
            Resource("dsp_transfer", pid),
            decision=Decision.DENY,
            reasons=list(outcome.reasons),
            details={"decision": PUSH, "bundle_hash": outcome.bundle_hash},
        )
        record_now(session.get_bind(), draft)
        if outcome.outage:
            raise PolicyUnavailable("the push could not be decided", reasons=outcome.reasons)
        raise Forbidden("the transfer takes no batch now", reasons=list(outcome.reasons))
    connector = find_connector(session, str(claims.get("connector")))
    if connector is None:
        raise Forbidden("the transfer takes no batch now", reasons=["unknown connector"])
    return connector


@router.post(
    "/transfers/{pid}/batches",
    response_model=GrantOut,
    dependencies=[Depends(public_endpoint)],
)
def push_presign(pid: str, body: PresignIn, request: Request) -> GrantOut:
    """The push data address: upload URLs for one batch, under the transfer's token."""
    node: Node = request.app.state.dataspace
    claims = scoped.verify(node, bearer_token(request), endpoint(node, pid), pid)
    with Session(node.ctx.engine) as session:
        connector = authorize_push(node, session, pid, claims, body.contract_id)
        grant = presign(node.ctx, session, connector, body)
        session.commit()
        return grant


@router.post(
    "/transfers/{pid}/batches/{batch_id}/complete",
    response_model=BatchOut,
    dependencies=[Depends(public_endpoint)],
)
def push_complete(pid: str, batch_id: str, body: CompleteIn, request: Request) -> BatchRecord:
    """Verify and register the pushed batch; once registered, the transfer is COMPLETED."""
    node: Node = request.app.state.dataspace
    claims = scoped.verify(node, bearer_token(request), endpoint(node, pid), pid)
    with Session(node.ctx.engine) as session:
        contract_id = contract_of_batch(session, batch_id)
        if contract_id is None:
            raise NotFound("no such batch")
        connector = authorize_push(node, session, pid, claims, contract_id)
        batch = complete(node.ctx, session, connector, batch_id, body.manifest)
        session.commit()
        outbox.flush(node.ctx)
        if batch.status == BatchStatus.REGISTERED:
            transfer.complete(node, session, pid)
        session.refresh(batch)
        return batch
