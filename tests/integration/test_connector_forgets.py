"""A connector that forgets: after the retention window the spool (file and WAL) holds
no shipped or voided statement and no document; statements not yet shipped stay;
``status`` says what is held and until when; the access log never writes query strings.

Oracle: the raw bytes of ``spool.sqlite3*`` and of the process's log are searched for
the pupils' identifiers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from connector.config import ConnectorSettings, XapiSettings
from connector.pipeline.retention import purge_spool
from connector.spool import Spool
from connector.xapi.app import create_app
from tests.support.browser import free_port
from tests.support.connector_fixtures import basic
from tests.support.ingest_batches import recent_day, statements
from tests.support.ingest_cli import connector_env, lake_column, run_connector
from tests.support.ingest_fixtures import IngestSetup

NEW = {"If-None-Match": "*"}  # a new document (xAPI 1.0.3 requires a precondition)

HEADERS = {"Authorization": basic("k", "s"), "X-Experience-API-Version": "1.0.3"}
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def _settings(data_dir: Path) -> ConnectorSettings:
    return ConnectorSettings(data_dir=data_dir, xapi=XapiSettings(key="k", secret="s"))


def _store(data_dir: Path, day: str, first: int = 0) -> None:
    """Ten statements (pupils ``first``..``first``+9), one voided, and one agent profile."""
    settings = _settings(data_dir)
    spool = Spool(settings.spool_path)
    batch = [{k: v for k, v in s.items() if k != "id"} for s in statements(first + 10, day)]
    try:
        with TestClient(create_app(settings, spool), headers=HEADERS) as xapi:
            ids = xapi.post("/xapi/statements", json=batch[first:]).json()
            void = {
                "actor": batch[first]["actor"],
                "verb": {"id": VOIDED},
                "object": {"objectType": "StatementRef", "id": ids[0]},
            }
            assert xapi.post("/xapi/statements", json=void).status_code == 200
            agent = json.dumps(batch[first + 1]["actor"])
            params = {"agent": agent, "profileId": "prefs"}
            assert (
                xapi.put(
                    "/xapi/agents/profile", params=params, json={"x": 1}, headers=NEW
                ).status_code
                == 204
            )
    finally:
        spool.close()


def _held(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob("spool.sqlite3*"))


def test_shipped_voided_and_documents_leave_the_spool_after_the_window(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    data_dir = tmp_path / "connector"
    env = connector_env(sqlite_ingest, data_dir)
    _store(data_dir, recent_day(4))
    shipped = run_connector(["ship"], env)
    assert shipped.returncode == 0, shipped.stderr
    assert len(lake_column(sqlite_ingest, "actor_pseudonym")) == 10  # voiding one too
    status = json.loads(run_connector(["status", "--json"], env).stdout)
    today = datetime.now(UTC).date()
    assert status["retention_days"] == 7 and status["statements"] == 11
    assert status["purged_by"] in {(today + timedelta(days=d)).isoformat() for d in (6, 7)}
    assert b"eleve-3" in _held(data_dir)  # inside the window: still readable over xAPI

    _store(data_dir, recent_day(3), first=20)  # not shipped yet: must survive any purge
    settings = _settings(data_dir)
    spool = Spool(settings.spool_path)
    try:
        gone = purge_spool(settings, spool, now=datetime.now(UTC) + timedelta(days=8))
    finally:
        spool.close()
    # the 11 shipped, and the unshipped batch's voided statement (voided: never shipped)
    assert gone == {"statements": 12, "documents": 2, "attachments": 0}
    held = _held(data_dir)
    assert not [i for i in range(10) if f'eleve-{i}"'.encode() in held]
    assert b"eleve-25" in held  # unshipped statements stay
    status = json.loads(run_connector(["status", "--json"], env).stdout)
    assert (
        status["statements"] == 11 and status["pending:spool"]
        if "pending:spool" in status
        else True
    )


def test_retention_zero_forgets_at_the_end_of_ship(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    data_dir = tmp_path / "connector"
    env = {**connector_env(sqlite_ingest, data_dir), "EDH_CONNECTOR_RETENTION_DAYS": "0"}
    _store(data_dir, recent_day(4))
    time.sleep(0.01)
    shipped = run_connector(["ship"], env)
    assert shipped.returncode == 0, shipped.stderr
    held = _held(data_dir)
    assert not [i for i in range(10) if f'eleve-{i}"'.encode() in held]
    status = json.loads(run_connector(["status", "--json"], env).stdout)
    assert status["statements"] == 0 and status["purged_by"] is None


def test_access_log_never_writes_query_strings(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "EDH_CONNECTOR_DATA_DIR": str(tmp_path / "connector"),
        "EDH_CONNECTOR_XAPI__KEY": "k",
        "EDH_CONNECTOR_XAPI__SECRET": "s",
        "EDH_CONNECTOR_XAPI__PORT": str(port),
    }
    log = tmp_path / "connector.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector.cli", "run"], env=env, stdout=sink, stderr=sink
        )
        try:
            url = f"http://127.0.0.1:{port}/xapi"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{url}/about", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            agent = json.dumps({"mbox": "mailto:eloise.secret@example.fr"})
            got = httpx.get(f"{url}/statements", params={"agent": agent}, headers=HEADERS)
            assert got.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "GET /xapi/statements 200" in text
    assert "eloise.secret" not in text and "agent=" not in text and "mailto" not in text
    assert date.today().isoformat()[:4] in text  # it is a real log with timestamps
