"""Memory of a real connector shipping simulated statements, told as the process sees it.

``edh-connector push`` (its own process) ships a simulated JSON Lines file to ``edh serve``
(its own process, SQLite, local lake) in batches of 50,000. The figure is the connector
process's peak resident set size (``VmHWM``): what the operating system
gives it, Arrow's buffers included, which ``tracemalloc`` does not see; printed beside the
peak of a process that only loads the connector (its floor). Goal: under 120 MB for
1,000,000 statements, and flat in the number of statements (1 M against 200 k).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks.goals import host_load, meet_or_xfail
from tests.support.ingest_cli import CONNECTOR, connector_env, prepared_hub, registered, start_hub
from tests.support.ingest_fixtures import IngestSetup

pytestmark = [pytest.mark.benchmark, pytest.mark.timeout(1800)]
RSS_GOAL_MB, RSS_GUARD_MB = 120, 250
FLAT_GOAL, FLAT_GUARD = 1.15, 1.5  # peak RSS for 1 M statements over that for 200 k
SIZES = (200_000, 1_000_000)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[IngestSetup]:
    hub_dir = tmp_path / "hub"
    setup, env, port = prepared_hub(f"sqlite:///{hub_dir / 'hub.sqlite3'}", hub_dir)
    hub = start_hub(port, env)
    try:
        yield setup
    finally:
        hub.terminate()
        hub.wait(timeout=30)
        setup.ctx.engine.dispose()


def _high_water_mb(pid: int) -> float:
    """The process's peak resident set size so far (``VmHWM``), in MB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """Run ``edh-connector ARGS`` to its end; its peak resident set size in MB.

    ``VmHWM`` belongs to the program's own address space (from its exec on), unlike
    ``ru_maxrss``, which also counts the moment the child was a fork of this test process.
    It is a high-water mark, so reading it every 20 ms until the end misses no peak."""
    proc = subprocess.Popen([*CONNECTOR, *args], env=env, stdout=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _high_water_mb(proc.pid))
        time.sleep(0.02)
    assert proc.returncode == 0, f"edh-connector {args[0]} exited {proc.returncode}"
    return peak


def _loaded_mb(env: dict[str, str]) -> float:
    """Peak RSS of a process that only loads ``edh-connector`` (its modules and libraries,
    pyarrow's among them): the floor under any run's figure."""
    code = (
        "import pathlib, connector.cli; print(next(l.split()[1] for l in "
        "pathlib.Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM:')))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return int(out.stdout) / 1024


def test_connector_push_memory_is_flat_and_small(served: IngestSetup, tmp_path: Path) -> None:
    peaks: dict[int, float] = {}
    for size in SIZES:
        data = tmp_path / f"traces-{size}.jsonl.gz"
        simulate = ["simulate", "--pupils", "20000", "--weeks", "20", "--statements", str(size)]
        subprocess.run([*CONNECTOR, *simulate, "--out", str(data)], check=True)
        env = connector_env(served, tmp_path / f"connector-{size}")
        peaks[size] = _peak_rss_mb(["push", str(data), "--batch-size", "50000"], env)
    # The simulator is seeded: the larger file starts with the smaller one's statements,
    # whose batches the hub already holds, so the lake holds the larger file exactly once.
    assert sum(b.row_count for b in registered(served)) == SIZES[-1]
    small, large = peaks[SIZES[0]], peaks[SIZES[1]]
    print(
        f"\nedh-connector push, batches of 50,000: peak RSS {small:.0f} MB for"
        f" {SIZES[0]:,} statements, {large:.0f} MB for {SIZES[1]:,} (goal < {RSS_GOAL_MB} MB,"
        f" flat), of which {_loaded_mb(env):.0f} MB is the program loaded; {host_load()}"
    )
    meet_or_xfail("connector peak RSS growth, 1 M over 200 k statements", large / small,
                  FLAT_GOAL, FLAT_GUARD, lower_is_better=True)  # fmt: skip
    meet_or_xfail("connector peak RSS (MB), 1 M statements", large, RSS_GOAL_MB, RSS_GUARD_MB,
                  lower_is_better=True)  # fmt: skip
