"""What a researcher observes of a run: when it ends, and its resource figures.

How long a run took can depend on one pupil's rows (a hidden per-pupil predicate made a
query ten times slower), so a researcher never sees the real duration. A job leaves
``running`` only at its release tick: the first instant ``started + n * tick_s`` (n ≥ 1)
that is at least ``min_s`` after its start and not before its run (worker, noise,
release) ended. The job's ``finished_at`` is that instant, and every time figure of its
resources is rounded up to the same grid (never below ``min_s``): a run shorter than
``min_s - tick_s`` looks exactly like any other such run, a longer one shows its duration
only to the tick. The job holds its executor slot until the tick, so the next job's
start does not tell when this one's run ended either.

The other resource figures depend on the data in ways no rounding hides: a predicate no
row meets lets DuckDB skip whole row groups of the Parquet files (rows scanned 0 instead
of 2,000), and per-pupil intermediates raise the peak memory (128 instead of 256 MiB in
``tests/integration/test_sandbox_timing.py``). A researcher sees only the time figures;
memory, spill and rows scanned go to the audit for the DPO.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class ReleaseTick:
    """The grid of release instants (``EDH_SANDBOX__RELEASE_TICK_S``, ``..._MIN_S``)."""

    tick_s: float
    min_s: float

    def due(self, started: datetime, ended: datetime) -> datetime:
        """The release instant of a job started at ``started`` whose run ended at
        ``ended`` (module docstring)."""
        return started + timedelta(seconds=self.seconds((ended - started).total_seconds()))

    def seconds(self, value: float) -> float:
        """A duration as a researcher reads it: ``value`` rounded up to the tick grid,
        at least ``min_s`` and at least one tick."""
        ticks = max(1, math.ceil(max(value, self.min_s) / self.tick_s - 1e-9))
        return round(ticks * self.tick_s, 6)

    def wait_until(self, due: datetime) -> None:
        """Sleep until ``due`` (UTC)."""
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))


def coarse(stats: dict[str, Any], tick: ReleaseTick) -> dict[str, Any]:
    """``stats`` as a researcher may see them: the time figures on ``tick``'s grid, and
    nothing else (module docstring)."""
    return {name: tick.seconds(float(v)) for name, v in stats.items() if name.endswith("_s")}
