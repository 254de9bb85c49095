"""The chain itself: its lock, its head, and sealing of pending events.

``record`` (see :mod:`hub.audit.trail`) only inserts the event into ``audit_pending`` in
the caller's transaction, so concurrent requests commit in parallel (PostgreSQL groups
their commits). Right after a transaction that recorded events commits, :func:`seal`
takes the chain lock and moves every committed pending event into ``audit_event`` in
pending order, giving each its ``seq``, ``prev_hash`` and ``hash``: one lock and one
commit for a whole batch. Anything left pending by a crash is sealed by the next seal
(every append, verification, checkpoint or purge seals first).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Connection, Table, delete, event, insert, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from hub.audit.hashing import compute_hash
from hub.audit.models import GENESIS_HASH, AuditEvent, AuditHead, AuditPending
from hub.db import make_engine

CHAIN_LOCK_KEY = 0x45444841  # "EDHA": the advisory lock guarding the chain head
PENDING_FLAG = "edh_audit_pending"
SEAL_BATCH = 5000
COPY_FROM = 8  # rows from which COPY beats INSERT
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
PENDING = AuditPending.__table__  # type: ignore[attr-defined]
HEAD = AuditHead.__table__  # type: ignore[attr-defined]
LOCK = text("SELECT pg_advisory_xact_lock(:k)")
log = logging.getLogger("hub.audit")


def lock_chain(session: Session) -> None:
    """Take the chain lock until the transaction ends (PostgreSQL; SQLite writers serialise)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.connection().execute(LOCK, {"k": CHAIN_LOCK_KEY})


def chain_head(session: Session) -> tuple[int, str]:
    """The last (seq, hash) of the chain, (0, genesis) when empty. Call under the lock."""
    head = (
        session.connection()
        .execute(sa_select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1))
        .first()
    )
    if head is not None:
        return head[0], head[1]
    last = session.exec(
        select(AuditEvent.seq, AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)
    ).first()
    seq, hash_ = (last[0], last[1]) if last else (0, GENESIS_HASH)
    session.add(AuditHead(id=1, seq=seq, hash=hash_))
    session.flush()
    return seq, hash_


class _Chained:
    """A pending row with its place in the chain (what ``compute_hash`` reads)."""

    def __init__(self, row: dict[str, Any], seq: int, prev_hash: str) -> None:
        self.__dict__.update(row, seq=seq, prev_hash=prev_hash)
        self.hash = compute_hash(self)  # type: ignore[arg-type]


def seal(session: Session, on_snapshot: Callable[[], None] | None = None) -> int:
    """Chain every committed pending event, oldest first; returns how many were sealed.

    Runs in ``session``'s transaction under the chain lock; idempotent (a second call
    finds nothing pending). ``on_snapshot`` is called just before the first read of the
    pending events. Raises only database errors.
    """
    lock_chain(session)
    seq, prev_hash = chain_head(session)
    if on_snapshot is not None:
        on_snapshot()
    first = seq
    conn = session.connection()
    last_id = 0
    while True:
        # keyset on id: a smaller id committing meanwhile waits for the next seal
        query = sa_select(PENDING).where(PENDING.c.id > last_id).order_by(PENDING.c.id)
        rows = [dict(r._mapping) for r in conn.execute(query.limit(SEAL_BATCH))]
        if not rows:
            break
        events = []
        for row in rows:
            seq += 1
            chained = _Chained({k: v for k, v in row.items() if k != "id"}, seq, prev_hash)
            prev_hash = chained.hash
            events.append({c.name: getattr(chained, c.name) for c in EVENTS.c})
        insert_rows(conn, EVENTS, events)
        conn.execute(delete(PENDING).where(PENDING.c.id.in_([row["id"] for row in rows])))
        last_id = rows[-1]["id"]
        if len(rows) < SEAL_BATCH:
            break
    if seq > first:
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev_hash))
    return seq - first


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (every column but an autoincrement key) in ``conn``'s transaction:
    one ``COPY`` for a batch on PostgreSQL (no per-row statement), else ``INSERT`` (one
    round trip where ``COPY`` takes two)."""
    if conn.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        conn.execute(insert(table), rows)
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


def seal_now(bind: Engine, on_snapshot: Callable[[], None] | None = None) -> int:
    """Seal in a transaction of its own on ``bind``."""
    with Session(bind) as session, session.begin():
        return seal(session, on_snapshot)


class GroupSealer:
    """Seals after commits, one leader at a time per engine (group commit).

    A transaction that recorded events calls :meth:`after_commit` once committed. It
    returns when a seal whose snapshot was taken after that commit has finished, so the
    caller's events are in the chain; one thread (the leader) runs that seal for all the
    waiting ones, on a connection of its own (waiting threads still hold theirs, so the
    leader never competes with them for the main pool).
    """

    WAIT_SECONDS = 30.0

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._own: Engine | None = None
        self._cond = threading.Condition()
        self._snapshots = 0
        self._done = 0
        self._leading = False

    def _seal_engine(self) -> Engine:
        """One connection of its own, released when the main engine is disposed."""
        if self._own is None:
            url = self._engine.url.render_as_string(hide_password=False)
            own = make_engine(url, pool_size=1)
            event.listen(self._engine, "engine_disposed", lambda _engine: own.dispose())
            self._own = own
        return self._own

    def after_commit(self) -> None:
        with self._cond:
            needed = self._snapshots + 1
            while self._done < needed:
                if not self._leading:
                    self._leading = True
                    break
                if not self._cond.wait(self.WAIT_SECONDS):
                    log.warning("audit seal still running; events stay pending until the next")
                    return
            else:
                return
        self._lead()

    def _lead(self) -> None:
        taken = 0

        def snapshot() -> None:
            nonlocal taken
            with self._cond:
                self._snapshots += 1
                taken = self._snapshots

        try:
            seal_now(self._seal_engine(), snapshot)
        except SQLAlchemyError:
            log.exception("sealing pending audit events failed; the next seal will retry")
        finally:
            with self._cond:
                self._leading = False
                self._done = max(self._done, taken)
                self._cond.notify_all()


_SEALERS: weakref.WeakKeyDictionary[Engine, GroupSealer] = weakref.WeakKeyDictionary()
_SEALERS_LOCK = threading.Lock()


def sealer_for(engine: Engine) -> GroupSealer:
    """The group sealer of ``engine`` (one per engine per process)."""
    with _SEALERS_LOCK:
        sealer = _SEALERS.get(engine)
        if sealer is None:
            sealer = _SEALERS[engine] = GroupSealer(engine)
        return sealer


@event.listens_for(OrmSession, "after_commit")
def _seal_after_commit(session: OrmSession) -> None:
    if session.info.pop(PENDING_FLAG, False):
        bind = session.get_bind()
        sealer_for(bind if isinstance(bind, Engine) else bind.engine).after_commit()


@event.listens_for(OrmSession, "after_rollback")
def _forget_pending(session: OrmSession) -> None:
    session.info.pop(PENDING_FLAG, None)
