"""The hash-chained audit trail: concurrent appends never fork it; tampering is detected."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlmodel import Session

from hub.audit.verify import verify_chain
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.writer import Actor, Decision, EventDraft, Resource, Why, record


def _append(ctx: HubContext, n: int) -> None:
    for i in range(n):
        with session_scope(ctx.engine) as session:
            record(
                session,
                EventDraft(
                    Actor("r1", "researcher", "lab-1"),
                    "query.submitted",
                    Resource("query", str(i)),
                    Decision.ALLOW,
                    ["member of project"],
                    Why(project_id="p1", purpose="dropout"),
                    {"i": i},
                ),
            )


def test_concurrent_appends_leave_one_valid_chain(hub_ctx: HubContext) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(_append, hub_ctx, 25) for _ in range(8)]:
            future.result()
    with Session(hub_ctx.engine) as session:
        report = verify_chain(session)
        seqs = session.execute(text("SELECT seq FROM audit_event ORDER BY seq")).scalars().all()
    assert report.ok, report.problems
    assert report.events == 200
    assert list(seqs) == list(range(1, 201))


def test_rolled_back_change_leaves_no_event(hub_ctx: HubContext) -> None:
    try:
        with session_scope(hub_ctx.engine) as session:
            record(session, EventDraft(Actor("a", "operator"), "x", Resource("t")))
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    with Session(hub_ctx.engine) as session:
        assert verify_chain(session).events == 0


def test_modified_and_deleted_events_are_named(hub_ctx: HubContext) -> None:
    _append(hub_ctx, 6)
    with hub_ctx.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor_sub = 'someone-else' WHERE seq = 2"))
        conn.execute(text("DELETE FROM audit_event WHERE seq = 4"))
    with Session(hub_ctx.engine) as session:
        report = verify_chain(session)
    kinds = {(p["seq"], p["kind"]) for p in report.problems}
    assert kinds == {(2, "modified"), (4, "deleted")}  # the missing event itself is named


def test_numbers_json_cannot_hash_exactly_are_kept_as_text(hub_ctx: HubContext) -> None:
    """An integer beyond 2^53 or a non-finite float in an event's details (RFC 8785 has no
    text for them) is recorded as its decimal text: the event and every later one seal,
    instead of one unsealable row blocking the log."""
    hostile = {"n": 10**20, "deep": [{"m": -(2**60)}], "f": float("inf"), "ok": 2**53 - 1}
    with session_scope(hub_ctx.engine) as session:
        record(session, EventDraft(Actor("a", "operator"), "x", Resource("t"), details=hostile))
    _append(hub_ctx, 2)
    with Session(hub_ctx.engine) as session:
        report = verify_chain(session)
        stored = session.execute(text("SELECT details FROM audit_event WHERE seq = 1")).scalar()
    assert report.ok and report.events == 3, report.problems
    assert "100000000000000000000" in str(stored) and str(-(2**60)) in str(stored)
    assert "inf" in str(stored).lower() and str(2**53 - 1) in str(stored)
