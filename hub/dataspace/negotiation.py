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

from contracts.dsp import messages, odrl
from contracts.dsp.schema import InvalidMessage, validate
from contracts.dsp.states import NegotiationState, NegotiationStep, negotiation_step
from contracts.dsp.vocab import Message, Role
from contracts.errors import TransitionError
from hub.catalog.public import DatasetRecord, find_dataset
from hub.contracts.public import ContractRecord, current_terms
from hub.dataspace import catalog, contract_gate, terms
from hub.dataspace.errors import DspFailure
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspNegotiation
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

NEGOTIATE = "edh/dataspace/negotiate"
PAST = {
    NegotiationStep.REQUEST: "requested",
    NegotiationStep.OFFER: "offered",
    NegotiationStep.ACCEPT: "accepted",
    NegotiationStep.AGREE: "agreed",
    NegotiationStep.VERIFY: "verified",
    NegotiationStep.FINALIZE: "finalized",
    NegotiationStep.TERMINATE: "terminated",
}
ERROR = Message.NEGOTIATION_ERROR


def _offered(
    node: Node, session: Session, offer: dict[str, Any], consumer_pid: str
) -> DatasetRecord:
    """The dataset ``offer`` targets, if the hub offers it under that offer id with the
    same rules (their constraints are the consumer's terms, decided by
    ``hub.dataspace.terms``); else 400."""
    target = offer.get("target")
    dataset = find_dataset(session, target) if isinstance(target, str) else None
    if dataset is None or offer.get("@id") != node.offer_id(dataset.id):
        raise DspFailure(
            400, ERROR, ["the offer names no dataset the hub offers"], consumer_pid=consumer_pid
        )
    ours = catalog.offer(node, dataset)
    if catalog.rules(offer, constraints=False) != catalog.rules(ours, constraints=False):
        reason = "the offer's rules are not those the hub offers for this dataset"
        raise DspFailure(400, ERROR, [reason], consumer_pid=consumer_pid)
    return dataset


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
    """A consumer's initial ContractRequestMessage: a new negotiation, REQUESTED. When its
    offer carries terms, they become the lab's contract request (``hub.dataspace.terms``),
    linked to the negotiation: its agreement once FINALIZED."""
    consumer_pid = message["consumerPid"]
    if "providerPid" in message or "callbackAddress" not in message:
        raise DspFailure(
            400, ERROR, ["an initial request has a callbackAddress"], consumer_pid=consumer_pid
        )
    dataset = _offered(node, session, message["offer"], consumer_pid)
    pid = new_pid()
    row = DspNegotiation(
        id=pid,
        role=str(Role.PROVIDER),
        provider_pid=pid,
        consumer_pid=consumer_pid,
        counterparty=who.id,
        state=str(NegotiationState.REQUESTED),
        dataset_id=dataset.id,
        offer=message["offer"],
        callback_address=message["callbackAddress"],
        requests=1,
    )
    _ask(node, session, who, row, NegotiationStep.REQUEST)
    asked = terms.requested(node, session, who, row, dataset, message["offer"])
    session.add(row)
    move(session, row, NegotiationState.REQUESTED, "requested", who.id)
    if asked is not None:
        row.contract_id = terms.open_contract(node, session, who, asked).id
    session.commit()
    return row


def find(session: Session, pid: str) -> DspNegotiation:
    """The hub's negotiation ``pid`` (either role), for the hub's own API; a 404 when unknown."""
    row = session.get(DspNegotiation, pid)
    if row is None:
        raise NotFound("no such negotiation")
    return row


def load(session: Session, who: Participant, pid: str) -> DspNegotiation:
    """The hub's negotiation ``pid`` (either role) if ``who`` is its counterparty; an
    unknown one is a 404, another participant's an audited 404."""
    row = session.get(DspNegotiation, pid)
    if row is None:
        raise DspFailure(404, ERROR, ["no such negotiation"], provider_pid=pid)
    if row.counterparty != who.id:
        raise hidden(session, row, who.id)
    return row


