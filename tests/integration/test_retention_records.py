"""Retention of the accountability records: the record of use (purged by the hub's lake
purge task past ``EDH_AUDIT__PUPIL_USE_RETENTION_DAYS``) and the pseudonymisation
service's own audit trail (purged by the service process itself, at start and then
every ``EDH_PSEUDONYM__SERVICE__PURGE_EVERY_MINUTES``, past its retention; the rest of
its trail still verifies). Oracles: the rows' own timestamps against the configured
windows."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from contracts.clock import as_utc
from hub.audit.schedule import AuditScheduler
from hub.audit.service import verify_log
from hub.config import Settings
from hub.db import make_engine, session_scope, upgrade
from hub.pseudonym.models import PupilUseDigest
from hub.pseudonym.server import create_service_app
from hub.settings.pseudonym import PseudonymServiceSettings, PseudonymSettings
from hub.trail.models import AuditEvent, AuditPurge
from hub.trail.seal import use_audit_key
from hub.trail.writer import SYSTEM, EventDraft, Resource, record_now
from tests.support.ingest_fixtures import IngestSetup

NOW = datetime.now(UTC)


def _use(job: str, days_ago: int) -> PupilUseDigest:
    return PupilUseDigest(
        digest=f"{job:0>64}"[:64],
        job_id=job,
        contract_id="c-1",
        project_id="p-1",
        released_at=NOW - timedelta(days=days_ago),
    )


def _uses(setup: IngestSetup) -> set[str]:
    with Session(setup.ctx.engine) as session:
        return {u.job_id for u in session.exec(select(PupilUseDigest)).all()}


def test_the_record_of_use_is_purged_past_its_retention_by_the_scheduled_task(
    ingest: IngestSetup,
) -> None:
    with session_scope(ingest.ctx.engine) as session:
        for job, days in (("j-old", 1900), ("j-edge", 1824), ("j-new", 10)):
            session.add(_use(job, days))
    assert ingest.ctx.settings.audit.pupil_use_retention_days == 1825  # the default
    assert AuditScheduler(ingest.ctx).tick(NOW)["lake-purge"] is True
    assert _uses(ingest) == {"j-edge", "j-new"}
    ingest.ctx.settings.audit.pupil_use_retention_days = 5  # configurable
    assert AuditScheduler(ingest.ctx).tick(NOW + timedelta(days=2))["lake-purge"] is True
    assert _uses(ingest) == set()
    with Session(ingest.ctx.engine) as session:
        purges = session.exec(
            select(AuditEvent).where(AuditEvent.action == "audit.pupil_use.purged")
        ).all()
    assert [e.details["rows"] for e in purges] == [1, 2]


def _service_settings(tmp_path: Path, db_url: str, every: int) -> Settings:
    service = PseudonymServiceSettings(
        database_url=db_url, audit_retention_days=30, purge_every_minutes=every
    )
    return Settings(dev_mode=True, data_dir=tmp_path, pseudonym=PseudonymSettings(service=service))


def _seed_trail(settings: Settings) -> None:
    """Three derivation events 100 days old and one of today in the service's trail."""
    engine = make_engine(settings.pseudonym.service.database_url)
    upgrade(engine)
    use_audit_key(engine, settings)  # as the service does
    old = NOW - timedelta(days=100)
    for _ in range(3):
        draft = EventDraft(SYSTEM, "pseudonym.derive", Resource("pseudonym-key", "use:v1"))
        record_now(engine, draft, now=old)
    record_now(engine, EventDraft(SYSTEM, "pseudonym.derive", Resource("pseudonym-key")))
    engine.dispose()


def _trail(settings: Settings) -> tuple[list[AuditEvent], list[AuditPurge]]:
    engine = make_engine(settings.pseudonym.service.database_url)
    try:
        with Session(engine) as session:
            events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())
            return events, list(session.exec(select(AuditPurge)).all())
    finally:
        engine.dispose()


def test_the_service_purges_its_own_trail_at_start_and_the_rest_verifies(
    db_url: str, tmp_path: Path
) -> None:
    settings = _service_settings(tmp_path, db_url, every=1440)
    _seed_trail(settings)
    app = create_service_app(settings)
    with TestClient(app) as service:
        deadline = time.monotonic() + 30
        while not _trail(settings)[1]:
            assert time.monotonic() < deadline, "the service did not purge its trail"
            time.sleep(0.1)
        body = {"kind": "use", "purpose": "record of use"}
        token = settings.pseudonym.service.token.get_secret_value()
        derived = service.post(
            "/v1/keys/derive", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert derived.status_code == 200, derived.text
    events, purges = _trail(settings)
    assert [p.events for p in purges] == [3]
    cutoff = NOW - timedelta(days=30)
    assert all(as_utc(e.ts) >= cutoff for e in events)
    assert [e.action for e in events] == ["pseudonym.derive", "audit.purged", "pseudonym.derive"]
    engine = make_engine(db_url)
    use_audit_key(engine, settings)
    try:
        assert verify_log(engine, settings).ok
    finally:
        engine.dispose()


def test_a_service_with_purge_disabled_keeps_its_trail(db_url: str, tmp_path: Path) -> None:
    settings = _service_settings(tmp_path, db_url, every=0)
    _seed_trail(settings)
    with TestClient(create_service_app(settings)):
        time.sleep(1)
    events, purges = _trail(settings)
    assert (len(events), purges) == (4, [])
