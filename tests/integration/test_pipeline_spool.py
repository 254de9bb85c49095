"""``edh-connector ship``: statements stored by the xAPI endpoint (the spool) reach the
lake; the spool cursor resumes; voided statements are not shipped."""

from __future__ import annotations

from pathlib import Path

from connector.config import XapiSettings
from connector.pipeline.simulate import SimulationSpec, simulate
from connector.spool import Spool
from connector.xapi.service import Lrs
from tests.support.ingest_cli import connector_env, lake_statement_ids, run_connector
from tests.support.ingest_fixtures import IngestSetup

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def test_ship_sends_the_spool_once_without_voided_statements(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    data_dir = tmp_path / "connector"
    env = connector_env(sqlite_ingest, data_dir)
    statements = list(simulate(SimulationSpec(pupils=80, weeks=2, seed=3), 3500))
    victim = statements[10]["id"]
    voiding = {
        "actor": statements[11]["actor"],
        "id": "0f0f0f0f-0000-4000-8000-000000000001",
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": victim},
    }
    spool = Spool(data_dir / "spool.sqlite3")
    try:
        lrs = Lrs(spool, XapiSettings())
        lrs.store(statements[:3000], [], "1.0.3")
        lrs.store([voiding], [], "1.0.3")
        first = run_connector(["ship", "--batch-size", "1000"], env)
        assert first.returncode == 0, first.stderr
        ids = lake_statement_ids(sqlite_ingest)
        assert len(ids) == 3000 and victim not in ids and voiding["id"] in ids
        lrs.store(statements[3000:], [], "1.0.3")
        second = run_connector(["ship", "--batch-size", "1000"], env)
    finally:
        spool.close()
    assert second.returncode == 0, second.stderr
    assert "500 déclarations acceptées" in second.stderr
    ids = lake_statement_ids(sqlite_ingest)
    assert len(ids) == 3500 == len(set(ids))
