"""An unreachable policy engine, or policy data that cannot be refreshed, is an outage in
every area: 503 problem+json (retryable), audited as ``policy.outage``, never a denial
recorded as the policy's decision, and nothing changed.

The engine is really broken: the hub decides through the OPA server adapter against the
OPA REST API server (``hub.policy.opa_api``), which the test then stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hub.app import POLICY_DOCUMENTS
from hub.auth import Principal
from hub.context import HubContext
from hub.contracts.policy_data import contract_documents
from hub.db import session_scope
from hub.enforcement.data import bump_version, install
from hub.errors import PolicyUnavailable
from hub.ingest.gate import UploadScope, check_upload_policy
from hub.policy.bundle import PolicyBundle
from hub.policy.opa_api import OpaApiServer
from hub.policy.server import OpaServerPolicyEngine, client_for
from hub.registry.models import Connector, Organisation
from hub.sandbox import authorize
from hub.trail.models import AuditEvent
from tests.support.contracts_fixtures import World
from tests.support.factories import new_siren

Auth = Callable[..., dict[str, str]]


@dataclass
class Outage:
    """The hub deciding through a live OPA server, and the switch that breaks it."""

    ctx: HubContext
    server: OpaApiServer

    def engine_down(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def data_stale(self) -> None:
        """New facts to publish, and no engine to publish them to."""
        with session_scope(self.ctx.engine) as session:
            bump_version(session.connection())
        self.engine_down()

    def events(self) -> list[AuditEvent]:
        with Session(self.ctx.engine) as session:
            rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        return [e for e in rows if e.action.startswith("policy.")]


@pytest.fixture
def outage(hub_ctx: HubContext) -> Iterator[Outage]:
    server = OpaApiServer()
    server.start()
    policy = OpaServerPolicyEngine(PolicyBundle.load(), client_for(server.url, timeout=2.0))
    hub_ctx.policy = policy
    install(hub_ctx.engine, policy, POLICY_DOCUMENTS)
    hub_ctx.health_checks["policy"] = policy.health
    yield Outage(hub_ctx, server)
    server.server_close()


BREAKS = ["engine_down", "data_stale"]


def _assert_outage(resp: httpx.Response, outage: Outage, before: int) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["retry-after"]
    body = resp.json()
    assert body["type"] == "urn:edh:problem:policy-unavailable" and body["retryable"] is True
    new = outage.events()[before:]
    assert [(e.action, e.decision) for e in new] == [("policy.outage", "deny")]


@pytest.mark.parametrize("brk", BREAKS)
def test_registry_outage_is_503_and_changes_nothing(
    outage: Outage, client: TestClient, auth: Auth, brk: str
) -> None:
    body = {"name": "Lab ok", "siren": new_siren(), "kind": "lab"}
    assert client.post("/api/v1/organisations", json=body, headers=auth("operator")).is_success
    before = len(outage.events())
    getattr(outage, brk)()
    body = {"name": "Lab during outage", "siren": new_siren(), "kind": "lab"}
    resp = client.post("/api/v1/organisations", json=body, headers=auth("operator"))
    _assert_outage(resp, outage, before)  # type: ignore[arg-type]
    with Session(outage.ctx.engine) as session:
        names = session.exec(select(Organisation.name)).all()
    assert "Lab during outage" not in names


@pytest.mark.parametrize("brk", BREAKS)
def test_audit_read_outage_is_503(outage: Outage, client: TestClient, auth: Auth, brk: str) -> None:
    assert client.get("/api/v1/audit/events", headers=auth("dpo")).status_code == 200
    before = len(outage.events())
    getattr(outage, brk)()
    resp = client.get("/api/v1/audit/events", headers=auth("dpo"))
    _assert_outage(resp, outage, before)  # type: ignore[arg-type]


def test_contract_signature_outage_is_503(outage: Outage, world: World) -> None:
    cid = world.agreed()["id"]
    jws = world.jws(cid, "provider")
    before = len(outage.events())
    outage.engine_down()
    resp = world.client.post(
        f"/api/v1/contracts/{cid}/signatures", json={"jws": jws}, headers=world.as_provider()
    )
    _assert_outage(resp, outage, before)  # type: ignore[arg-type]
    state = world.client.get(f"/api/v1/contracts/{cid}", headers=world.as_operator())
    assert state.json()["state"] != "SIGNED_PROVIDER"


def test_sandbox_query_outage_raises_unavailable(outage: Outage, world: World) -> None:
    contract = world.finalized()
    with Session(outage.ctx.engine) as session:
        doc = contract_documents(session)[contract["id"]]
    req = authorize.Request(
        project_id=world.project_id,
        purpose=None,
        tables=(world.dataset_id,),
        columns=({"table": world.dataset_id, "column": "verb_id"},),
        row_level=False,
    )
    claire = Principal("claire", frozenset({"researcher"}), org=world.lab_id)
    before = len(outage.events())
    outage.engine_down()
    with pytest.raises(PolicyUnavailable), session_scope(outage.ctx.engine) as session:
        authorize.query(outage.ctx, session, claire, req, [doc], "job-1")
    assert [e.action for e in outage.events()[before:]] == ["policy.outage"]


def test_ingest_upload_outage_raises_unavailable(outage: Outage, world: World) -> None:
    contract = world.finalized()
    connector = Connector(
        id="conn-1", organisation_id=world.provider_id, name="c", public_key_pem="", key_id="k"
    )
    scope = UploadScope(
        contract_id=contract["id"],
        provider_id=world.provider_id,
        project_id=world.project_id,
        datasets=(world.dataset_id,),
        allowed_fields=("verb_id",),
        retention_days=180,
        purpose="p",
    )
    before = len(outage.events())
    outage.engine_down()
    with pytest.raises(PolicyUnavailable), session_scope(outage.ctx.engine) as session:
        check_upload_policy(outage.ctx, session, connector, scope, world.dataset_id)
    [event] = outage.events()[before:]
    assert (event.action, event.resource_id) == ("policy.outage", world.dataset_id)


def test_health_shows_the_policy_engine_degraded(outage: Outage, client: TestClient) -> None:
    assert client.get("/health").json()["checks"]["policy"] == {"status": "ok"}
    outage.engine_down()
    resp = client.get("/health")
    assert resp.status_code == 503 and resp.json()["checks"]["policy"] == {"status": "degraded"}
