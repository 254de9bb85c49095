"""Stream the chain in order and report the first place where it was tampered with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from hub.audit.models import GENESIS_HASH, AuditEvent
from hub.audit.trail import compute_hash

CHUNK = 5000


@dataclass
class ChainReport:
    """Outcome of a chain verification: ``ok`` or the problems found, by sequence number."""

    events: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[dict[str, object]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def iter_events(session: Session, chunk: int = CHUNK) -> Iterator[AuditEvent]:
    """Every event in ``seq`` order, fetched in chunks (memory stays flat)."""
    after = 0
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.seq > after)
            .order_by(col(AuditEvent.seq))
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash and link; name modified, deleted, inserted or reordered events."""
    report = ChainReport()
    expected_seq, prev_hash = 1, GENESIS_HASH
    for ev in iter_events(session):
        report.events += 1
        if ev.seq != expected_seq:
            kind = "deleted" if ev.seq > expected_seq else "reordered"
            report.problems.append(
                {"seq": ev.seq, "kind": kind, "detail": f"expected seq {expected_seq}"}
            )
        if ev.prev_hash != prev_hash:
            report.problems.append(
                {
                    "seq": ev.seq,
                    "kind": "broken-link",
                    "detail": "prev_hash does not match the previous event's hash",
                }
            )
        if compute_hash(ev) != ev.hash:
            report.problems.append(
                {"seq": ev.seq, "kind": "modified", "detail": "content does not match its hash"}
            )
        expected_seq, prev_hash = ev.seq + 1, ev.hash
    report.head_hash = prev_hash
    return report
