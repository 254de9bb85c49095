"""Policy fixtures: the real bundle, and a PolicyEngine per adapter for the port suite.

The OPA server adapter runs against ``hub.policy.opa_api`` (OPA's REST API over the real
OPA engine), or against a real ``opa`` binary when ``EDH_TEST_OPA_BINARY`` names one.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hub.app import POLICY_DOCUMENTS
from hub.policy.bundle import PolicyBundle
from hub.policy.inprocess import InProcessPolicyEngine
from hub.policy.opa_api import OpaApiServer
from hub.policy.port import PolicyEngine
from hub.policy.server import OpaServerPolicyEngine, client_for
from hub.trail.writer import Actor
from tests.support.browser import free_port
from tests.support.contracts_fixtures import World


def query_input(world: World, contract: dict[str, Any]) -> dict[str, Any]:
    """An ``edh/sandbox/query`` input (without subject and today) that ``contract`` allows
    for claire, the world's researcher."""
    return {
        "project_id": world.project_id,
        "contract_id": contract["id"],
        "purpose": world.terms()["purpose"],
        "tables": [world.dataset_id],
        "columns": [{"table": world.dataset_id, "column": "verb_id"}],
        "row_level": False,
    }


def claire(world: World) -> Actor:
    """The world's researcher, as the enforcement point's actor."""
    return Actor("claire", "researcher", world.lab_id)


def claire_id(client: TestClient, world: World) -> str:
    """Claire's registry id, read through the API."""
    page = client.get("/api/v1/researchers", headers=world.as_operator()).json()
    return next(str(r["id"]) for r in page["items"] if r["subject"] == "claire")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"opa exited with status {proc.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("opa server did not become healthy")


@pytest.fixture(scope="session")
def policy_bundle() -> PolicyBundle:
    """The hub's real policy bundle (``policies/``)."""
    return PolicyBundle.load()


@pytest.fixture(scope="session")
def opa_server_url() -> Iterator[str]:
    """An OPA REST API on loopback: the ``opa`` binary named by ``EDH_TEST_OPA_BINARY``,
    else ``hub.policy.opa_api`` (the real engine behind OPA's REST API)."""
    binary = os.environ.get("EDH_TEST_OPA_BINARY")
    if not binary:
        server = OpaApiServer()
        server.start()
        try:
            yield server.url
        finally:
            server.shutdown()
            server.server_close()
        return
    port = free_port()
    proc = subprocess.Popen(
        [binary, "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error"]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["inprocess", "server"])
def policy_engine(request: pytest.FixtureRequest, policy_bundle: PolicyBundle) -> PolicyEngine:
    """Each adapter of the PolicyEngine port, loaded with the real bundle and no data."""
    if request.param == "inprocess":
        return InProcessPolicyEngine(policy_bundle)
    url = request.getfixturevalue("opa_server_url")
    client = client_for(url, timeout=5.0)
    for document in POLICY_DOCUMENTS:
        httpx.delete(f"{url}/v1/data/edh/{document.name}")
    return OpaServerPolicyEngine(policy_bundle, client)
