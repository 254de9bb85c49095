"""Audit alerts go through the transactional outbox: an alert committed while the broker is
down (the hub dies before publishing) reaches the next broker exactly once, through the
relay of the next hub; the scheduled retention purge deletes old published outbox rows
and never a pending one (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlmodel import Session, col, select

from hub.alerts import ALERT_TOPIC, Finding, raise_alert
from hub.audit.schedule import RUNNERS
from hub.bus.kafka import KafkaBus
from hub.bus.models import OutboxEvent
from hub.bus.outbox import Relay
from hub.db import session_scope
from hub.settings.bus import BusSettings
from hub.trail.models import AuditAlert
from tests.support.factories import make_context
from tests.support.ingest_fixtures import tansu_broker


def alert_events(bootstrap: str) -> list[dict[str, Any]]:
    """Every event on the alert topic, read from the first offset until quiet."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=None)
    try:
        parts = [
            TopicPartition(ALERT_TOPIC, p) for p in consumer.partitions_for_topic(ALERT_TOPIC) or ()
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        events: list[dict[str, Any]] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 4:
            for records in consumer.poll(timeout_ms=500).values():
                events += [json.loads(r.value) for r in records]
                quiet_since = time.monotonic()
    finally:
        consumer.close()
    return events


def bus_on(bootstrap: str) -> KafkaBus:
    return KafkaBus(
        BusSettings(kind="kafka", bootstrap_servers=bootstrap, publish_timeout_seconds=2)
    )


def outbox_rows(engine: Any) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(col(OutboxEvent.seq))).all())


def test_alert_committed_before_the_bus_failed_is_published_once_later(tmp_path: Path) -> None:
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path)
    finding = Finding("lake-integrity", "k-1", "L'objet du lac a changé.", contract_id="c-1")
    try:
        with tansu_broker() as first:
            dead = bus_on(first)
        # the broker is gone: the alert commits, its publication cannot happen
        with session_scope(ctx.engine) as session:
            alert = raise_alert(session, finding, dead)
            assert alert is not None
            alert_id = alert.id
        (row,) = outbox_rows(ctx.engine)
        assert row.published_at is None and row.topic == ALERT_TOPIC
        dead.close()
        with tansu_broker() as second:  # the next hub's relay publishes what was pending
            live = bus_on(second)
            try:
                Relay(ctx.engine, live, interval=0.5).try_flush()
                Relay(ctx.engine, live, interval=0.5).try_flush()  # nothing sent twice
                events = alert_events(second)
            finally:
                live.close()
        assert [(e["rule"], e["alert_id"]) for e in events] == [("lake-integrity", alert_id)]
        (row,) = outbox_rows(ctx.engine)
        assert row.published_at is not None
        with Session(ctx.engine) as session:
            assert len(session.exec(select(AuditAlert)).all()) == 1
    finally:
        ctx.engine.dispose()


def test_retention_purge_deletes_only_old_published_outbox_rows(
    db_url: str, tmp_path: Path
) -> None:
    ctx = make_context(db_url, tmp_path)
    now = datetime.now(UTC)
    old = now - timedelta(days=ctx.settings.bus.outbox_retention_days, hours=1)
    rows = {
        "old-published": (old, old),
        "old-pending": (old, None),
        "recent-published": (now - timedelta(hours=1), now - timedelta(hours=1)),
    }
    try:
        with session_scope(ctx.engine) as session:
            for event_id, (created, published) in rows.items():
                row = OutboxEvent(event_id=event_id, topic="edh.t", key="k", payload={})
                row.created_at, row.published_at = created, published
                session.add(row)
        summary = RUNNERS["purge"](ctx, now)
        assert "1 événement(s) publié(s) retiré(s)" in summary
        kept = [r.event_id for r in outbox_rows(ctx.engine)]
        assert kept == ["old-pending", "recent-published"]
    finally:
        ctx.engine.dispose()
