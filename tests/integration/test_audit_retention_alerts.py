"""Retention purges whole months and verification still passes; alert rules fire once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.audit.offline import verify_consistency_proof, verify_export, verify_inclusion_proof
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.writer import Decision, record
from tests.support.audit_fixtures import T0, draft, kinds, seed, sql, verify_json
from tests.support.contracts_fixtures import World

Auth = Callable[..., dict[str, str]]
Edh = Callable[..., tuple[int, str]]
API = "/api/v1/audit"


def test_purge_keeps_signed_roots_and_verification_passes(
    hub_ctx: HubContext, edh: Edh, client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(hub_ctx, 10)  # January 2026: expired under a 30-day retention
    assert edh("audit", "checkpoint")[0] == 0
    seed(hub_ctx, 3, start=datetime.now(UTC) - timedelta(minutes=5), step=timedelta(seconds=1))
    monkeypatch.setenv("EDH_AUDIT__RETENTION_DAYS", "30")
    code, out = edh("audit", "purge")
    assert code == 0 and "purged 10 events (up to seq 10" in out
    assert edh("audit", "purge")[1].startswith("nothing to purge")
    report = verify_json(edh)
    assert report["ok"] is True and report["purged_up_to"] == 10, report
    assert client.get(f"{API}/events/5", headers=auth("dpo")).status_code == 404
    purged = client.get(f"{API}/events", params={"action": "audit.purged"}, headers=auth("dpo"))
    assert purged.json()["items"][0]["details"]["events"] == 10
    latest = client.post(f"{API}/checkpoints", headers=auth("dpo")).json()
    proof = client.get(f"{API}/events/12/proof", headers=auth("dpo")).json()
    assert verify_inclusion_proof(proof, latest["root_hash"])
    params = {"first": 10, "second": latest["tree_size"]}
    assert verify_consistency_proof(
        client.get(f"{API}/consistency", params=params, headers=auth("dpo")).json()
    )
    assert verify_export(client.get(f"{API}/checkpoints/export", headers=auth("dpo")).json()) == []
    sql(hub_ctx, "UPDATE audit_event SET actor_sub = 'x' WHERE seq = 12")
    assert kinds(verify_json(edh))[0] == (12, "modified")


def _deny(ctx: HubContext, n: int, sub: str, spacing: timedelta) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    with session_scope(ctx.engine) as session:
        for i in range(n):
            record(session, draft(i, decision=Decision.DENY, sub=sub), now=start + spacing * i)


def test_refused_burst_alert_fires_once_and_is_published(
    hub_ctx: HubContext, client: TestClient, auth: Auth, bus_alerts: list[dict[str, Any]]
) -> None:
    received = bus_alerts
    _deny(hub_ctx, 5, "eve", timedelta(minutes=1))
    _deny(hub_ctx, 4, "bob", timedelta(minutes=1))  # below the threshold
    _deny(hub_ctx, 5, "ann", timedelta(minutes=5))  # spread over 20 minutes
    raised = client.post(f"{API}/alerts/run", headers=auth("dpo")).json()
    assert [(a["rule"], a["actor_sub"]) for a in raised] == [("refused-burst", "eve")]
    assert len(raised[0]["event_seqs"]) == 5
    assert [a["rule"] for a in received] == ["refused-burst"]
    assert client.post(f"{API}/alerts/run", headers=auth("dpo")).json() == []
    alerts = client.get(f"{API}/alerts", headers=auth("operator")).json()["alerts"]
    assert len(alerts) == 1 and "eve" in alerts[0]["message"]
    audited = client.get(f"{API}/events", params={"action": "audit.alert"}, headers=auth("dpo"))
    assert audited.json()["items"][0]["details"]["rule"] == "refused-burst"


def test_access_outside_the_contract_window_raises_an_alert(
    hub_ctx: HubContext, client: TestClient, auth: Auth, world: World
) -> None:
    contract = world.finalized()
    now = datetime.now(UTC)
    with session_scope(hub_ctx.engine) as session:
        for when in (now - timedelta(days=10), now):
            event = draft(1)
            event.why = type(event.why)(contract_id=contract["id"], project_id=world.project_id)
            record(session, event, now=when)
    raised = client.post(f"{API}/alerts/run?hours=720", headers=auth("dpo")).json()
    outside = [a for a in raised if a["rule"] == "outside-contract-window"]
    assert len(outside) == 1 and outside[0]["contract_id"] == contract["id"]
    bad = client.post(f"{API}/alerts/run?hours=0", headers=auth("dpo"))
    assert bad.status_code == 400


def test_verify_after_checkpoint_names_the_checkpoint_on_postgres_and_sqlite(
    hub_ctx: HubContext, edh: Edh
) -> None:
    seed(hub_ctx, 4, start=T0)
    edh("audit", "checkpoint")
    sql(hub_ctx, "DELETE FROM audit_event WHERE seq = 2")
    problem = verify_json(edh)["problems"][0]
    assert (problem["seq"], problem["kind"], problem["checkpoint"]["tree_size"]) == (
        2,
        "deleted",
        4,
    )
