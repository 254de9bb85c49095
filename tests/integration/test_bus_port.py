"""One EventBus suite, run against the in-process bus and a real Kafka-protocol broker."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hub.bus.factory import make_bus
from hub.bus.port import EventBus
from hub.errors import ServiceUnavailable
from hub.settings.bus import BusSettings
from tests.support.ingest_fixtures import free_port, kafka_settings, tansu_broker


@pytest.fixture(params=["memory", "kafka"])
def bus(request: pytest.FixtureRequest) -> Iterator[EventBus]:
    settings = BusSettings()
    if request.param == "kafka":
        settings = kafka_settings(request.getfixturevalue("kafka_bootstrap"))
    adapter = make_bus(settings)
    yield adapter
    adapter.close()


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, key: str, event: Any) -> None:
        with self.lock:
            self.items.append((key, dict(event)))

    def unique(self) -> list[tuple[str, dict[str, Any]]]:
        """Events in first-delivery order, redeliveries dropped (at-least-once: by ``id``)."""
        seen: dict[str, tuple[str, dict[str, Any]]] = {}
        with self.lock:
            for key, event in self.items:
                seen.setdefault(event["id"], (key, event))
        return list(seen.values())

    def wait_for(self, count: int, timeout: float = 60.0) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.unique()) >= count:
                return self.unique()
            time.sleep(0.05)
        raise AssertionError(f"got {self.items}, expected {count} distinct events")


def test_published_events_reach_a_new_group_in_order_per_key(bus: EventBus) -> None:
    topic = f"edh.test.{uuid.uuid4().hex[:8]}"
    bus.health()
    bus.publish(topic, "batch", {"id": "1", "rows": 10})
    inbox = Inbox()
    bus.subscribe(topic, "catalog", inbox)
    bus.publish(topic, "batch", {"id": "2", "rows": 20})
    bus.publish(topic, "other", {"id": "3", "rows": 30})
    events = inbox.wait_for(3)
    same_key = [e for k, e in events if k == "batch"]
    assert same_key == [{"id": "1", "rows": 10}, {"id": "2", "rows": 20}]
    assert ("other", {"id": "3", "rows": 30}) in events


def test_each_group_gets_every_event(bus: EventBus) -> None:
    topic = f"edh.test.{uuid.uuid4().hex[:8]}"
    first, second = Inbox(), Inbox()
    bus.subscribe(topic, "g1", first)
    bus.subscribe(topic, "g2", second)
    for i in range(3):
        bus.publish(topic, "same-key", {"id": str(i)})
    assert [e["id"] for _, e in first.wait_for(3)] == ["0", "1", "2"]
    assert [e["id"] for _, e in second.wait_for(3)] == ["0", "1", "2"]


def test_a_failing_handler_does_not_stop_delivery(bus: EventBus) -> None:
    topic = f"edh.test.{uuid.uuid4().hex[:8]}"
    inbox = Inbox()

    def fragile(key: str, event: Any) -> None:
        if event["id"] == "bad":
            raise RuntimeError("handler bug")
        inbox(key, event)

    bus.subscribe(topic, "g", fragile)
    bus.publish(topic, "k", {"id": "bad"})
    bus.publish(topic, "k", {"id": "good"})
    assert inbox.wait_for(1)[0][1] == {"id": "good"}


def test_kafka_bus_down_is_reported() -> None:
    port = free_port()
    settings = BusSettings(
        kind="kafka", bootstrap_servers=f"127.0.0.1:{port}", publish_timeout_seconds=1
    )
    bus = make_bus(settings)  # does not wait for the broker
    try:
        for call in (bus.health, lambda: bus.publish("edh.test", "k", {"id": "x"})):
            with pytest.raises(ServiceUnavailable, match="not connected"):
                call()
    finally:
        bus.close()


def test_a_kafka_bus_made_while_its_broker_is_down_connects_once_it_is_up() -> None:
    port, topic = free_port(), f"edh.test.{uuid.uuid4().hex[:8]}"
    bus = make_bus(kafka_settings(f"127.0.0.1:{port}"))
    inbox = Inbox()
    try:
        bus.subscribe(topic, "late", inbox)
        with pytest.raises(ServiceUnavailable):
            bus.publish(topic, "k", {"id": "early"})
        with tansu_broker(port):
            deadline = time.monotonic() + 60
            while not healthy(bus):
                assert time.monotonic() < deadline, "the bus never connected"
                time.sleep(0.2)
            bus.publish(topic, "k", {"id": "late"})
            assert inbox.wait_for(1) == [("k", {"id": "late"})]
    finally:
        bus.close()


def healthy(bus: EventBus) -> bool:
    try:
        bus.health()
    except ServiceUnavailable:
        return False
    return True
