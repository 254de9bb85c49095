"""The OPA server adapter's own behaviour that needs no server: URLs and unreachability."""

from __future__ import annotations

import socket

import pytest

from hub.policy.bundle import PolicyBundle
from hub.policy.port import PolicyEngineError
from hub.policy.server import OpaServerPolicyEngine, client_for


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("url", ["", "ftp://opa:8181", "http://", "opa:8181"])
def test_bad_server_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="invalid OPA server URL"):
        client_for(url, timeout=1)


def test_client_defaults_to_opa_port() -> None:
    client = client_for("https://opa.internal", timeout=1)
    assert client.root_url == "https://opa.internal:443/v1"
    assert client_for("http://opa", timeout=1).port == 8181


def test_unreachable_server_refuses_to_start() -> None:
    client = client_for(f"http://127.0.0.1:{_closed_port()}", timeout=1)
    with pytest.raises(PolicyEngineError, match="cannot load policies"):
        OpaServerPolicyEngine(PolicyBundle.load(), client)
