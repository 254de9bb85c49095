"""The hub killed mid-run (SIGKILL) and restarted: the connector resumes, nothing is lost
and nothing is registered twice."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ingest_cli import (
    CONNECTOR,
    connector_env,
    lake_statement_ids,
    prepared_hub,
    registered,
    run_connector,
    start_hub,
    wait_registered,
)
from tests.support.ingest_fixtures import IngestSetup


@pytest.fixture
def served_by_process(tmp_path: Path) -> Iterator[tuple[IngestSetup, dict[str, str], int]]:
    hub_dir = tmp_path / "hub"
    setup, env, port = prepared_hub(f"sqlite:///{hub_dir / 'hub.sqlite3'}", hub_dir)
    yield setup, env, port
    setup.ctx.engine.dispose()


def test_hub_killed_mid_run_then_restarted(
    served_by_process: tuple[IngestSetup, dict[str, str], int], tmp_path: Path
) -> None:
    setup, hub_env, port = served_by_process
    data = tmp_path / "traces.jsonl.gz"
    sim = ["simulate", "--pupils", "300", "--weeks", "4", "--statements", "24000"]
    assert run_connector([*sim, "--out", str(data)], dict(os.environ)).returncode == 0
    env = connector_env(setup, tmp_path / "connector")
    push = ["push", str(data), "--batch-size", "1500"]
    hub = start_hub(port, hub_env)
    connector = subprocess.Popen(
        [*CONNECTOR, *push], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_registered(setup, 3)
    hub.send_signal(signal.SIGKILL)
    hub.wait()
    assert connector.wait(timeout=120) == 3  # the connector reports the lost hub and stops
    assert 3 <= len(registered(setup)) < 16
    hub = start_hub(port, hub_env)
    try:
        again = run_connector(push, env)
    finally:
        hub.terminate()
        hub.wait(timeout=30)
    assert again.returncode == 0, again.stderr
    assert [b.sequence for b in registered(setup)] == list(range(1, 17))
    ids = lake_statement_ids(setup)
    assert len(ids) == 24_000 == len(set(ids))
