"""The hub runs its audit tasks itself: once per period across hubs sharing a database,
not when not due, a failure isolated and retried, stopped with the app, shown to the DPO."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from hub.app import create_app
from hub.audit.schedule import AuditScheduler
from hub.context import HubContext
from hub.db import session_scope
from hub.settings.audit import AuditSettings
from hub.trail.checkpoints import load_signer
from hub.trail.models import AuditAlert, AuditCheckpoint, AuditTaskRun, AuditVerification
from hub.web.session import COOKIE
from tests.support.audit_fixtures import seed, sql
from tests.support.factories import make_context

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ALL_TASKS = {"checkpoint", "alerts", "verify", "purge", "lake-purge"}


@pytest.fixture
def hub_pair(db_url: str, tmp_path: Path) -> Iterator[Callable[..., list[HubContext]]]:
    """``hub_pair(**audit)``: two hub contexts on one database (two hub processes)."""
    made: list[HubContext] = []

    def make(**audit: object) -> list[HubContext]:
        audit.setdefault("scheduler_enabled", False)  # ticks are driven by the tests
        settings = AuditSettings(**audit)  # type: ignore[arg-type]
        made.extend(make_context(db_url, tmp_path, audit=settings) for _ in range(2))
        return made

    yield make
    for ctx in made:
        ctx.engine.dispose()


def runs(ctx: HubContext) -> dict[str, AuditTaskRun]:
    with session_scope(ctx.engine) as session:
        rows = session.exec(select(AuditTaskRun)).all()
        for row in rows:
            session.expunge(row)
    return {row.task: row for row in rows}


def count(ctx: HubContext, model: type) -> int:
    with session_scope(ctx.engine) as session:
        return len(session.exec(select(model)).all())


def test_concurrent_ticks_run_each_due_task_once(
    hub_pair: Callable[..., list[HubContext]],
) -> None:
    first, second = hub_pair()
    seed(first, 5)
    load_signer(first.settings)  # generate the dev-mode key before the race (not atomic)
    schedulers = [AuditScheduler(first), AuditScheduler(second)]
    barrier = threading.Barrier(2)
    ran: list[dict[str, bool]] = [{}, {}]

    def tick(i: int) -> None:
        barrier.wait()
        ran[i] = schedulers[i].tick(NOW)

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert set(ran[0]) | set(ran[1]) == ALL_TASKS
    assert not set(ran[0]) & set(ran[1]), ran
    assert all(ran[0].values()) and all(ran[1].values()), runs(first)
    assert count(first, AuditCheckpoint) == 1
    assert count(first, AuditVerification) == 1
    recorded = runs(second)
    assert {r.task for r in recorded.values() if r.ok} == ALL_TASKS
    assert str(recorded["checkpoint"].detail).endswith(
        "(5 événements), publié hors de la base (0 cosignature(s) de témoins)"
    )
    assert {r.runner for r in recorded.values()} <= {s.runner for s in schedulers}


def test_a_task_runs_again_only_when_its_period_has_elapsed(
    hub_pair: Callable[..., list[HubContext]],
) -> None:
    first, second = hub_pair(checkpoint_every_minutes=10, alerts_every_minutes=5)
    one, other = AuditScheduler(first), AuditScheduler(second)
    assert set(one.tick(NOW)) == ALL_TASKS
    assert other.tick(NOW) == {}
    assert other.tick(NOW + timedelta(minutes=4, seconds=59)) == {}
    assert other.tick(NOW + timedelta(minutes=5)) == {"alerts": True}
    assert one.tick(NOW + timedelta(minutes=6)) == {}
    assert set(one.tick(NOW + timedelta(minutes=10))) == {"checkpoint", "alerts"}
    assert set(other.tick(NOW + timedelta(days=1))) == ALL_TASKS
    started = runs(first)["purge"].started_at
    assert (started if started.tzinfo else started.replace(tzinfo=UTC)) == NOW + timedelta(days=1)


def test_a_checkpoint_also_runs_once_enough_events_follow_the_last(
    hub_pair: Callable[..., list[HubContext]],
) -> None:
    ctx, other = hub_pair(checkpoint_every_minutes=60, checkpoint_every_events=5)
    one = AuditScheduler(ctx)
    seed(ctx, 2)
    assert one.tick(NOW)["checkpoint"] is True
    seed(ctx, 4)
    assert "checkpoint" not in one.tick(NOW + timedelta(seconds=10))  # 4 unsigned
    seed(ctx, 1)
    later = NOW + timedelta(seconds=20)
    assert AuditScheduler(other).tick(later) == {"checkpoint": True}  # 5 unsigned: early
    assert one.tick(later) == {}  # the same run is not claimed twice
    with session_scope(ctx.engine) as session:
        sizes = [cp.tree_size for cp in session.exec(select(AuditCheckpoint)).all()]
    assert sorted(sizes) == [2, 7]
    assert str(runs(ctx)["checkpoint"].detail).startswith("point de contrôle n° 2 (7 événements)")


def test_disabled_task_never_runs(hub_pair: Callable[..., list[HubContext]]) -> None:
    ctx, _ = hub_pair(verify_every_minutes=0, purge_every_minutes=0, lake_purge_every_minutes=0)
    assert set(AuditScheduler(ctx).tick(NOW)) == {"checkpoint", "alerts"}
    assert "verify" not in runs(ctx)


def broken_store(tmp_path: Path) -> Path:
    """A witness directory that cannot be created (a file is in the way)."""
    path = tmp_path / "not-a-directory"
    path.write_text("in the way", encoding="utf-8")
    return path


def test_a_failing_task_does_not_stop_the_others_and_is_retried(
    hub_pair: Callable[..., list[HubContext]], tmp_path: Path
) -> None:
    ctx, _ = hub_pair(witness_dir=broken_store(tmp_path), checkpoint_every_minutes=10)
    seed(ctx, 3)
    scheduler = AuditScheduler(ctx)

    assert scheduler.tick(NOW) == {
        "checkpoint": False,
        "alerts": True,
        "verify": True,
        "purge": True,
        "lake-purge": True,
    }
    recorded = runs(ctx)
    assert recorded["checkpoint"].ok is False and recorded["checkpoint"].detail
    assert "not published" in str(recorded["checkpoint"].detail)
    assert recorded["alerts"].ok is True
    assert recorded["alerts"].finished_at is not None

    ctx.settings.audit.witness_dir = None  # the operator fixes the store: next period succeeds
    assert scheduler.tick(NOW + timedelta(minutes=1)) == {}
    assert scheduler.tick(NOW + timedelta(minutes=10))["checkpoint"] is True
    assert count(ctx, AuditCheckpoint) == 1


def test_tampering_found_by_the_scheduled_verification_raises_the_alert(
    hub_pair: Callable[..., list[HubContext]],
) -> None:
    ctx, _ = hub_pair(checkpoint_every_minutes=0, alerts_every_minutes=0)
    seed(ctx, 4)
    sql(ctx, "UPDATE audit_event SET action = 'rewritten' WHERE seq = 2")

    assert AuditScheduler(ctx).tick(NOW) == {"verify": False, "purge": True, "lake-purge": True}
    verify = runs(ctx)["verify"]
    assert verify.ok is False
    assert verify.detail is not None and "altération détectée" in verify.detail
    with session_scope(ctx.engine) as session:
        rules = [a.rule for a in session.exec(select(AuditAlert)).all()]
    assert rules == ["verification-failure"]


def test_background_thread_ticks_and_stops(hub_pair: Callable[..., list[HubContext]]) -> None:
    ctx, _ = hub_pair(
        checkpoint_every_minutes=0,
        verify_every_minutes=0,
        purge_every_minutes=0,
        lake_purge_every_minutes=0,
    )
    scheduler = AuditScheduler(ctx, tick_seconds=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while "alerts" not in runs(ctx) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert runs(ctx)["alerts"].ok is True


def test_scheduler_starts_and_stops_with_the_app(
    hub_pair: Callable[..., list[HubContext]],
) -> None:
    ctx, _ = hub_pair(scheduler_enabled=True)
    app = create_app(context=ctx)
    with TestClient(app):
        scheduler = app.state.audit_scheduler
        assert scheduler is not None and scheduler.running
    assert not scheduler.running


def test_disabled_scheduler_starts_no_thread(hub_pair: Callable[..., list[HubContext]]) -> None:
    ctx, _ = hub_pair(scheduler_enabled=False)
    app = create_app(context=ctx)
    with TestClient(app):
        assert app.state.audit_scheduler is None


def test_dpo_page_shows_each_task_last_run(
    hub_pair: Callable[..., list[HubContext]], tmp_path: Path
) -> None:
    ctx, _ = hub_pair(
        scheduler_enabled=True, verify_every_minutes=0, witness_dir=broken_store(tmp_path)
    )
    seed(ctx, 2)
    AuditScheduler(ctx).tick(NOW)
    with TestClient(create_app(context=ctx)) as client:
        client.cookies.set(COOKIE, ctx.issuer.mint("dpo-1", ["dpo"]))
        page = client.get("/audit")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Tâches automatiques" in text
    assert "Évaluation des règles d'alerte" in text and "toutes les 5 min" in text
    assert "23/11/2026 à 13:00:00" in text  # 12:00 UTC, shown in Europe/Paris
    assert "réussie : 0 nouvelle(s) alerte(s)" in text
    assert "Vérification de l'intégrité" in text and "désactivée" in text
    assert "en échec" in text  # the checkpoint could not be published
