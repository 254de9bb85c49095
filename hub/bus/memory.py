"""In-process event bus (embedded default): a retained log per topic, delivered synchronously."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Mapping
from typing import Any

from hub.bus.port import Handler

log = logging.getLogger("hub.bus")
RETAINED_PER_TOPIC = 10_000


class InProcessBus:
    """Each consumer group gets every event of its topic, retained ones first (like a new
    Kafka group reading from the earliest offset). Delivery happens in ``publish``'s thread;
    a failing handler is logged and does not stop other groups."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._log: dict[str, deque[tuple[str, dict[str, Any]]]] = defaultdict(
            lambda: deque(maxlen=RETAINED_PER_TOPIC)
        )
        self._groups: dict[str, dict[str, Handler]] = defaultdict(dict)

    def publish(self, topic: str, key: str, event: Mapping[str, Any]) -> None:
        item = (key, dict(event))
        with self._lock:
            self._log[topic].append(item)
            handlers = list(self._groups[topic].values())
        for handler in handlers:
            deliver(handler, topic, item)

    def subscribe(self, topic: str, group: str, handler: Handler) -> None:
        with self._lock:
            self._groups[topic][group] = handler
            backlog = list(self._log[topic])
        for item in backlog:
            deliver(handler, topic, item)

    def health(self) -> None:
        return None

    def close(self) -> None:
        with self._lock:
            self._groups.clear()


def deliver(handler: Handler, topic: str, item: tuple[str, dict[str, Any]]) -> None:
    """Call ``handler``; a failure is logged, never raised (other subscribers go on)."""
    try:
        handler(*item)
    except Exception:  # one failing subscriber must not break the publisher
        log.exception("event handler failed", extra={"topic": topic})
