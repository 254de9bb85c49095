"""A vendor's batch as a Dataspace Protocol transfer: the hub (consumer) asks the vendor's
real connector (provider of an ``HttpData-PUSH``, its app served on loopback) for its
next batch; the data address the hub issues is its batch endpoint with a token scoped
to the transfer; the connector starts the transfer, pushes the batch through the
presigned upload flow, and the registered batch completes the transfer.

Oracles: the hub's batch registry and lake, the transfer's state on both sides, the
connector's cursor, the audit log. The attacker replays the token after completion,
forges the hub's token, or (with the hub's own key) names a data address elsewhere."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlmodel import Session, col, select

from connector.config import ConnectorSettings, XapiSettings
from connector.dataspace import Provider
from connector.pipeline.retention import SPOOL_SOURCE
from connector.pipeline.settings import HubLinkSettings
from connector.pipeline.state import PipelineState
from connector.xapi.app import create_app as connector_app
from contracts.dsp import messages
from hub.dataspace.did import sign_token
from hub.dataspace.models import DspTransfer
from hub.ingest.models import IngestBatch
from hub.trail.models import AuditEvent
from tests.conftest import SAMPLE_STATEMENTS
from tests.support.browser import free_port
from tests.support.connector_fixtures import XAPI_KEY, XAPI_SECRET, basic
from tests.support.ingest_batches import recent_copy
from tests.support.ingest_fixtures import IngestSetup

SPOOLED, BATCH = 300, 200


@dataclass
class Vendor:
    """The vendor's connector, served: its DSP base URL, app and settings."""

    url: str
    app: FastAPI
    settings: ConnectorSettings

    @property
    def provider(self) -> Provider:
        provider: Provider = self.app.state.dsp
        return provider


