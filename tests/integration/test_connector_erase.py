"""``edh-connector erase`` as a vendor runs it: the identifier comes from a file or
stdin, the hub's register erases the lake, the spool (its file and WAL) forgets the
pupil's statements and documents, and the next ``ship`` never sends them again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.config import ConnectorSettings, XapiSettings
from connector.spool import Spool
from connector.xapi.app import create_app
from hub.pseudonym.service import pseudonym_for
from tests.support.connector_fixtures import basic
from tests.support.contract_ref import ContractRef
from tests.support.ingest_batches import recent_day, statements
from tests.support.ingest_cli import CONNECTOR, connector_env, lake_column, run_connector
from tests.support.ingest_fixtures import IngestSetup

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
