"""The OPA server restarts (its modules and data gone): the hub's adapter reloads what it
had loaded and decides as before; while the server is down it refuses as an outage.

Found by the cluster harness (``scripts/cluster.sh``): after the OPA server was killed and
restarted, every upload was refused with "no policy answers" until the hubs restarted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.policy.bundle import PolicyBundle
from hub.policy.opa_api import OpaApiServer
from hub.policy.server import OpaServerPolicyEngine, client_for
from tests.integration.test_policy_port import _facts, _publish, _query
from tests.support.browser import free_port


@pytest.fixture
def port() -> int:
    return free_port()


def _serve(port: int) -> OpaApiServer:
    server = OpaApiServer(port=port)
    server.start()
    return server


def _stop(server: OpaApiServer) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def first_server(port: int) -> Iterator[OpaApiServer]:
    server = _serve(port)
    yield server
    _stop(server)


def test_restarted_server_gets_policies_and_data_again(
    policy_bundle: PolicyBundle, port: int, first_server: OpaApiServer
) -> None:
    engine = OpaServerPolicyEngine(policy_bundle, client_for(first_server.url, timeout=5.0))
    _publish(engine, _facts())
    before = engine.decide("edh/sandbox/query", _query())
    assert before.allow, before.reasons
    _stop(first_server)
    down = engine.decide("edh/sandbox/query", _query())
    assert not down.allow and down.outage
    second = _serve(port)  # empty: no module, no data
    try:
        after = engine.decide("edh/sandbox/query", _query())
        assert after == before
        _publish(engine, _facts(revoked=True))  # later facts still reach the new server
        refused = engine.decide("edh/sandbox/query", _query())
        assert not refused.allow
    finally:
        _stop(second)


def test_restart_never_brings_back_older_data(
    policy_bundle: PolicyBundle, port: int, first_server: OpaApiServer
) -> None:
    engine = OpaServerPolicyEngine(policy_bundle, client_for(first_server.url, timeout=5.0))
    _publish(engine, _facts())
    _publish(engine, _facts(revoked=True))
    _stop(first_server)
    second = _serve(port)
    try:
        assert not engine.decide("edh/sandbox/query", _query()).allow  # revoked stays revoked
    finally:
        _stop(second)
