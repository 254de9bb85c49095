"""Concurrent appends from many threads still form one valid chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from hub.context import HubContext
from hub.db import session_scope
from hub.trail.stream import EVENTS
from hub.trail.writer import record, record_many
from tests.support.audit_fixtures import draft, verify_json

Edh = Callable[..., tuple[int, str]]
THREADS, PER_THREAD = 8, 25


def _append(ctx: HubContext, worker: int, errors: list[BaseException]) -> None:
    try:
        for i in range(PER_THREAD):
            with session_scope(ctx.engine) as session:
                if i % 5:
                    record(session, draft(worker * 1000 + i))
                else:
                    record_many(session, [draft(worker * 1000 + i), draft(worker * 1000 + i)])
    except BaseException as exc:  # surfaced by the assertion below
        errors.append(exc)


def test_concurrent_appends_form_one_valid_chain(hub_ctx: HubContext, edh: Edh) -> None:
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_append, args=(hub_ctx, w, errors)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = THREADS * (PER_THREAD + PER_THREAD // 5)
    with hub_ctx.engine.connect() as conn:
        count, top = conn.execute(select(func.count(), func.max(EVENTS.c.seq))).one()
    assert (count, top) == (expected, expected)
    report = verify_json(edh)
    assert report["ok"] is True and report["events"] == expected, report["problems"][:3]
