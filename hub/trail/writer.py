"""The one function every state change and access decision goes through: :func:`record`.

``record`` writes the event inside the caller's transaction, so the change and its event
commit together or not at all; right after that commit the event is sealed into the hash
chain (see :mod:`hub.trail.chain`: one lock for a batch of events, so concurrent requests
never fork the chain nor wait on each other's commits). ``record_many`` records several.
``record_now`` records events that stand alone (a refusal, a read): they are chained and
committed before it returns, grouped with other threads' events in one transaction.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlmodel import Session

from hub.trail.chain import (
    PENDING,
    PENDING_FLAG,
    chain_head,
    committer_for,
    insert_rows,
    seal,
)
from hub.trail.hashing import EventRow, compute_hash, event_body, utc_text
from hub.trail.models import AuditEvent

__all__ = [
    "SYSTEM",
    "Actor",
    "Decision",
    "EventDraft",
    "EventRow",
    "Resource",
    "Why",
    "chain_head",
    "compute_hash",
    "event_body",
    "record",
    "record_many",
    "record_now",
    "seal",
    "utc_text",
]


class Decision(StrEnum):
    """What an event records: a granted access, a refusal, or a plain fact (a change)."""

    ALLOW = "allow"
    DENY = "deny"
    INFO = "info"


@dataclass(frozen=True)
class Actor:
    """Who acted: token subject, the role used, the organisation."""

    sub: str
    role: str
    org: str | None = None


SYSTEM = Actor(sub="system", role="system")


@dataclass(frozen=True)
class Why:
    """Why it happened: the contract, project, dataset and purpose in force."""

    contract_id: str | None = None
    project_id: str | None = None
    dataset_id: str | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class Resource:
    """What was acted upon."""

    type: str
    id: str | None = None


@dataclass
class EventDraft:
    """Everything about an event except its place in the chain."""

    actor: Actor
    action: str
    resource: Resource
    decision: Decision = Decision.INFO
    reasons: Sequence[str] = ()
    why: Why = field(default_factory=Why)
    details: dict[str, Any] = field(default_factory=dict)


SAFE_INTEGER = 2**53 - 1  # RFC 8785 (I-JSON) numbers: beyond this, no exact text


def hashable_details(value: Any) -> Any:
    """``value`` with every number RFC 8785 cannot encode (an integer beyond ±(2^53 - 1),
    a non-finite float) replaced by its decimal text, in nested dicts and lists too, so
    a caller's hostile input can never leave an event that does not seal."""
    if isinstance(value, dict):
        return {key: hashable_details(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [hashable_details(item) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > SAFE_INTEGER:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def new_event_id() -> str:
    """A random (version 4) UUID's text, as ``str(uuid.uuid4())`` gives it, for a third of
    its CPU (no ``UUID`` object, whose construction and formatting run in Python)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pending_row(draft: EventDraft, ts: datetime) -> dict[str, Any]:
    why = draft.why
    return {
        "event_id": new_event_id(),
        "ts": ts,
        "actor_sub": draft.actor.sub,
        "actor_role": draft.actor.role,
        "actor_org": draft.actor.org,
        "action": draft.action,
        "resource_type": draft.resource.type,
        "resource_id": draft.resource.id,
        "decision": str(draft.decision),
        "reasons": list(draft.reasons),
        "contract_id": why.contract_id,
        "project_id": why.project_id,
        "dataset_id": why.dataset_id,
        "purpose": why.purpose,
        "details": hashable_details(draft.details),
    }


def record_many(
    session: Session, drafts: Sequence[EventDraft], *, now: datetime | None = None
) -> list[str]:
    """Record ``drafts`` in order in the caller's transaction; returns their event ids.

    Same contract as :func:`record`, with one statement for all the events.
    """
    ts = now or datetime.now(UTC)
    rows = [_pending_row(d, ts) for d in drafts]
    record_many_rows(session, rows)
    return [row["event_id"] for row in rows]


def record_many_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert pending rows in the caller's transaction and mark it for sealing."""
    insert_rows(session.connection(), PENDING, rows)
    session.info[PENDING_FLAG] = True


def record(session: Session, draft: EventDraft, *, now: datetime | None = None) -> AuditEvent:
    """Record ``draft`` in the caller's transaction and return the event.

    Not idempotent: each call records one event. The event commits or rolls back with the
    caller's change; right after the commit it is sealed into the hash chain (its ``seq``
    and ``hash`` are assigned then, so they are 0 and empty in the returned object).
    Raises only database errors.
    """
    ts = now or datetime.now(UTC)
    row = _pending_row(draft, ts)
    record_many_rows(session, [row])
    return AuditEvent(seq=0, prev_hash="", hash="", **row)


def record_now(
    bind: Engine | Connection, *drafts: EventDraft, now: datetime | None = None
) -> list[str]:
    """Record ``drafts``, events tied to no change of the caller, in the chain before
    returning; returns their event ids.

    Many threads' events share one transaction (group commit), on a connection of the
    audit's own: call it outside any write transaction of the caller on SQLite (whose
    writers serialise). Raises ``AuditUnavailable`` (503) when the log cannot take them;
    the access they record must then not be granted.
    """
    ts = now or datetime.now(UTC)
    rows = [_pending_row(d, ts) for d in drafts]
    committer_for(bind).submit(rows)
    return [row["event_id"] for row in rows]
