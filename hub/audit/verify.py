"""Stream the chain and the signed checkpoints; name every event that was tampered with.

Each problem is ``{"seq", "kind", "detail", "checkpoint"}`` where ``kind`` is one of
``modified`` (content no longer matches its hash, or rewritten with a recomputed hash),
``deleted``, ``inserted``, ``reordered`` (a genuine event moved to another place),
``renumbered`` (genuine events shifted after an insertion or deletion),
``checkpoint-mismatch`` or ``bad-signature``; ``checkpoint`` is the first signed
checkpoint covering that event (the tampering happened after it was signed), or None
when the event is newer than every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from contracts.canonical import b64url_decode, canonical_json
from hub.audit.chain import chain_head
from hub.audit.checkpoints import frontier_of, list_checkpoints, purge_base, signed_statement
from hub.audit.hashing import EventRow, compute_hash
from hub.audit.merkle import Frontier, root_of_peaks
from hub.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent
from hub.audit.scan import CleanScan, scan_clean
from hub.audit.stream import StoredEvent, iter_stored

MAX_PROBLEMS = 1000


@dataclass
class ChainReport:
    """Outcome of a verification: ``ok`` or the problems found, by sequence number."""

    events: int = 0
    head_hash: str = GENESIS_HASH
    purged_up_to: int = 0
    checkpoints_checked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "purged_up_to": self.purged_up_to,
            "checkpoints_checked": self.checkpoints_checked,
            "problems": self.problems,
        }


@dataclass
class _Walk:
    """Verification state while streaming rows in ``seq`` order."""

    session: Session
    report: ChainReport
    checkpoints: list[AuditCheckpoint]
    frontier: Frontier
    expected_seq: int
    expected_prev: str
    head_seq: int
    previous_bad: bool = False
    shift: int | None = None  # offset of a run of renumbered (shifted) genuine events

    def problem(self, seq: int, kind: str, detail: str) -> None:
        if len(self.report.problems) < MAX_PROBLEMS:
            cp = next((c for c in self.checkpoints if c.tree_size >= seq), None)
            ref = None if cp is None else {"id": cp.id, "tree_size": cp.tree_size}
            self.report.problems.append(
                {"seq": seq, "kind": kind, "detail": detail, "checkpoint": ref}
            )

    def original_seq(self, row: EventRow, depth: int = 3) -> int | None:
        """Where a genuine event was written: right after the event its ``prev_hash`` names
        (which may itself have been moved, hence the bounded recursion)."""
        if row.prev_hash == GENESIS_HASH:
            return 1 if compute_hash(row, 1) == row.hash else None
        pred = self.session.exec(
            select(AuditEvent).where(col(AuditEvent.hash) == row.prev_hash)
        ).first()
        if pred is None:
            return None
        for pred_seq in (pred.seq, self.original_seq(pred, depth - 1) if depth else None):
            if pred_seq is not None and compute_hash(row, pred_seq + 1) == row.hash:
                return pred_seq + 1
        return None

    def step(self, row: StoredEvent, nxt: StoredEvent | None) -> None:
        bad = self._classify(row, nxt)
        if not bad or row.prev_hash == self.expected_prev:
            self.expected_prev = row.hash
        self.expected_seq = row.seq + 1
        self.previous_bad = bad
        self.frontier.append(bytes.fromhex(row.hash))
        self._check_checkpoints()

    def _classify(self, row: StoredEvent, nxt: StoredEvent | None) -> bool:
        if row.seq > self.head_seq:
            self.problem(row.seq, "inserted", f"after the chain head (seq {self.head_seq})")
            return True
        if compute_hash(row) != row.hash:
            return self._mismatch(row, nxt)
        self.shift = None
        if nxt is not None and nxt.prev_hash == row.prev_hash:
            self.problem(row.seq, "inserted", "the next event is chained to its predecessor")
            return True
        if row.prev_hash == self.expected_prev or self.previous_bad:
            return False
        if row.seq > self.expected_seq:
            missing = f"{self.expected_seq}" + (
                f"..{row.seq - 1}" if row.seq - 1 > self.expected_seq else ""
            )
            self.problem(self.expected_seq, "deleted", f"events {missing} are missing")
        else:
            self.problem(row.seq - 1, "modified", "rewritten with a recomputed hash")
        return False

    def _mismatch(self, row: StoredEvent, nxt: StoredEvent | None) -> bool:
        orig = self.original_seq(row)
        if orig is None or orig == row.seq:
            self.problem(row.seq, "modified", "content does not match its hash")
            return True
        shift = row.seq - orig
        if shift == self.shift:
            return False
        if nxt is not None and compute_hash(nxt) != nxt.hash and self._shift_of(nxt) == shift:
            self.problem(row.seq, "renumbered", f"written at seq {orig}; later events shifted")
            self.shift = shift
            return False
        self.problem(row.seq, "reordered", f"event written at seq {orig} now at {row.seq}")
        return True

    def _shift_of(self, row: StoredEvent) -> int | None:
        orig = self.original_seq(row)
        return None if orig is None else row.seq - orig

    def _check_checkpoints(self) -> None:
        for cp in self.checkpoints:
            if cp.tree_size == self.frontier.size and self.frontier.root().hex() != cp.root_hash:
                self.problem(
                    cp.tree_size, "checkpoint-mismatch", f"root differs from checkpoint {cp.id}"
                )

    def finish(self) -> None:
        last = self.expected_seq - 1
        if last < self.head_seq:
            self.problem(last + 1, "deleted", f"events {last + 1}..{self.head_seq} are missing")
        self.report.head_hash = self.expected_prev


def check_signatures(checkpoints: list[AuditCheckpoint], key: Ed25519PublicKey) -> list[int]:
    """Ids of checkpoints whose signature or recorded peaks do not hold."""
    bad = []
    for cp in checkpoints:
        try:
            key.verify(b64url_decode(cp.signature), canonical_json(signed_statement(cp)))
        except (InvalidSignature, ValueError):
            bad.append(cp.id or 0)
            continue
        if root_of_peaks([bytes.fromhex(p) for p in cp.peaks]).hex() != cp.root_hash:
            bad.append(cp.id or 0)
    return bad


def verify_chain(session: Session, key: Ed25519PublicKey | None = None) -> ChainReport:
    """Recompute every hash, link and checkpoint root (and signatures when ``key`` is given).

    Streams the events (memory stays flat); read-only; never raises on tampering.
    """
    report = ChainReport()
    checkpoints = list_checkpoints(session)
    base = purge_base(session)
    head_seq, head_hash = chain_head(session)
    walk = _Walk(
        session,
        report,
        checkpoints,
        frontier_of(base),
        expected_seq=(base.tree_size if base else 0) + 1,
        expected_prev=base.head_hash if base else GENESIS_HASH,
        head_seq=head_seq,
    )
    report.purged_up_to = base.tree_size if base else 0
    if key is not None:
        for cp_id in check_signatures(checkpoints, key):
            walk.problem(0, "bad-signature", f"checkpoint {cp_id} signature or peaks invalid")
    fast = CleanScan(walk.expected_seq, walk.expected_prev, walk.frontier.copy())
    if scan_clean(session, fast, checkpoints, head_seq) and fast.expected_prev == head_hash:
        report.events, report.head_hash = fast.events, fast.expected_prev
        report.checkpoints_checked = sum(1 for c in checkpoints if c.tree_size <= head_seq)
        return report
    _classify_all(walk)
    if not report.problems and report.head_hash != head_hash:
        walk.problem(
            head_seq,
            "head-mismatch",
            "the last event's hash differs from the chain head recorded when it was appended",
        )
    return report


def _classify_all(walk: _Walk) -> None:
    """The full walk: every event in order, each problem classified (see ``_Walk``)."""
    session, report, checkpoints = walk.session, walk.report, walk.checkpoints
    previous: StoredEvent | None = None
    for row in iter_stored(session, after=report.purged_up_to):
        if previous is not None:
            walk.step(previous, row)
        previous = row
        report.events += 1
    if previous is not None:
        walk.step(previous, None)
    walk.finish()
    report.checkpoints_checked = sum(1 for c in checkpoints if c.tree_size <= walk.frontier.size)
