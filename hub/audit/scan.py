"""The fast pass of verification: tight loops over an untouched chain, range by range.

:func:`scan_clean` streams the events as plain tuples (one streamed query per range on
PostgreSQL, text columns as the bytes stored), recomputes each hash, checks ``seq`` and
the link to the previous hash, and grows the Merkle tree only as far as the last
checkpoint (whole perfect subtrees at a time): see :mod:`hub.audit.ranges`. On
PostgreSQL a large log is split into ``jobs`` ranges of ``seq`` checked at once, the
first in this process and each other by a worker process on a connection of its own, all
inside the snapshot this transaction exports (so they read the same log as one cursor
would); the ranges are then joined in order: each must start where the one before ended,
its first event linked to that one's last hash, and the Merkle spans pushed in order
must give every checkpoint's root. It stops at the first anomaly: the caller then runs
the full classifying walk of :mod:`hub.audit.verify`, so the problems reported are the
same as without this pass (but for an event someone else hashed over ``orjson``'s bytes,
which its seal names instead: see :func:`hub.audit.ranges.text_leaves`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from psycopg.conninfo import make_conninfo
from sqlmodel import Session

from hub.audit.ranges import (
    FETCH,
    RAW_ROWS,
    TEXT_ROWS,
    RangeResult,
    Row,
    check_batches,
    pg_batches,
    prefetched,
    run_job,
)
from hub.trail.merkle import Frontier
from hub.trail.stream import iter_stored

MIN_JOB_EVENTS = 100_000  # a worker process costs about 0.1 s of CPU to start
log = logging.getLogger("hub.audit")
# where this checkout's ``hub`` package lives: workers run the same code as the caller
_CODE_ROOT = str(Path(__file__).resolve().parents[2])


class SignedRoot(Protocol):
    """A signed tree head: the root the first ``tree_size`` events must reproduce."""

    @property
    def tree_size(self) -> int: ...
    @property
    def root_hash(self) -> str: ...


@dataclass
class CleanScan:
    """Where the fast pass stands: the next expected ``seq`` and link, the Merkle tree."""

    expected_seq: int
    expected_prev: str
    frontier: Frontier
    events: int = 0


def _generic_batches(session: Session, after: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for event in iter_stored(session, after=after):
        batch.append(event)
        if len(batch) == FETCH:
            yield batch
            batch = []
    if batch:
        yield batch


def plan_ranges(after: int, head_seq: int, jobs: int) -> list[tuple[int, int | None]]:
    """``(after, upto)`` of each range: ``jobs`` at most, ``MIN_JOB_EVENTS`` events at least
    each (but one), the last open-ended (events beyond the head must be seen)."""
    count = max(1, min(jobs, (head_seq - after) // MIN_JOB_EVENTS))
    step = (head_seq - after) // count
    bounds = [after + i * step for i in range(count)]
    return list(zip(bounds, [*bounds[1:], None], strict=True))


class _Worker:
    """One range checked by ``python -m hub.audit.ranges`` (see there), started at once;
    a worker that cannot start or fails leaves its range to this process."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        path = os.pathsep.join(p for p in (_CODE_ROOT, os.environ.get("PYTHONPATH")) if p)
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "hub.audit.ranges"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
            with self.proc.stdin:  # type: ignore[union-attr]
                self.proc.stdin.write(json.dumps(job).encode())  # type: ignore[union-attr]
        except OSError:
            log.warning("audit verification worker did not start", exc_info=True)

    def result(self) -> RangeResult:
        """The worker's result, or the range checked here when the worker failed."""
        if self.proc is not None:
            with self.proc.stdout:  # type: ignore[union-attr]
                out = self.proc.stdout.read()  # type: ignore[union-attr]
            if self.proc.wait() == 0:
                try:
                    return RangeResult.from_json(json.loads(out))
                except (ValueError, KeyError, TypeError):
                    pass
            log.warning("audit verification worker failed (exit %s)", self.proc.returncode)
        return run_job(self.job)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.proc.wait()


