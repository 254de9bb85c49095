"""Retention of the sandbox's results and ledgers: nothing derived from the lake outlives
the retention of the contracts it came from.

A finished query job keeps its released result, its airlock hold (the exact result, the
per-cell values and pupil sketches, the checker's findings per cell) and the details of
its privacy budget spend for the shortest ``retention_days`` of its contracts, counted
from the day it finished (a contract no longer known counts as 0 days). Then
:func:`purge_results` deletes them: the job's ``result`` (the API answers 410
``result-purged``), the hold's rows, cells and per-cell findings (a hold still pending
is rejected: its data are past retention), the spend's ``details``. What accountability
needs stays: the SQL, the decision, counts, reviews, and the spend's ε and δ (the
project's budget must not grow back). One audit event per run that purged anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from hub.contracts.public import known_terms
from hub.ingest.public import cutoff
from hub.sandbox.airlock.models import PENDING, REJECTED, OutputHold
from hub.sandbox.dp.models import BudgetSpend
from hub.sandbox.models import QueryJob
from hub.trail.writer import SYSTEM, EventDraft, Resource, Why, record

PURGED = "retention_purged_on"
"""Key of a job's ``report`` (and a hold's ``findings``) dated when its result went."""
EXPIRED_REASON = "retention period over"


@dataclass
class ResultsPurge:
    """What one run deleted: job results, airlock holds, budget spend details."""

    jobs: int = 0
    holds: int = 0
    spends: int = 0


def _retention_days(session: Session, contract_ids: list[str], known: dict[str, int]) -> int:
    """The shortest retention of ``contract_ids`` (0 for a contract no longer known)."""
    days = []
    for contract_id in contract_ids:
        if contract_id not in known:
            terms = known_terms(session, contract_id)
            known[contract_id] = terms.retention_days if terms else 0
        days.append(known[contract_id])
    return min(days, default=0)


def _expired(session: Session, job: QueryJob, on: date, known: dict[str, int]) -> bool:
    if job.finished_at is None or (job.report or {}).get(PURGED):
        return False
    days = _retention_days(session, list(job.contract_ids), known)
    return job.finished_at.date() < cutoff(days, on)


def _purge_hold(hold: OutputHold, job: QueryJob, on: date) -> None:
    hold.result = {"columns": list(hold.result.get("columns", [])), "rows": []}
    hold.cells = []
    hold.findings = {**hold.findings, "cells": [], PURGED: on.isoformat()}
    if hold.status == PENDING:
        hold.status = job.status = REJECTED
        hold.decided_at = datetime.now(UTC)
        job.reasons = [EXPIRED_REASON]
        job.report = {"decision": REJECTED, "reasons": job.reasons}


def _purge_job(session: Session, job: QueryJob, on: date, done: ResultsPurge) -> None:
    hold = session.get(OutputHold, job.id)
    if hold is not None:
        _purge_hold(hold, job, on)
        session.add(hold)
        done.holds += 1
    for spend in session.exec(select(BudgetSpend).where(BudgetSpend.job_id == job.id)).all():
        spend.details = {}
        session.add(spend)
        done.spends += 1
    job.result = None
    job.report = {**(job.report or {}), PURGED: on.isoformat()}
    session.add(job)
    done.jobs += 1


def purge_results(session: Session, on: date) -> ResultsPurge:
    """Delete the results and ledger details of every job past retention on ``on``
    (module docstring); idempotent; audited when anything went. The caller commits."""
    done, known = ResultsPurge(), dict[str, int]()
    finished = select(QueryJob).where(col(QueryJob.finished_at).is_not(None))
    for job in session.exec(finished).all():
        if _expired(session, job, on, known):
            _purge_job(session, job, on, done)
    if done.jobs:
        details: dict[str, Any] = {"on": on.isoformat(), **vars(done)}
        draft = EventDraft(
            SYSTEM,
            "sandbox.retention.purged",
            Resource("sandbox-results", None),
            why=Why(purpose="retention"),
            details=details,
        )
        record(session, draft)
    return done
