"""The outbox commits and rolls back with the caller's transaction, and the relay
publishes each committed event once, in order (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from hub.bus import outbox
from hub.bus.memory import InProcessBus
from hub.bus.models import OutboxEvent
from hub.db import session_scope
from tests.support.factories import make_context


def test_only_committed_events_are_published_once_in_order(db_url: str, tmp_path: Path) -> None:
    ctx = make_context(db_url, tmp_path)
    ctx.bus = bus = InProcessBus()
    seen: list[str] = []

    def handle(_key: str, event: Mapping[str, Any]) -> None:
        seen.append(str(event["id"]))

    bus.subscribe("edh.test", "t", handle)
    try:
        with session_scope(ctx.engine) as session:
            outbox.publish_after_commit(ctx, session, "edh.test", "k", {"id": "e1"})
            outbox.publish_after_commit(ctx, session, "edh.test", "k", {"id": "e2"})
        assert seen == ["e1", "e2"]  # published by the committing thread, in order
        session = Session(ctx.engine)
        outbox.publish_after_commit(ctx, session, "edh.test", "k", {"id": "lost"})
        session.rollback()
        session.close()
        outbox.flush(ctx)  # again: nothing pending, nothing sent twice
        assert seen == ["e1", "e2"]
        with Session(ctx.engine) as check:
            rows = check.exec(select(OutboxEvent).order_by(col(OutboxEvent.seq))).all()
        assert [(r.event_id, r.attempts) for r in rows] == [("e1", 1), ("e2", 1)]
        assert all(r.published_at is not None for r in rows)
    finally:
        ctx.engine.dispose()
