"""Kafka event bus through ``kafka-python`` (any Kafka-protocol broker)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from hub.bus.memory import deliver
from hub.bus.port import Handler
from hub.errors import ServiceUnavailable
from hub.settings.bus import BusSettings

log = logging.getLogger("hub.bus")
HEALTH_TOPIC = "edh.batch.registered"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class KafkaBus:
    """``publish`` waits for the broker's ack (``acks=all``); each ``subscribe`` runs one
    consumer thread that commits an offset only after its handler returned (at-least-once).
    Order is kept per key (one partition per key), not across keys."""

    def __init__(self, settings: BusSettings) -> None:
        self._settings = settings
        self._servers = settings.bootstrap_servers.split(",")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        try:
            self._producer = KafkaProducer(bootstrap_servers=self._servers, acks="all")
        except KafkaError as exc:
            raise ServiceUnavailable(f"Kafka unreachable: {exc}") from exc

    def publish(self, topic: str, key: str, event: Mapping[str, Any]) -> None:
        try:
            future = self._producer.send(topic, key=key.encode(), value=_dumps(dict(event)))
            future.get(timeout=self._settings.publish_timeout_seconds)
        except KafkaError as exc:
            raise ServiceUnavailable(f"Kafka did not accept the event: {exc}") from exc

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=self._servers,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=self._settings.session_timeout_ms,
            heartbeat_interval_ms=max(300, self._settings.session_timeout_ms // 4),
        )
        thread = threading.Thread(
            target=self._consume, args=(consumer, handler), daemon=True, name=f"bus-{group}"
        )
        self._threads.append(thread)
        thread.start()

    def _consume(self, consumer: KafkaConsumer, handler: Handler) -> None:
        try:
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        key = record.key.decode() if record.key else ""
                        deliver(handler, record.topic, (key, json.loads(record.value)))
                    consumer.commit()
        except Exception:  # a dead consumer thread must be visible in the logs
            log.exception("Kafka consumer stopped")
        finally:
            consumer.close()

    def health(self) -> None:
        try:
            self._producer.partitions_for(HEALTH_TOPIC)
        except KafkaError as exc:
            raise ServiceUnavailable(f"Kafka metadata unavailable: {exc}") from exc

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._producer.close(timeout=5)
