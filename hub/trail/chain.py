"""The chain itself: its head, and sealing of pending and stand-alone events.

``record`` (see :mod:`hub.trail.writer`) only inserts the event into ``audit_pending`` in
the caller's transaction, so concurrent requests commit in parallel (PostgreSQL groups
their commits). Right after a transaction that recorded events commits, the engine's
:class:`GroupCommitter` runs :func:`seal`: it locks the head row and moves every committed
pending event into ``audit_event`` in pending order, giving each its ``seq``,
``prev_hash`` and ``hash``, then chains the stand-alone events handed to it
(``record_now``): one lock and one commit for a whole batch. Anything left pending by a
crash is sealed by the next seal (every append, verification, checkpoint or purge seals
first).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from psycopg import ClientCursor
from psycopg import Connection as DriverConnection
from psycopg.rows import dict_row
from sqlalchemy import (
    JSON,
    Connection,
    Insert,
    Table,
    bindparam,
    delete,
    event,
    insert,
    text,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Compiled, Dialect, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session

from hub.db import base_engine, make_engine
from hub.errors import HubError
from hub.trail.hashing import compute_hash
from hub.trail.models import GENESIS_HASH, AuditEvent, AuditHead, AuditPending
from hub.trail.seal import event_seal, seal_key

CHAIN_LOCK_KEY = 0x45444841  # "EDHA": the advisory lock guarding the chain head
PENDING_FLAG = "edh_audit_pending"
SEAL_BATCH = 5000
COPY_FROM = 8  # rows from which COPY beats INSERT
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
PENDING = AuditPending.__table__  # type: ignore[attr-defined]
HEAD = AuditHead.__table__  # type: ignore[attr-defined]
LOCK = text("SELECT pg_advisory_xact_lock(:k)")
log = logging.getLogger("hub.audit")


# Built once: each seal runs them, and building a statement costs more than running it.
READ_HEAD = sa_select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)
LOCK_HEAD = READ_HEAD.with_for_update()
PENDING_PAGE = (
    sa_select(PENDING)
    .where(PENDING.c.id > bindparam("after"))
    .order_by(PENDING.c.id)
    .limit(SEAL_BATCH)
)
MOVE_HEAD = update(HEAD).where(HEAD.c.id == 1).values(seq=bindparam("s"), hash=bindparam("h"))


def _read_head(conn: Connection, *, lock: bool) -> tuple[int, str] | None:
    row = conn.execute(LOCK_HEAD if lock else READ_HEAD).first()
    return (row[0], row[1]) if row is not None else None


def _create_head(conn: Connection) -> tuple[int, str]:
    """The head row, created from the last event when missing (under the advisory lock,
    so two first seals cannot both create it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(LOCK, {"k": CHAIN_LOCK_KEY})
    head = _read_head(conn, lock=True)
    if head is not None:
        return head
    query = sa_select(EVENTS.c.seq, EVENTS.c.hash).order_by(EVENTS.c.seq.desc()).limit(1)
    last = conn.execute(query).first()
    seq, hash_ = (last[0], last[1]) if last else (0, GENESIS_HASH)
    conn.execute(insert(HEAD).values(id=1, seq=seq, hash=hash_))
    return seq, hash_


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head until the transaction ends and return its (seq, hash), (0,
    genesis) when empty: the lock every seal takes (a row lock; SQLite writers serialise)."""
    return _read_head(conn, lock=True) or _create_head(conn)


def chain_head(session: Session) -> tuple[int, str]:
    """The last (seq, hash) of the chain, (0, genesis) when empty, without locking it."""
    conn = session.connection()
    return _read_head(conn, lock=False) or _create_head(conn)


class _Chained:
    """A pending row placed in the chain: its attributes (what ``compute_hash`` reads) are
    the event's columns, every pending column but ``id``, then ``seq``, ``prev_hash``,
    ``hash`` and ``seal``."""

    def __init__(self, row: dict[str, Any], seq: int, prev_hash: str, key: bytes) -> None:
        self.__dict__.update(row, seq=seq, prev_hash=prev_hash)
        self.__dict__.pop("id", None)
        self.hash = compute_hash(self)  # type: ignore[arg-type]
        self.seal = event_seal(key, seq, row["event_id"], self.hash)


def _chain(
    rows: list[dict[str, Any]], head: tuple[int, str], key: bytes
) -> tuple[list[dict[str, Any]], int, str]:
    """``rows`` as events placed after ``head``; returns them and the new head."""
    events: list[dict[str, Any]] = []
    seq, prev_hash = head
    for row in rows:
        seq += 1
        chained = _Chained(row, seq, prev_hash, key)
        events.append(vars(chained))
        prev_hash = chained.hash
    return events, seq, prev_hash


def seal(session: Session, new_rows: Sequence[dict[str, Any]] = ()) -> int:
    """Chain every committed pending event, oldest first, then ``new_rows`` (pending-row
    dicts, see :mod:`hub.trail.writer`); returns how many events were chained.

    Runs in ``session``'s transaction with the chain head locked; idempotent (a second
    call finds nothing pending). Raises only database errors.
    """
    bind = session.get_bind()
    key = seal_key(bind if isinstance(bind, Engine) else bind.engine)
    return seal_on(session.connection(), new_rows, key)


def seal_on(
    conn: Connection, new_rows: Sequence[dict[str, Any]] = (), key: bytes | None = None
) -> int:
    """:func:`seal` on a plain connection (what the group committer uses), each event
    sealed with ``key`` (see :mod:`hub.trail.seal`); ``AuditUnavailable`` without one."""
    if key is None:
        raise AuditUnavailable("the audit key is unavailable: events stay pending")
    head, rows = _lock_and_read(conn)
    first = head[0]
    while rows:
        head = _append(conn, rows, head, key)
        conn.execute(delete(PENDING).where(PENDING.c.id.in_([row["id"] for row in rows])))
        # keyset on id: a smaller id committing meanwhile waits for the next seal
        rows = _pending_page(conn, rows[-1]["id"]) if len(rows) == SEAL_BATCH else []
    if new_rows:
        head = _append(conn, list(new_rows), head, key)
    return head[0] - first


def _append(
    conn: Connection, rows: list[dict[str, Any]], head: tuple[int, str], key: bytes
) -> tuple[int, str]:
    """Chain ``rows`` after ``head``, insert them and move the head; returns the new head.
    One round trip on PostgreSQL (a psycopg pipeline), a statement each elsewhere."""
    events, seq, prev_hash = _chain(rows, head, key)
    moved = {"s": seq, "h": prev_hash}
    if conn.dialect.name != "postgresql":
        conn.execute(_insert(EVENTS), events)
        conn.execute(MOVE_HEAD, moved)
        return seq, prev_hash
    move_sql = _compiled(MOVE_HEAD, conn.dialect)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur, raw.pipeline():
        cur.execute(INSERT_FROM_JSON, [_events_json(events)])
        cur.execute(move_sql.string, {**move_sql.params, **moved})
    return seq, prev_hash


# One statement (pipelined with the head's move) for a whole batch of events.
INSERT_FROM_JSON = (
    "INSERT INTO audit_event SELECT * FROM json_populate_recordset(NULL::audit_event, %s)"
)


def _pending_page(conn: Connection, after: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(PENDING_PAGE, {"after": after})]


def _lock_and_read(conn: Connection) -> tuple[tuple[int, str], list[dict[str, Any]]]:
    """The locked head and the first page of pending events. On PostgreSQL both go in one
    round trip (a psycopg pipeline, with the transaction's BEGIN): the page's snapshot is
    taken once the lock is held, as with two round trips."""
    if conn.dialect.name != "postgresql":
        return lock_head(conn), _pending_page(conn, 0)
    raw: Any = conn.connection.driver_connection
    head_sql, page_sql = _compiled(LOCK_HEAD, conn.dialect), _compiled(PENDING_PAGE, conn.dialect)
    with raw.cursor() as head_cur, raw.cursor(row_factory=dict_row) as page_cur:
        with raw.pipeline():
            head_cur.execute(head_sql.string, head_sql.params)
            page_cur.execute(page_sql.string, {**page_sql.params, "after": 0})
        head, rows = head_cur.fetchone(), page_cur.fetchall()
    if head is None:  # a chain never sealed: create the head, then read under its lock
        return _create_head(conn), _pending_page(conn, 0)
    return (head[0], head[1]), rows


# The group committer's batches on PostgreSQL, two round trips each: the transaction is
# spelled out on a driver connection in autocommit mode, each part sent as one query
# (parameters bound by the driver's quoting, on the client). Within the first, the pending
# page is read by a statement of its own, so its snapshot is taken once the lock is held.
BEGIN_LOCK_READ = (
    "BEGIN; SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE; "  # noqa: S608 (a constant)
    f"SELECT * FROM audit_pending ORDER BY id LIMIT {SEAL_BATCH}"
)
# The second round trip's statement, prepared once per connection (sent before the first
# round trip's BEGIN): PostgreSQL then neither parses nor plans it per batch.
PREPARE_WRITE = (
    "PREPARE audit_seal_write(bigint, text, json, bigint[]) AS "
    "WITH moved AS (UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1), "
    "gone AS (DELETE FROM audit_pending WHERE id = ANY($4)) "
    "INSERT INTO audit_event SELECT * FROM json_populate_recordset(NULL::audit_event, $3); "
)
WRITE_AND_COMMIT = "EXECUTE audit_seal_write(%(seq)s, %(hash)s, %(events)s, %(pending)s); COMMIT"
# Stand-alone events in one round trip, chained on the client after the head the writer
# left: the head moves (row-locked, re-checked against its latest version) only when it is
# still that head and no pending event is committed; else nothing is written.
PREPARE_APPEND = (
    "PREPARE audit_seal_append(bigint, text, json, bigint, text) AS "
    "WITH moved AS (UPDATE audit_head SET seq = $1, hash = $2 "
    "WHERE id = 1 AND seq = $4 AND hash = $5 AND NOT EXISTS (SELECT FROM audit_pending) "
    "RETURNING id) "
    "INSERT INTO audit_event SELECT * FROM json_populate_recordset(NULL::audit_event, $3) "
    "WHERE EXISTS (SELECT FROM moved); "
)
APPEND = "EXECUTE audit_seal_append(%(seq)s, %(hash)s, %(events)s, %(after)s, %(after_hash)s)"
PREPARES = (PREPARE_WRITE, PREPARE_APPEND)
_PREPARED: weakref.WeakSet[DriverConnection[Any]] = weakref.WeakSet()
"""Driver connections on which ``PREPARES`` ran (a new connection is a new object)."""


def _execute(
    cur: ClientCursor[Any], raw: DriverConnection[Any], query: str, params: Any = None
) -> None:
    """Run ``query`` on ``cur`` (a cursor of ``raw``), after ``PREPARES`` on a connection
    that has not run them yet; leaves ``cur`` on the query's first result."""
    prepare = raw not in _PREPARED
    cur.execute("".join((*PREPARES, query)) if prepare else query, params)
    _PREPARED.add(raw)
    for _ in PREPARES if prepare else ():  # past each PREPARE's empty result
        cur.nextset()


def seal_in_two_trips(
    raw: DriverConnection[Any],
    new_rows: Sequence[dict[str, Any]],
    key: bytes,
    late: Callable[[], Sequence[dict[str, Any]]] = tuple,
) -> tuple[int, str] | None:
    """What :func:`seal_on` does in a transaction of its own, in two round trips (the
    group committer's path on PostgreSQL: each round trip wakes the writer, and a wake-up
    costs more CPU than the statements). ``late`` is called once the pending page is read:
    the new rows it returns (submitted meanwhile) are chained after ``new_rows``. ``raw``:
    the psycopg connection, idle, not in autocommit mode, left so. Returns the new head,
    or None, having written nothing and not called ``late``, for what the general path
    handles (a chain never sealed, more pending events than a page); raises the
    database's errors, after which ``raw`` may be in a failed transaction: discard it.
    """
    raw.autocommit = True
    with ClientCursor(raw) as cur:
        _execute(cur, raw, BEGIN_LOCK_READ)
        cur.nextset()
        head = cur.fetchone()
        cur.nextset()
        pending = _as_dicts(cur)
        if head is None or len(pending) == SEAL_BATCH:
            cur.execute("ROLLBACK")
            raw.autocommit = False
            return None
        ids = [row.pop("id") for row in pending]
        rows = [*pending, *new_rows, *late()]
        events, seq, prev_hash = _chain(rows, (head[0], head[1]), key)
        values = {"seq": seq, "hash": prev_hash, "events": _events_json(events), "pending": ids}
        cur.execute(WRITE_AND_COMMIT, values)
    raw.autocommit = False
    return seq, prev_hash


def append_in_one_trip(
    raw: DriverConnection[Any], new_rows: list[dict[str, Any]], key: bytes, head: tuple[int, str]
) -> tuple[int, str] | None:
    """Chain ``new_rows`` after ``head`` and write them in one round trip, one statement
    committed on its own (the group committer's path for stand-alone events once it knows
    the head it wrote last). Returns the new head, or None, having written nothing, when
    the chain's head is no longer ``head`` (another process appended) or a committed
    event is pending (both for :func:`seal_in_two_trips`). ``raw`` as there; raises the
    database's errors, after which nothing of the batch is written.
    """
    events, seq, prev_hash = _chain(new_rows, head, key)
    values = {
        "seq": seq,
        "hash": prev_hash,
        "events": _events_json(events),
        "after": head[0],
        "after_hash": head[1],
    }
    raw.autocommit = True
    with ClientCursor(raw) as cur:
        _execute(cur, raw, APPEND, values)
        written = cur.rowcount
    raw.autocommit = False
    if written != len(events):
        return None
    return seq, prev_hash


def _as_dicts(cur: ClientCursor[Any]) -> list[dict[str, Any]]:
    """The current result's rows as dicts (its column names built only when it has rows:
    the stand-alone events' batches find none pending)."""
    rows = cur.fetchall()
    if not rows:
        return []
    names = [column.name for column in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _events_json(events: list[dict[str, Any]]) -> str:
    """The events as one JSON array: ``orjson`` (timestamps in ISO 8601), or the standard
    encoder for what it refuses (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(events).decode()
    except orjson.JSONEncodeError:
        return json.dumps(events, default=_json_value)


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not an event value")


@cache
def _compiled(statement: ClauseElement, dialect: Dialect) -> Compiled:
    """A module-level statement compiled once per dialect, for the driver's pipeline."""
    return statement.compile(dialect=dialect)


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (every column but an autoincrement key) in ``conn``'s transaction:
    one ``COPY`` for a batch on PostgreSQL (no per-row statement), else ``INSERT`` (one
    round trip where ``COPY`` takes two)."""
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(_insert(table), rows)
        return
    names = list(rows[0])
    is_json = [isinstance(table.c[name].type, JSON) for name in names]
    raw: Any = conn.connection.driver_connection
    sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(row[n]) if j else row[n] for n, j in zip(names, is_json, strict=True)]
            )


def seal_now(bind: Engine) -> int:
    """Seal in a transaction of its own on ``bind``."""
    with bind.begin() as conn:
        return seal_on(conn, key=seal_key(bind))


class AuditUnavailable(HubError):
    """Events could not be written to the audit log, so the access they record is refused."""

    status, slug, title = 503, "audit-unavailable", "The audit log is unavailable"


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Entry:
    """One thread's submission: its rows, and the writer's answer."""

    rows: Sequence[dict[str, Any]]
    wake: threading.Lock = field(default_factory=_held_lock)  # released when done
    taken: bool = False  # in a batch being written
    error: Exception | None = None
    after: _Entry | None = None  # set once its batch is done: the entry it wakes in turn
    gone: bool = False  # its thread stopped waiting: its batch does not wake it


class GroupCommitter:
    """Chains the events of many threads in one transaction per batch (group commit).

    :meth:`submit` returns once a transaction that began after the call has chained every
    committed pending event, then the submitted rows, and committed (on PostgreSQL, rows
    submitted while a transaction reads the pending events join it: rows alone need no
    read of their own; a batch of rows alone, after the head the last batch left, is one
    round trip, see :func:`append_in_one_trip`). A writer thread of its own runs one such
    transaction for everything submitted meanwhile, on a connection of its own
    (submitting threads may hold the main pool's connections); it starts with a
    submission and stops when the engine is disposed or after a minute without work.

    Threads are woken one after another, not as a crowd contending for the interpreter
    lock (thread switches were a third of this process's CPU): when a batch is done the
    writer wakes its first thread, which wakes the next, and so on. As their submissions
    then trickle in, a batch starts once as many entries are queued as the last one had
    plus those queued while it was written (the requests seen in its cycle), or
    ``GATHER_SECONDS`` after the first (a lone request waits that long at most).
    """

    WAIT_SECONDS = 30.0
    IDLE_SECONDS = 60.0
    REUSE_SECONDS = 1.0
    GATHER_SECONDS = 0.001

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._own: Engine | None = None
        self._conn: Connection | None = None  # the writer thread's, on ``_own``
        self._used = 0.0  # when ``_conn`` last committed (monotonic)
        self._work = threading.Condition()
        self._queue: list[_Entry] = []
        self._writer: threading.Thread | None = None
        self._closed = False
        self._want = 1  # queued entries that start a batch: the last cycle's requests
        self._head: tuple[int, str] | None = None  # the chain head the last batch left

    def _seal_engine(self) -> Engine:
        """One connection of its own, released when the main engine is disposed."""
        if self._own is None:
            url = self._engine.url.render_as_string(hide_password=False)
            self._own = make_engine(url, pool_size=1)
            event.listen(self._engine, "engine_disposed", lambda _engine: self.close())
        return self._own

    def submit(self, rows: Sequence[dict[str, Any]] = ()) -> None:
        """Chain ``rows`` (new events) after every pending event; raise
        ``AuditUnavailable`` when the batch fails or does not start in time (then the
        rows were not written)."""
        entry = _Entry(rows)
        with self._work:
            if self._closed:
                raise AuditUnavailable("the audit log is closed")
            if self._writer is None:
                self._seal_engine()
                self._writer = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._writer.start()
            self._queue.append(entry)
            if len(self._queue) == 1 or len(self._queue) >= self._want:
                self._work.notify()
        self._wait(entry)
        if entry.error is not None:
            raise AuditUnavailable("the audit log refused the events") from entry.error

    def close(self) -> None:
        """Stop the writer once the queue is empty; release the connection."""
        with self._work:
            self._closed = True
            self._work.notify()
        if self._own is not None:
            self._own.dispose()

    def _wait(self, entry: _Entry) -> None:
        """Until ``entry`` is done, then wake the next entry of its batch; give up when no
        batch took it in time. A thread that stops waiting (an exception while it waits)
        still wakes the next entry once its batch is done, or is left out of the wake-ups."""
        try:
            if not entry.wake.acquire(timeout=self.WAIT_SECONDS):
                with self._work:
                    if not entry.taken:
                        self._queue.remove(entry)
                        raise AuditUnavailable("the audit log did not answer in time")
                entry.wake.acquire()
        except BaseException:
            with self._work:
                entry.gone = True
            raise
        finally:
            if entry.after is not None:
                entry.after.wake.release()

    def _run(self) -> None:
        size = 1
        while True:
            with self._work:
                self._want = size
                if not self._queue and not self._closed:
                    self._work.wait(self.IDLE_SECONDS)
                if 0 < len(self._queue) < size and not self._closed:
                    self._work.wait(self.GATHER_SECONDS)
                if not self._queue:  # closed, or idle: the next submission restarts it
                    self._writer = None
                    self._release()
                    if self._own is not None:
                        self._own.dispose()  # closes its connection; reopened on demand
                    return
                batch, self._queue = self._queue, []
                for entry in batch:
                    entry.taken = True
            self._commit(batch)
            with self._work:  # the requests it served, and those that queued meanwhile
                size = len(batch) + len(self._queue)

    def _commit(self, batch: list[_Entry]) -> None:
        error = None
        try:
            self._write(batch)
        except Exception as exc:  # the writer outlives any failed batch (also the driver's own)
            log.exception("audit batch failed; pending events wait for the next seal")
            error = exc
        for entry in batch:
            entry.error = error
        with self._work:
            waiting = [entry for entry in batch if not entry.gone]
            for entry, following in itertools.pairwise(waiting):
                entry.after = following
        if waiting:
            waiting[0].wake.release()

    def _write(self, batch: list[_Entry]) -> None:
        rows = [row for entry in batch for row in entry.rows]
        key = seal_key(self._engine)
        conn = self._connection()
        try:
            self._head = self._seal(conn, batch, rows, key)
        except Exception:
            self._head = None
            conn.invalidate()  # a broken connection, or one left in a transaction: not reused
            self._release()
            raise
        self._used = time.monotonic()

    def _seal(
        self, conn: Connection, batch: list[_Entry], rows: list[dict[str, Any]], key: bytes | None
    ) -> tuple[int, str] | None:
        """Seal ``batch`` on ``conn``: on PostgreSQL in one round trip when it holds only
        stand-alone events and the head this writer left is still the chain's, else in
        two; the general path for the rest. Returns the head it left, None when unknown."""
        if key is not None and conn.dialect.name == "postgresql":
            raw: Any = conn.connection.driver_connection
            if self._head is not None and all(entry.rows for entry in batch):
                head = append_in_one_trip(raw, rows, key, self._head)
                if head is not None:
                    return head
            head = seal_in_two_trips(raw, rows, key, lambda: self._late(batch))
            if head is not None:
                return head
        with conn.begin():
            seal_on(conn, rows, key)
        return None

    def _late(self, batch: list[_Entry]) -> list[dict[str, Any]]:
        """The rows of entries submitted since ``batch`` was taken, those entries moved into
        it (its transaction began before them, which rows alone do not mind; an entry
        without rows asks for the pending events committed before it: it waits for the
        next batch). Grows batches by what arrives during their first round trip."""
        with self._work:
            late = [entry for entry in self._queue if entry.rows]
            if late:
                self._queue = [entry for entry in self._queue if not entry.rows]
                for entry in late:
                    entry.taken = True
        batch.extend(late)
        return [row for entry in late for row in entry.rows]

    def _connection(self) -> Connection:
        """The writer's connection, kept between back-to-back batches (no checkout nor
        ping each); after a pause it goes back to the pool, whose checkout pings."""
        if self._conn is not None and time.monotonic() - self._used > self.REUSE_SECONDS:
            self._release()
        if self._conn is None:
            self._conn = self._seal_engine().connect()
        return self._conn

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_COMMITTERS: weakref.WeakKeyDictionary[Engine, GroupCommitter] = weakref.WeakKeyDictionary()
_COMMITTERS_LOCK = threading.Lock()


def committer_for(bind: Engine | Connection) -> GroupCommitter:
    """The group committer of ``bind``'s engine (one per engine per process)."""
    engine = base_engine(bind if isinstance(bind, Engine) else bind.engine)
    with _COMMITTERS_LOCK:
        committer = _COMMITTERS.get(engine)
        if committer is None:
            committer = _COMMITTERS[engine] = GroupCommitter(engine)
        return committer


@event.listens_for(OrmSession, "after_commit")
def _seal_after_commit(session: OrmSession) -> None:
    if session.info.pop(PENDING_FLAG, False):
        try:
            committer_for(session.get_bind()).submit()
        except AuditUnavailable:
            log.warning("audit events stay pending until the next seal")


@event.listens_for(OrmSession, "after_rollback")
def _forget_pending(session: OrmSession) -> None:
    session.info.pop(PENDING_FLAG, None)
