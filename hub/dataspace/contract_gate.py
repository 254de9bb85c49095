"""A negotiation's agreement is a signed contract of the contract area (``hub.contracts``).

The hub (provider) sends its agreement only under a contract that is FINALIZED and in
force: requested by the consumer's lab, offered, accepted, reviewed by the ethics
committee (quorum, no self-review), signed by both parties and countersigned by the hub.
The agreement's ``@id`` names that contract and version; a transfer is granted only while
the contract is in force (a suspended, terminated or expired contract grants nothing), and
a contract's suspension or termination ends what its agreements opened (:func:`withdraw`).
A contract opened by a consumer's request (``hub.dataspace.terms``) is linked to its
negotiation; once FINALIZED the hub sends it as the agreement by itself
(:func:`agree_linked`), and a terminated one (e.g. rejected by the ethics committee) ends
the negotiation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from contracts.dsp.states import NegotiationState, TransferState
from contracts.dsp.vocab import Role
from contracts.lifecycle import State
from hub.contracts.models import Contract
from hub.contracts.service import current_terms, get_contract, is_in_force
from hub.dataspace.identity import tck_mode
from hub.dataspace.models import DspNegotiation, DspParticipant, DspTransfer
from hub.dataspace.node import Node
from hub.dataspace.outbox import DeliveryFailed
from hub.errors import Conflict, HubError, InvalidTransition, NotFound
from hub.trail.writer import SYSTEM, Decision, EventDraft, Resource, record_now

log = logging.getLogger("hub.dataspace")

ORG_PREFIX = "urn:edh:org:"


def agreement_id(contract: Contract) -> str:
    """The agreement's id: the signed contract's identity (one agreement per version)."""
    return f"urn:edh:contract:{contract.id}:v{contract.version}"


def acts_for(session: Session, participant_id: str) -> str | None:
    """The organisation of the hub's registry a participant acts for: its own (a token of
    the hub's realm) or the one the operator named when trusting its DID."""
    if participant_id.startswith(ORG_PREFIX):
        return participant_id.removeprefix(ORG_PREFIX)
    trusted = session.get(DspParticipant, participant_id)
    return trusted.organisation_id if trusted else None


def binding_problems(session: Session, row: DspNegotiation, contract: Contract) -> list[str]:
    """Why ``contract`` cannot be the agreement of negotiation ``row`` (empty if it can)."""
    _, problems = is_in_force(contract, date.today())
    if acts_for(session, row.counterparty) != contract.lab_id:
        problems.append("the consumer does not act for the contract's lab")
    if row.dataset_id not in current_terms(session, contract).datasets:
        problems.append("the contract does not cover the negotiated dataset")
    return problems


def contract_for_agreement(
    node: Node, session: Session, pid: str, contract_id: str
) -> tuple[DspNegotiation, Contract]:
    """The hub's provider negotiation ``pid`` and the contract that may be its agreement;
    raises ``NotFound``, ``InvalidTransition`` (with the reasons) or ``Conflict`` (the
    contract's version is already another negotiation's agreement)."""
    row = session.get(DspNegotiation, pid)
    if row is None or row.role != Role.PROVIDER:
        raise NotFound("no such negotiation of the hub as provider")
    contract = get_contract(session, contract_id)
    problems = binding_problems(session, row, contract)
    if problems:
        raise InvalidTransition("; ".join(problems), allowed=[])
    taken = select(DspNegotiation).where(DspNegotiation.agreement_id == agreement_id(contract))
    if session.exec(taken).first() is not None:
        raise Conflict("this contract version is already the agreement of a negotiation")
    return row, contract


def transfer_facts(
    node: Node, session: Session, agreement: DspNegotiation | None
) -> dict[str, Any]:
    """What the transfer decision reads of the agreement's contract: whether it is in
    force today. An agreement without a contract exists only in TCK mode (its scripted
    agreements); anywhere else it grants nothing (fail closed)."""
    if agreement is None:
        return {"in_force": False}
    if agreement.contract_id is None:
        return {"in_force": tck_mode(node.ctx)}
    ok, reasons = is_in_force(get_contract(session, agreement.contract_id), date.today())
    return {"in_force": ok, "reasons": reasons}