def _settings(setup: IngestSetup, data_dir: Path) -> ConnectorSettings:
    key_file = data_dir / "connector-ed25519.pem"
    data_dir.mkdir(parents=True)
    key_file.write_bytes(
        setup.connector_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    link = HubLinkSettings(
        url=setup.url,
        connector_id=setup.connector_id,
        key_file=key_file,
        contract_id=setup.contract_id,
        dataset_id=setup.dataset_id,
        batch_size=BATCH,
    )
    xapi = XapiSettings(key=XAPI_KEY, secret=XAPI_SECRET)
    return ConnectorSettings(data_dir=data_dir, xapi=xapi, hub=link)


@pytest.fixture
def vendor(sqlite_ingest: IngestSetup, tmp_path: Path) -> Iterator[Vendor]:
    settings = _settings(sqlite_ingest, tmp_path / "connector")
    app = connector_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    sample = recent_copy(SAMPLE_STATEMENTS, tmp_path / "sample.jsonl.gz")
    with gzip.open(sample, "rt") as lines:
        statements = [json.loads(next(lines)) for _ in range(SPOOLED)]
    headers = {"Authorization": basic(XAPI_KEY, XAPI_SECRET), "X-Experience-API-Version": "1.0.3"}
    stored = httpx.post(f"{base}/xapi/statements", json=statements, headers=headers, timeout=60)
    assert stored.status_code == 200, stored.text
    yield Vendor(f"{base}/dsp", app, settings)
    server.should_exit = True
    thread.join(timeout=10)


def _transfer(setup: IngestSetup) -> DspTransfer:
    with Session(setup.ctx.engine) as session:
        return session.exec(select(DspTransfer)).one()


def _until_state(setup: IngestSetup, state: str) -> DspTransfer:
    deadline = time.monotonic() + 60
    while (row := _transfer(setup)).state != state and time.monotonic() < deadline:
        time.sleep(0.1)
    assert row.state == state
    return row


def _actions(setup: IngestSetup, pid: str) -> list[tuple[str, str]]:
    with Session(setup.ctx.engine) as session:
        query = select(AuditEvent).where(AuditEvent.resource_id == pid)
        return [(e.action, e.actor_sub) for e in session.exec(query.order_by(col(AuditEvent.seq)))]


def _cursor(vendor: Vendor) -> int:
    return PipelineState.load(vendor.settings.state_path).cursors.get(SPOOL_SOURCE, 0)


def _batches(setup: IngestSetup) -> list[IngestBatch]:
    with Session(setup.ctx.engine) as session:
        return list(session.exec(select(IngestBatch)).all())


def test_the_connector_pushes_its_next_batch_over_dsp(
    sqlite_ingest: IngestSetup, vendor: Vendor
) -> None:
    setup, op = sqlite_ingest, sqlite_ingest.world.as_operator()
    body = {"contract_id": setup.contract_id, "connector_url": vendor.url}
    asked = httpx.post(f"{setup.url}/api/v1/dataspace/push-transfers", json=body, headers=op)
    assert asked.status_code == 201, asked.text
    assert asked.json()["state"] == "REQUESTED"
    row = _until_state(setup, "COMPLETED")
    assert (row.role, row.format, row.counterparty) == (
        "consumer",
        "HttpData-PUSH",
        f"urn:edh:connector:{setup.connector_id}",
    )

    (batch,) = _batches(setup)
    assert (batch.status, batch.contract_id, batch.connector_id) == (
        "registered",
        setup.contract_id,
        setup.connector_id,
    )
    assert batch.row_count == BATCH  # the next batch, not the whole spool
    (process,) = vendor.provider.transfers.values()
    deadline = time.monotonic() + 20
    while (process.state != "COMPLETED" or _cursor(vendor) != BATCH) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert process.state == "COMPLETED"  # the hub's completion reached the connector
    assert _cursor(vendor) == BATCH  # the rest of the spool waits for the next transfer
    connector = f"urn:edh:connector:{setup.connector_id}"
    steps = [(a, who) for a, who in _actions(setup, row.id) if a.startswith("dsp_transfer.")]
    assert [a for a, _ in steps] == [
        "dsp_transfer.requested",
        "dsp_transfer.token.issued",
        "dsp_transfer.started",
        "dsp_transfer.completed",
    ]
    assert steps[2][1] == connector

    # The token opens nothing once the transfer completed (audited); nothing registered.
    again = httpx.post(
        process.endpoint + "/batches",
        json={
            "contract_id": setup.contract_id,
            "dataset_id": setup.dataset_id,
            "sequence": 99,
            "files": [{"date": "2026-01-01", "index": 0, "sha256": "0" * 64, "bytes": 1}],
        },
        headers={"Authorization": f"Bearer {process.token}"},
    )
    assert again.status_code == 403, again.text
    assert again.json()["reasons"] == ["the transfer is COMPLETED, not STARTED"]
    refused = [a for a, _ in _actions(setup, row.id) if a == "dsp_transfer.push.refused"]
    assert refused == ["dsp_transfer.push.refused"]
    assert len(_batches(setup)) == 1


def _request(vendor: Vendor, setup: IngestSetup, endpoint: str) -> dict[str, Any]:
    address = messages.data_address(endpoint, "a-token", "https://w3id.org/idsa/v4.1/HTTP")
    return messages.transfer_request(
        "urn:uuid:forged",
        f"urn:edh:contract:{setup.contract_id}:v1",
        "HttpData-PUSH",
        setup.url + "/dsp",
        data_address=address,
    )


def test_the_connector_pushes_only_to_its_hub_and_only_when_its_hub_asks(
    sqlite_ingest: IngestSetup, vendor: Vendor
) -> None:
    setup = sqlite_ingest
    participant = f"urn:edh:connector:{setup.connector_id}"
    node = setup.client.app.state.dataspace  # type: ignore[attr-defined]
    genuine = sign_token(node.key, node.did, participant)
    forged = sign_token(Ed25519PrivateKey.generate(), node.did, participant)
    ours = _request(vendor, setup, setup.url + "/api/v1/dataspace/transfers/x")
    elsewhere = _request(vendor, setup, "http://127.0.0.1:9/steal")
    url = vendor.url + "/transfers/request"

    answer = httpx.post(url, json=ours, headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401 and answer.json()["@type"] == "TransferError"
    assert httpx.post(url, json=ours).status_code == 401
    answer = httpx.post(url, json=elsewhere, headers={"Authorization": f"Bearer {genuine}"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == ["the data address is not on the connector's hub"]
    time.sleep(1)
    assert vendor.provider.transfers == {}
    assert _batches(setup) == []
    assert _cursor(vendor) == 0
