"""A negotiation's agreement is a signed contract of the contract area (``hub.contracts``).

The hub (provider) sends its agreement only under a contract that is FINALIZED and in
force: requested by the consumer's lab, offered, accepted, reviewed by the ethics
committee (quorum, no self-review), signed by both parties and countersigned by the hub.
The agreement's ``@id`` names that contract and version; a transfer is granted only while
the contract is in force (a suspended, terminated or expired contract grants nothing), and
a contract's suspension or termination ends what its agreements opened (:func:`withdraw`).
A contract opened by a consumer's request (``hub.dataspace.terms``) is linked to its
negotiation; once FINALIZED the hub sends it as the agreement by itself
(:func:`agree_linked`); whether a contract may be a negotiation's agreement is Rego's
decision ``edh/dataspace/agreement`` (:func:`agreement_decision`), and a terminated one
(e.g. rejected by the ethics committee) ends the negotiation.
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
from hub.contracts.public import ContractRecord, current_terms, get_contract, is_in_force
from hub.dataspace.identity import tck_mode
from hub.dataspace.models import DspNegotiation, DspParticipant, DspTransfer
from hub.dataspace.node import Node
from hub.dataspace.outbox import DeliveryFailed
from hub.enforcement.public import decide
from hub.errors import HubError, InvalidTransition, NotFound, PolicyUnavailable
from hub.policy.port import PolicyDecision
from hub.trail.writer import SYSTEM, Decision, EventDraft, Resource, record_now

log = logging.getLogger("hub.dataspace")

ORG_PREFIX = "urn:edh:org:"
AGREEMENT = "edh/dataspace/agreement"


def agreement_id(contract: ContractRecord) -> str:
    """The agreement's id: the signed contract's identity (one agreement per version)."""
    return f"urn:edh:contract:{contract.id}:v{contract.version}"


def acts_for(session: Session, participant_id: str) -> str | None:
    """The organisation of the hub's registry a participant acts for: its own (a token of
    the hub's realm) or the one the operator named when trusting its DID."""
    if participant_id.startswith(ORG_PREFIX):
        return participant_id.removeprefix(ORG_PREFIX)
    trusted = session.get(DspParticipant, participant_id)
    return trusted.organisation_id if trusted else None


def agreement_decision(
    node: Node, session: Session, row: DspNegotiation, contract: ContractRecord
) -> PolicyDecision:
    """Rego's decision (``edh/dataspace/agreement``) whether ``contract`` may be the
    agreement of negotiation ``row``, with its reasons; without an engine, a refusal."""
    in_force, problems = is_in_force(contract, date.today())
    taken = select(DspNegotiation).where(DspNegotiation.agreement_id == agreement_id(contract))
    facts = {
        "negotiation": {
            "consumer_org": acts_for(session, row.counterparty),
            "dataset": row.dataset_id,
        },
        "contract": {
            "lab": contract.lab_id,
            "datasets": list(current_terms(session, contract).datasets),
            "in_force": in_force,
            "problems": problems,
            "taken": session.exec(taken).first() is not None,
        },
    }
    return decide(node.ctx, session, AGREEMENT, facts, SYSTEM, date.today())


def contract_for_agreement(
    node: Node, session: Session, pid: str, contract_id: str
) -> tuple[DspNegotiation, ContractRecord]:
    """The hub's provider negotiation ``pid`` and the contract that may be its agreement
    (Rego's ``edh/dataspace/agreement``); raises ``NotFound``, ``InvalidTransition`` (the
    policy's refusal, its reasons in ``reasons``) or ``PolicyUnavailable`` (no engine
    answered: refused, fail closed)."""
    row = session.get(DspNegotiation, pid)
    if row is None or row.role != Role.PROVIDER:
        raise NotFound("no such negotiation of the hub as provider")
    contract = get_contract(session, contract_id)
    outcome = agreement_decision(node, session, row, contract)
    if outcome.allow:
        return row, contract
    refusal = PolicyUnavailable if outcome.outage else InvalidTransition
    raise refusal(
        "; ".join(outcome.reasons),
        allowed=[],
        reasons=list(outcome.reasons),
        decision=AGREEMENT,
        bundle_hash=outcome.bundle_hash,
    )


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
    its reasons; a consumer briefly down gets the agreement from the courier later."""
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
                _refused(session, pid, exc)
            except DeliveryFailed as exc:
                log.warning("the consumer of %s did not take its agreement: %s", pid, exc)
            except Exception:
                log.exception("agreement of negotiation %s failed", pid)


def _refused(session: Session, pid: str, exc: HubError) -> None:
    """Audit why the linked contract was not sent as ``pid``'s agreement: the policy's
    reasons (and its decision and bundle) when it decided, else the error's detail."""
    draft = EventDraft(
        SYSTEM,
        "dsp_negotiation.agreed.refused",
        Resource("dsp_negotiation", pid),
        decision=Decision.DENY,
        reasons=list(exc.extra.get("reasons") or [exc.detail]),
        details={k: exc.extra[k] for k in ("decision", "bundle_hash") if k in exc.extra},
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
