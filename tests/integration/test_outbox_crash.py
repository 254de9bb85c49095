"""The transactional outbox: ``edh serve`` (a real process) commits a batch while the
broker is down, is killed (SIGKILL) before it could publish, and after a restart the
``batch.registered`` event reaches the real Kafka-protocol broker exactly once."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlmodel import Session, select

from contracts.batch_manifest import sign_manifest
from hub.bus.models import OutboxEvent
from hub.ingest.complete import REGISTERED_TOPIC
from tests.support.ingest_batches import presigned
from tests.support.ingest_cli import prepared_hub, start_hub
from tests.support.ingest_fixtures import IngestSetup, tansu_broker


def outbox_rows(setup: IngestSetup, event_id: str) -> list[OutboxEvent]:
    with Session(setup.ctx.engine) as session:
        query = select(OutboxEvent).where(OutboxEvent.event_id == event_id)
        return list(session.exec(query).all())


def consumed(bootstrap: str, contract_id: str) -> list[dict[str, Any]]:
    """Every event of the contract on the registered topic, read from its first offset
    until the topic has been quiet for a few seconds."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None)
    try:
        partitions = [
            TopicPartition(REGISTERED_TOPIC, p)
            for p in consumer.partitions_for_topic(REGISTERED_TOPIC) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        events: list[dict[str, Any]] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 5:
            batch = consumer.poll(timeout_ms=500)
            for records in batch.values():
                events += [json.loads(r.value) for r in records]
                quiet_since = time.monotonic()
    finally:
        consumer.close()
    return [e for e in events if e.get("contract_id") == contract_id]


def wait_published(setup: IngestSetup, event_id: str, timeout: float = 90) -> OutboxEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (row,) = outbox_rows(setup, event_id)
        if row.published_at is not None:
            return row
        time.sleep(0.2)
    raise AssertionError("the restarted hub did not publish the pending event")


def test_event_committed_before_a_crash_is_published_once_after_restart(tmp_path: Path) -> None:
    hub_dir = tmp_path / "hub"
    setup, env, port = prepared_hub(
        f"sqlite:///{hub_dir / 'hub.sqlite3'}",
        hub_dir,
        EDH_BUS__KIND="kafka",
        EDH_BUS__PUBLISH_TIMEOUT_SECONDS="2",
        EDH_BUS__OUTBOX_INTERVAL_SECONDS="0.5",
    )
    try:
        with tansu_broker() as first:
            hub = start_hub(port, {**env, "EDH_BUS__BOOTSTRAP_SERVERS": first})
        try:  # the broker is gone: the commit happens, the publication cannot
            ship = presigned(setup)
            ship.upload_all()
            jws = sign_manifest(ship.manifest(), setup.connector_key)
            batch = ship.client.complete(ship.grant["batch_id"], jws)
            assert batch["status"] == "registered"
            (row,) = outbox_rows(setup, batch["id"])
            assert row.published_at is None and row.topic == REGISTERED_TOPIC
        finally:
            hub.send_signal(signal.SIGKILL)
            hub.wait(timeout=30)
        with tansu_broker() as second:
            hub = start_hub(port, {**env, "EDH_BUS__BOOTSTRAP_SERVERS": second})
            try:
                row = wait_published(setup, batch["id"])
                events = consumed(second, setup.contract_id)
            finally:
                hub.terminate()
                hub.wait(timeout=30)
        assert [e["id"] for e in events] == [batch["id"]]
        assert events[0]["row_count"] == 20 and events[0]["type"] == "batch.registered"
        assert len(outbox_rows(setup, batch["id"])) == 1
    finally:
        setup.ctx.engine.dispose()
