"""The audit's periodic tasks, run by the hub itself: checkpoint, alert rules, verification
and retention purge (``EDH_AUDIT__*_EVERY_MINUTES``; 0 disables one task). The retention
purge also deletes the outbox events published more than ``EDH_BUS__OUTBOX_RETENTION_DAYS``
ago. The lake purge (``lake-purge``) applies the contracts' retention to the lake, the
quarantine, the catalog's counts and the sandbox's results and ledgers, and the record of
use's retention (``EDH_AUDIT__PUPIL_USE_RETENTION_DAYS``). The checkpoint
also runs as soon as ``EDH_AUDIT__CHECKPOINT_EVERY_EVENTS`` events follow the last one.

Every hub process runs an :class:`AuditScheduler` thread that calls :meth:`~AuditScheduler.tick`
every ``TICK_SECONDS``. A tick runs each task that is due, once per period across every hub
sharing the database: a run is claimed by moving the task's ``audit_task_run.started_at``
forward with ``UPDATE ... WHERE started_at <= now - period`` (or by inserting its first
row), which exactly one of several concurrent hubs achieves, on PostgreSQL as on SQLite.
A task that fails is logged and recorded as failed; it runs again next period and never
stops the other tasks nor the hub. A verification that finds tampering is a failed run
and raises its ``verification-failure`` alert (``verify_log`` does).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from contracts.clock import as_utc
from hub.audit.anchor import latest_publication
from hub.audit.publish import witness_store
from hub.audit.pupil import purge_uses
from hub.audit.service import checkpoint_now, purge_now, run_alert_rules, verify_log
from hub.bus.outbox import purge_published
from hub.context import HubContext
from hub.db import session_scope
from hub.settings.audit import AuditSettings
from hub.trail.chain import chain_head
from hub.trail.checkpoints import latest_checkpoint
from hub.trail.models import AuditTaskRun

log = logging.getLogger("hub.audit.schedule")

TICK_SECONDS = 10.0
STOP_SECONDS = 60.0
STALE_UPLOADS = timedelta(hours=24)
"""Uploads announced but not completed for this long go to quarantine (lake purge)."""
RUNS = AuditTaskRun.__table__  # type: ignore[attr-defined]


class TaskProblem(Exception):
    """A task ran but its outcome is a failure (e.g. the verification found tampering)."""


Runner = Callable[[HubContext, datetime], str]
"""Runs one task at ``now`` and returns a short summary (French, shown to the DPO)."""


@dataclass(frozen=True)
class Task:
    """One periodic task: its name, its period and what it runs."""

    name: str
    period: timedelta
    run: Runner


def _checkpoint(ctx: HubContext, _now: datetime) -> str:
    with session_scope(ctx.engine) as session:
        if chain_head(session)[0] == 0:
            return "journal vide : rien à signer"
    cp = checkpoint_now(ctx.engine, ctx.settings)
    published = latest_publication(witness_store(ctx.settings))
    where = (
        f", publié hors de la base ({published[1]} cosignature(s) de témoins)"
        if published is not None and published[0] == cp.tree_size
        else ""
    )
    return f"point de contrôle n° {cp.id} ({cp.tree_size} événements){where}"


def _alerts(ctx: HubContext, _now: datetime) -> str:
    raised = run_alert_rules(ctx.engine, ctx.settings, ctx.bus)
    return f"{len(raised)} nouvelle(s) alerte(s)"


def _verify(ctx: HubContext, _now: datetime) -> str:
    report = verify_log(ctx.engine, ctx.settings, ctx.bus)
    if not report.ok:
        raise TaskProblem(f"altération détectée : {len(report.problems)} problème(s), alerte levée")
    return f"journal intègre : {report.events} événements vérifiés"


def _purge(ctx: HubContext, now: datetime) -> str:
    purge = purge_now(ctx.engine, ctx.settings, now=now)
    done = "rien à purger" if purge is None else f"{purge.events} événements purgés"
    kept = timedelta(days=ctx.settings.bus.outbox_retention_days)
    with session_scope(ctx.engine) as session:
        sent = purge_published(session, now - kept)
    return f"{done} ; {sent} événement(s) publié(s) retiré(s) de la boîte d'envoi"


def _lake_purge(ctx: HubContext, now: datetime) -> str:
    from hub.ingest.public import purge_lake
    from hub.sandbox.public import purge_results

    with session_scope(ctx.engine) as session:
        results = purge_results(session, now.date())
        uses = purge_uses(session, now, ctx.settings.audit.pupil_use_retention_days)
    sandbox = (
        f"{results.jobs} résultat(s) du bac à sable purgé(s), {uses} trace(s) d'usage "
        "d'élèves purgée(s)"
    )
    if ctx.store is None:
        return f"pas de lac configuré ; {sandbox}"
    with session_scope(ctx.engine) as session:
        done = purge_lake(ctx.store, session, now.date(), STALE_UPLOADS)
    objects = sum(done["deleted"].values())
    return (
        f"{objects} fichier(s) du lac purgé(s), {len(done['quarantined'])} lot(s) en "
        f"quarantaine, {len(done['recounted'])} jeu(x) recompté(s) ; {sandbox}"
    )


RUNNERS: dict[str, Runner] = {
    "checkpoint": _checkpoint,
    "alerts": _alerts,
    "verify": _verify,
    "purge": _purge,
    "lake-purge": _lake_purge,
}


def periods(settings: AuditSettings) -> dict[str, int]:
    """Each task's period in minutes (0: disabled), in ``RUNNERS`` order."""
    return {
        "checkpoint": settings.checkpoint_every_minutes,
        "alerts": settings.alerts_every_minutes,
        "verify": settings.verify_every_minutes,
        "purge": settings.purge_every_minutes,
        "lake-purge": settings.lake_purge_every_minutes,
    }


