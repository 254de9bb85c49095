"""The fast pass of verification: one tight loop over an untouched chain.

:func:`scan_clean` streams the events as plain tuples (a server-side cursor on
PostgreSQL, JSON columns as text), recomputes each hash with the RFC 8785 fast path,
checks ``seq`` and the link to the previous hash, and grows the Merkle tree only as far
as the last checkpoint (whole perfect subtrees at a time). It stops at the first anomaly:
the caller then runs the full classifying walk of :mod:`hub.audit.verify`, so the
problems reported are the same as without this pass.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlmodel import Session

from hub.trail.canonical import audit_canonical, plain_json
from hub.trail.merkle import Frontier
from hub.trail.stream import PG_COLUMNS, iter_stored

FETCH = 5_000
Row = Sequence[Any]  # StoredEvent field order; reasons and details parsed or JSON text


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


def _pg_batches(session: Session, after: int) -> Iterator[list[Row]]:
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor(name="edh_audit_scan") as cur:
        sql = f"SELECT {PG_COLUMNS} FROM audit_event WHERE seq > %s ORDER BY seq"  # noqa: S608
        cur.execute(sql, (after,))
        while rows := cur.fetchmany(FETCH):
            yield rows


def _prefetched(batches: Iterator[list[Row]]) -> Iterator[list[Row]]:
    """``batches``, fetched one step ahead by a thread of their own so the database
    produces the next batch while this one is hashed. Closing this generator stops it."""
    ready: queue.Queue[list[Row] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: list[Row] | BaseException | None) -> None:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for rows in batches:
                offer(rows)
                if stop.is_set():
                    break
            offer(None)
        except BaseException as exc:  # handed to the consumer, re-raised there
            offer(exc)
        finally:
            batches.close()  # type: ignore[attr-defined]

    worker = threading.Thread(target=produce, name="edh-audit-scan", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _generic_batches(session: Session, after: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for event in iter_stored(session, after=after):
        batch.append(event)
        if len(batch) == FETCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _identity(value: Any) -> Any:
    return value


def _chain_ok(state: CleanScan, rows: list[Row], loads: Callable[[Any], Any]) -> bool:
    """Check ``rows`` (hash, seq, link) and advance ``state``; False at the first anomaly."""
    sha256, dumps, sort = hashlib.sha256, orjson.dumps, orjson.OPT_SORT_KEYS
    seq, prev = state.expected_seq, state.expected_prev
    for r in rows:
        if r[0] != seq or r[16] != prev:
            return False
        reasons = [] if r[10] == "[]" else loads(r[10])
        details = loads(r[15])
        body = {
            "seq": seq,
            "event_id": r[1],
            "ts": r[2],
            "actor": {"sub": r[3], "role": r[4], "org": r[5]},
            "action": r[6],
            "resource": {"type": r[7], "id": r[8]},
            "decision": r[9],
            "reasons": reasons,
            "why": {
                "contract_id": r[11],
                "project_id": r[12],
                "dataset_id": r[13],
                "purpose": r[14],
            },
            "details": details,
            "prev_hash": prev,
        }
        try:  # audit_canonical, inlined for the usual shape
            fast = plain_json(details) and (not reasons or plain_json(reasons))
            data = dumps(body, option=sort) if fast else audit_canonical(body)
        except orjson.JSONEncodeError:
            data = audit_canonical(body)
        if sha256(prev.encode("ascii") + data).hexdigest() != r[17]:
            return False
        prev = r[17]
        seq += 1
    state.expected_seq, state.expected_prev = seq, prev
    state.events += len(rows)
    return True


def _grow_tree(state: CleanScan, rows: list[Row], checkpoints: Sequence[SignedRoot]) -> bool:
    """Extend the Merkle tree (up to the last checkpoint); False if a checkpoint root differs."""
    frontier = state.frontier
    last = max((cp.tree_size for cp in checkpoints), default=0)
    want = min(len(rows), last - frontier.size)
    if want <= 0:
        return True
    start = frontier.size
    stops = sorted(cp.tree_size for cp in checkpoints if start < cp.tree_size <= start + want)
    roots: dict[int, set[str]] = {}
    for cp in checkpoints:
        roots.setdefault(cp.tree_size, set()).add(cp.root_hash)
    done = 0
    for stop in [*stops, start + want]:
        frontier.extend([bytes.fromhex(r[17]) for r in rows[done : stop - start]])
        done = stop - start
        if stop in roots and roots[stop] != {frontier.root().hex()}:
            return False
    return True


def scan_clean(
    session: Session, state: CleanScan, checkpoints: Sequence[SignedRoot], head_seq: int
) -> bool:
    """True when every event after ``state``'s position hashes, links and numbers correctly,
    ends at ``head_seq`` and matches every checkpoint root; ``state`` is then at the end.

    Read-only; False as soon as anything is off (the caller must then classify).
    """
    after = state.expected_seq - 1
    postgres = session.get_bind().dialect.name == "postgresql"
    batches = (
        _prefetched(_pg_batches(session, after)) if postgres else _generic_batches(session, after)
    )
    loads = orjson.loads if postgres else _identity
    try:
        for rows in batches:
            if not _chain_ok(state, rows, loads) or not _grow_tree(state, rows, checkpoints):
                return False
    finally:
        batches.close()  # type: ignore[attr-defined]
    return state.expected_seq - 1 == head_seq
