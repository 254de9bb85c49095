"""Transactional outbox: an event is stored with the change it announces, then relayed.

``enqueue`` adds the event to the caller's session, so it commits (or rolls back) with
the state change. The ``Relay`` of a hub publishes pending events in order and marks
each one published once the bus acknowledged it: right after the commit (``flush``, in
the committing thread, so in-process subscribers see the event before the response),
every ``outbox_interval_seconds`` and at start-up, so what a crashed hub committed is
published by the next one. Delivery is at-least-once (a crash between the ack and the
mark publishes again): consumers deduplicate by the event's ``id``.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub.bus.models import OutboxEvent
from hub.bus.port import EventBus
from hub.config import Settings
from hub.db import session_scope

log = logging.getLogger("hub.bus.outbox")
BATCH = 100


def enqueue(session: Session, topic: str, key: str, event: Mapping[str, Any]) -> None:
    """Store ``event`` (which carries an ``id``) for publication on ``topic`` under
    ``key``, in the caller's transaction."""
    session.add(OutboxEvent(event_id=str(event["id"]), topic=topic, key=key, payload=dict(event)))


def pending(session: Session, limit: int = BATCH) -> list[OutboxEvent]:
    """Events not yet published, oldest first."""
    query = select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None))
    return list(session.exec(query.order_by(col(OutboxEvent.seq)).limit(limit)).all())


class Relay:
    """Publishes the outbox of ``engine`` on ``bus`` from one background thread."""

    def __init__(self, engine: Engine, bus: EventBus, interval: float) -> None:
        self._engine = engine
        self._bus = bus
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flushing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> Relay:
        self._thread.start()
        return self

    def try_flush(self) -> None:
        """Publish pending events now in this thread, unless the relay thread is at it
        (then it is asked to go round once more)."""
        if not self._flushing.acquire(blocking=False):
            self._wake.set()
            return
        try:
            self._flush()
        finally:
            self._flushing.release()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _flush(self) -> int:
        """Publish pending events in order until none is left or the bus fails; returns
        how many were published."""
        done = 0
        while not self._stop.is_set():
            with session_scope(self._engine) as session:
                batch = [(e.seq, e.topic, e.key, e.payload) for e in pending(session)]
            if not batch:
                return done
            for seq, topic, key, payload in batch:
                if not self._publish(seq, topic, key, payload):
                    return done
                done += 1
        return done

    def _publish(self, seq: int | None, topic: str, key: str, payload: dict[str, Any]) -> bool:
        try:
            self._bus.publish(topic, key, payload)
        except Exception as exc:  # the bus is down: keep the event, retry later
            log.warning(
                "outbox event not published yet",
                extra={"seq": seq, "topic": topic, "error": type(exc).__name__},
            )
            self._mark(seq, published=False)
            return False
        self._mark(seq, published=True)
        return True

    def _mark(self, seq: int | None, *, published: bool) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxEvent, seq)
            if row is None:
                return
            row.attempts += 1
            if published:
                row.published_at = datetime.now(UTC)
            session.add(row)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                with self._flushing:
                    self._flush()
            except Exception:  # a failing relay must be visible, and keep trying
                log.exception("outbox relay failed")
            self._wake.wait(self._interval)


class RelayHost(Protocol):
    """What the outbox needs of the running hub (``hub.context.HubContext`` is one): its
    database engine, its bus (None: nothing to relay) and its settings."""

    @property
    def engine(self) -> Engine: ...

    @property
    def bus(self) -> EventBus | None: ...

    @property
    def settings(self) -> Settings: ...


# The running relays (started by a serving hub's lifespan), by engine; a relay lives as
# long as its thread, so an engine's entry disappears with it.
_RELAYS: weakref.WeakValueDictionary[int, Relay] = weakref.WeakValueDictionary()
_LOCK = threading.Lock()


def start_relay(ctx: RelayHost) -> None:
    """Start the background relay of the hub ``ctx`` (idempotent; none without a bus)."""
    if ctx.bus is None:
        return
    with _LOCK:
        if id(ctx.engine) not in _RELAYS:
            interval = ctx.settings.bus.outbox_interval_seconds
            _RELAYS[id(ctx.engine)] = Relay(ctx.engine, ctx.bus, interval).start()


def stop_relay(engine: Engine) -> None:
    """Stop the background relay of ``engine`` (idempotent)."""
    with _LOCK:
        relay = _RELAYS.pop(id(engine), None)
    if relay is not None:
        relay.stop()


def flush(ctx: RelayHost) -> None:
    """After a commit that enqueued events: publish them now (see ``Relay.try_flush``);
    a hub without a running relay (a CLI command, a test app) flushes by itself."""
    if ctx.bus is not None:
        flush_engine(ctx.engine, ctx.bus)


def flush_engine(engine: Engine, bus: EventBus) -> None:
    """``flush`` for a caller that holds only an engine and a bus: the running relay of
    ``engine`` if any, else a one-off relay in this thread."""
    relay = _RELAYS.get(id(engine))
    if relay is None:
        relay = Relay(engine, bus, interval=0.0)
    relay.try_flush()


def publish_after_commit(
    ctx: RelayHost, session: Session, topic: str, key: str, event: Mapping[str, Any]
) -> None:
    """Enqueue ``event`` in ``session``'s transaction and flush once it commits (nothing
    is sent on rollback)."""
    enqueue(session, topic, key, event)
    sa_event.listen(session, "after_commit", lambda _session: flush(ctx), once=True)


def publish_on_commit(
    session: Session, bus: EventBus, topic: str, key: str, event: Mapping[str, Any]
) -> None:
    """``publish_after_commit`` for a caller without a hub context: the event is stored
    in ``session``'s transaction and published on ``bus`` once it commits (or by the
    relay of the next hub, if this one dies first)."""
    enqueue(session, topic, key, event)
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    sa_event.listen(session, "after_commit", lambda _s: flush_engine(engine, bus), once=True)


def purge_published(session: Session, older_than: datetime) -> int:
    """Delete the events published before ``older_than`` (pending ones are kept, however
    old); how many were deleted."""
    published = col(OutboxEvent.published_at)
    query = delete(OutboxEvent).where(published.is_not(None), published < older_than)
    return int(session.exec(query).rowcount)
