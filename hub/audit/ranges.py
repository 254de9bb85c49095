"""The fast pass's check of one range of the chain, in this process or a worker's.

A range is the events with ``after < seq <= upto`` (``upto`` None: to the end of the log).
:class:`RangeCheck` checks every ``seq`` in turn from ``after + 1``, each event's hash
recomputed over its stored previous hash, and each link to the event before it in the
range; it hashes the Merkle leaves into :class:`~hub.trail.merkle.Span` s cut at the
checkpoint sizes. On PostgreSQL its rows are raw (:data:`RAW_FIELDS`: the text columns as
the bytes stored, which :func:`raw_leaves` formats into the hashed bytes without decoding
them). What one range cannot know (whether its first event's previous hash is
the last hash of the range before, whether it ends where the next begins, the checkpoint
roots) the caller checks when it joins the ranges in order (:mod:`hub.audit.scan`), so a
log passes range by range exactly when it passes whole.

``python -m hub.audit.ranges`` is a worker: it reads a job (JSON) on its standard input,
reads its range on a connection of its own inside the snapshot the verifying transaction
exported (``pg_export_snapshot``: every range sees the same log), and writes its
:class:`RangeResult` as JSON on its standard output. It imports only psycopg, orjson and
the trail's hashing, so it starts in a fraction of a second.
"""

from __future__ import annotations

import binascii
import bisect
import gc
import hashlib
import json
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from typing import Any, NamedTuple

import orjson
import psycopg
from psycopg import sql

from hub.trail.canonical import audit_canonical
from hub.trail.hashing import UNENCODABLE, pg_hashed_columns
from hub.trail.merkle import Span

FETCH = 5_000
CHUNK = FETCH if psycopg.pq.version() >= 170000 else 1  # chunked rows need libpq 17
Row = Sequence[Any]  # a text row (StoredEvent field order) or a raw one (RAW_FIELDS)


@dataclass
class RangeResult:
    """What a range holds: ``count`` events from ``after + 1`` on, the previous hash its
    first event names and its last event's hash, its Merkle spans; ``ok`` False at the
    first event whose number, link or hash is off (the rest is then meaningless)."""

    after: int
    count: int = 0
    first_prev: str = ""  # both "" while count is 0
    last_hash: str = ""
    ok: bool = True
    spans: list[Span] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        spans = [[s.start, s.end, [[r.hex(), h] for r, h in s.nodes]] for s in self.spans]
        return {**vars(self), "spans": spans}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RangeResult:
        spans = [
            Span(start, end, [(bytes.fromhex(r), int(h)) for r, h in nodes])
            for start, end, nodes in data["spans"]
        ]
        return cls(**{**data, "spans": spans})


class RowFormat(NamedTuple):
    """How a range's rows hold an event: where its previous hash and its hash are, how the
    hashes read as text, and the check of a batch (:func:`text_leaves` or
    :func:`raw_leaves`: rows, the first one's ``seq``, the previous hash as text)."""

    prev_at: int
    hash_at: int
    text: Callable[[Any], str]
    leaves: Callable[[list[Row], int, str], list[bytes] | None]


class RangeCheck:
    """Checks the rows of one range fed in ``seq`` order (see the module's docstring).

    ``cuts``: the checkpoint sizes; the Merkle leaves are hashed up to the largest only.
    """

    def __init__(self, after: int, cuts: Sequence[int], rows: RowFormat) -> None:
        self.result = RangeResult(after)
        self._rows = rows
        self._tree_upto = max(cuts, default=0)
        self._cuts = sorted(set(cuts))
        if after < self._tree_upto:
            self.result.spans.append(Span(after, after))

    def feed(self, rows: list[Row]) -> bool:
        """Check ``rows``, the next ones of the range; False (for good) at an anomaly."""
        result, form = self.result, self._rows
        if not rows or not result.ok:
            return result.ok
        if not result.count:
            result.first_prev = result.last_hash = form.text(rows[0][form.prev_at])
        leaves = form.leaves(rows, result.after + result.count + 1, result.last_hash)
        if leaves is None:
            result.ok = False
            return False
        result.count += len(rows)
        result.last_hash = form.text(rows[-1][form.hash_at])
        self._grow(leaves)
        return True

    def _grow(self, leaves: list[bytes]) -> None:
        spans, done = self.result.spans, 0
        while done < len(leaves) and spans and spans[-1].end < self._tree_upto:
            span = spans[-1]
            cut = self._cuts[bisect.bisect_right(self._cuts, span.end)]
            take = min(len(leaves) - done, cut - span.end)
            span.extend(leaves[done : done + take])
            done += take
            if span.end == cut < self._tree_upto:
                spans.append(Span(cut, cut))


