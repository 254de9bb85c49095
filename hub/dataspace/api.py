"""The DSP 2025-1 HTTPS binding of the hub (provider endpoints) and the version document.

The routes are public for the hub's own role system: each request's participant is
identified by ``hub.dataspace.identity`` (401 without one) and every step is decided by
Rego. Errors answer the protocol's error bodies (``CatalogError``,
``ContractNegotiationError``, ``TransferError``), never problem+json: malformed JSON or
an invalid message is a 400, an unknown process 404, an illegal transition 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from contracts.dsp import jsonld, messages
from contracts.dsp.schema import InvalidMessage, validate
from contracts.dsp.states import TransferStep
from contracts.dsp.vocab import Message
from hub.auth import public_endpoint
from hub.dataspace import catalog, did, negotiation, tck, transfer
from hub.dataspace.errors import DspFailure
from hub.dataspace.identity import Participant, identify, tck_mode
from hub.dataspace.node import DSP_PATH, Node
from hub.dataspace.outbox import DeliveryFailed
from hub.dataspace.reactions import react_negotiation, react_transfer
from hub.errors import HubError

router = APIRouter(
    tags=["dataspace"], include_in_schema=False, dependencies=[Depends(public_endpoint)]
)  # the Dataspace Protocol has its own specification and schemas (docs/dataspace.md)


def node_of(request: Request) -> Node:
    node: Node = request.app.state.dataspace
    return node


async def _message(request: Request, kind: Message, error: Message) -> dict[str, Any]:
    """The request body as a compacted, schema-valid ``kind``; else a 400 ``error``."""
    try:
        body = json.loads(await request.body())
        message = jsonld.compact(body)
        validate(kind, message)
    except (ValueError, InvalidMessage) as exc:
        reason = str(exc) if isinstance(exc, InvalidMessage) else "the body is not JSON"
        raise DspFailure(400, error, [reason]) from exc
    return message


def _who(request: Request, error: Message) -> Participant:
    try:
        return identify(request)
    except HubError as exc:
        raise DspFailure(401, error, [exc.detail]) from exc


Work = Callable[[Node, Session, Participant, dict[str, Any]], tuple[int, dict[str, Any]]]


async def _answer(
    request: Request, error: Message, work: Work, kind: Message | None = None
) -> JSONResponse:
    """Identify the participant, read the ``kind`` message (if any), run ``work`` in a
    session off the event loop; DSP errors answer their bodies."""
    node = node_of(request)
    try:
        who = _who(request, error)
        message = await _message(request, kind, error) if kind else {}

        def run() -> tuple[int, dict[str, Any]]:
            with Session(node.ctx.engine) as session:
                return work(node, session, who, message)

        status, body = await run_in_threadpool(run)
    except DspFailure as failure:
        return failure.response()
    return JSONResponse(body, status_code=status)


@router.get("/.well-known/did.json")
def did_document(request: Request) -> dict[str, Any]:
    """The hub's ``did:web`` document: its public key and DSP service (public)."""
    node = node_of(request)
    assert node.key is not None
    return did.hub_document(node.did, node.key, node.dsp_url)


@router.get("/.well-known/dspace-version")
def dspace_version() -> dict[str, Any]:
    """The protocol versions and bindings the hub speaks (public)."""
    return messages.version_document(DSP_PATH)


# Catalog --------------------------------------------------------------------------------

CAT_ERROR = Message.CATALOG_ERROR


@router.post(DSP_PATH + "/catalog/request")
async def catalog_request(request: Request) -> JSONResponse:
    def work(node: Node, session: Session, who: Participant, _: Any) -> tuple[int, Any]:
        return 200, catalog.catalog_document(node, catalog.visible(node, session, who))

    return await _answer(request, CAT_ERROR, work, Message.CATALOG_REQUEST)


@router.get(DSP_PATH + "/catalog/datasets/{dataset_id}")
async def catalog_dataset(request: Request, dataset_id: str) -> JSONResponse:
    def work(node: Node, session: Session, who: Participant, _: Any) -> tuple[int, Any]:
        dataset = catalog.visible_dataset(node, session, who, dataset_id)
        if dataset is None:
            raise DspFailure(404, CAT_ERROR, ["no such dataset"])
        return 200, catalog.dataset_document(node, dataset)

    return await _answer(request, CAT_ERROR, work)


# Negotiations (the hub as provider) -----------------------------------------------------

NEG_ERROR = Message.NEGOTIATION_ERROR


@router.get(DSP_PATH + "/negotiations/{pid}")
async def get_negotiation(request: Request, pid: str) -> JSONResponse:
    def work(node: Node, session: Session, who: Participant, _: Any) -> tuple[int, Any]:
        return 200, negotiation.document(negotiation.load(session, who, pid))

    return await _answer(request, NEG_ERROR, work)


