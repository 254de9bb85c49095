"""Durable delivery of the hub's messages to its counterparties: the DSP outbox.

The port's contract:
- ``enqueue`` stores a message in the caller's transaction, with the move it announces:
  both are committed, or neither.
- A ``Courier`` sends what is due. Each message is first claimed by a conditional update,
  so one hub of the cluster sends it at a time (the claim is a lease longer than a
  request's timeout); the messages of one process go in their order (none is sent while
  an earlier one of the same process is pending); each attempt carries a fresh identity
  token and the same message.
- A message is settled by the peer's answer: ``delivered`` (2xx) or ``refused`` (another
  4xx: the peer answered, it is never sent again); a settled message keeps no content
  (a transfer's start carries a bearer token). While the peer is briefly down
  (unreachable, a timeout, 408, 425, 429 or 5xx) it is due again after a backoff that
  doubles, and ``abandoned`` after ``delivery_attempts`` attempts.
- Any hub sends what a stopped hub left: the courier of a serving hub looks for due
  messages every ``delivery_poll_seconds``. A hub killed between the peer's answer and
  the settlement sends the message again when its lease ends; the peer then sees one
  step twice (same process ids and content) and its state machine takes it once (the
  repeat is an illegal transition): sent at least once, taken exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contracts.dsp.vocab import Message
from hub.dataspace.models import DspDelivery
from hub.dataspace.outbox import DeliveryFailed, post
from hub.settings.dataspace import DataspaceSettings

log = logging.getLogger("hub.dataspace.courier")
BATCH = 50
TABLE = DspDelivery.__table__  # type: ignore[attr-defined]
DELIVERED, REFUSED, ABANDONED = "delivered", "refused", "abandoned"

Authorization = Callable[[str], str | None]
"""The ``Authorization`` header of a message to a participant (None: none)."""


def enqueue(
    session: Session,
    process_id: str,
    url: str,
    kind: Message,
    body: dict[str, Any],
    audience: str,
) -> DspDelivery:
    """Store ``body`` (a ``kind`` message for ``audience`` at ``url``, about the hub's
    process ``process_id``) in the caller's transaction; due at once."""
    row = DspDelivery(process_id=process_id, url=url, kind=str(kind), body=body, audience=audience)
    session.add(row)
    return row


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite answers naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Courier:
    """Sends the pending deliveries of ``engine``, in the calling thread (``attempt``,
    ``send_due``) or in its own background thread (``start``)."""

    def __init__(
        self, engine: Engine, settings: DataspaceSettings, authorization: Authorization
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._authorization = authorization
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # Claim, send, settle --------------------------------------------------------------

    def _claim(self, seq: int) -> DspDelivery | None:
        """Take the lease of pending delivery ``seq`` if it is due, nobody holds it and no
        earlier message of its process is pending; the row, or None."""
        table = TABLE
        earlier = table.alias("earlier")
        now = _now()
        lease = timedelta(seconds=2 * self._settings.callback_timeout_seconds + 5)
        blocked = exists().where(
            earlier.c.process_id == table.c.process_id,
            earlier.c.outcome.is_(None),
            earlier.c.seq < table.c.seq,
        )
        claim = (
            update(table)
            .where(
                table.c.seq == seq,
                table.c.outcome.is_(None),
                table.c.due_at <= now,
                or_(table.c.lease_until.is_(None), table.c.lease_until < now),
                ~blocked,
            )
            .values(lease_until=now + lease, attempts=table.c.attempts + 1)
        )
        with Session(self._engine) as session:
            if session.connection().execute(claim).rowcount != 1:
                session.rollback()
                return None
            session.commit()
            return session.get(DspDelivery, seq)

    def attempt(self, seq: int) -> str | None:
        """Send delivery ``seq`` now if this courier can claim it; its outcome (None: still
        pending, or claimed elsewhere). Raises nothing: failures are settled."""
        row = self._claim(seq)
        if row is None:
            return None
        try:
            post(
                row.url,
                Message(row.kind),
                row.body,
                timeout=self._settings.callback_timeout_seconds,
                authorization=self._authorization(row.audience),
            )
        except DeliveryFailed as exc:
            return self._failed(row, exc)
        return self._settle(seq, DELIVERED)

    def _failed(self, row: DspDelivery, exc: DeliveryFailed) -> str | None:
        assert row.seq is not None
        if not exc.retryable:
            log.warning("delivery %s refused by the peer: %s", row.seq, exc)
            return self._settle(row.seq, REFUSED)
        if row.attempts >= self._settings.delivery_attempts:
            log.warning("delivery %s abandoned after %d attempts: %s", row.seq, row.attempts, exc)
            return self._settle(row.seq, ABANDONED)
        backoff = self._settings.delivery_backoff_seconds * 2 ** (row.attempts - 1)
        log.warning("attempt %d of delivery %s failed, retrying: %s", row.attempts, row.seq, exc)
        with Session(self._engine) as session:
            pending = session.get(DspDelivery, row.seq)
            assert pending is not None
            pending.due_at, pending.lease_until = _now() + timedelta(seconds=backoff), None
            session.add(pending)
            session.commit()
        self.start()
        return None

    def _settle(self, seq: int, outcome: str) -> str:
        with Session(self._engine) as session:
            row = session.get(DspDelivery, seq)
            assert row is not None
            row.outcome, row.settled_at, row.lease_until = outcome, _now(), None
            row.body = {}  # a start message carries a bearer token: keep none at rest
            session.add(row)
            session.commit()
        return outcome

    def send_due(self) -> int:
        """One round: attempt every due pending delivery, oldest first; how many were
        settled."""
        with Session(self._engine) as session:
            query = (
                select(DspDelivery.seq)
                .where(col(DspDelivery.outcome).is_(None), col(DspDelivery.due_at) <= _now())
                .order_by(col(DspDelivery.seq))
                .limit(BATCH)
            )
            due = [seq for seq in session.exec(query).all() if seq is not None]
        return sum(self.attempt(seq) is not None for seq in due)

    def _next_wait(self) -> float:
        """Seconds until the next pending delivery is due, at most the poll interval."""
        poll = self._settings.delivery_poll_seconds
        with Session(self._engine) as session:
            query = select(func.min(DspDelivery.due_at)).where(col(DspDelivery.outcome).is_(None))
            first = session.exec(query).one()
        if first is None:
            return poll
        return min(poll, max(0.05, (_aware(first) - _now()).total_seconds()))

    # The background thread --------------------------------------------------------------

    def start(self) -> Courier:
        """Run the background thread (idempotent): it sends what is due, now and whenever
        a delivery comes due, including those stopped hubs left."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="dsp-courier", daemon=True)
                self._thread.start()
        self._wake.set()
        return self

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.send_due()
                wait = self._next_wait()
            except Exception:  # a failing courier must be visible, and keep trying
                log.exception("dsp courier failed")
                wait = self._settings.delivery_poll_seconds
            self._wake.wait(wait)
