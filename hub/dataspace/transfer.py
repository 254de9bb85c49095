"""Transfer process, the hub as provider: the consumer's messages and the hub's moves.

A transfer request is granted only under a FINALIZED agreement made with the requesting
participant, whose contract is in force (``hub.dataspace.contract_gate``), in a format
the hub serves (decision ``edh/dataspace/transfer``, audited).
What the hub grants is a pull data address: the sandbox query API of the agreement's
project with a bearer token scoped to the transfer (``hub.dataspace.pull``), never raw data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from contracts.dsp import messages
from contracts.dsp.schema import InvalidMessage, validate
from contracts.dsp.states import TransferState, TransferStep, transfer_step
from contracts.dsp.vocab import Message, Role
from contracts.errors import TransitionError
from hub.dataspace import contract_gate, pull
from hub.dataspace.errors import DspFailure
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspTransfer
from hub.dataspace.negotiation import finalized_agreement
from hub.dataspace.node import Node
from hub.dataspace.outbox import DeliveryFailed, send
from hub.dataspace.process import (
    authorize,
    failure,
    hidden,
    move,
    new_pid,
    refuse,
    unanswered,
)
from hub.errors import NotFound

TRANSFER = "edh/dataspace/transfer"
ERROR = Message.TRANSFER_ERROR
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
        researcher=who.person,
    )
    facts = {
        "agreement": {
            "assignee": agreement.counterparty if agreement else "",
            "state": agreement.state if agreement else "",
        },
        "format": row.format,
        "contract": contract_gate.transfer_facts(node, session, agreement),
    }
    authorize(node, session, TRANSFER, who, row, facts, 400)
    session.add(row)
    move(session, row, TransferState.REQUESTED, "requested", who.id)
    session.commit()
    return row


def find(session: Session, pid: str) -> DspTransfer:
    """The hub's transfer ``pid`` (either role), for the hub's own API; a 404 when unknown."""
    row = session.get(DspTransfer, pid)
    if row is None:
        raise NotFound("no such transfer")
    return row


def load(session: Session, who: Participant, pid: str) -> DspTransfer:
    """The hub's transfer ``pid`` (either role) if ``who`` is its counterparty; an unknown
    one is a 404, another participant's an audited 404."""
    row = session.get(DspTransfer, pid)
    if row is None:
        raise DspFailure(404, ERROR, ["no such transfer process"], provider_pid=pid)
    if row.counterparty != who.id:
        raise hidden(session, row, who.id)
    return row


def peer_step(
    session: Session, who: Participant, pid: str, step: TransferStep, message: dict[str, Any]
) -> DspTransfer:
    """The counterparty's start, completion, suspension or termination of ``pid``; a
    provider's start gives the hub (consumer) its data address."""
    row = load(session, who, pid)
    if row.role == Role.CONSUMER and not row.provider_pid:
        row.provider_pid = str(message.get("providerPid", ""))  # its answer is on its way
    theirs = "consumerPid" if row.role == Role.PROVIDER else "providerPid"
    expected = row.consumer_pid if row.role == Role.PROVIDER else row.provider_pid
    if message.get(theirs) != expected:
        raise failure(row, 400, [f"{theirs} does not match the transfer process"])
    try:
        target = transfer_step(step, Role(row.role).other, row.state)
    except TransitionError as exc:
        raise refuse(session, row, who.id, f"{PAST[step]}.refused", str(exc)) from exc
    move(session, row, target, PAST[step], who.id)
    if step is TransferStep.START and "dataAddress" in message:
        row.data_address = message["dataAddress"]
    session.commit()
    return row


def document(row: DspTransfer) -> dict[str, Any]:
    return messages.transfer_process(row.provider_pid, row.consumer_pid, row.state)


# The hub's own moves --------------------------------------------------------------------


def _own_step(node: Node, session: Session, pid: str, step: TransferStep) -> DspTransfer:
    row = session.get(DspTransfer, pid)
    if row is None:
        raise LookupError(f"no transfer {pid}")
    move(
        session,
        row,
        transfer_step(step, Role(row.role), row.state),
        PAST[step],
        node.participant_id,
    )
    return row


def _deliver(
    node: Node,
    session: Session,
    row: DspTransfer,
    suffix: str,
    kind: Message,
    body: dict[str, Any],
) -> None:
    """Commit the hub's move on ``row`` with its message to the counterparty, then send
    it (``Node.deliver``)."""
    theirs = row.consumer_pid if row.role == Role.PROVIDER else row.provider_pid
    address = (row.callback_address, f"transfers/{theirs}/{suffix}")
    node.deliver(session, row.id, address, kind, body, row.counterparty)


def start(node: Node, session: Session, pid: str) -> None:
    """Start the transfer: as provider with a pull data address (REQUESTED or SUSPENDED →
    STARTED); as consumer, restart a suspended one."""
    row = _own_step(node, session, pid, TransferStep.START)
    address = pull.address(node, session, row) if row.role == Role.PROVIDER else None
    message = messages.transfer_start(row.provider_pid, row.consumer_pid, address)
    _deliver(node, session, row, "start", Message.TRANSFER_START, message)


def complete(node: Node, session: Session, pid: str) -> None:
    row = _own_step(node, session, pid, TransferStep.COMPLETE)
    message = messages.transfer_completion(row.provider_pid, row.consumer_pid)
    _deliver(node, session, row, "completion", Message.TRANSFER_COMPLETION, message)


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
    suffix: str,
    reason: str,
) -> None:
    row = _own_step(node, session, pid, step)
    message = messages.transfer_code_message(
        kind, row.provider_pid, row.consumer_pid, suffix, [reason]
    )
    _deliver(node, session, row, suffix, kind, message)


def initiate(
    node: Node,
    session: Session,
    agreement: tuple[str, str],
    format_: str,
    provider_url: str,
    *,
    researcher: str | None = None,
    address: Callable[[DspTransfer], dict[str, Any]] | None = None,
) -> DspTransfer:
    """As consumer, ask the provider at ``provider_url`` for a transfer under
    ``agreement`` (the provider's participant id, the agreement id), on behalf of
    ``researcher`` (the person the provider binds its pull token to), with the data
    address ``address`` makes for the new process (a push: where the provider sends the
    data; issued in this transaction): a new transfer, REQUESTED once the provider
    answers."""
    counterparty, agreement_id = agreement
    pid = new_pid()
    row = DspTransfer(
        id=pid,
        role=str(Role.CONSUMER),
        provider_pid="",
        consumer_pid=pid,
        counterparty=counterparty,
        state=str(TransferState.REQUESTED),
        agreement_id=agreement_id,
        format=format_,
        callback_address=provider_url,
        researcher=researcher,
    )
    session.add(row)
    move(session, row, TransferState.REQUESTED, "requested", node.participant_id)
    data_address = address(row) if address else None
    session.commit()
    message = messages.transfer_request(
        pid, agreement_id, format_, node.dsp_url, data_address=data_address
    )
    try:
        answer = send(
            provider_url,
            "transfers/request",
            Message.TRANSFER_REQUEST,
            message,
            timeout=node.timeout,
            authorization=node.authorization(counterparty, researcher),
        )
        validate(Message.TRANSFER_PROCESS, answer)
    except (DeliveryFailed, InvalidMessage):
        unanswered(session, row, node.participant_id)
        raise
    session.refresh(row)
    row.provider_pid = answer["providerPid"]
    session.add(row)
    session.commit()
    return row
