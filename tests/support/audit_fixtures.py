"""Audit test helpers: seeding events, tampering rows directly in SQL, running ``edh audit``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert, text

from hub.audit.scan import CleanScan, scan_clean
from hub.cli import main
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.checkpoints import create_checkpoint, frontier_of, list_checkpoints, load_signer
from hub.trail.models import GENESIS_HASH
from hub.trail.stream import EVENTS
from hub.trail.writer import (
    Actor,
    Decision,
    EventDraft,
    Resource,
    Why,
    chain_head,
    compute_hash,
    record,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def draft(i: int, *, decision: Decision = Decision.ALLOW, sub: str | None = None) -> EventDraft:
    """A varied event: researcher ``r<i % 3>`` querying under contract ``c<i % 2>``."""
    return EventDraft(
        actor=Actor(sub or f"r{i % 3}", "researcher", f"lab{i % 2}"),
        action="sandbox.query",
        resource=Resource("query", f"q{i}"),
        decision=decision,
        reasons=[] if decision == Decision.ALLOW else ["k-anonymity: cell below 10"],
        why=Why(contract_id=f"c{i % 2}", project_id=f"p{i % 2}", dataset_id="d1", purpose="étude"),
        details={"sql_hash": f"{i:064x}", "rows": i},
    )


def seed(
    ctx: HubContext, n: int, start: datetime = T0, step: timedelta = timedelta(hours=1)
) -> None:
    """Append ``n`` events through ``record``, one transaction each, ``step`` apart."""
    for i in range(1, n + 1):
        with session_scope(ctx.engine) as session:
            record(session, draft(i), now=start + step * (i - 1))


def seed_signed(ctx: HubContext, n: int, sizes: tuple[int, ...]) -> None:
    """``n`` events (``seed``), with signed checkpoints over the first ``sizes`` (the last
    three events appended after them)."""
    seed(ctx, n - 3)
    signer = load_signer(ctx.settings)
    for size in sizes:
        with session_scope(ctx.engine) as session:
            create_checkpoint(session, signer, size=size)
    seed(ctx, 3)


def fast_pass(ctx: HubContext, jobs: int = 1) -> bool:
    """Whether the whole log passes verification's fast pass (``jobs``: processes)."""
    with session_scope(ctx.engine) as session:
        state = CleanScan(1, GENESIS_HASH, frontier_of(None))
        head_seq, _ = chain_head(session)
        return scan_clean(session, state, list_checkpoints(session), head_seq, jobs)


def sql(ctx: HubContext, statement: str, **params: Any) -> None:
    """Run raw SQL in its own transaction (the tamperer's access)."""
    with ctx.engine.begin() as conn:
        conn.execute(text(statement), params)


def row(ctx: HubContext, seq: int) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        found = conn.execute(EVENTS.select().where(EVENTS.c.seq == seq)).one()
    return dict(found._mapping)


def forge(ctx: HubContext, seq: int, prev_hash: str, action: str = "forged.access") -> None:
    """Insert a well-formed event with a correct hash at ``seq`` chained after ``prev_hash``."""
    values = {**row(ctx, 1), "seq": seq, "event_id": f"forged-{seq}", "action": action}
    values["prev_hash"] = prev_hash
    values["hash"] = compute_hash(SimpleNamespace(**values))  # type: ignore[arg-type]
    with ctx.engine.begin() as conn:
        conn.execute(insert(EVENTS).values(**values))


def rehash(ctx: HubContext, seq: int, **changes: Any) -> None:
    """Rewrite event ``seq`` with ``changes`` and a recomputed (self-consistent) hash."""
    values = {**row(ctx, seq), **changes}
    values["hash"] = compute_hash(SimpleNamespace(**values))  # type: ignore[arg-type]
    with ctx.engine.begin() as conn:
        conn.execute(EVENTS.update().where(EVENTS.c.seq == seq).values(**values))


@pytest.fixture
def edh(
    hub_ctx: HubContext, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, str]]]:
    """``edh("audit", "verify", "--json")`` runs the real CLI on the test hub's database."""
    monkeypatch.setenv("EDH_DATABASE__URL", hub_ctx.settings.database_url())
    monkeypatch.setenv("EDH_DATA_DIR", str(hub_ctx.settings.data_dir))
    monkeypatch.setenv("EDH_DEV_MODE", "true")

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(argv))
        return code, capsys.readouterr().out

    yield run


@pytest.fixture
def bus_alerts(hub_ctx: HubContext) -> list[dict[str, Any]]:
    """Every event published on ``edh.audit.alert`` during the test (in-process bus)."""
    received: list[dict[str, Any]] = []
    assert hub_ctx.bus is not None
    hub_ctx.bus.subscribe("edh.audit.alert", "test", lambda _k, ev: received.append(dict(ev)))
    return received


def verify_json(edh: Callable[..., tuple[int, str]]) -> dict[str, Any]:
    """Run ``edh audit verify --json`` and parse its report."""
    _code, out = edh("audit", "verify", "--json")
    report: dict[str, Any] = json.loads(out)
    return report


def kinds(report: dict[str, Any]) -> list[tuple[int, str]]:
    """The (seq, kind) of each problem, in report order."""
    return [(p["seq"], p["kind"]) for p in report["problems"]]
