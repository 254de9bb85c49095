"""Build the configured event bus."""

from __future__ import annotations

from hub.bus.memory import InProcessBus
from hub.bus.port import EventBus
from hub.settings.bus import BusSettings


def make_bus(settings: BusSettings) -> EventBus:
    """The bus named by ``settings.kind``."""
    if settings.kind == "kafka":
        from hub.bus.kafka import KafkaBus

        return KafkaBus(settings)
    return InProcessBus()
