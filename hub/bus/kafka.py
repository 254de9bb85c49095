"""Kafka event bus through ``kafka-python`` (any Kafka-protocol broker)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError, RetriableError

from hub.bus.memory import deliver
from hub.bus.port import Handler
from hub.bus.retry import FIRST_DELAY, keep_trying
from hub.errors import ServiceUnavailable
from hub.settings.bus import BusSettings

log = logging.getLogger("hub.bus")
HEALTH_TOPIC = "edh.batch.registered"
# A client that cannot bootstrap raises a retriable error (a timeout, a refused
# connection): worth trying again; any other error while connecting (a configuration
# error) fails at once.
UNREACHABLE = RetriableError
T = TypeVar("T")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class KafkaBus:
    """``publish`` waits for the broker's ack (``acks=all``); each ``subscribe`` runs one
    consumer thread that commits an offset only after its handler returned (at-least-once).
    Order is kept per key (one partition per key), not across keys.

    Creating the bus waits for the broker one connection attempt at most
    (``connect_timeout_seconds``): the producer connects then if a broker answers, else
    from a background thread, retrying with bounded backoff; until then
    ``publish`` and ``health`` raise ``ServiceUnavailable`` (the outbox keeps the events).
    Each consumer connects the same way in its own thread; once connected, its client
    reconnects by itself, and a broker error it raises is reported by ``health`` until a
    poll succeeds again. ``close`` stops all of them, connected or not."""

    def __init__(self, settings: BusSettings) -> None:
        self._settings = settings
        self._servers = settings.bootstrap_servers.split(",")
        self._connect_timeout_ms = int(settings.connect_timeout_seconds * 1000)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._producer: KafkaProducer | None = None
        self._waiting: dict[str, str] = {"producer": "not connected yet"}
        if self._connect_producer() is None:
            self._spawn("bus-producer", self._keep_connecting)

    def publish(self, topic: str, key: str, event: Mapping[str, Any]) -> None:
        producer = self._producer
        if producer is None:
            reason = self._waiting.get("producer", "closed")
            raise ServiceUnavailable(f"Kafka not connected: {reason}")
        try:
            future = producer.send(topic, key=key.encode(), value=_dumps(dict(event)))
            future.get(timeout=self._settings.publish_timeout_seconds)
        except KafkaError as exc:
            raise ServiceUnavailable(f"Kafka did not accept the event: {exc}") from exc

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        self._waiting[f"consumer {group}"] = "not connected yet"
        self._spawn(f"bus-{group}", self._consume, topic, group, handler)

    def health(self) -> None:
        """Raises while the producer or a consumer is not connected, or when the connected
        producer cannot read the topics' metadata."""
        waiting, producer = list(self._waiting.values()), self._producer
        if waiting or producer is None:
            raise ServiceUnavailable("Kafka not connected: " + ("; ".join(waiting) or "closed"))
        try:
            producer.partitions_for(HEALTH_TOPIC)
        except KafkaError as exc:
            raise ServiceUnavailable(f"Kafka metadata unavailable: {exc}") from exc

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=name)
        self._threads.append(thread)
        thread.start()

    def _attempt(self, role: str, connect: Callable[[], T]) -> T | None:
        """``connect()``, or None while no broker answers (noted for ``health``)."""
        try:
            client = connect()
        except UNREACHABLE as exc:
            self._waiting[role] = f"{role}: {exc}"
            log.warning("Kafka %s not connected: %s", role, type(exc).__name__)
            return None
        self._waiting.pop(role, None)
        return client

    def _connect_producer(self) -> KafkaProducer | None:
        producer = self._attempt(
            "producer",
            lambda: KafkaProducer(
                bootstrap_servers=self._servers,
                acks="all",
                max_block_ms=int(self._settings.publish_timeout_seconds * 1000),
                bootstrap_timeout_ms=self._connect_timeout_ms,
            ),
        )
        if producer is None:
            return None
        with self._lock:
            if self._stop.is_set():  # closed while connecting
                producer.close(timeout=0)
            else:
                self._producer = producer
        return producer

    def _keep_connecting(self) -> None:
        if keep_trying(self._connect_producer, self._stop, "the Kafka producer") is not None:
            log.info("Kafka producer connected")

    def _connect_consumer(self, topic: str, group: str) -> KafkaConsumer | None:
        return self._attempt(f"consumer {group}", lambda: self._new_consumer(topic, group))

    def _new_consumer(self, topic: str, group: str) -> KafkaConsumer:
        """A consumer of ``topic`` in ``group``; a consumer that fails to bootstrap leaves
        its network thread running, so its client is closed here."""
        clients: list[Any] = []

        def client(**configs: Any) -> Any:
            clients.append(KafkaConsumer.DEFAULT_CONFIG["kafka_client"](**configs))
            return clients[-1]

        try:
            return KafkaConsumer(
                topic,
                bootstrap_servers=self._servers,
                bootstrap_timeout_ms=self._connect_timeout_ms,
                kafka_client=client,
                group_id=group,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                session_timeout_ms=self._settings.session_timeout_ms,
                heartbeat_interval_ms=max(300, self._settings.session_timeout_ms // 4),
            )
        except Exception:
            for made in clients:
                made.close()
            raise

    def _consume(self, topic: str, group: str, handler: Handler) -> None:
        """Connect, then deliver until ``close``; a broker error is reported by ``health``
        and polled through (the client reconnects by itself)."""
        role = f"consumer {group}"
        consumer = keep_trying(lambda: self._connect_consumer(topic, group), self._stop, role)
        if consumer is None:
            return
        try:
            while not self._stop.is_set():
                try:
                    self._deliver(consumer, handler)
                    self._waiting.pop(role, None)
                except KafkaError as exc:
                    self._waiting[role] = f"{role}: {exc}"
                    log.warning("Kafka %s: %s", role, exc)
                    self._stop.wait(FIRST_DELAY)
        except Exception as exc:  # a dead consumer must show in the logs and health
            self._waiting[role] = f"{role} stopped: {exc!r}"
            log.exception("Kafka consumer stopped")
        finally:
            consumer.close()

    def _deliver(self, consumer: KafkaConsumer, handler: Handler) -> None:
        """One poll: hand each record to ``handler``, then commit."""
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                key = record.key.decode() if record.key else ""
                deliver(handler, record.topic, (key, json.loads(record.value)))
            consumer.commit()
