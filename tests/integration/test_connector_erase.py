"""``edh-connector erase`` as a vendor runs it: the identifier comes from a file or
stdin, the hub's register erases the lake, the spool (its file and WAL) forgets the
pupil's statements and documents, and the next ``ship`` never sends them again. The
journey through a running connector (``edh-connector run`` fed over HTTP by the vendor's
app) searches the spool's file and WAL and every log and command output for the pupil's
identifiers at each step: ingestion, ship, erasure, the pupil sent again, ship."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from connector.config import ConnectorSettings, XapiSettings
from connector.spool import Spool
from connector.xapi.app import create_app
from hub.pseudonym.service import pseudonym_for
from tests.support.browser import free_port
from tests.support.connector_fixtures import basic
from tests.support.contract_ref import ContractRef
from tests.support.ingest_batches import recent_day, statements
from tests.support.ingest_cli import CONNECTOR, connector_env, lake_column, run_connector
from tests.support.ingest_fixtures import IngestSetup
from tests.support.processes import serving

NEW = {"If-None-Match": "*"}  # a new document (xAPI 1.0.3 requires a precondition)

PUPIL = {"account": {"homePage": "https://ent.example.fr", "name": "eleve-1"}}
IDENTIFIER = "account:https://ent.example.fr|eleve-1"


def _spool_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob("spool.sqlite3*"))


def _store(data_dir: Path, day: str) -> None:
    """Ten statements (pupils 0..9) and the pupil's agent profile, through the LRS."""
    settings = ConnectorSettings(data_dir=data_dir, xapi=XapiSettings(key="k", secret="s"))
    spool = Spool(settings.spool_path)
    headers = {"Authorization": basic("k", "s"), "X-Experience-API-Version": "1.0.3"}
    try:
        with TestClient(create_app(settings, spool), headers=headers) as xapi:
            fresh = [{k: v for k, v in st.items() if k != "id"} for st in statements(10, day)]
            posted = xapi.post("/xapi/statements", json=fresh)
            assert posted.status_code == 200, posted.text
            params = {"agent": json.dumps(PUPIL), "profileId": "prefs"}
            profile = xapi.put(
                "/xapi/agents/profile", params=params, json={"name": "Éloïse"}, headers=NEW
            )
            assert profile.status_code == 204, profile.text
    finally:
        spool.close()


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_erase_forgets_the_pupil_in_the_lake_and_the_spool(
    sqlite_ingest: IngestSetup, tmp_path: Path, source: str
) -> None:
    data_dir = tmp_path / "connector"
    env = connector_env(sqlite_ingest, data_dir)
    _store(data_dir, recent_day(9))
    assert run_connector(["ship"], env).returncode == 0
    pseudonym = pseudonym_for(
        sqlite_ingest.ctx.settings, ContractRef(sqlite_ingest.contract_id), IDENTIFIER
    )
    assert pseudonym in lake_column(sqlite_ingest, "actor_pseudonym")
    assert b"eleve-1" in _spool_bytes(data_dir)
    if source == "file":
        request = tmp_path / "erase.txt"
        request.write_text(IDENTIFIER + "\n", encoding="utf-8")
        done = run_connector(["erase", "--identifier-file", str(request)], env)
    else:
        done = subprocess.run(
            [*CONNECTOR, "erase", "--identifier-file", "-"],
            input=IDENTIFIER + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    assert "1 lignes effacées du lac, 1 déclarations effacées du spool" in done.stdout
    assert IDENTIFIER not in done.stdout + done.stderr
    assert pseudonym not in lake_column(sqlite_ingest, "actor_pseudonym")
    held = _spool_bytes(data_dir)
    assert b"eleve-1" not in held and "Éloïse".encode() not in held
    assert b"eleve-2" in held  # the others are kept

    _store(data_dir, recent_day(2))  # the vendor's app sends the pupil again
    again = run_connector(["ship"], env)
    assert again.returncode == 0, again.stderr
    assert "1 écartées (élèves effacés)" in again.stderr
    lake = lake_column(sqlite_ingest, "actor_pseudonym")
    assert pseudonym not in lake and len(lake) == 9 + 9


def test_erase_refuses_a_malformed_identifier_without_echoing_it(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    env = connector_env(sqlite_ingest, tmp_path / "connector")
    request = tmp_path / "erase.txt"
    request.write_text("eleve-secret\n", encoding="utf-8")
    done = run_connector(["erase", "--identifier-file", str(request)], env)
    assert done.returncode == 2 and "eleve-secret" not in done.stderr + done.stdout
    missing = run_connector(["erase", "--identifier-file", str(tmp_path / "absent")], env)
    assert missing.returncode == 2


class Journey:
    """A running connector (``edh-connector run``, its output in a log file) fed by the
    vendor's app over HTTP, and the vendor's commands; every output is kept."""

    def __init__(self, setup: IngestSetup, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "connector"
        self.port = free_port()
        self.env = {
            **connector_env(setup, self.data_dir),
            "EDH_CONNECTOR_XAPI__KEY": "k",
            "EDH_CONNECTOR_XAPI__SECRET": "s",
            "EDH_CONNECTOR_XAPI__PORT": str(self.port),
        }
        self.log = tmp_path / "connector.log"
        self.outputs: list[str] = []
        self.url = f"http://127.0.0.1:{self.port}/xapi"
        self.headers = {"Authorization": basic("k", "s"), "X-Experience-API-Version": "1.0.3"}

    def app_sends(self, day: str) -> None:
        """The vendor's app: ten statements (the pupil named, with an email in context),
        the pupil's profile, and a read of their statements by agent (a query string)."""
        fresh = [{k: v for k, v in st.items() if k != "id"} for st in statements(10, day)]
        fresh[1]["actor"]["name"] = "Éloïse Martin"
        posted = httpx.post(f"{self.url}/statements", json=fresh, headers=self.headers)
        assert posted.status_code == 200, posted.text
        params = {"agent": json.dumps(PUPIL), "profileId": "prefs"}
        headers = {**self.headers, **NEW} if not self._has_profile() else self.headers
        put = httpx.put(
            f"{self.url}/agents/profile", params=params, json={"name": "Éloïse"}, headers=headers
        )
        assert put.status_code == 204, put.text
        read = httpx.get(
            f"{self.url}/statements", params={"agent": json.dumps(PUPIL)}, headers=self.headers
        )
        assert read.status_code == 200

    def _has_profile(self) -> bool:
        params = {"agent": json.dumps(PUPIL), "profileId": "prefs"}
        got = httpx.get(f"{self.url}/agents/profile", params=params, headers=self.headers)
        return got.status_code == 200

    def command(self, args: list[str], stdin: str | None = None) -> str:
        done = subprocess.run(
            [*CONNECTOR, *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        self.outputs.append(done.stdout + done.stderr)
        return done.stdout + done.stderr

    def logs(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") + "".join(self.outputs)

    def assert_logs_clean(self) -> None:
        """No identifier of the pupil in any log or command output (ever)."""
        text = self.logs()
        assert "eleve-1" not in text and "Éloïse" not in text and "agent=" not in text

    def spool_holds_pupil(self) -> bool:
        held = _spool_bytes(self.data_dir)
        return b"eleve-1" in held or "Éloïse".encode() in held


def test_erasure_journey_through_a_running_connector_checks_spool_wal_and_logs(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    journey = Journey(sqlite_ingest, tmp_path)
    pseudonym = pseudonym_for(
        sqlite_ingest.ctx.settings, ContractRef(sqlite_ingest.contract_id), IDENTIFIER
    )
    with (
        journey.log.open("wb") as sink,
        serving([*CONNECTOR, "run"], journey.env, f"{journey.url}/about", 30, 0.1, sink),
    ):
        journey.app_sends(recent_day(9))
        assert journey.spool_holds_pupil()  # held in clear, within the retention window
        assert list(journey.data_dir.glob("spool.sqlite3-wal"))  # the WAL is searched too
        journey.assert_logs_clean()
        journey.command(["ship"])
        assert pseudonym in lake_column(sqlite_ingest, "actor_pseudonym")
        assert journey.spool_holds_pupil()  # shipped: kept for EDH_CONNECTOR_RETENTION_DAYS
        journey.assert_logs_clean()

        out = journey.command(["erase", "--identifier-file", "-"], stdin=IDENTIFIER + "\n")
        assert "1 lignes effacées du lac" in out
        assert not journey.spool_holds_pupil()  # file and WAL
        assert pseudonym not in lake_column(sqlite_ingest, "actor_pseudonym")
        journey.assert_logs_clean()

        journey.app_sends(recent_day(2))  # the vendor's app sends the pupil again
        journey.assert_logs_clean()
        assert "1 écartées (élèves effacés)" in journey.command(["ship"])
        assert not journey.spool_holds_pupil()  # dropped at ship: forgotten at once
        assert pseudonym not in lake_column(sqlite_ingest, "actor_pseudonym")
        journey.assert_logs_clean()
    assert "/xapi/statements" in journey.log.read_text()  # a real log of the requests
    journey.assert_logs_clean()
