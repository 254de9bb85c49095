"""The EventBus port: domain events (``batch.registered``, audit alerts, ...) for other services.

Adapters: in-process (default) and Kafka via ``kafka-python`` (production).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

Handler = Callable[[str, Mapping[str, Any]], None]
"""A subscriber: called with (key, event)."""


class EventBus(Protocol):
    """Publishes JSON events on named topics.

    - ``publish`` is at-least-once: when it returns, the event is durably accepted by the
      bus (the Kafka adapter waits for the broker's ack); consumers must be idempotent
      (every event carries an ``id``). Raises ``ServiceUnavailable`` when the bus is down.
    - ``subscribe`` registers ``handler`` for ``topic`` in consumer ``group``.
    - ``health`` raises when the bus cannot be reached.
    - Creating an adapter does not require the bus to be up (a hub starts during a broker
      outage): ``publish`` and ``health`` raise until it is reached, and subscribers
      start receiving once it is.
    """

    def publish(self, topic: str, key: str, event: Mapping[str, Any]) -> None: ...

    def subscribe(self, topic: str, group: str, handler: Handler) -> None: ...

    def health(self) -> None: ...

    def close(self) -> None: ...
