"""Stream the chain and the signed checkpoints; name every event that was tampered with.

Each problem is ``{"seq", "kind", "detail", "checkpoint"}`` where ``kind`` is one of
``modified`` (content no longer matches its hash, or rewritten with a recomputed hash),
``deleted``, ``inserted``, ``reordered`` (a genuine event moved to another place),
``renumbered`` (genuine events shifted after an insertion or deletion), ``truncated``
(signed events missing beyond the chain head), ``rewritten`` (the chain is consistent but
the event's leaf differs from a signed checkpoint: rewritten with every later hash
recomputed), ``forged-append`` (events after the chain head), ``checkpoint-mismatch`` or
``bad-signature``; ``checkpoint`` is the first signed checkpoint covering that event (the
tampering happened after it was signed), or None when the event is newer than every
checkpoint. Signed checkpoints are the database's and, when given, those published in
the witness store (:mod:`hub.audit.publish`), whose leaves then name a rewritten event
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session, col, select

from hub.audit.publish import WitnessStore, iter_published_leaves
from hub.audit.scan import CleanScan, scan_clean
from hub.trail.chain import chain_head
from hub.trail.checkpoints import frontier_of, list_checkpoints, purge_base, signature_holds
from hub.trail.hashing import EventRow, hash_matches, stored_leaf
from hub.trail.merkle import Frontier, peak_ranges
from hub.trail.models import GENESIS_HASH, AuditCheckpoint, AuditEvent
from hub.trail.seal import SealState, first_unsealed
from hub.trail.stream import EVENTS, StoredEvent, iter_rows, iter_stored

MAX_PROBLEMS = 1000


@dataclass
class ChainReport:
    """Outcome of a verification: ``ok`` or the problems found, by sequence number."""

    events: int = 0
    head_hash: str = GENESIS_HASH
    purged_up_to: int = 0
    checkpoints_checked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    signed_sizes: list[int] = field(default_factory=list)  # of checkpoints that hold

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


@dataclass(frozen=True)
class Anchor:
    """A signed tree head the log must reproduce: a database checkpoint (``id`` set, with
    its ``peaks``) or one published in the witness store (``id`` None)."""

    tree_size: int
    root_hash: str
    id: int | None = None
    peaks: tuple[str, ...] = ()

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "tree_size": self.tree_size, "published": self.id is None}

    @property
    def label(self) -> str:
        if self.id is None:
            return f"the published checkpoint of size {self.tree_size}"
        return f"checkpoint {self.id} (size {self.tree_size})"


def anchors_of(checkpoints: list[AuditCheckpoint], published: dict[int, str]) -> list[Anchor]:
    """The database checkpoints and the published roots (``{size: root hex}``) not already
    among them, by size."""
    stored = {cp.tree_size: cp for cp in checkpoints}
    anchors = [Anchor(c.tree_size, c.root_hash, c.id, tuple(c.peaks)) for c in checkpoints]
    for size, root in published.items():
        if size not in stored or stored[size].root_hash != root:
            anchors.append(Anchor(size, root))
    return sorted(anchors, key=lambda a: (a.tree_size, a.id is None))


@dataclass
class _Walk:
    """Verification state while streaming rows in ``seq`` order."""

    session: Session
    report: ChainReport
    checkpoints: list[Anchor]
    frontier: Frontier
    expected_seq: int
    expected_prev: str
    head_seq: int
    store: WitnessStore | None = None
    previous_bad: bool = False
    shift: int | None = None  # offset of a run of renumbered (shifted) genuine events
    reproduced: int = 0  # the largest checkpoint size whose root the log reproduced

    def problem(self, seq: int, kind: str, detail: str) -> None:
        if len(self.report.problems) < MAX_PROBLEMS:
            cp = next((c for c in self.checkpoints if c.tree_size >= seq), None)
            ref = None if cp is None else cp.ref
            self.report.problems.append(
                {"seq": seq, "kind": kind, "detail": detail, "checkpoint": ref}
            )

    def original_seq(self, row: EventRow, depth: int = 3) -> int | None:
        """Where a genuine event was written: right after the event its ``prev_hash`` names
        (which may itself have been moved, hence the bounded recursion)."""
        if row.prev_hash == GENESIS_HASH:
            return 1 if hash_matches(row, 1) else None
        pred = self.session.exec(
            select(AuditEvent).where(col(AuditEvent.hash) == row.prev_hash)
        ).first()
        if pred is None:
            return None
        for pred_seq in (pred.seq, self.original_seq(pred, depth - 1) if depth else None):
            if pred_seq is not None and hash_matches(row, pred_seq + 1):
                return pred_seq + 1
        return None

    def step(self, row: StoredEvent, nxt: StoredEvent | None) -> None:
        bad = self._classify(row, nxt)
        if not bad or row.prev_hash == self.expected_prev:
            self.expected_prev = row.hash
        self.expected_seq = row.seq + 1
        self.previous_bad = bad
        self.frontier.append(stored_leaf(row.hash))
        self._check_checkpoints()

    def _classify(self, row: StoredEvent, nxt: StoredEvent | None) -> bool:
        if row.seq > self.head_seq:
            self.problem(row.seq, "forged-append", f"after the chain head (seq {self.head_seq})")
            return True
        if not hash_matches(row):
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
        if nxt is not None and not hash_matches(nxt) and self._shift_of(nxt) == shift:
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
            if cp.tree_size != self.frontier.size:
                continue
            if self.frontier.root().hex() == cp.root_hash:
                self.reproduced = cp.tree_size
                continue
            self._name_rewritten(cp)
            self.problem(cp.tree_size, "checkpoint-mismatch", f"root differs from {cp.label}")

    def _name_rewritten(self, cp: Anchor) -> None:
        """Name the first event whose leaf differs from ``cp``, unless a problem was already
        reported in the events it covers beyond the last reproduced checkpoint: bisected
        by ``cp``'s signed peaks, then exactly by the published leaves when there are."""
        lo, hi = self.reproduced, cp.tree_size
        if any(lo < p["seq"] <= hi for p in self.report.problems):
            return
        mine = self.frontier.peaks
        for (start, end), signed, own in zip(peak_ranges(hi), cp.peaks, mine, strict=False):
            if end > lo and own.hex() != signed:
                lo, hi = max(lo, start), end
                break
        seq = self._first_differing_leaf(lo, hi)
        if seq is not None:
            detail = f"its leaf differs from {cp.label}: rewritten, later hashes recomputed"
            self.problem(seq, "rewritten", detail)
        else:
            detail = f"a leaf among events {lo + 1}..{hi} differs from {cp.label}"
            self.problem(lo + 1, "rewritten", detail + ": rewritten, later hashes recomputed")

    def _first_differing_leaf(self, lo: int, hi: int) -> int | None:
        """The first event in ``lo + 1 .. hi`` whose hash differs from the published leaf
        (None without published leaves for that range)."""
        if self.store is None:
            return None
        stored = iter_rows(self.session, after=lo, upto=hi, columns=[EVENTS.c.hash])
        db = {row[-1]: stored_leaf(row[0]) for row in stored}
        for seq, leaf in iter_published_leaves(self.store, hi):
            if seq > lo and db.get(seq) != leaf:
                return seq
        return None

    def finish(self) -> None:
        last = self.expected_seq - 1
        if last < self.head_seq:
            self.problem(last + 1, "deleted", f"events {last + 1}..{self.head_seq} are missing")
        self.report.head_hash = self.expected_prev


