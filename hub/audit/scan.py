"""The fast pass of verification: one tight loop over an untouched chain.

:func:`scan_clean` streams the events as plain tuples (a server-side cursor on
PostgreSQL, JSON columns as text), recomputes each hash (over ``orjson``'s bytes, and
RFC 8785's only where they differ: see :func:`_chain_leaves`), checks ``seq`` and the
link to the previous hash, and grows the Merkle tree only as far
as the last checkpoint (whole perfect subtrees at a time). It stops at the first anomaly:
the caller then runs the full classifying walk of :mod:`hub.audit.verify`, so the
problems reported are the same as without this pass (but for an event someone else hashed
over ``orjson``'s bytes, which its seal names instead: see :func:`_chain_leaves`).
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

from hub.trail.canonical import audit_canonical
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


def _chain_leaves(
    state: CleanScan, rows: list[Row], loads: Callable[[Any], Any]
) -> list[bytes] | None:
    """Check ``rows`` (hash, seq, link) and advance ``state``; return their raw hashes (the
    Merkle leaves' data), or None at the first anomaly.

    Each body is hashed as ``orjson`` encodes it, sorted, and only when that hash differs,
    as RFC 8785 encodes it: a match on ``orjson``'s bytes proves the event the hub hashed.
    Those bytes parse back to the stored content, and RFC 8785 gives one text per JSON
    value, so bytes equal to the hub's RFC 8785 bytes (a SHA-256 match) hold the same
    content. They differ only where ``orjson`` is not RFC 8785 (floats, integers beyond
    2^53, keys outside the Basic Multilingual Plane): those events take the exact encoder.
    A hash that only ``orjson``'s bytes give is one the hub never wrote; its event stands
    after the last signed checkpoint (no root would hold otherwise), where its seal names it.
    """
    sha256, dumps, sort, fromhex = hashlib.sha256, orjson.dumps, orjson.OPT_SORT_KEYS, bytes.fromhex
    seq, prev = state.expected_seq, state.expected_prev
    leaves: list[bytes] = []
    for r in rows:
        if r[0] != seq or r[16] != prev:
            return None
        body = {  # built in sorted key order, which orjson then sorts faster
            "action": r[6],
            "actor": {"org": r[5], "role": r[4], "sub": r[3]},
            "decision": r[9],
            "details": loads(r[15]),
            "event_id": r[1],
            "prev_hash": prev,
            "reasons": [] if r[10] == "[]" else loads(r[10]),
            "resource": {"id": r[8], "type": r[7]},
            "seq": seq,
            "ts": r[2],
            "why": {
                "contract_id": r[11],
                "dataset_id": r[13],
                "project_id": r[12],
                "purpose": r[14],
            },
        }
        link, stored = prev.encode("ascii"), fromhex(r[17])
        try:
            matches = sha256(link + dumps(body, option=sort)).digest() == stored
        except orjson.JSONEncodeError:
            matches = False
        if not matches and sha256(link + audit_canonical(body)).digest() != stored:
            return None
        leaves.append(stored)
        prev = r[17]
        seq += 1
    state.expected_seq, state.expected_prev = seq, prev
    state.events += len(rows)
    return leaves


def _grow_tree(state: CleanScan, leaves: list[bytes], checkpoints: Sequence[SignedRoot]) -> bool:
    """Extend the Merkle tree (up to the last checkpoint); False if a checkpoint root differs."""
    frontier = state.frontier
    last = max((cp.tree_size for cp in checkpoints), default=0)
    want = min(len(leaves), last - frontier.size)
    if want <= 0:
        return True
    start = frontier.size
    stops = sorted(cp.tree_size for cp in checkpoints if start < cp.tree_size <= start + want)
    roots: dict[int, set[str]] = {}
    for cp in checkpoints:
        roots.setdefault(cp.tree_size, set()).add(cp.root_hash)
    done = 0
    for stop in [*stops, start + want]:
        frontier.extend(leaves[done : stop - start])
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
            leaves = _chain_leaves(state, rows, loads)
            if leaves is None or not _grow_tree(state, leaves, checkpoints):
                return False
    finally:
        batches.close()  # type: ignore[attr-defined]
    return state.expected_seq - 1 == head_seq