def on_contract_changed(node: Node) -> Callable[[str, Mapping[str, Any]], None]:
    """The subscriber of ``edh.contract.changed``: a contract terminated or suspended ends
    what its agreements opened in the data space (see :func:`withdraw`)."""

    def handle(_key: str, event: Mapping[str, Any]) -> None:
        contract_id = str(event["contract_id"])
        if event.get("state") == State.TERMINATED or event.get("suspended") is True:
            withdraw(node, contract_id, terminated=event["state"] == State.TERMINATED)
        elif event.get("state") == State.FINALIZED:
            # Off the committing thread: the consumer may be slow or briefly down.
            name = f"dsp-agree-{contract_id}"
            threading.Thread(target=agree_linked, args=(node, contract_id), name=name).start()

    return handle


def agree_linked(node: Node, contract_id: str) -> None:
    """Send the FINALIZED contract ``contract_id`` as the agreement of the negotiations it
    was opened by, still waiting for it (REQUESTED or ACCEPTED, no agreement): idempotent
    (contract events come at least once; an agreed negotiation is not picked again). Each
    refusal (the contract not in force, not the consumer's lab's, ...) is audited with
    its reasons; a consumer that stays down is logged (the negotiation stays AGREED)."""
    from hub.dataspace import negotiation

    waiting = (NegotiationState.REQUESTED, NegotiationState.ACCEPTED)
    with Session(node.ctx.engine) as session:
        query = select(DspNegotiation.id).where(
            DspNegotiation.contract_id == contract_id,
            DspNegotiation.role == str(Role.PROVIDER),
            col(DspNegotiation.agreement_id).is_(None),
            col(DspNegotiation.state).in_([str(s) for s in waiting]),
        )
        pids = list(session.exec(query).all())
    for pid in pids:
        with Session(node.ctx.engine) as session:
            try:
                _, contract = contract_for_agreement(node, session, pid, contract_id)
                negotiation.agree(node, session, pid, by=node.participant_id, contract=contract)
            except HubError as exc:
                session.rollback()
                _refused(node, session, pid, exc.detail)
            except DeliveryFailed as exc:
                log.warning("the consumer of %s did not take its agreement: %s", pid, exc)
            except Exception:
                log.exception("agreement of negotiation %s failed", pid)


def _refused(node: Node, session: Session, pid: str, reason: str) -> None:
    draft = EventDraft(
        SYSTEM,
        "dsp_negotiation.agreed.refused",
        Resource("dsp_negotiation", pid),
        decision=Decision.DENY,
        reasons=[reason],
    )
    record_now(session.get_bind(), draft)


def withdraw(node: Node, contract_id: str, *, terminated: bool) -> None:
    """Under the contract ``contract_id``: terminate its negotiations AGREED or VERIFIED
    (and, the contract terminated, those still waiting for it), and terminate every live
    transfer (contract terminated) or suspend the started ones (contract suspended), each
    message sent to the consumer. Idempotent (events come at least once); a consumer that
    does not answer is logged, the others still hear."""
    from hub.dataspace import negotiation, transfer

    reason = f"contract {contract_id} is {'terminated' if terminated else 'suspended'}"
    with Session(node.ctx.engine) as session:
        query = select(DspNegotiation).where(
            DspNegotiation.contract_id == contract_id, DspNegotiation.role == str(Role.PROVIDER)
        )
        agreements = list(session.exec(query).all())
        ended = (NegotiationState.FINALIZED, NegotiationState.TERMINATED)
        moves = [
            (negotiation.terminate, row.id)
            for row in agreements
            if (terminated and row.state not in ended)
            or row.state in (NegotiationState.AGREED, NegotiationState.VERIFIED)
        ]
        live = [TransferState.REQUESTED, TransferState.STARTED, TransferState.SUSPENDED]
        started = select(DspTransfer).where(
            col(DspTransfer.agreement_id).in_([a.agreement_id for a in agreements]),
            DspTransfer.role == str(Role.PROVIDER),
            col(DspTransfer.state).in_(live if terminated else [TransferState.STARTED]),
        )
        step = transfer.terminate if terminated else transfer.suspend
        moves += [(step, row.id) for row in session.exec(started).all()]
    for move, pid in moves:
        with Session(node.ctx.engine) as session:
            try:
                move(node, session, pid, reason)
            except DeliveryFailed:
                log.warning("the consumer of %s did not hear that %s", pid, reason)
