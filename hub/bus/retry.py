"""Connect to a dependency that may be down: first at once, then again with bounded backoff."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("hub.bus")
FIRST_DELAY = 0.5
MAX_DELAY = 8.0


def delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """Seconds to wait before each retry: doubling from ``first``, never above ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def keep_trying(attempt: Callable[[], T | None], stop: threading.Event, what: str) -> T | None:
    """Call ``attempt`` until it returns a value (``None`` means "not yet"), waiting
    ``delays()`` between calls; ``None`` once ``stop`` is set (the wait ends at once).
    ``attempt`` reports its own failures."""
    waits = delays()
    while not stop.is_set():
        value = attempt()
        if value is not None:
            return value
        delay = next(waits)
        log.debug("retrying %s in %.1f s", what, delay)
        stop.wait(delay)
    return None