def text_leaves(rows: list[Row], seq: int, prev: str) -> list[bytes] | None:
    """Check ``rows`` (``StoredEvent`` order, JSON columns parsed; numbered from ``seq``,
    the first linked to ``prev``); return their raw hashes (the Merkle leaves' data), or
    None at the first anomaly.

    Each body is hashed as ``orjson`` encodes it, sorted, and only when that hash differs,
    as RFC 8785 encodes it: a match on ``orjson``'s bytes proves the event the hub hashed.
    Those bytes parse back to the stored content, and RFC 8785 gives one text per JSON
    value, so bytes equal to the hub's RFC 8785 bytes (a SHA-256 match) hold the same
    content. They differ only where ``orjson`` is not RFC 8785 (floats, integers beyond
    2^53, keys outside the Basic Multilingual Plane): those events take the exact encoder.
    A hash that only ``orjson``'s bytes give is one the hub never wrote; its event stands
    after the last signed checkpoint (no root would hold otherwise), where its seal names it.
    """
    try:
        return _linked_leaves(rows, seq, prev)
    except UNENCODABLE:  # a tampered column of the wrong type: the walk classifies it
        return None


def _linked_leaves(rows: list[Row], seq: int, prev: str) -> list[bytes] | None:
    """:func:`text_leaves`, raising ``ValueError``/``TypeError`` on a column of the wrong
    type (a hash that is not hex, details that are not JSON...)."""
    sha256, dumps, sort, fromhex = hashlib.sha256, orjson.dumps, orjson.OPT_SORT_KEYS, bytes.fromhex
    leaves: list[bytes] = []
    for r in rows:
        if r[0] != seq or r[16] != prev:
            return None
        body = {  # built in sorted key order, which orjson then sorts faster
            "action": r[6],
            "actor": {"org": r[5], "role": r[4], "sub": r[3]},
            "decision": r[9],
            "details": r[15],
            "event_id": r[1],
            "prev_hash": prev,
            "reasons": r[10],
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
    return leaves


TEXT_FIELDS = (
    *("seq", "event_id", "ts", "actor_sub", "actor_role", "actor_org", "action"),
    *("resource_type", "resource_id", "decision", "reasons", "contract_id", "project_id"),
    *("dataset_id", "purpose", "details", "prev_hash", "hash"),
)
"""The columns of a text row, :func:`text_leaves`'s (``hub.trail.stream.StoredEvent``'s)."""
RAW_FIELDS = (
    *("seq", "prev_hash", "hash", "details", "reasons", "action", "actor_org", "actor_role"),
    *("actor_sub", "decision", "event_id", "resource_id", "resource_type", "ts"),
    *("contract_id", "dataset_id", "project_id", "purpose"),
)
"""The columns of a raw row: ``seq``, the hashes, the JSON columns, then the 13 text
columns hashed as they are, in the order of the hashed body's sorted keys."""
PG_RAW_TS = "(ts AT TIME ZONE 'UTC')::text"
"""The raw rows' timestamp: as PostgreSQL writes a UTC time (``DateStyle`` ISO, which
:func:`pg_batches` sets), ``YYYY-MM-DD HH:MM:SS`` and a fraction of 1 to 6 digits when not
zero; it costs the server about 0.6 µs an event less than ``to_char``'s hashed text."""
PG_RAW_COLUMNS = pg_hashed_columns(RAW_FIELDS, ts=PG_RAW_TS)
_TS_TAILS = {19: b".000000+00:00"} | {n: b"0" * (26 - n) + b"+00:00" for n in range(21, 27)}
"""What completes such a text of ``n`` bytes into the text hashed (``utc_text``'s) once its
space is a ``T``; any other text (no time the hub writes: a year past 9999 or BC,
infinity) gets nothing, and no hash matches it."""


def hashed_ts(text: bytes) -> bytes:
    """The hashed text of a timestamp read as :data:`PG_RAW_TS` (:func:`_raw_linked_leaves`
    joins its two parts into the body apart, with :data:`_AFTER_TS`)."""
    return bytes.replace(text, b" ", b"T", 1) + _TS_TAILS.get(len(text), b"")


_TEXT_ORDER = tuple(RAW_FIELDS.index(name) for name in TEXT_FIELDS)
_BODY = (
    '%b{{"action":{},"actor":{{"org":{},"role":{},"sub":{}}},"decision":{},"details":%b,'
    '"event_id":{},"prev_hash":"%b","reasons":%b,"resource":{{"id":{},"type":{}}},"seq":%d,'
    '"ts":{},"why":{{"contract_id":{},"dataset_id":{},"project_id":{},"purpose":{}}}}}'
)


@cache
def hashed_template(nulls: tuple[bool, ...]) -> bytes:
    """What SHA-256 hashes for an event, as a ``bytes`` format taking the previous hash,
    the text columns (``RAW_FIELDS[5:]``, but those that are NULL: ``nulls``), the JSON
    columns' RFC 8785 text and the ``seq`` in the order of :func:`raw_leaves`."""
    return _BODY.format(*("null" if null else '"%b"' for null in nulls)).encode()


_NO_NULLS = hashed_template((False,) * (len(RAW_FIELDS) - 5))
_PIECES = tuple(re.split(rb"%[bd]", _NO_NULLS))
"""The bytes between :data:`_NO_NULLS`'s arguments (the first empty): joined with them, the
same body, at a fraction of the cost of formatting it (about 100 instructions a piece)."""
_AFTER_TS = {n: tail + _PIECES[14] for n, tail in _TS_TAILS.items()}
"""The piece after the timestamp, by the length of its raw text, with what completes it
(:func:`hashed_ts`: the join takes the tail at no cost of its own)."""
_QUOTE, _BACKSLASH = ord('"'), ord("\\")  # as integers, ``in`` looks for the byte directly


def raw_leaves(rows: list[Row], seq: int, prev: str) -> list[bytes] | None:
    """:func:`text_leaves` for raw rows (:data:`RAW_FIELDS`, text as the UTF-8 bytes stored,
    ``seq`` an integer), each body's bytes formatted from them: a text holding no quote and
    no backslash is its own RFC 8785 string between quotes (control characters, which RFC
    8785 escapes, leave bytes that never match a hash), and the JSON columns are
    re-encoded as :func:`text_leaves` does. A row those bytes do not match (or holding a
    quote, a backslash) is decoded and checked by :func:`text_leaves`."""
    try:
        return _raw_linked_leaves(rows, seq, prev.encode("utf-8", "surrogateescape"))
    except UNENCODABLE:  # a tampered column of the wrong type: the walk classifies it
        return None


def _raw_linked_leaves(rows: list[Row], seq: int, prev: bytes) -> list[bytes] | None:
    sha256, dumps, loads, sort, join = (
        *(hashlib.sha256, orjson.dumps, orjson.loads, orjson.OPT_SORT_KEYS, b"".join),
    )
    unhex, replace, after_ts = binascii.unhexlify, bytes.replace, _AFTER_TS.get
    _, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16, p17, p18 = _PIECES
    leaves: list[bytes] = []
    for r in rows:
        (number, link, hexhash, details, reasons, action, org, role, sub, decision, event_id,
         resource, kind, ts, contract, dataset, project, purpose) = r  # fmt: skip
        if number != seq or link != prev:
            return None
        try:
            details = dumps(loads(details), option=sort)
            reasons = b"[]" if reasons == b"[]" else dumps(loads(reasons), option=sort)
        except orjson.JSONEncodeError:  # too deep for orjson: bytes no hash matches
            details = reasons = b""
        try:  # _NO_NULLS % (prev, *r[5:10], details, r[10], prev, reasons, *r[11:13], seq, ...)
            text = join(r[5:])
            hashed = join((
                prev, p1, action, p2, org, p3, role, p4, sub, p5, decision, p6, details, p7,
                event_id, p8, prev, p9, reasons, p10, resource, p11, kind, p12,
                b"%d" % seq, p13, replace(ts, b" ", b"T", 1), after_ts(len(ts), p14),
                contract, p15, dataset, p16, project, p17,
                purpose, p18,
            ))  # fmt: skip
        except TypeError:  # a NULL column
            ts = hashed_ts(ts)
            args = (prev, *r[5:10], details, r[10], prev, reasons, r[11], r[12], seq, ts, *r[14:])
            text = join([value for value in r[5:] if value is not None])
            template = hashed_template(tuple(value is None for value in r[5:]))
            hashed = template % tuple(arg for arg in args if arg is not None)
        stored = unhex(hexhash)
        if (
            _QUOTE in text or _BACKSLASH in text or sha256(hashed).digest() != stored
        ) and not text_leaves([_decoded(r)], seq, _text_of(prev)):
            return None
        leaves.append(stored)
        prev = hexhash
        seq += 1
    return leaves


def _decoded(raw: Row) -> Row:
    """A raw row as :func:`text_leaves` takes it (raises ``ValueError`` on text that is not
    UTF-8 or JSON columns that are not JSON)."""
    row = [raw[i].decode() if isinstance(raw[i], bytes) else raw[i] for i in _TEXT_ORDER]
    row[2] = hashed_ts(raw[13]).decode()
    row[10], row[15] = orjson.loads(row[10]), orjson.loads(row[15])
    return row


def _text_of(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


TEXT_ROWS = RowFormat(16, 17, str, text_leaves)
"""Rows in ``StoredEvent`` order, JSON columns parsed (``hub.trail.stream.iter_stored``)."""
RAW_ROWS = RowFormat(1, 2, _text_of, raw_leaves)
"""Raw rows (:data:`RAW_FIELDS`), as :func:`pg_batches` streams them."""


def pg_batches(raw: psycopg.Connection[Any], after: int, upto: int | None) -> Iterator[list[Row]]:
    """The range's raw rows (:data:`RAW_FIELDS`) in ``seq`` order, ``FETCH`` at a time,
    streamed by one query (libpq's chunked rows: PostgreSQL spends about a third less CPU
    than answering a server-side cursor's FETCHes) in a savepoint of ``raw``'s
    transaction: a stream closed early is cancelled, which rolls back to the savepoint
    only. Text comes as the bytes stored: the client encoding is ``SQL_ASCII`` (no
    conversion; psycopg then loads text as bytes) within the savepoint, and set back after.
    """
    bound = "" if upto is None else " AND seq <= %s"
    query = f"SELECT {PG_RAW_COLUMNS} FROM audit_event WHERE seq > %s{bound} ORDER BY seq"  # noqa: S608
    params = (after,) if upto is None else (after, upto)
    encoding = sql.Literal(raw.info.parameter_status("client_encoding") or "UTF8")
    style = sql.Literal(raw.info.parameter_status("DateStyle") or "ISO, MDY")
    with raw.transaction():
        raw.execute("SET client_encoding TO 'SQL_ASCII'")
        raw.execute("SET DateStyle TO 'ISO'")
        rows = raw.cursor().stream(query, params, size=CHUNK)
        try:
            while batch := list(islice(rows, FETCH)):
                yield batch
        finally:
            rows.close()  # type: ignore[attr-defined]  # cancels a stream not read to its end
        raw.execute(sql.SQL("SET client_encoding TO {}").format(encoding))
        raw.execute(sql.SQL("SET DateStyle TO {}").format(style))


def prefetched(batches: Iterator[list[Row]]) -> Iterator[list[Row]]:
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


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile (unless it was off already): a scan
    allocates millions of short-lived tuples and no cycle, and the collections they would
    trigger walk every object of the process, a large one for the hub's own."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def check_batches(
    batches: Iterator[list[Row]], after: int, cuts: Sequence[int], rows_format: RowFormat
) -> RangeResult:
    """Check a range's ``batches`` (closed once done: see :func:`prefetched`), the
    garbage collector paused meanwhile."""
    check = RangeCheck(after, cuts, rows_format)
    try:
        with collector_paused():
            for rows in batches:
                if not check.feed(rows):
                    break
    finally:
        batches.close()  # type: ignore[attr-defined]
    return check.result


def run_job(job: dict[str, Any]) -> RangeResult:
    """A worker's job: ``conninfo``, ``snapshot`` (exported by the verifying transaction),
    ``after``, ``upto`` and ``cuts``."""
    with psycopg.connect(job["conninfo"]) as raw:
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.read_only = True
        raw.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(job["snapshot"])))
        batches = prefetched(pg_batches(raw, job["after"], job["upto"]))
        return check_batches(batches, job["after"], job["cuts"], RAW_ROWS)


def main() -> None:
    """Read a job on standard input, write its result on standard output."""
    job = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(run_job(job).to_json()))


if __name__ == "__main__":
    main()
