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
