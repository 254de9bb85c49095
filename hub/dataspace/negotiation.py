"""Contract negotiation, the hub as provider: the consumer's messages and the hub's moves.

Each handler takes a validated, compacted message, checks the step against the state
machine (``contracts.dsp.states``; an illegal step is a 400, audited), asks Rego who may
take it (``edh/dataspace/negotiate``; a stranger gets 404), moves the durable state and
records the step in one transaction. The hub's own moves (``offer``, ``agree``,
``finalize``, ``terminate``) do the same, then send the message to the consumer's
callback address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from contracts.dsp import messages
from contracts.dsp.states import NegotiationState, NegotiationStep, negotiation_step
from contracts.dsp.vocab import Message, Role
from contracts.errors import TransitionError
from hub.catalog.models import Dataset
from hub.dataspace.errors import DspFailure
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspNegotiation
from hub.dataspace.node import Node
from hub.dataspace.outbox import send
from hub.dataspace.process import authorize, failure, hidden, move, new_pid, refuse

NEGOTIATE = "edh/dataspace/negotiate"
PAST = {
    NegotiationStep.OFFER: "offered",
    NegotiationStep.AGREE: "agreed",
    NegotiationStep.FINALIZE: "finalized",
    NegotiationStep.TERMINATE: "terminated",
}
ERROR = Message.NEGOTIATION_ERROR


def _offered(node: Node, session: Session, offer: dict[str, Any], consumer_pid: str) -> str:
    """The dataset ``offer`` targets, if the hub offers it under that offer id; else 400."""
    target = offer.get("target")
    dataset = session.get(Dataset, target) if isinstance(target, str) else None
    if dataset is None or offer.get("@id") != node.offer_id(dataset.id):
        raise DspFailure(
            400, ERROR, ["the offer names no dataset the hub offers"], consumer_pid=consumer_pid
        )
    return dataset.id


def _ask(
    node: Node, session: Session, who: Participant, row: DspNegotiation, step: NegotiationStep
) -> None:
    facts = {
        "negotiation": {"counterparty": row.counterparty, "state": row.state},
        "step": str(step),
        "sender": "consumer",
    }
    authorize(node, session, NEGOTIATE, who, row, facts, 404)


def request(
    node: Node, session: Session, who: Participant, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's initial ContractRequestMessage: a new negotiation, REQUESTED."""
    consumer_pid = message["consumerPid"]
    if "providerPid" in message or "callbackAddress" not in message:
        raise DspFailure(
            400, ERROR, ["an initial request has a callbackAddress"], consumer_pid=consumer_pid
        )
    dataset_id = _offered(node, session, message["offer"], consumer_pid)
    pid = new_pid()
    row = DspNegotiation(
        id=pid,
        role=str(Role.PROVIDER),
        provider_pid=pid,
        consumer_pid=consumer_pid,
        counterparty=who.id,
        state=str(NegotiationState.REQUESTED),
        dataset_id=dataset_id,
        offer=message["offer"],
        callback_address=message["callbackAddress"],
        requests=1,
    )
    _ask(node, session, who, row, NegotiationStep.REQUEST)
    session.add(row)
    move(session, row, NegotiationState.REQUESTED, "requested", who.id)
    session.commit()
    return row


def load(session: Session, who: Participant, pid: str) -> DspNegotiation:
    """The hub's provider negotiation ``pid`` if ``who`` is its consumer; else 404."""
    row = session.get(DspNegotiation, pid)
    if row is None or row.role != Role.PROVIDER:
        raise DspFailure(404, ERROR, ["no such negotiation"], provider_pid=pid)
    if row.counterparty != who.id:
        raise hidden(session, row, who.id)
    return row


def _consumer_step(
    node: Node,
    session: Session,
    who: Participant,
    row: DspNegotiation,
    step: NegotiationStep,
    label: str,
) -> DspNegotiation:
    try:
        target = negotiation_step(step, Role.CONSUMER, row.state)
    except TransitionError as exc:
        raise refuse(session, row, who.id, f"{label}.refused", str(exc)) from exc
    _ask(node, session, who, row, step)
    move(session, row, target, label, who.id)
    return row


def _same_pids(row: DspNegotiation, message: dict[str, Any]) -> None:
    if message.get("consumerPid") != row.consumer_pid:
        raise failure(row, 400, ["consumerPid does not match the negotiation"])


