"""What negotiations and transfers share: process ids, the audited step, refusals."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from contracts.dsp.vocab import Message
from hub.columns import utcnow
from hub.dataspace.errors import DspFailure
from hub.dataspace.identity import Participant
from hub.dataspace.models import DspNegotiation, DspTransfer
from hub.dataspace.node import Node
from hub.enforcement.public import check
from hub.errors import Forbidden
from hub.trail.writer import Decision, EventDraft, Resource, Why, record, record_now

Process = DspNegotiation | DspTransfer


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def resource(row: Process) -> Resource:
    kind = "dsp_negotiation" if isinstance(row, DspNegotiation) else "dsp_transfer"
    return Resource(kind, row.id)


def error_kind(row: Process | type[Process]) -> Message:
    negotiation = row is DspNegotiation or isinstance(row, DspNegotiation)
    return Message.NEGOTIATION_ERROR if negotiation else Message.TRANSFER_ERROR


def failure(row: Process, status: int, reasons: list[str]) -> DspFailure:
    return DspFailure(
        status,
        error_kind(row),
        reasons,
        provider_pid=row.provider_pid,
        consumer_pid=row.consumer_pid,
    )


def move(session: Session, row: Process, target: str, actor_step: str, by: str) -> None:
    """Set ``row`` to ``target`` and record the step in the same transaction."""
    previous, row.state, row.updated_at = row.state, target, utcnow()
    session.add(row)
    record(
        session,
        EventDraft(
            Participant(by, True, "").actor(),
            f"{resource(row).type}.{actor_step}",
            resource(row),
            why=Why(dataset_id=getattr(row, "dataset_id", None)),
            details={"from": previous, "to": target, "role": row.role},
        ),
    )


def refuse(session: Session, row: Process, who: str, step: str, reason: str) -> DspFailure:
    """An illegal step: end the transaction, audit the refusal, the 400 to raise."""
    draft = EventDraft(
        Participant(who, True, "").actor(),
        f"{resource(row).type}.{step}",
        resource(row),
        decision=Decision.DENY,
        reasons=[reason],
        details={"state": row.state, "role": row.role},
    )
    answer = failure(row, 400, [reason])
    session.rollback()  # SQLite: no write transaction of ours while the audit commits
    record_now(session.get_bind(), draft)
    return answer


def hidden(session: Session, row: Process, who: str) -> DspFailure:
    """A participant reached a process that is not its own: audit, and answer 404 (the
    binding answers a stranger as if the process did not exist)."""
    reason = "the process belongs to another participant"
    draft = EventDraft(
        Participant(who, True, "").actor(),
        f"{resource(row).type}.access.refused",
        resource(row),
        decision=Decision.DENY,
        reasons=[reason],
    )
    answer = DspFailure(404, error_kind(row), ["no such process"], provider_pid=row.id)
    session.rollback()
    record_now(session.get_bind(), draft)
    return answer


def authorize(
    node: Node,
    session: Session,
    decision: str,
    participant: Participant,
    row: Process,
    facts: dict[str, Any],
    status: int,
) -> None:
    """Ask Rego; an allow is audited with the caller's change, a refusal is audited and
    raised as a DSP error with ``status`` (404 hides a process from a stranger)."""
    try:
        check(
            node.ctx,
            session,
            decision,
            {"participant": participant.policy_input(), **facts},
            participant.actor(),
            resource(row),
            Why(dataset_id=getattr(row, "dataset_id", None)),
        )
    except Forbidden as exc:
        reasons = list(exc.extra.get("reasons") or [exc.detail])
        raise failure(row, status, reasons) from exc


def unanswered(session: Session, row: Process, by: str) -> None:
    """The counterparty refused or never answered the request that opened ``row``: the
    process ends TERMINATED (audited), the caller re-raises."""
    session.rollback()
    session.refresh(row)
    move(session, row, "TERMINATED", "request.unanswered", by)
    session.commit()
