"""Job leases: which hub process holds an active job, and whether it is still alive.

A job's ``runner`` is the id of the sandbox runtime that holds it and ``heartbeat_at``
the last time that runtime renewed the lease (every ``heartbeat_s`` while it works on
the job). A job whose lease is older than ``lease_s``, or that has no runner (queued
before leases existed, or handed back at a clean shutdown), is an orphan that any hub
may claim. A claim is one conditional UPDATE that re-checks the orphan condition, so of
several hubs claiming one orphan at once exactly one wins (PostgreSQL re-evaluates the
condition after the row lock; SQLite has one writer at a time).

Clocks: heartbeats are stamped with each hub's UTC clock; hubs must keep their clocks in
step (NTP) to well within ``lease_s``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from hub.columns import utcnow
from hub.db import session_scope
from hub.sandbox.models import ACTIVE, QueryJob


def _orphaned(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        col(QueryJob.runner).is_(None),
        col(QueryJob.heartbeat_at).is_(None),
        col(QueryJob.heartbeat_at) < cutoff,
    )


def renew(engine: Engine, runner: str, job_ids: Collection[str]) -> None:
    """Renew the lease of the jobs ``job_ids`` that ``runner`` still holds active."""
    if not job_ids:
        return
    with session_scope(engine) as session:
        session.exec(
            update(QueryJob)
            .where(
                col(QueryJob.id).in_(list(job_ids)),
                col(QueryJob.runner) == runner,
                col(QueryJob.status).in_(ACTIVE),
            )
            .values(heartbeat_at=utcnow())
        )


def orphans(
    engine: Engine, lease_s: float, keep: Collection[str], limit: int = 100
) -> list[tuple[str, str]]:
    """``(job id, status)`` of the orphaned active jobs, oldest first, except ``keep``
    (the jobs the caller itself is working on)."""
    cutoff = utcnow() - timedelta(seconds=lease_s)
    query = (
        select(QueryJob.id, QueryJob.status)
        .where(col(QueryJob.status).in_(ACTIVE), _orphaned(cutoff))
        .order_by(col(QueryJob.created_at))
        .limit(limit + len(keep))
    )
    with session_scope(engine) as session:
        rows = session.exec(query).all()
    return [(job_id, status) for job_id, status in rows if job_id not in keep][:limit]


def claim(session: Session, job_id: str, status: str, runner: str, lease_s: float) -> bool:
    """Make ``runner`` the holder of ``job_id`` if it is still an orphan in ``status``;
    True for exactly one of several concurrent callers. The caller commits (the row
    stays locked until then)."""
    now = utcnow()
    taken = session.exec(
        update(QueryJob)
        .where(
            col(QueryJob.id) == job_id,
            col(QueryJob.status) == status,
            _orphaned(now - timedelta(seconds=lease_s)),
        )
        .values(runner=runner, heartbeat_at=now)
    )
    return taken.rowcount == 1


def start(session: Session, job_id: str, runner: str, now: datetime) -> bool:
    """Move ``job_id`` from queued to running (started at ``now``) if ``runner`` still
    holds it; True when it did (a job cancelled, or taken over by another hub, is left
    alone)."""
    moved = session.exec(
        update(QueryJob)
        .where(
            col(QueryJob.id) == job_id,
            col(QueryJob.status) == "queued",
            col(QueryJob.runner) == runner,
        )
        .values(status="running", started_at=now, heartbeat_at=now)
    )
    return moved.rowcount == 1


def hand_back(engine: Engine, runner: str) -> None:
    """Give up the queued jobs of ``runner`` (clean shutdown): any hub may take them at
    once, without waiting for the lease to expire."""
    with session_scope(engine) as session:
        session.exec(
            update(QueryJob)
            .where(col(QueryJob.runner) == runner, col(QueryJob.status) == "queued")
            .values(runner=None, heartbeat_at=None)
        )
