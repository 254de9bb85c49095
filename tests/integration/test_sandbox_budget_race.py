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
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def contend(url: str, index: int, start_at: float) -> tuple[bool, bool]:
    """Debit ε = 1 for job ``index`` once ``start_at`` is reached: (paid, whether the
    contender was ready before ``start_at``, so that it really raced the others)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect():
            pass  # connected before the start
        ready = time.time() < start_at
        time.sleep(max(0.0, start_at - time.time()))
        with session_scope(engine) as session:
            budget.debit(session, PROJECT, f"job-{index}", (1.0, 0.0), float(PAID), {})
            time.sleep(HOLD_S)
        return True, ready
    except budget.BudgetSpent:
        return False, ready
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
    start_at = time.time() + 1.0
    with ThreadPoolExecutor(CONTENDERS) as pool:
        outcomes = list(pool.map(lambda i: contend(migrated, i, start_at), range(CONTENDERS)))
    assert all(ready for _, ready in outcomes)
    assert sum(paid for paid, _ in outcomes) == PAID, outcomes
    assert sum(_ledger(migrated)) == pytest.approx(PAID)


def test_concurrent_hub_processes_never_overspend(pg_url: str, tmp_path: Path) -> None:
    make_context(pg_url, tmp_path).engine.dispose()
    spawn = multiprocessing.get_context("spawn")  # separate interpreters, as hub processes
    start_at = time.time() + 8.0  # every process imported and connected by then
    with spawn.Pool(CONTENDERS) as pool:
        outcomes = pool.starmap(contend, [(pg_url, i, start_at) for i in range(CONTENDERS)])
    assert all(ready for _, ready in outcomes), "a process was late: it did not race"
    assert sum(paid for paid, _ in outcomes) == PAID, outcomes
    assert sorted(_ledger(pg_url)) == [1.0] * PAID
