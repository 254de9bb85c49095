"""``edh-connector run`` serves the LRS for real; ``edh-connector status`` shows counts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.cli import main
from connector.spool import Spool
from tests.support.connector_fixtures import basic, connector_env, serve_connector

STATEMENT = {
    "actor": {"mbox": "mailto:pupil@example.org"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
    "object": {"id": "http://example.org/activity"},
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return connector_env(tmp_path, "k", "s3cret")


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[str]:
    with serve_connector(env) as (url, _):
        yield url


def test_run_serves_the_lrs_and_status_counts(
    served: str,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = {"Authorization": basic("k", "s3cret"), "X-Experience-API-Version": "1.0.3"}
    response = httpx.post(f"{served}/statements", json=[STATEMENT, STATEMENT], headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert httpx.post(f"{served}/statements", json=STATEMENT).status_code == 401
    for name in ("EDH_CONNECTOR_DATA_DIR", "EDH_CONNECTOR_XAPI__SECRET"):
        monkeypatch.setenv(name, env[name])
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["statements"] == 2


def test_run_refuses_the_default_secret_outside_dev_mode(env: dict[str, str]) -> None:
    del env["EDH_CONNECTOR_XAPI__SECRET"]
    done = subprocess.run(
        [sys.executable, "-m", "connector.cli", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "EDH_CONNECTOR_XAPI__SECRET" in done.stderr


def test_status_reports_pending_per_consumer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EDH_CONNECTOR_DATA_DIR", str(tmp_path))
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.append(
        [
            {**STATEMENT, "id": f"00000000-0000-4000-8000-00000000000{n}", "stored": "x"}
            for n in range(3)
        ]
    )
    spool.set_cursor("pipeline", 1)
    spool.close()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "statements: 3" in out and "pending:pipeline: 2" in out


def test_accepted_statements_survive_a_crash(env: dict[str, str], tmp_path: Path) -> None:
    headers = {"Authorization": basic("k", "s3cret"), "X-Experience-API-Version": "2.0.0"}
    with serve_connector(env) as (url, pid):
        response = httpx.post(f"{url}/statements", json=[STATEMENT] * 50, headers=headers)
        assert response.status_code == 200
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    spool = Spool(tmp_path / "spool.sqlite3")
    assert [r.statement["id"] for r in spool.read_after(0, 100)] == response.json()
    spool.close()