def configured_tasks(settings: AuditSettings) -> list[Task]:
    """The enabled tasks (period above 0)."""
    return [
        Task(name, timedelta(minutes=minutes), RUNNERS[name])
        for name, minutes in periods(settings).items()
        if minutes > 0
    ]


def events_unsigned(engine: Engine) -> int:
    """How many events follow the last checkpoint."""
    with session_scope(engine) as session:
        last = latest_checkpoint(session)
        return chain_head(session)[0] - (last.tree_size if last else 0)


def claim(engine: Engine, task: Task, now: datetime, runner: str, *, early: bool = False) -> bool:
    """Take the run of ``task`` at ``now`` if its period has elapsed since the last claim
    (on any hub), or ``early`` when it has not run since ``now``; True for exactly one of
    several concurrent callers with the same ``now``."""
    since = now - task.period if not early else now - timedelta(microseconds=1)
    moved = (
        update(RUNS)
        .where(RUNS.c.task == task.name, RUNS.c.started_at <= since)
        .values(started_at=now, runner=runner, finished_at=None, ok=None, detail=None)
    )
    with engine.begin() as conn:
        if conn.execute(moved).rowcount == 1:
            return True
        if conn.execute(select(RUNS.c.task).where(RUNS.c.task == task.name)).first():
            return False  # not due
    try:
        with engine.begin() as conn:
            conn.execute(insert(RUNS).values(task=task.name, started_at=now, runner=runner))
    except IntegrityError:
        return False  # another hub ran this task first
    return True


def _finish(engine: Engine, name: str, started: datetime, ok: bool, detail: str) -> None:
    done = (
        update(RUNS)
        .where(RUNS.c.task == name, RUNS.c.started_at == started)
        .values(finished_at=datetime.now(UTC), ok=ok, detail=detail[:500])
    )
    with engine.begin() as conn:
        conn.execute(done)


@dataclass(frozen=True)
class TaskStatus:
    """What the DPO sees of one task: its period (0: disabled) and its last run on any hub,
    if any: start (UTC), outcome (None while it runs, or when its hub stopped meanwhile)
    and summary."""

    name: str
    every_minutes: int
    started_at: datetime | None = None
    ok: bool | None = None
    detail: str | None = None


def status(session: Session, settings: AuditSettings) -> list[TaskStatus]:
    """Every task, in ``RUNNERS`` order, with its last run."""
    runs = {row.task: row for row in session.exec(select(AuditTaskRun)).all()}
    every = periods(settings) if settings.scheduler_enabled else dict.fromkeys(RUNNERS, 0)
    return [
        TaskStatus(name, minutes, as_utc(run.started_at), run.ok, run.detail)
        if (run := runs.get(name))
        else TaskStatus(name, minutes)
        for name, minutes in every.items()
    ]


class AuditScheduler:
    """Runs the due audit tasks of ``ctx`` on a daemon thread (``start``/``stop``), or one
    :meth:`tick` at a time when driven directly (tests)."""

    def __init__(self, ctx: HubContext, tick_seconds: float = TICK_SECONDS) -> None:
        self.ctx = ctx
        self.tasks = configured_tasks(ctx.settings.audit)
        self.tick_seconds = tick_seconds
        self.runner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:128]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, now: datetime | None = None) -> dict[str, bool]:
        """Run every task due at ``now`` (default: the clock) that this scheduler could
        claim; returns ``{task: succeeded}`` for the tasks it ran. Never raises."""
        at = (now or datetime.now(UTC)).astimezone(UTC)
        ran: dict[str, bool] = {}
        for task in self.tasks:
            try:
                if claim(self.ctx.engine, task, at, self.runner, early=self._backlog(task)):
                    ran[task.name] = self._run(task, at)
            except Exception:
                log.exception("audit task %s: could not claim or record its run", task.name)
        return ran

    def _backlog(self, task: Task) -> bool:
        """Is ``task`` the checkpoint, with ``checkpoint_every_events`` events unsigned?"""
        every = self.ctx.settings.audit.checkpoint_every_events
        return task.name == "checkpoint" and 0 < every <= events_unsigned(self.ctx.engine)

    def _run(self, task: Task, at: datetime) -> bool:
        try:
            detail, ok = task.run(self.ctx, at), True
            log.info("audit task %s: %s", task.name, detail)
        except TaskProblem as exc:
            detail, ok = str(exc), False
            log.error("audit task %s failed: %s", task.name, detail)
        except Exception as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
            log.exception("audit task %s failed; it runs again next period", task.name)
        _finish(self.ctx.engine, task.name, at, ok, detail)
        return ok

    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start ticking every ``tick_seconds`` (the first tick after one interval)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="edh-audit-schedule", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            self.tick()

    def stop(self) -> None:
        """Stop ticking; waits for a running task to finish (at most ``STOP_SECONDS``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_SECONDS)
            if self._thread.is_alive():
                log.warning("audit scheduler still running a task at shutdown")


def start_scheduler(ctx: HubContext) -> AuditScheduler | None:
    """Start the scheduler of ``ctx`` when ``EDH_AUDIT__SCHEDULER_ENABLED`` (else None)."""
    if not ctx.settings.audit.scheduler_enabled:
        return None
    scheduler = AuditScheduler(ctx)
    scheduler.start()
    return scheduler