def counter_request(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's counter-offer (ContractRequestMessage on an OFFERED negotiation)."""
    row = load(session, who, pid)
    _same_pids(row, message)
    _offered(node, session, message["offer"], row.consumer_pid)
    _consumer_step(node, session, who, row, NegotiationStep.REQUEST, "requested")
    row.offer, row.requests = message["offer"], row.requests + 1
    session.commit()
    return row


def event(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's event: only ACCEPTED (of the provider's current offer)."""
    row = load(session, who, pid)
    _same_pids(row, message)
    if message["eventType"] != "ACCEPTED":
        raise refuse(session, row, who.id, "event.refused", "a consumer may only send ACCEPTED")
    _consumer_step(node, session, who, row, NegotiationStep.ACCEPT, "accepted")
    session.commit()
    return row


def verification(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's ContractAgreementVerificationMessage: AGREED → VERIFIED."""
    row = load(session, who, pid)
    _same_pids(row, message)
    _consumer_step(node, session, who, row, NegotiationStep.VERIFY, "verified")
    session.commit()
    return row


def termination(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's ContractNegotiationTerminationMessage."""
    row = load(session, who, pid)
    _same_pids(row, message)
    _consumer_step(node, session, who, row, NegotiationStep.TERMINATE, "terminated")
    session.commit()
    return row


def document(row: DspNegotiation) -> dict[str, Any]:
    return messages.negotiation(row.provider_pid, row.consumer_pid, row.state)


# The hub's own moves as provider --------------------------------------------------------


def _provider_step(session: Session, node: Node, pid: str, step: NegotiationStep) -> DspNegotiation:
    row = session.get(DspNegotiation, pid)
    if row is None or row.role != Role.PROVIDER:
        raise LookupError(f"no provider negotiation {pid}")
    target = negotiation_step(step, Role.PROVIDER, row.state)
    move(session, row, target, PAST[step], node.participant_id)
    return row


def agreement_document(node: Node, row: DspNegotiation) -> dict[str, Any]:
    """The ODRL agreement: the consumer's accepted offer, assigned by the hub."""
    rules = {k: v for k, v in row.offer.items() if k in ("permission", "prohibition", "obligation")}
    return {
        "@id": new_pid(),
        "@type": "Agreement",
        "target": row.dataset_id,
        "assigner": node.participant_id,
        "assignee": row.counterparty,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **(rules or {"permission": [{"action": "use"}]}),
    }


def _deliver(
    node: Node, row: DspNegotiation, path: str, kind: Message, body: dict[str, Any]
) -> None:
    send(row.callback_address, path, kind, body, timeout=node.timeout)


def offer(node: Node, session: Session, pid: str) -> None:
    """Offer the dataset's terms back to the consumer: REQUESTED → OFFERED."""
    row = _provider_step(session, node, pid, NegotiationStep.OFFER)
    body = {**row.offer, "@type": "Offer", "@id": node.offer_id(row.dataset_id)}
    body["target"] = row.dataset_id
    session.commit()
    message = messages.contract_offer(row.provider_pid, row.consumer_pid, body)
    _deliver(node, row, f"negotiations/{row.consumer_pid}/offers", Message.CONTRACT_OFFER, message)


def agree(node: Node, session: Session, pid: str) -> None:
    """Send the agreement: REQUESTED or ACCEPTED → AGREED."""
    row = _provider_step(session, node, pid, NegotiationStep.AGREE)
    agreement = agreement_document(node, row)
    row.agreement, row.agreement_id = agreement, agreement["@id"]
    session.commit()
    message = messages.contract_agreement(row.provider_pid, row.consumer_pid, agreement)
    path = f"negotiations/{row.consumer_pid}/agreement"
    _deliver(node, row, path, Message.CONTRACT_AGREEMENT, message)


def finalize(node: Node, session: Session, pid: str) -> None:
    """Finalize a verified agreement: VERIFIED → FINALIZED."""
    row = _provider_step(session, node, pid, NegotiationStep.FINALIZE)
    session.commit()
    message = messages.negotiation_event(row.provider_pid, row.consumer_pid, "FINALIZED")
    _deliver(
        node, row, f"negotiations/{row.consumer_pid}/events", Message.NEGOTIATION_EVENT, message
    )


def terminate(node: Node, session: Session, pid: str, reason: str) -> None:
    """Terminate the negotiation from the provider's side."""
    row = _provider_step(session, node, pid, NegotiationStep.TERMINATE)
    session.commit()
    message = messages.negotiation_termination(
        row.provider_pid, row.consumer_pid, "terminated", [reason]
    )
    path = f"negotiations/{row.consumer_pid}/termination"
    _deliver(node, row, path, Message.NEGOTIATION_TERMINATION, message)


def finalized_agreement(session: Session, agreement_id: str) -> DspNegotiation | None:
    """The provider negotiation holding agreement ``agreement_id``, whatever its state."""
    query = select(DspNegotiation).where(
        DspNegotiation.agreement_id == agreement_id, DspNegotiation.role == str(Role.PROVIDER)
    )
    return session.exec(query).first()
