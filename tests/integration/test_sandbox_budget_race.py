"""The privacy budget cannot be overspent by concurrent releases, from threads of one hub
or from several hub processes on one database.

Each contender opens its own connection, debits one query's ε for the same project and
holds its transaction open a while before committing (as a release does: the debit
shares the job's transaction). The budget pays for ``PAID`` queries: exactly that many
debits succeed, the others are refused with ``BudgetSpent``, and the ledger (the oracle,
read back from the database) never exceeds the budget.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import pytest
from sqlmodel import Session, select

from hub.db import make_engine, session_scope
from hub.sandbox.dp import budget
from hub.sandbox.dp.models import BudgetSpend
from tests.support.factories import make_context

CONTENDERS = 6
PAID = 2  # the budget allows exactly two queries of ε = 1
PROJECT = "p-race"
HOLD_S = 0.4  # the rest of the release's transaction, after the debit


class Start(Protocol):
    """A barrier all contenders wait on (threading's, or a multiprocessing manager's)."""

    def wait(self, timeout: float | None = None) -> int: ...


def contend(url: str, index: int, start: Start) -> bool:
    """Connect, wait until every contender has, then debit ε = 1 for job ``index``;
    True when it was paid."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect():
            pass  # connected before the start
        start.wait(timeout=120)
        with session_scope(engine) as session:
            budget.debit(session, PROJECT, f"job-{index}", (1.0, 0.0), float(PAID), {})
            time.sleep(HOLD_S)
        return True
    except budget.BudgetSpent:
        return False
    finally:
        engine.dispose()


def _ledger(url: str) -> list[float]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return [s.epsilon for s in session.exec(select(BudgetSpend)).all()]
    finally:
        engine.dispose()


@pytest.fixture
def migrated(db_url: str, tmp_path: Path) -> str:
    """``db_url`` (SQLite, PostgreSQL) with the hub's schema."""
    make_context(db_url, tmp_path).engine.dispose()
    return db_url


def test_concurrent_threads_never_overspend(migrated: str) -> None:
    start = threading.Barrier(CONTENDERS)
    with ThreadPoolExecutor(CONTENDERS) as pool:
        paid = list(pool.map(lambda i: contend(migrated, i, start), range(CONTENDERS)))
    assert sum(paid) == PAID, paid
    assert sum(_ledger(migrated)) == pytest.approx(PAID)


def test_concurrent_hub_processes_never_overspend(pg_url: str, tmp_path: Path) -> None:
    make_context(pg_url, tmp_path).engine.dispose()
    spawn = multiprocessing.get_context("spawn")  # separate interpreters, as hub processes
    with spawn.Manager() as manager, spawn.Pool(CONTENDERS) as pool:
        start = manager.Barrier(CONTENDERS)
        paid = pool.starmap(contend, [(pg_url, i, start) for i in range(CONTENDERS)])
    assert sum(paid) == PAID, paid
    assert sorted(_ledger(pg_url)) == [1.0] * PAID
