"""Stand-alone events (``record_now``): many threads share a transaction, each returns
only once its event is in the chain, failures are reported and lose nothing already
recorded (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from unittest.mock import ANY

import pytest
from sqlalchemy import Engine, func, select, text

from hub.context import HubContext
from hub.db import is_sqlite, make_engine, session_scope
from hub.trail import chain
from hub.trail.chain import (
    PENDING,
    SEAL_BATCH,
    AuditUnavailable,
    GroupCommitter,
    _Entry,
    append_in_one_trip,
    committer_for,
    insert_rows,
)
from hub.trail.seal import use_audit_key
from hub.trail.stream import EVENTS
from hub.trail.writer import (
    Actor,
    Decision,
    EventDraft,
    Resource,
    Why,
    _pending_row,
    record,
    record_many,
    record_now,
)
from tests.support.audit_fixtures import draft, verify_json

Edh = Callable[..., tuple[int, str]]
THREADS, PER_THREAD = 12, 20


def _sealed(ctx: HubContext, event_id: str) -> bool:
    with ctx.engine.connect() as conn:
        query = select(EVENTS.c.seq).where(EVENTS.c.event_id == event_id)
        return conn.execute(query).first() is not None


def test_each_caller_returns_once_its_event_is_chained(hub_ctx: HubContext, edh: Edh) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(PER_THREAD):
                if i % 4 == 0:  # events in a caller's transaction share the chain
                    with session_scope(hub_ctx.engine) as session:
                        record(session, draft(worker * 1000 + i))
                    continue
                (event_id,) = record_now(hub_ctx.engine, draft(worker * 1000 + i))
                assert _sealed(hub_ctx, event_id), event_id
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify_json(edh)
    assert report["ok"] is True and report["events"] == THREADS * PER_THREAD


def test_values_survive_the_batch_exactly(hub_ctx: HubContext, edh: Edh) -> None:
    odd = EventDraft(
        actor=Actor("dpo-é", "dpo", "org «1»"),
        action="audit.read",
        resource=Resource("audit_log", "events?actor=r'1\"\\n"),
        decision=Decision.DENY,
        reasons=["raison : « accès refusé »", "ünïcödé ✓", ""],
        why=Why(purpose="contrôle CNIL\n2026"),
        details={"nested": {"list": [1, 2.5, None, True], "empty": {}}, "n": 10**15},
    )
    when = datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC)
    ids = record_now(hub_ctx.engine, odd, odd, now=when)
    with hub_ctx.engine.connect() as conn:
        rows = conn.execute(select(EVENTS).where(EVENTS.c.event_id.in_(ids))).mappings().all()
    assert len(rows) == 2
    for row in rows:
        assert row["ts"].astimezone(UTC) == when
        assert row["details"] == odd.details and row["reasons"] == list(odd.reasons)
        assert (row["actor_sub"], row["actor_org"], row["purpose"]) == (
            "dpo-é",
            "org «1»",
            "contrôle CNIL\n2026",
        )
    assert verify_json(edh)["ok"] is True


def test_values_that_would_end_a_quoted_literal_stay_values(hub_ctx: HubContext, edh: Edh) -> None:
    """The batch is bound into its query text on the client (PostgreSQL): a value written
    to close the literal and run its own statement is stored as it was given."""
    record_now(hub_ctx.engine, draft(1), draft(2))
    escape = "x'); DELETE FROM audit_event; --"
    tricky = [escape, "\\'; DELETE FROM audit_event; --", "$$; DELETE FROM audit_event; $$"]
    odd = EventDraft(
        actor=Actor(tricky[1], "dpo"),
        action="audit.read",
        resource=Resource("audit_log", escape),
        reasons=tricky,
        details={"q": tricky[2], escape: tricky[1]},
    )
    (kept,) = record_now(hub_ctx.engine, odd)
    with hub_ctx.engine.connect() as conn:
        stored = conn.execute(select(EVENTS).where(EVENTS.c.event_id == kept)).mappings().one()
        count = conn.execute(select(func.count()).select_from(EVENTS)).scalar()
    assert count == 3
    assert (stored["actor_sub"], stored["resource_id"]) == (tricky[1], escape)
    assert stored["reasons"] == tricky and stored["details"] == odd.details
    assert verify_json(edh)["ok"] is True


def test_a_refusing_database_is_reported_and_loses_nothing(hub_ctx: HubContext, edh: Edh) -> None:
    if is_sqlite(hub_ctx.engine):
        pytest.skip("needs a constraint added to a live table (PostgreSQL)")
    (kept,) = record_now(hub_ctx.engine, draft(1))
    refuse = "ALTER TABLE audit_event ADD CONSTRAINT edh_refuse CHECK (seq < 0) NOT VALID"
    with hub_ctx.engine.begin() as conn:
        conn.execute(text(refuse))
    with pytest.raises(AuditUnavailable) as caught:
        record_now(hub_ctx.engine, draft(2))
    assert caught.value.status == 503
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_event DROP CONSTRAINT edh_refuse"))
    (after,) = record_now(hub_ctx.engine, draft(3))
    assert _sealed(hub_ctx, kept) and _sealed(hub_ctx, after)
    report = verify_json(edh)
    assert report["ok"] is True and report["events"] == 2


def _writers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "audit-writer"}


def test_disposed_engine_stops_its_writer(hub_ctx: HubContext) -> None:
    before = _writers()  # other tests' engines may still have theirs
    record_now(hub_ctx.engine, draft(1))
    (mine,) = _writers() - before
    hub_ctx.engine.dispose()
    mine.join(timeout=5)
    assert not mine.is_alive()


def test_an_idle_writer_stops_and_the_next_event_restarts_it(
    hub_ctx: HubContext, edh: Edh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GroupCommitter, "IDLE_SECONDS", 0.2)
    before = _writers()
    record_now(hub_ctx.engine, draft(1))
    (first,) = _writers() - before
    first.join(timeout=5)
    assert not first.is_alive()
    (after,) = record_now(hub_ctx.engine, draft(2))
    assert _sealed(hub_ctx, after)
    assert verify_json(edh)["events"] == 2


def test_more_pending_events_than_a_page_are_all_chained(hub_ctx: HubContext, edh: Edh) -> None:
    count = SEAL_BATCH + 2
    with session_scope(hub_ctx.engine) as session:
        record_many(session, [draft(i) for i in range(count)])
    record_now(hub_ctx.engine, draft(count))
    with hub_ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PENDING)).scalar() == 0
        seqs = conn.execute(select(func.min(EVENTS.c.seq), func.max(EVENTS.c.seq))).one()
    assert tuple(seqs) == (1, count + 1)
    report = verify_json(edh)
    assert report["ok"] is True and report["events"] == count + 1


def _in_threads(calls: list[Callable[[], object]], gap: float = 0.0) -> list[threading.Thread]:
    threads = []
    for call in calls:
        threads.append(threading.Thread(target=call))
        threads[-1].start()
        time.sleep(gap)
    return threads


def test_a_batch_gathers_as_many_entries_as_the_last_one_served_and_queued(
    hub_ctx: HubContext, edh: Edh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a batch of one entry during which three more queued, the next batch waits
    (``GATHER_SECONDS`` at most) for four, even when they arrive apart; a lone entry goes
    once that time is up."""
    monkeypatch.setattr(GroupCommitter, "GATHER_SECONDS", 5.0)
    sizes: list[int] = []
    writing, go_on = threading.Event(), threading.Event()
    commit, write = GroupCommitter._commit, GroupCommitter._write

    def counted(self: GroupCommitter, batch: list[_Entry]) -> None:
        commit(self, batch)
        sizes.append(len(batch))

    def held(self: GroupCommitter, batch: list[_Entry]) -> None:
        writing.set()
        go_on.wait(timeout=10)  # the first batch waits while three more queue up
        write(self, batch)

    def twice() -> None:  # a request, then the next one of the same client
        record_now(hub_ctx.engine, draft(0))
        record_now(hub_ctx.engine, draft(1))

    monkeypatch.setattr(GroupCommitter, "_commit", counted)
    monkeypatch.setattr(GroupCommitter, "_write", held)
    committer = committer_for(hub_ctx.engine)
    first = _in_threads([twice])
    assert writing.wait(timeout=10)
    queued = _in_threads([committer.submit] * 3)  # no rows: these never join a batch late
    while len(committer._queue) < 3:
        time.sleep(0.01)
    go_on.set()
    for thread in first + queued:
        thread.join(timeout=10)
    apart = _in_threads([partial(record_now, hub_ctx.engine, draft(i)) for i in (4, 5, 6, 7)], 0.1)
    for thread in apart:
        thread.join(timeout=10)
    assert sizes == [1, 4, 4]
    monkeypatch.setattr(GroupCommitter, "GATHER_SECONDS", 0.05)
    (alone,) = record_now(hub_ctx.engine, draft(8))
    assert _sealed(hub_ctx, alone) and sizes[-1] == 1
    assert verify_json(edh)["events"] == 7


