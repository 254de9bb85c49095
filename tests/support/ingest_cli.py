"""Run ``edh-connector`` and ``edh serve`` as real processes, and inspect what arrived."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
from cryptography.hazmat.primitives import serialization
from sqlmodel import Session, col, select

from hub.ingest.models import BatchStatus, IngestBatch
from tests.support.factories import make_context
from tests.support.ingest_fixtures import IngestSetup, free_port, prepare

CONNECTOR = [sys.executable, "-m", "connector.cli"]
HUB = [sys.executable, "-m", "hub"]


def connector_env(setup: IngestSetup, data_dir: Path) -> dict[str, str]:
    """Environment of a connector bound to ``setup``'s contract, its key written to disk."""
    key_file = data_dir / "keys" / "connector.pem"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(
        setup.connector_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        **os.environ,
        "EDH_CONNECTOR_DATA_DIR": str(data_dir),
        "EDH_CONNECTOR_HUB__URL": setup.url,
        "EDH_CONNECTOR_HUB__CONNECTOR_ID": setup.connector_id,
        "EDH_CONNECTOR_HUB__CONTRACT_ID": setup.contract_id,
        "EDH_CONNECTOR_HUB__DATASET_ID": setup.dataset_id,
        "EDH_CONNECTOR_HUB__KEY_FILE": str(key_file),
    }


def run_connector(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CONNECTOR, *args], env=env, capture_output=True, text=True, timeout=300)


def prepared_hub(
    db_url: str, hub_dir: Path, **settings: str
) -> tuple[IngestSetup, dict[str, str], int]:
    """A hub ready for ``edh serve`` on ``db_url``, its data in ``hub_dir`` (parties, a
    dataset, a connector and a FINALIZED contract): the setup (dispose of its engine), the
    process's environment (dev mode, plus ``settings``) and the port it is to serve on."""
    port = free_port()
    ctx = make_context(db_url, hub_dir, public_url=f"http://127.0.0.1:{port}")
    setup = prepare(ctx)
    setup.url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "EDH_DEV_MODE": "true",
        "EDH_DATA_DIR": str(hub_dir),
        "EDH_PUBLIC_URL": setup.url,
        "EDH_DATABASE__URL": db_url,
        **settings,
    }
    return setup, env, port


def start_hub(
    port: int, env: dict[str, str], log: Path | None = None, healthy: bool = True
) -> subprocess.Popen[bytes]:
    """``edh serve`` on ``port`` (its output appended to ``log``, if given), returned once
    ``/health`` answers 200 (with ``healthy=False``: answers at all, a degraded hub's 503
    included)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            [*HUB, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        if log and not isinstance(out, int):
            out.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status: int | None = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
        except httpx.HTTPError:
            status = None
        if status == 200 or (status is not None and not healthy):
            return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"edh serve did not start (exit status {proc.wait()})")


def registered(setup: IngestSetup) -> list[IngestBatch]:
    """Registered batches, by sequence number."""
    with Session(setup.ctx.engine) as session:
        query = select(IngestBatch).where(IngestBatch.status == BatchStatus.REGISTERED)
        return list(session.exec(query.order_by(col(IngestBatch.sequence))).all())


def wait_registered(setup: IngestSetup, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(registered(setup)) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def lake_column(setup: IngestSetup, column: str) -> list[Any]:
    """Every value of ``column`` in the lake (duplicates included)."""
    store = setup.ctx.store
    assert store is not None
    values: list[Any] = []
    for key in store.list("lake/"):
        table = pq.read_table(io.BytesIO(store.get(key)), columns=[column])
        values.extend(table.column(column).to_pylist())
    return values


def lake_statement_ids(setup: IngestSetup) -> list[str]:
    """Every ``statement_id`` of the lake (duplicates included)."""
    return lake_column(setup, "statement_id")