def _peer_step(
    node: Node,
    session: Session,
    who: Participant,
    row: DspNegotiation,
    step: NegotiationStep,
) -> DspNegotiation:
    """The counterparty's ``step`` on ``row``: legal (else an audited 400), allowed by
    Rego (else an audited 404), then recorded."""
    sender = Role(row.role).other
    try:
        target = negotiation_step(step, sender, row.state)
    except TransitionError as exc:
        raise refuse(session, row, who.id, f"{PAST[step]}.refused", str(exc)) from exc
    facts = {
        "negotiation": {"counterparty": row.counterparty, "state": row.state},
        "step": str(step),
        "sender": str(sender),
    }
    authorize(node, session, NEGOTIATE, who, row, facts, 404)
    move(session, row, target, PAST[step], who.id)
    return row


def _same_pids(row: DspNegotiation, message: dict[str, Any]) -> None:
    if row.role == Role.CONSUMER and not row.provider_pid:
        row.provider_pid = str(message.get("providerPid", ""))  # its answer is on its way
    theirs = "consumerPid" if row.role == Role.PROVIDER else "providerPid"
    expected = row.consumer_pid if row.role == Role.PROVIDER else row.provider_pid
    if message.get(theirs) != expected:
        raise failure(row, 400, [f"{theirs} does not match the negotiation"])


