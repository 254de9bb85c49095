"""Transfer process, the hub as provider: the consumer's messages and the hub's moves.

A transfer request is granted only under a FINALIZED agreement made with the requesting
participant, in a format the hub serves (decision ``edh/dataspace/transfer``, audited).
What the hub grants is a pull data address: the sandbox query API with a bearer token of
``pull_token_ttl_seconds``, never raw data.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from contracts.dsp import messages
from contracts.dsp.states import TransferState, TransferStep, transfer_step
from contracts.dsp.vocab import Message, Role
from contracts.errors import TransitionError
from hub.dataspace.errors import DspFailure
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspTransfer
from hub.dataspace.negotiation import finalized_agreement
from hub.dataspace.node import Node
from hub.dataspace.outbox import send
from hub.dataspace.process import authorize, failure, hidden, move, new_pid, refuse

TRANSFER = "edh/dataspace/transfer"
ERROR = Message.TRANSFER_ERROR
PULL_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
PAST = {
    TransferStep.START: "started",
    TransferStep.SUSPEND: "suspended",
    TransferStep.COMPLETE: "completed",
    TransferStep.TERMINATE: "terminated",
}


def request(node: Node, session: Session, who: Participant, message: dict[str, Any]) -> DspTransfer:
    """A consumer's TransferRequestMessage: a new transfer, REQUESTED, if granted."""
    agreement = finalized_agreement(session, message["agreementId"])
    pid = new_pid()
    row = DspTransfer(
        id=pid,
        role=str(Role.PROVIDER),
        provider_pid=pid,
        consumer_pid=message["consumerPid"],
        counterparty=who.id,
        state=str(TransferState.REQUESTED),
        agreement_id=message["agreementId"],
        format=message["format"],
        callback_address=message["callbackAddress"],
    )
    facts = {
        "agreement": {
            "assignee": agreement.counterparty if agreement else "",
            "state": agreement.state if agreement else "",
        },
        "format": row.format,
    }
    authorize(node, session, TRANSFER, who, row, facts, 400)
    session.add(row)
    move(session, row, TransferState.REQUESTED, "requested", who.id)
    session.commit()
    return row


def load(session: Session, who: Participant, pid: str) -> DspTransfer:
    """The hub's provider transfer ``pid`` if ``who`` is its consumer; else 404."""
    row = session.get(DspTransfer, pid)
    if row is None or row.role != Role.PROVIDER:
        raise DspFailure(404, ERROR, ["no such transfer process"], provider_pid=pid)
    if row.counterparty != who.id:
        raise hidden(session, row, who.id)
    return row


def consumer_step(
    session: Session, who: Participant, pid: str, step: TransferStep, message: dict[str, Any]
) -> DspTransfer:
    """A consumer's start, completion, suspension or termination of transfer ``pid``."""
    row = load(session, who, pid)
    if message.get("consumerPid") != row.consumer_pid:
        raise failure(row, 400, ["consumerPid does not match the transfer process"])
    try:
        target = transfer_step(step, Role.CONSUMER, row.state)
    except TransitionError as exc:
        raise refuse(session, row, who.id, f"{PAST[step]}.refused", str(exc)) from exc
    move(session, row, target, PAST[step], who.id)
    session.commit()
    return row


def document(row: DspTransfer) -> dict[str, Any]:
    return messages.transfer_process(row.provider_pid, row.consumer_pid, row.state)


# The hub's own moves as provider --------------------------------------------------------


def _provider_step(node: Node, session: Session, pid: str, step: TransferStep) -> DspTransfer:
    row = session.get(DspTransfer, pid)
    if row is None or row.role != Role.PROVIDER:
        raise LookupError(f"no provider transfer {pid}")
    move(
        session, row, transfer_step(step, Role.PROVIDER, row.state), PAST[step], node.participant_id
    )
    return row


def pull_address(node: Node, row: DspTransfer) -> dict[str, Any]:
    """The sandbox query API and a bearer token for it, expiring, for this transfer."""
    settings = node.ctx.settings
    token = node.ctx.issuer.mint(
        f"dsp-transfer:{row.id}",
        ["researcher"],
        org=row.counterparty[:200],
        ttl=settings.dataspace.pull_token_ttl_seconds,
    )
    endpoint = settings.public_url.rstrip("/") + "/api/v1/projects"
    return messages.data_address(endpoint, token, PULL_ENDPOINT_TYPE)


def start(node: Node, session: Session, pid: str) -> None:
    """Grant the transfer: REQUESTED or SUSPENDED → STARTED, with a pull data address."""
    row = _provider_step(node, session, pid, TransferStep.START)
    address = pull_address(node, row)
    session.commit()
    message = messages.transfer_start(row.provider_pid, row.consumer_pid, address)
    send(
        row.callback_address,
        f"transfers/{row.consumer_pid}/start",
        Message.TRANSFER_START,
        message,
        timeout=node.timeout,
    )


def complete(node: Node, session: Session, pid: str) -> None:
    row = _provider_step(node, session, pid, TransferStep.COMPLETE)
    session.commit()
    message = messages.transfer_completion(row.provider_pid, row.consumer_pid)
    path = f"transfers/{row.consumer_pid}/completion"
    send(row.callback_address, path, Message.TRANSFER_COMPLETION, message, timeout=node.timeout)


def suspend(node: Node, session: Session, pid: str, reason: str) -> None:
    _coded(
        node, session, pid, TransferStep.SUSPEND, Message.TRANSFER_SUSPENSION, "suspension", reason
    )


def terminate(node: Node, session: Session, pid: str, reason: str) -> None:
    _coded(
        node,
        session,
        pid,
        TransferStep.TERMINATE,
        Message.TRANSFER_TERMINATION,
        "termination",
        reason,
    )


def _coded(
    node: Node,
    session: Session,
    pid: str,
    step: TransferStep,
    kind: Message,
    path: str,
    reason: str,
) -> None:
    row = _provider_step(node, session, pid, step)
    session.commit()
    message = messages.transfer_code_message(
        kind, row.provider_pid, row.consumer_pid, path, [reason]
    )
    send(
        row.callback_address,
        f"transfers/{row.consumer_pid}/{path}",
        kind,
        message,
        timeout=node.timeout,
    )
