"""Retention: purge whole expired months of events, sealed by a signed checkpoint.

The checkpoint at the purge boundary keeps the Merkle root, the chain head and the tree's
peaks, so verification (and proofs for later events) still pass after the purge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from hub.trail.chain import seal
from hub.trail.checkpoints import CheckpointSigner, create_checkpoint, purge_base
from hub.trail.models import AuditPurge
from hub.trail.stream import EVENTS
from hub.trail.writer import SYSTEM, EventDraft, Resource, record


def period_end(now: datetime, retention_days: int) -> datetime:
    """Start of the month holding ``now - retention``: events before it have expired."""
    cutoff = now.astimezone(UTC) - timedelta(days=retention_days)
    return datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)


def _last_expired_seq(session: Session, end: datetime) -> int:
    """The largest ``seq`` such that every event up to it is older than ``end``."""
    conn = session.connection()
    first_kept = conn.execute(select(func.min(EVENTS.c.seq)).where(EVENTS.c.ts >= end)).scalar()
    if first_kept is not None:
        return int(first_kept) - 1
    return int(conn.execute(select(func.max(EVENTS.c.seq))).scalar() or 0)


def purge_expired(
    session: Session, signer: CheckpointSigner, retention_days: int, *, now: datetime | None = None
) -> AuditPurge | None:
    """Delete the events of whole months older than ``retention_days``; None if none.

    Runs in the caller's transaction under the chain lock: signs a checkpoint at the
    boundary, deletes the events, records the purge and an ``audit.purged`` event.
    Idempotent: a second run on the same day purges nothing more.
    """
    seal(session)
    end = period_end(now or datetime.now(UTC), retention_days)
    up_to = _last_expired_seq(session, end)
    base = purge_base(session)
    start = base.tree_size if base else 0
    if up_to <= start:
        return None
    checkpoint = create_checkpoint(session, signer, size=up_to, now=now)
    conn = session.connection()
    conn.execute(delete(EVENTS).where(EVENTS.c.seq <= up_to))
    purge = AuditPurge(
        period_end=end.date().isoformat(),
        up_to_seq=up_to,
        checkpoint_id=checkpoint.id or 0,
        events=up_to - start,
        purged_at=now or datetime.now(UTC),
    )
    session.add(purge)
    session.flush()
    details = {"up_to_seq": up_to, "events": up_to - start, "checkpoint_id": checkpoint.id}
    draft = EventDraft(
        SYSTEM, "audit.purged", Resource("audit_log", end.date().isoformat()), details=details
    )
    record(session, draft, now=now)
    return purge