def check_signatures(checkpoints: list[AuditCheckpoint], key: Ed25519PublicKey) -> list[int]:
    """Ids of checkpoints whose signature or recorded peaks do not hold."""
    return [cp.id or 0 for cp in checkpoints if not signature_holds(cp, key)]


def verify_chain(
    session: Session,
    key: Ed25519PublicKey | None = None,
    published: dict[int, str] | None = None,
    store: WitnessStore | None = None,
    seal_key: bytes | None = None,
    jobs: int = 1,
) -> ChainReport:
    """Recompute every hash, link and checkpoint root (and signatures when ``key`` is given).

    ``published`` adds the roots (``{size: root hex}``) of checkpoints verified outside
    the database, and ``store`` their leaves. Every checkpoint must be reproduced,
    including those beyond the chain head. With ``seal_key``, the events after the last
    checkpoint must carry the hub's seals (:mod:`hub.trail.seal`). ``jobs``: processes
    checking ranges of an untouched log at once on PostgreSQL (:mod:`hub.audit.scan`; the
    report is the same). Streams the events (memory stays flat); read-only; never raises
    on tampering.
    """
    report = _verify(session, key, published or {}, store, jobs)
    if seal_key is not None:
        _check_seals(session, report, seal_key)
    report.problems.sort(key=lambda p: int(p["seq"]))  # the first bad event comes first
    return report