def counter_request(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's counter-offer (ContractRequestMessage on an OFFERED negotiation): its
    terms amend the negotiation's contract, or are refused (``terms.countered``)."""
    row = load(session, who, pid)
    _same_pids(row, message)
    dataset = _offered(node, session, message["offer"], row.consumer_pid)
    asked = terms.requested(node, session, who, row, dataset, message["offer"])
    _peer_step(node, session, who, row, NegotiationStep.REQUEST)
    terms.countered(node, session, who, row, asked)
    row.offer, row.requests = message["offer"], row.requests + 1
    session.commit()
    return row


def event(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """ACCEPTED from a consumer, FINALIZED from a provider."""
    row = load(session, who, pid)
    _same_pids(row, message)
    step = {"ACCEPTED": NegotiationStep.ACCEPT, "FINALIZED": NegotiationStep.FINALIZE}
    _peer_step(node, session, who, row, step[message["eventType"]])
    session.commit()
    return row


def verification(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A consumer's ContractAgreementVerificationMessage: AGREED → VERIFIED."""
    return _plain(node, session, who, pid, message, NegotiationStep.VERIFY)


def termination(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """The counterparty's ContractNegotiationTerminationMessage."""
    return _plain(node, session, who, pid, message, NegotiationStep.TERMINATE)


def offer_received(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A provider's ContractOfferMessage on the hub's consumer negotiation."""
    row = _plain(node, session, who, pid, message, NegotiationStep.OFFER, commit=False)
    row.offer = message["offer"]
    session.commit()
    return row


def agreement_received(
    node: Node, session: Session, who: Participant, pid: str, message: dict[str, Any]
) -> DspNegotiation:
    """A provider's ContractAgreementMessage on the hub's consumer negotiation."""
    row = _plain(node, session, who, pid, message, NegotiationStep.AGREE, commit=False)
    row.agreement, row.agreement_id = message["agreement"], message["agreement"]["@id"]
    session.commit()
    return row


def _plain(
    node: Node,
    session: Session,
    who: Participant,
    pid: str,
    message: dict[str, Any],
    step: NegotiationStep,
    *,
    commit: bool = True,
) -> DspNegotiation:
    row = load(session, who, pid)
    _same_pids(row, message)
    _peer_step(node, session, who, row, step)
    if commit:
        session.commit()
    return row


def document(row: DspNegotiation) -> dict[str, Any]:
    return messages.negotiation(row.provider_pid, row.consumer_pid, row.state)


# The hub's own moves --------------------------------------------------------------------


def _own_step(
    session: Session, node: Node, pid: str, step: NegotiationStep, by: str | None = None
) -> DspNegotiation:
    row = session.get(DspNegotiation, pid)
    if row is None:
        raise LookupError(f"no negotiation {pid}")
    target = negotiation_step(step, Role(row.role), row.state)
    move(session, row, target, PAST[step], by or node.participant_id)
    return row


def agreement_rules(
    node: Node, session: Session, row: DspNegotiation, contract: ContractRecord | None
) -> dict[str, Any]:
    """What the agreement commits to: the signed contract's terms as ODRL constraints
    (``contracts.dsp.odrl``), or, without a contract (TCK mode), the hub's own offer; never
    terms the consumer wrote."""
    if contract is not None:
        signed = current_terms(session, contract).model_dump(mode="json")
        return {"permission": [{"action": "use", "constraint": odrl.agreement_constraints(signed)}]}
    dataset = find_dataset(session, row.dataset_id)
    if dataset is None:
        raise LookupError(f"no dataset {row.dataset_id}")
    return catalog.rules(catalog.offer(node, dataset))


def agreement_document(
    node: Node, row: DspNegotiation, rules: dict[str, Any], agreement_id: str | None = None
) -> dict[str, Any]:
    """The ODRL agreement ``agreement_id`` (the signed contract's identity; a fresh id in
    TCK mode) on ``rules``, assigned by the hub to the consumer."""
    return {
        "@id": agreement_id or new_pid(),
        "@type": "Agreement",
        "target": row.dataset_id,
        "assigner": node.participant_id,
        "assignee": row.counterparty,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **rules,
    }


def _deliver(
    node: Node,
    session: Session,
    row: DspNegotiation,
    suffix: str,
    kind: Message,
    body: dict[str, Any],
) -> None:
    """Commit the hub's move on ``row`` with its message to the counterparty (the
    consumer's callback, or the provider's DSP base), then send it (``Node.deliver``)."""
    theirs = row.consumer_pid if row.role == Role.PROVIDER else row.provider_pid
    address = (row.callback_address, f"negotiations/{theirs}/{suffix}")
    node.deliver(session, row.id, address, kind, body, row.counterparty)


def offer(node: Node, session: Session, pid: str) -> None:
    """Offer the dataset's terms back to the consumer: REQUESTED → OFFERED."""
    row = _own_step(session, node, pid, NegotiationStep.OFFER)
    dataset = find_dataset(session, row.dataset_id)
    if dataset is None:
        raise LookupError(f"no dataset {row.dataset_id}")
    body = {**catalog.offer(node, dataset), "target": row.dataset_id}
    message = messages.contract_offer(row.provider_pid, row.consumer_pid, body)
    _deliver(node, session, row, "offers", Message.CONTRACT_OFFER, message)


def agree(
    node: Node,
    session: Session,
    pid: str,
    by: str | None = None,
    contract: ContractRecord | None = None,
) -> None:
    """Send the agreement: REQUESTED or ACCEPTED → AGREED; ``by`` names who decided.
    Outside TCK mode ``contract`` is the FINALIZED contract the agreement is (checked by
    ``hub.dataspace.contract_gate``); TCK mode's scripted agreements have none."""
    row = _own_step(session, node, pid, NegotiationStep.AGREE, by)
    agreement_id = contract_gate.agreement_id(contract) if contract else None
    rules = agreement_rules(node, session, row, contract)
    agreement = agreement_document(node, row, rules, agreement_id)
    row.agreement, row.agreement_id = agreement, agreement["@id"]
    row.contract_id = contract.id if contract else None
    message = messages.contract_agreement(row.provider_pid, row.consumer_pid, agreement)
    _deliver(node, session, row, "agreement", Message.CONTRACT_AGREEMENT, message)


def finalize(node: Node, session: Session, pid: str) -> None:
    """Finalize a verified agreement: VERIFIED → FINALIZED."""
    row = _own_step(session, node, pid, NegotiationStep.FINALIZE)
    message = messages.negotiation_event(row.provider_pid, row.consumer_pid, "FINALIZED")
    _deliver(node, session, row, "events", Message.NEGOTIATION_EVENT, message)


def terminate(node: Node, session: Session, pid: str, reason: str) -> None:
    """Terminate the negotiation, in either role."""
    row = _own_step(session, node, pid, NegotiationStep.TERMINATE)
    message = messages.negotiation_termination(
        row.provider_pid, row.consumer_pid, "terminated", [reason]
    )
    _deliver(node, session, row, "termination", Message.NEGOTIATION_TERMINATION, message)


def accept(node: Node, session: Session, pid: str) -> None:
    """As consumer, accept the provider's offer: OFFERED → ACCEPTED."""
    row = _own_step(session, node, pid, NegotiationStep.ACCEPT)
    message = messages.negotiation_event(row.provider_pid, row.consumer_pid, "ACCEPTED")
    _deliver(node, session, row, "events", Message.NEGOTIATION_EVENT, message)


def verify(node: Node, session: Session, pid: str) -> None:
    """As consumer, verify the agreement: AGREED → VERIFIED."""
    row = _own_step(session, node, pid, NegotiationStep.VERIFY)
    message = messages.agreement_verification(row.provider_pid, row.consumer_pid)
    _deliver(node, session, row, "agreement/verification", Message.AGREEMENT_VERIFICATION, message)


def counter(node: Node, session: Session, pid: str) -> None:
    """As consumer, answer the provider's offer with the same offer: OFFERED → REQUESTED."""
    row = _own_step(session, node, pid, NegotiationStep.REQUEST)
    body = {**row.offer, "@type": "Offer"}
    message = messages.contract_request(row.consumer_pid, body, provider_pid=row.provider_pid)
    _deliver(node, session, row, "request", Message.CONTRACT_REQUEST, message)


def initiate(
    node: Node,
    session: Session,
    provider_url: str,
    counterparty: str,
    dataset_id: str,
    offer_id: str,
    constraints: list[dict[str, Any]] | None = None,
) -> DspNegotiation:
    """As consumer, request ``offer_id`` on ``dataset_id`` from the provider at
    ``provider_url``, with the terms ``constraints`` (ODRL): a new negotiation,
    REQUESTED once the provider answers."""
    pid = new_pid()
    offer_body = {
        "@type": "Offer",
        "@id": offer_id,
        "target": dataset_id,
        "permission": [{"action": "use", "constraint": list(constraints or [])}],
    }
    row = DspNegotiation(
        id=pid,
        role=str(Role.CONSUMER),
        provider_pid="",
        consumer_pid=pid,
        counterparty=counterparty,
        state=str(NegotiationState.REQUESTED),
        dataset_id=dataset_id,
        offer=offer_body,
        callback_address=provider_url,
        requests=1,
    )
    session.add(row)
    move(session, row, NegotiationState.REQUESTED, "requested", node.participant_id)
    session.commit()
    message = messages.contract_request(pid, offer_body, callback_address=node.dsp_url)
    try:
        answer = send(
            provider_url,
            "negotiations/request",
            Message.CONTRACT_REQUEST,
            message,
            timeout=node.timeout,
            authorization=node.authorization(counterparty),
        )
        validate(Message.NEGOTIATION, answer)
    except (DeliveryFailed, InvalidMessage):
        unanswered(session, row, node.participant_id)
        raise
    session.refresh(row)
    row.provider_pid = answer["providerPid"]
    session.add(row)
    session.commit()
    return row


def finalized_agreement(
    session: Session, agreement_id: str, role: Role = Role.PROVIDER
) -> DspNegotiation | None:
    """The negotiation in ``role`` holding agreement ``agreement_id``, whatever its state."""
    query = select(DspNegotiation).where(
        DspNegotiation.agreement_id == agreement_id, DspNegotiation.role == str(role)
    )
    return session.exec(query).first()