def _second_engine(ctx: HubContext) -> Engine:
    """Another engine on ``ctx``'s database, with a group committer of its own (as another
    hub process has)."""
    engine = make_engine(ctx.engine.url.render_as_string(hide_password=False), pool_size=1)
    use_audit_key(engine, ctx.settings)
    return engine


def _one_trips(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str] | None]:
    """What each one-round-trip append returns from now on (None: it wrote nothing)."""
    results: list[tuple[int, str] | None] = []

    def spied(*args: Any) -> tuple[int, str] | None:
        results.append(append_in_one_trip(*args))
        return results[-1]

    monkeypatch.setattr(chain, "append_in_one_trip", spied)
    return results


def _knowing_its_head(ctx: HubContext) -> list[str]:
    """Two stand-alone events: the chain's first seal takes the general path, the next two
    round trips, after which the writer knows the head it left. Returns their ids."""
    return [*record_now(ctx.engine, draft(1)), *record_now(ctx.engine, draft(2))]


def _verified(edh: Edh, events: int) -> None:
    report = verify_json(edh)
    assert report["ok"] is True and report["events"] == events


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_head_moved_by_another_process_is_read_again(
    hub_ctx: HubContext, edh: Edh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer appends after the head it left in one round trip only while that head is
    the chain's: once another process appended, that trip writes nothing and the batch is
    chained after the new head."""
    trips = _one_trips(monkeypatch)
    ids = _knowing_its_head(hub_ctx)
    ids += record_now(hub_ctx.engine, draft(3))  # one round trip
    other = _second_engine(hub_ctx)
    try:
        ids += record_now(other, draft(4))
    finally:
        other.dispose()
    ids += record_now(hub_ctx.engine, draft(5))
    assert trips == [(3, ANY), None]  # the 3rd, then the 5th after a head moved meanwhile
    with hub_ctx.engine.connect() as conn:
        order = conn.execute(select(EVENTS.c.event_id).order_by(EVENTS.c.seq)).scalars().all()
    assert order == ids
    _verified(edh, 5)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_one_round_trip_on_a_new_connection_prepares_its_statement(
    hub_ctx: HubContext, edh: Edh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement of one round trip is prepared on the writer's next connection."""
    trips = _one_trips(monkeypatch)
    _knowing_its_head(hub_ctx)
    committer = committer_for(hub_ctx.engine)
    with committer._work:  # the writer idles: its connection goes, the next one is new
        committer._release()
        committer._seal_engine().dispose()
    record_now(hub_ctx.engine, draft(3))
    assert trips == [(3, ANY)]
    _verified(edh, 3)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_events_left_pending_are_chained_before_the_next_batch(
    hub_ctx: HubContext, edh: Edh, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committed pending event nobody sealed (a crash between commit and seal) keeps the
    one-round-trip append from writing: the batch then chains it first."""
    trips = _one_trips(monkeypatch)
    _knowing_its_head(hub_ctx)
    left = _pending_row(draft(3), datetime.now(UTC))
    with hub_ctx.engine.begin() as conn:  # no session: nothing seals it after the commit
        insert_rows(conn, PENDING, [left])
    (new,) = record_now(hub_ctx.engine, draft(4))
    assert trips == [None]
    with hub_ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PENDING)).scalar() == 0
        order = conn.execute(select(EVENTS.c.event_id).order_by(EVENTS.c.seq)).scalars().all()
    assert order[2:] == [left["event_id"], new]
    assert verify_json(edh)["ok"] is True


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_refused_batch_fails_each_of_its_waiters(hub_ctx: HubContext, edh: Edh) -> None:
    """Every thread of a batch the database refuses gets the error, none hangs, none is
    told its event was written; the next batches write again."""
    _knowing_its_head(hub_ctx)  # one round trip next
    refuse = "ALTER TABLE audit_event ADD CONSTRAINT edh_refuse CHECK (seq < 0) NOT VALID"
    with hub_ctx.engine.begin() as conn:
        conn.execute(text(refuse))
    outcomes: list[str] = []

    def one(i: int) -> None:
        try:
            record_now(hub_ctx.engine, draft(i))
            outcomes.append("written")
        except AuditUnavailable:
            outcomes.append("refused")

    threads = _in_threads([partial(one, i) for i in range(1, 9)])
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes == ["refused"] * 8
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_event DROP CONSTRAINT edh_refuse"))
    threads = _in_threads([partial(one, i) for i in range(9, 13)])
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes[8:] == ["written"] * 4
    _verified(edh, 6)


class _Interrupted(threading.Thread):
    """A thread whose wait for its entry ends in an exception (as an interrupt would)."""

    def __init__(self, committer: GroupCommitter, entry: _Entry, *, interrupt: bool) -> None:
        super().__init__()
        self.committer, self.entry, self.interrupt, self.raised = committer, entry, interrupt, False

    def run(self) -> None:
        if self.interrupt:
            self.entry.wake = _Raising(self.entry.wake)  # type: ignore[assignment]
        try:
            self.committer._wait(self.entry)
        except KeyboardInterrupt:
            self.raised = True


class _Raising:
    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock

    def acquire(self, timeout: float = -1) -> bool:
        raise KeyboardInterrupt

    def release(self) -> None:
        self.lock.release()


@pytest.mark.parametrize("stops", ["before its batch is done", "after"])
def test_a_thread_that_stops_waiting_does_not_hold_up_its_batch(
    hub_ctx: HubContext, monkeypatch: pytest.MonkeyPatch, stops: str
) -> None:
    """Each thread of a batch wakes the next one; one whose wait raised is left out of the
    wake-ups, or passes its turn on when its batch was done first."""
    committer = GroupCommitter(hub_ctx.engine)
    monkeypatch.setattr(committer, "_write", lambda batch: None)
    entries = [_Entry(()) for _ in range(3)]
    waiters = [_Interrupted(committer, e, interrupt=i == 1) for i, e in enumerate(entries)]
    if stops == "after":
        committer._commit(entries)
    for waiter in waiters:
        waiter.start()
        if waiter.interrupt:
            waiter.join(timeout=10)
    if stops != "after":
        committer._commit(entries)
    for waiter in waiters:
        waiter.join(timeout=10)
    assert [w.is_alive() for w in waiters] == [False] * 3
    assert [w.raised for w in waiters] == [False, True, False]
