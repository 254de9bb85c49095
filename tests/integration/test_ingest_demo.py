"""The demo's data plane: the demo connector pushes simulated traces, once."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from demo.push import DEMO_STATEMENTS, push_demo_traces
from tests.support.ingest_fixtures import IngestSetup


def test_demo_connector_pushes_simulated_traces_once(
    sqlite_ingest: IngestSetup, tmp_path: Path
) -> None:
    key = sqlite_ingest.connector_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "connector-demo-ed25519.pem").write_bytes(key)
    first = push_demo_traces(sqlite_ingest.ctx, tmp_path, sqlite_ingest.connector_id)
    assert first is not None and first.contract_id == sqlite_ingest.contract_id
    assert first.report.accepted == DEMO_STATEMENTS and first.report.batches_registered == 4
    again = push_demo_traces(sqlite_ingest.ctx, tmp_path, sqlite_ingest.connector_id)
    assert again is not None and again.report.accepted == 0