def _verify(
    session: Session,
    key: Ed25519PublicKey | None,
    published: dict[int, str],
    store: WitnessStore | None,
    jobs: int,
) -> ChainReport:
    report = ChainReport()
    checkpoints = list_checkpoints(session)
    bad = check_signatures(checkpoints, key) if key is not None else []
    anchors = anchors_of([c for c in checkpoints if c.id not in bad], published)
    report.signed_sizes = [a.tree_size for a in anchors]
    base = purge_base(session)
    head_seq, head_hash = chain_head(session)
    walk = _Walk(
        session,
        report,
        anchors,
        frontier_of(base),
        expected_seq=(base.tree_size if base else 0) + 1,
        expected_prev=base.head_hash if base else GENESIS_HASH,
        head_seq=head_seq,
        store=store,
    )
    report.purged_up_to = base.tree_size if base else 0
    for cp_id in bad:
        walk.problem(0, "bad-signature", f"checkpoint {cp_id} signature or peaks invalid")
    _check_truncation(walk, anchors)
    fast = CleanScan(walk.expected_seq, walk.expected_prev, walk.frontier.copy())
    clean = scan_clean(session, fast, anchors, head_seq, jobs)
    if clean and fast.expected_prev == head_hash:
        report.events, report.head_hash = fast.events, fast.expected_prev
        report.checkpoints_checked = sum(1 for c in anchors if c.tree_size <= head_seq)
        return report
    _classify_all(walk)
    if not report.problems and report.head_hash != head_hash:
        walk.problem(
            head_seq,
            "head-mismatch",
            "the last event's hash differs from the chain head recorded when it was appended",
        )
    return report


def _check_seals(session: Session, report: ChainReport, key: bytes) -> None:
    """Name the first event after the last checkpoint that holds that the hub did not seal
    as stored (unless a problem is already reported at it)."""
    head = chain_head(session)[0]
    after = max([report.purged_up_to, *(s for s in report.signed_sizes if s <= head)])
    found = first_unsealed(session, key, after)
    if found is None or any(p["seq"] == found[0] for p in report.problems):
        return
    kind, detail = SEAL_PROBLEMS[found[1]]
    signed = min((s for s in report.signed_sizes if s >= found[0]), default=None)
    if signed is not None:  # a checkpoint beyond the head signed another event here
        kind = "rewritten"
        detail = (
            f"not the event the checkpoint of size {signed} signed at this place: "
            "the signed tail was truncated and refilled"
        )
    report.problems.append({"seq": found[0], "kind": kind, "detail": detail, "checkpoint": None})


SEAL_PROBLEMS = {
    SealState.REWRITTEN: (
        "rewritten",
        "appended by the hub, rewritten since (its seal no longer matches), "
        "after the last checkpoint",
    ),
    SealState.FORGED: (
        "forged-append",
        "not appended by the hub at this place (no valid seal), after the last checkpoint",
    ),
}


def _check_truncation(walk: _Walk, anchors: list[Anchor]) -> None:
    """Signed checkpoints beyond the chain head: their events were removed."""
    beyond = [a for a in anchors if a.tree_size > walk.head_seq]
    if beyond:
        last = beyond[-1]
        first = walk.head_seq + 1
        walk.problem(
            first,
            "truncated",
            f"events {first}..{last.tree_size} are signed by {last.label} "
            f"and missing: the chain head was moved back to {walk.head_seq}",
        )


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
