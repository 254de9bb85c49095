"""The ``edh-connector`` commands as a vendor runs them: init, simulate, push (killed
mid-run and restarted: nothing lost, nothing registered twice)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.support.ingest_cli import (
    CONNECTOR,
    connector_env,
    lake_statement_ids,
    registered,
    run_connector,
    wait_registered,
)
from tests.support.ingest_fixtures import IngestSetup


def simulated(path: Path, statements: int) -> Path:
    args = ["simulate", "--pupils", "300", "--weeks", "4", "--statements", str(statements)]
    assert run_connector([*args, "--out", str(path)], dict(os.environ)).returncode == 0
    return path


def test_init_prints_a_public_key_the_hub_accepts(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    env = {**os.environ, "EDH_CONNECTOR_DATA_DIR": str(tmp_path / "connector")}
    first = run_connector(["init"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert run_connector(["init"], env).stdout == first.stdout  # idempotent: the key is kept
    body = {
        "name": "Nouveau connecteur",
        "organisation_id": sqlite_ingest.world.provider_id,
        "public_key": first.stdout,
    }
    sqlite_ingest.world.post("/connectors", sqlite_ingest.world.as_operator(), body)


def test_simulate_is_reproducible_and_school_shaped(tmp_path: Path) -> None:
    args = ["simulate", "--pupils", "60", "--weeks", "3", "--seed", "7", "--statements", "2000"]
    one = run_connector([*args, "--out", str(tmp_path / "a.jsonl")], dict(os.environ))
    two = run_connector([*args, "--out", str(tmp_path / "b.jsonl")], dict(os.environ))
    assert one.returncode == two.returncode == 0
    text = (tmp_path / "a.jsonl").read_text()
    assert text == (tmp_path / "b.jsonl").read_text()
    assert len(text.splitlines()) == 2000
    assert "activity-types/school" in text and "activity-types/class" in text


def test_push_killed_mid_run_then_restarted_loses_and_duplicates_nothing(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    data = simulated(tmp_path / "traces.jsonl.gz", 30_000)
    env = connector_env(sqlite_ingest, tmp_path / "connector")
    push = ["push", str(data), "--batch-size", "1500"]
    proc = subprocess.Popen(
        [*CONNECTOR, *push], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_registered(sqlite_ingest, 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= len(registered(sqlite_ingest)) < 20
    again = run_connector(push, env)
    assert again.returncode == 0, again.stderr
    assert [b.sequence for b in registered(sqlite_ingest)] == list(range(1, 21))
    ids = lake_statement_ids(sqlite_ingest)
    assert len(ids) == 30_000 == len(set(ids))
    done = run_connector(push, env)
    assert "0 déclarations acceptées" in done.stderr
    assert len(registered(sqlite_ingest)) == 20


def test_push_reports_rejected_lines_and_ships_the_rest(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    data = tmp_path / "mixed.jsonl"
    good = simulated(tmp_path / "good.jsonl", 10).read_text().splitlines()
    data.write_text("\n".join([good[0], "{not json", good[1], '{"verb": {}}', *good[2:]]) + "\n")
    result = run_connector(["push", str(data)], connector_env(sqlite_ingest, tmp_path / "c"))
    assert result.returncode == 1
    assert "10 déclarations acceptées, 2 rejetées" in result.stderr
    assert "rejet position 2" in result.stderr and "rejet position 4" in result.stderr
    assert len(lake_statement_ids(sqlite_ingest)) == 10