@router.post(DSP_PATH + "/negotiations/request")
async def negotiation_request(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    def work(node: Node, session: Session, who: Participant, message: Any) -> tuple[int, Any]:
        row = negotiation.request(node, session, who, message)
        tasks.add_task(react_negotiation, node, row.id, "requested", 1)
        return 201, negotiation.document(row)

    return await _answer(request, NEG_ERROR, work, Message.CONTRACT_REQUEST)


Trigger = Callable[[dict[str, Any]], str | None]


def _negotiation_route(
    suffix: str, kind: Message, handler: Callable[..., Any], trigger: Trigger
) -> None:
    async def endpoint(request: Request, pid: str, tasks: BackgroundTasks) -> JSONResponse:
        def work(node: Node, session: Session, who: Participant, message: Any) -> tuple[int, Any]:
            row = handler(node, session, who, pid, message)
            name = trigger(message)
            if name:
                tasks.add_task(react_negotiation, node, row.id, name, row.requests)
            return 200, negotiation.document(row)

        return await _answer(request, NEG_ERROR, work, kind)

    endpoint.__name__ = "negotiation_" + suffix.replace("/", "_")
    router.add_api_route(DSP_PATH + "/negotiations/{pid}/" + suffix, endpoint, methods=["POST"])


# Provider endpoints (the hub as provider) and consumer callbacks (the hub as consumer)
# share the paths; each message is checked against the role the hub holds in the process.
_negotiation_route(
    "request", Message.CONTRACT_REQUEST, negotiation.counter_request, lambda _: "requested"
)
_negotiation_route(
    "events", Message.NEGOTIATION_EVENT, negotiation.event, lambda m: str(m["eventType"]).lower()
)
_negotiation_route(
    "agreement/verification",
    Message.AGREEMENT_VERIFICATION,
    negotiation.verification,
    lambda _: "verified",
)
_negotiation_route(
    "termination", Message.NEGOTIATION_TERMINATION, negotiation.termination, lambda _: None
)
_negotiation_route(
    "offers", Message.CONTRACT_OFFER, negotiation.offer_received, lambda _: "offered"
)
_negotiation_route(
    "agreement", Message.CONTRACT_AGREEMENT, negotiation.agreement_received, lambda _: "agreed"
)


# Transfers (the hub as provider) --------------------------------------------------------

TP_ERROR = Message.TRANSFER_ERROR


@router.get(DSP_PATH + "/transfers/{pid}")
async def get_transfer(request: Request, pid: str) -> JSONResponse:
    def work(node: Node, session: Session, who: Participant, _: Any) -> tuple[int, Any]:
        return 200, transfer.document(transfer.load(session, who, pid))

    return await _answer(request, TP_ERROR, work)


@router.post(DSP_PATH + "/transfers/request")
async def transfer_request(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    def work(node: Node, session: Session, who: Participant, message: Any) -> tuple[int, Any]:
        row = transfer.request(node, session, who, message)
        tasks.add_task(react_transfer, node, row.id, "requested")
        return 201, transfer.document(row)

    return await _answer(request, TP_ERROR, work, Message.TRANSFER_REQUEST)


def _transfer_route(suffix: str, kind: Message, step: TransferStep) -> None:
    async def endpoint(request: Request, pid: str, tasks: BackgroundTasks) -> JSONResponse:
        def work(node: Node, session: Session, who: Participant, message: Any) -> tuple[int, Any]:
            row = transfer.peer_step(session, who, pid, step, message)
            tasks.add_task(react_transfer, node, row.id, transfer.PAST[step])
            return 200, transfer.document(row)

        return await _answer(request, TP_ERROR, work, kind)

    endpoint.__name__ = f"transfer_{suffix}"
    router.add_api_route(DSP_PATH + "/transfers/{pid}/" + suffix, endpoint, methods=["POST"])


_transfer_route("start", Message.TRANSFER_START, TransferStep.START)
_transfer_route("completion", Message.TRANSFER_COMPLETION, TransferStep.COMPLETE)
_transfer_route("suspension", Message.TRANSFER_SUSPENSION, TransferStep.SUSPEND)
_transfer_route("termination", Message.TRANSFER_TERMINATION, TransferStep.TERMINATE)


# TCK mode: the initiate hooks (the hub as consumer) ----------------------------------------

INITIATE_KEYS = {
    "negotiations": ("datasetId", "offerId", "connectorAddress"),
    "transfers": ("agreementId", "format", "connectorAddress"),
}


async def _initiate_body(request: Request, keys: tuple[str, ...], error: Message) -> dict[str, str]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise DspFailure(400, error, ["the body is not JSON"]) from exc
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in keys):
        raise DspFailure(400, error, ["the body must carry the strings " + ", ".join(keys)])
    return body


@router.post(DSP_PATH + "/tck/negotiations/requests")
async def tck_initiate_negotiation(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    """TCK mode only: start a negotiation as consumer with the TCK's connector."""
    node = node_of(request)
    try:
        if not tck_mode(node.ctx):
            raise DspFailure(404, NEG_ERROR, ["not found"])
        body = await _initiate_body(request, INITIATE_KEYS["negotiations"], NEG_ERROR)
        document = await run_in_threadpool(tck.initiate_negotiation, node, body)
    except (DspFailure, DeliveryFailed) as exc:
        return _initiate_failure(exc, NEG_ERROR)
    tasks.add_task(react_negotiation, node, document["consumerPid"], "initiated", 1)
    return JSONResponse(document)


@router.post(DSP_PATH + "/tck/transfers/requests")
async def tck_initiate_transfer(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    """TCK mode only: start a transfer as consumer with the TCK's connector."""
    node = node_of(request)
    try:
        if not tck_mode(node.ctx):
            raise DspFailure(404, TP_ERROR, ["not found"])
        body = await _initiate_body(request, INITIATE_KEYS["transfers"], TP_ERROR)
        document = await run_in_threadpool(tck.initiate_transfer, node, body)
        if document is None:
            raise DspFailure(404, TP_ERROR, ["no such agreement"])
    except (DspFailure, DeliveryFailed) as exc:
        return _initiate_failure(exc, TP_ERROR)
    tasks.add_task(react_transfer, node, document["consumerPid"], "initiated")
    return JSONResponse(document)


def _initiate_failure(exc: Exception, error: Message) -> JSONResponse:
    if isinstance(exc, DspFailure):
        return exc.response()
    return DspFailure(502, error, ["the counterparty did not answer"]).response()
