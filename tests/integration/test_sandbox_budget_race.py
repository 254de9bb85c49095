"""Two hubs releasing for one project at once may not overspend its privacy budget (the
race the cluster harness's budget check looks for: each hub checked what remained, then
both debited)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import Session

from hub.sandbox.dp import budget
from tests.support.factories import make_context
from tests.support.sandbox_fixtures import register_lab


def test_concurrent_debits_for_the_last_epsilon_leave_one_withheld(
    pg_url: str, tmp_path: Path
) -> None:
    ctx = make_context(pg_url, tmp_path)
    project = register_lab(ctx).projects["alice"]
    first, second = Session(ctx.engine), Session(ctx.engine)
    outcome: list[BaseException | budget.Budget] = []

    def second_hub() -> None:
        try:
            outcome.append(budget.debit(second, project, "job-2", (1.0, 0.0), 1.5, {}))
            second.commit()
        except budget.BudgetSpent as exc:
            second.rollback()
            outcome.append(exc)

    try:
        budget.debit(first, project, "job-1", (1.0, 0.0), 1.5, {})  # not committed yet
        racer = threading.Thread(target=second_hub)
        racer.start()
        racer.join(timeout=2)  # with the lock, it waits for the first debit's commit
        first.commit()
        racer.join(timeout=30)
        assert not racer.is_alive()
        with Session(ctx.engine) as session:
            spent = budget.of(session, project, 1.5)
        assert spent.releases == 1 and spent.spent == pytest.approx(1.0)
        assert isinstance(outcome[0], budget.BudgetSpent)
    finally:
        first.close()
        second.close()
        ctx.engine.dispose()
