"""How benchmarks judge a measurement against its goal (docs/architecture.md).

A measurement worse than its *guard* fails the benchmark: that is a regression whatever
the host. One between the guard and the goal marks the benchmark an expected failure
(``xfail``) with the numbers and this host's single-core speed, so a slower or busier
host than the ones the goals were met on shows in the report (and in the closing note)
without turning the build red; a goal met passes.
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

import pytest

REFERENCE_LOOP = 20_000_000  # additions in a pure Python loop


@cache
def host_loop_seconds() -> float:
    """CPU seconds this host takes for ``REFERENCE_LOOP`` additions (best of three)."""

    def once() -> float:
        started, total = time.process_time(), 0
        for i in range(REFERENCE_LOOP):
            total += i
        return time.process_time() - started

    return min(once() for _ in range(3))


def host_load() -> str:
    """This host's load averages (1, 5, 15 min) and core count, printed beside figures."""
    try:
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return "host load unknown"
    return f"host load {one}/{five}/{fifteen} on {os.cpu_count()} cores"


def meet_or_xfail(
    what: str, measured: float, goal: float, guard: float, *, lower_is_better: bool = False
) -> None:
    """Fail when ``measured`` is worse than ``guard``; xfail when it misses ``goal``."""
    worse = (lambda a, b: a > b) if lower_is_better else (lambda a, b: a < b)
    assert not worse(measured, guard), f"{what}: {measured:,.3f} is worse than {guard:,}"
    if worse(measured, goal):
        pytest.xfail(
            f"{what}: goal {goal:,} not met ({measured:,.3f}); this host runs "
            f"{REFERENCE_LOOP:,} Python additions in {host_loop_seconds():.2f} CPU s; "
            f"{host_load()}"
        )
