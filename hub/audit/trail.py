"""The one function every state change and access decision goes through: :func:`record`.

``record`` appends to the hash chain inside the caller's transaction, so the change and
its event commit together or not at all. Appends are serialised: on PostgreSQL by a
transaction-scoped advisory lock, on SQLite by ``BEGIN IMMEDIATE`` (see ``hub.db``), so
concurrent requests never fork the chain.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from contracts.canonical import canonical_json, sha256_hex
from hub.audit.models import GENESIS_HASH, AuditEvent

CHAIN_LOCK_KEY = 0x45444841  # "EDHA": the advisory lock guarding the chain head


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


def utc_text(ts: datetime) -> str:
    """Timestamps as hashed: UTC ISO 8601 with microseconds (naive values are UTC)."""
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def event_body(ev: AuditEvent) -> dict[str, Any]:
    """The hashed content of an event: every column but ``hash`` itself."""
    return {
        "seq": ev.seq,
        "event_id": ev.event_id,
        "ts": utc_text(ev.ts),
        "actor": {"sub": ev.actor_sub, "role": ev.actor_role, "org": ev.actor_org},
        "action": ev.action,
        "resource": {"type": ev.resource_type, "id": ev.resource_id},
        "decision": ev.decision,
        "reasons": list(ev.reasons),
        "why": {
            "contract_id": ev.contract_id,
            "project_id": ev.project_id,
            "dataset_id": ev.dataset_id,
            "purpose": ev.purpose,
        },
        "details": ev.details,
        "prev_hash": ev.prev_hash,
    }


def compute_hash(ev: AuditEvent) -> str:
    """SHA-256 over the previous hash and the canonical JSON of the event body."""
    return sha256_hex(ev.prev_hash.encode("ascii") + canonical_json(event_body(ev)))


def _lock_chain(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})


def _chain_head(session: Session) -> tuple[int, str]:
    last = session.exec(
        select(AuditEvent.seq, AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last else (0, GENESIS_HASH)


def record(session: Session, draft: EventDraft, *, now: datetime | None = None) -> AuditEvent:
    """Append ``draft`` to the chain in the caller's transaction and return the event.

    Not idempotent: each call appends one event. The caller commits; on rollback the
    event disappears with the change it describes. Raises only database errors.
    """
    _lock_chain(session)
    seq, prev_hash = _chain_head(session)
    why = draft.why
    ev = AuditEvent(
        seq=seq + 1,
        event_id=str(uuid.uuid4()),
        ts=now or datetime.now(UTC),
        actor_sub=draft.actor.sub,
        actor_role=draft.actor.role,
        actor_org=draft.actor.org,
        action=draft.action,
        resource_type=draft.resource.type,
        resource_id=draft.resource.id,
        decision=str(draft.decision),
        reasons=list(draft.reasons),
        contract_id=why.contract_id,
        project_id=why.project_id,
        dataset_id=why.dataset_id,
        purpose=why.purpose,
        details=draft.details,
        prev_hash=prev_hash,
        hash="",
    )
    ev.hash = compute_hash(ev)
    session.add(ev)
    session.flush()
    return ev