def _join(
    state: CleanScan, result: RangeResult, upto: int | None, roots: dict[int, set[str]]
) -> bool:
    """Append a range's result to ``state``: False unless it starts where ``state`` stands,
    fills its range (up to ``upto``), and its spans give every checkpoint's root."""
    if not result.ok or result.after != state.expected_seq - 1:
        return False
    if upto is not None and result.count != upto - result.after:
        return False
    if result.count and result.first_prev != state.expected_prev:
        return False
    frontier = state.frontier
    for span in result.spans:
        if span.start != frontier.size:
            return False
        for root, height in span.nodes:
            frontier.push(root, height)
        if span.end in roots and roots[span.end] != {frontier.root().hex()}:
            return False
    state.expected_seq += result.count
    state.expected_prev = result.last_hash or state.expected_prev
    state.events += result.count
    return True


def _cuts_within(cuts: list[int], after: int, upto: int | None) -> list[int]:
    """The cuts a range needs: those inside it, and the last (where the tree stops)."""
    inside = [c for c in cuts if after < c and (upto is None or c <= upto)]
    return [*inside, *cuts[-1:]]


def _results(
    session: Session, ranges: list[tuple[int, int | None]], cuts: list[int]
) -> Iterator[RangeResult]:
    """The ranges' results in order (several on PostgreSQL only: see :func:`plan_ranges`)."""
    if session.get_bind().dialect.name == "postgresql":
        yield from _pg_results(session, ranges, cuts)
        return
    after = ranges[0][0]
    yield check_batches(_generic_batches(session, after), after, cuts, TEXT_ROWS)


def _pg_results(
    session: Session, ranges: list[tuple[int, int | None]], cuts: list[int]
) -> Iterator[RangeResult]:
    """The ranges' results in order: one range on ``session``'s own connection; several, the
    first in this process and the others by workers, in the snapshot it exports."""
    raw: Any = session.connection().connection.driver_connection
    if len(ranges) == 1:
        after = ranges[0][0]
        batches = prefetched(pg_batches(raw, after, None))
        yield check_batches(batches, after, cuts, RAW_ROWS)
        return
    snapshot = raw.execute("SELECT pg_export_snapshot()").fetchone()[0]
    conninfo = make_conninfo(raw.info.dsn, password=raw.info.password or None)
    jobs = [
        {"conninfo": conninfo, "snapshot": snapshot}
        | {"after": after, "upto": upto, "cuts": _cuts_within(cuts, after, upto)}
        for after, upto in ranges
    ]
    workers: list[_Worker] = []
    try:
        workers.extend(_Worker(job) for job in jobs[1:])
        yield run_job(jobs[0])
        for worker in workers:
            yield worker.result()
    finally:
        for worker in workers:
            worker.stop()


def scan_clean(
    session: Session,
    state: CleanScan,
    checkpoints: Sequence[SignedRoot],
    head_seq: int,
    jobs: int = 1,
) -> bool:
    """True when every event after ``state``'s position hashes, links and numbers correctly,
    ends at ``head_seq`` and matches every checkpoint root; ``state`` is then at the end.

    ``jobs``: how many ranges (processes) at most on PostgreSQL. Read-only; False as soon
    as anything is off (the caller must then classify).
    """
    after = state.expected_seq - 1
    cuts = sorted({cp.tree_size for cp in checkpoints})
    roots: dict[int, set[str]] = {}
    for cp in checkpoints:
        roots.setdefault(cp.tree_size, set()).add(cp.root_hash)
    postgres = session.get_bind().dialect.name == "postgresql"
    ranges = plan_ranges(after, head_seq, jobs if postgres else 1)
    results = _results(session, ranges, cuts)
    try:
        for (_, upto), result in zip(ranges, results, strict=True):
            if not _join(state, result, upto, roots):
                return False
    finally:
        results.close()  # type: ignore[attr-defined]
    return state.expected_seq - 1 == head_seq
