"""A hub starts and serves while its broker is unreachable (found by the cluster harness:
the hub's start-up connected the event bus before it served, so a hub and the broker down
together came back only in that order). ``edh serve`` (a real process, on PostgreSQL) is
started with nothing listening at its broker's address: it answers ``/health`` with the
bus degraded, registers a batch and keeps its event in the outbox; a broker then starts
at that address, and the hub connects by itself and publishes the event, exactly once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from contracts.batch_manifest import sign_manifest
from hub.bus.models import OutboxEvent
from hub.ingest.complete import REGISTERED_TOPIC, batch_event
from hub.ingest.models import IngestBatch
from tests.support import pg
from tests.support.ingest_batches import presigned
from tests.support.ingest_cli import prepared_hub, start_hub
from tests.support.ingest_fixtures import IngestSetup, free_port, tansu_broker
from tests.support.topics import read_topic


@dataclass
class OfflineBroker:
    """A prepared hub (not started) whose broker address has nothing listening yet."""

    setup: IngestSetup
    env: dict[str, str]
    port: int
    broker_port: int
    log: Path

    def get(self, path: str, *roles: str) -> httpx.Response:
        token = self.setup.ctx.issuer.mint("tester", list(roles)) if roles else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.setup.url}{path}", headers=headers, timeout=30)


@pytest.fixture
def offline(pg_template: str, tmp_path: Path) -> Iterator[OfflineBroker]:
    with pg.fresh_database(pg_template) as name:
        broker_port, hub_dir = free_port(), tmp_path / "hub"
        setup, env, port = prepared_hub(
            pg.sqlalchemy_url(name),
            hub_dir,
            EDH_BUS__KIND="kafka",
            EDH_BUS__BOOTSTRAP_SERVERS=f"127.0.0.1:{broker_port}",
            EDH_BUS__OUTBOX_INTERVAL_SECONDS="0.5",
        )
        try:
            yield OfflineBroker(setup, env, port, broker_port, tmp_path / "hub.log")
        finally:
            setup.ctx.engine.dispose()


def register_batch(setup: IngestSetup) -> dict[str, Any]:
    """Upload and complete one batch of 20 statements, as a connector does."""
    ship = presigned(setup)
    ship.upload_all()
    return ship.client.complete(
        ship.grant["batch_id"], sign_manifest(ship.manifest(), setup.connector_key)
    )


def outbox_row(setup: IngestSetup, event_id: str) -> OutboxEvent:
    with Session(setup.ctx.engine) as session:
        (row,) = session.exec(select(OutboxEvent).where(OutboxEvent.event_id == event_id)).all()
        return row


def wait_for(predicate: Any, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_hub_serves_without_its_broker_and_publishes_once_it_is_up(
    offline: OfflineBroker,
) -> None:
    setup = offline.setup
    hub = start_hub(offline.port, offline.env, offline.log, healthy=False)
    try:
        health = offline.get("/health")
        assert health.status_code == 503, health.text
        checks = health.json()["checks"]
        assert checks.pop("event_bus") == {"status": "degraded"}
        assert checks and all(c == {"status": "ok"} for c in checks.values()), checks
        details = offline.get("/api/v1/system/health", "operator").json()["checks"]
        assert "Kafka not connected" in details["event_bus"]["detail"]

        batch = register_batch(setup)
        assert batch["status"] == "registered"
        assert offline.get("/api/v1/audit/verify", "dpo").json()["ok"] is True
        time.sleep(2)  # the relay retries meanwhile: the event stays in the outbox
        assert outbox_row(setup, batch["id"]).published_at is None

        with tansu_broker(offline.broker_port) as bootstrap:
            wait_for(
                lambda: outbox_row(setup, batch["id"]).published_at is not None,
                "the hub never published its pending event",
            )
            wait_for(lambda: offline.get("/health").status_code == 200, "the hub stayed unhealthy")
            events = read_topic(bootstrap, REGISTERED_TOPIC)
    finally:
        hub.terminate()
        hub.wait(timeout=30)
    with Session(setup.ctx.engine) as session:
        registered = session.get(IngestBatch, batch["id"])
        assert registered is not None
        assert events == [batch_event(registered)]


def test_a_hub_whose_broker_never_came_back_stops_cleanly(offline: OfflineBroker) -> None:
    hub = start_hub(offline.port, offline.env, offline.log, healthy=False)
    register_batch(offline.setup)  # a pending event, and a relay retrying it
    hub.terminate()
    assert hub.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    assert "Application shutdown complete." in offline.log.read_text()
