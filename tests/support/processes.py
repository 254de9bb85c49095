"""A server process for the length of a test: started, waited for, then stopped."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx


@contextmanager
def serving(
    command: list[str],
    env: dict[str, str],
    ready_url: str,
    timeout: float,
    interval: float,
    log: IO[bytes] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` until the block ends (its output into ``log``; without one, stderr
    discarded); before yielding, poll ``ready_url`` every ``interval`` seconds until it
    answers or ``timeout`` passes."""
    if log is None:
        proc = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    else:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(interval)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
