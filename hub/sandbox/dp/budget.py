"""A project's privacy budget: what its releases spent (the ledger), what remains.

Basic composition: a project's spend is the sum of the ε of its releases (and of their
δ). A query is refused at submission when the remaining ε is below the ε one query may
spend, and its release is withheld when, by the time it is released, other releases have
left too little (the check and the debit are one transaction with the job's success,
under a lock on the project's row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from hub.registry.models import Project
from hub.sandbox.dp.models import BudgetSpend
from hub.sandbox.errors import QueryRefused

EPSILON_SLACK = 1e-9  # OpenDP's maps round up in the last bits


class BudgetSpent(QueryRefused):
    """The project's privacy budget cannot pay for one more query (409)."""

    status, slug, title = 409, "privacy-budget-spent", "Privacy budget spent"


@dataclass(frozen=True)
class Budget:
    """A project's privacy budget in ε: the total, what releases spent, what remains."""

    total: float
    spent: float
    delta: float
    releases: int

    @property
    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)

    def as_dict(self) -> dict[str, Any]:
        """The API's view (rounded to 4 decimals)."""
        return {
            "epsilon_total": round(self.total, 4),
            "epsilon_spent": round(self.spent, 4),
            "epsilon_remaining": round(self.remaining, 4),
            "delta_spent": self.delta,
            "releases": self.releases,
        }


def of(session: Session, project_id: str, total: float) -> Budget:
    """``project_id``'s budget of ``total`` ε, as the ledger stands."""
    row = session.exec(
        select(
            func.coalesce(func.sum(BudgetSpend.epsilon), 0.0),
            func.coalesce(func.sum(BudgetSpend.delta), 0.0),
            func.count(),
        ).where(BudgetSpend.project_id == project_id)
    ).one()
    return Budget(total, float(row[0]), float(row[1]), int(row[2]))


def require(session: Session, project_id: str, epsilon: float, total: float) -> Budget:
    """The budget; raise ``BudgetSpent`` (with what remains) when ``epsilon`` exceeds it."""
    budget = of(session, project_id, total)
    if epsilon > budget.remaining + EPSILON_SLACK:
        raise BudgetSpent(
            f"the project's privacy budget is spent: {budget.remaining:.4f} of "
            f"{budget.total:g} ε remains, a query spends {epsilon:g}",
            reasons=["privacy budget spent"],
            budget=budget.as_dict(),
        )
    return budget


def debit(
    session: Session,
    project_id: str,
    job_id: str,
    spend: tuple[float, float],
    total: float,
    details: dict[str, Any],
) -> Budget:
    """Record ``spend`` (ε, δ) for ``job_id``; raise ``BudgetSpent`` when it does not fit.

    The project's row stays locked until the caller commits: releases of one project on
    several hubs debit one after the other, each seeing the others' debits (without the
    lock, two could both fit in what remains and overspend the budget together)."""
    session.exec(select(Project.id).where(Project.id == project_id).with_for_update()).first()
    require(session, project_id, spend[0], total)
    session.add(
        BudgetSpend(
            project_id=project_id, job_id=job_id, epsilon=spend[0], delta=spend[1], details=details
        )
    )
    session.flush()
    return of(session, project_id, total)
