"""The DPO's audit API on SQLite and PostgreSQL: search, detail, export, proofs, refusals."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from hub.audit.offline import verify_consistency_proof, verify_export, verify_inclusion_proof
from hub.context import HubContext
from hub.db import session_scope
from hub.trail.writer import Decision
from tests.support.audit_fixtures import T0, draft, seed, sql

Auth = Callable[..., dict[str, str]]
API = "/api/v1/audit"


def _events(client: TestClient, auth: Auth, **params: Any) -> dict[str, Any]:
    resp = client.get(f"{API}/events", params=params, headers=auth("dpo", sub="dpo.1"))
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_search_filters_and_pages(hub_ctx: HubContext, client: TestClient, auth: Auth) -> None:
    seed(hub_ctx, 12)
    page = _events(client, auth, actor="r1", contract="c1", limit=2)
    assert [e["resource_id"] for e in page["items"]] == ["q7", "q1"]
    every = _events(client, auth, actor="r1", action="sandbox.query", limit=500)["items"]
    assert [e["seq"] for e in every] == [10, 7, 4, 1]
    first = _events(client, auth, actor="r1", limit=3)
    rest = _events(client, auth, actor="r1", limit=3, before=first["next_before"])
    assert [e["seq"] for e in first["items"] + rest["items"]] == [10, 7, 4, 1]
    assert rest["next_before"] is None
    window = _events(client, auth, since="2026-01-05T10:00:00Z", until="2026-01-05T12:00:00+00:00")
    assert [e["seq"] for e in window["items"]] == [3, 2]


def test_search_by_decision_role_org_project_dataset(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    with session_scope(hub_ctx.engine) as session:
        from hub.trail.writer import record

        record(session, draft(1, decision=Decision.DENY), now=T0)
        record(session, draft(2), now=T0)
    items = _events(
        client, auth, decision="deny", role="researcher", organisation="lab1", project="p1"
    )["items"]
    assert [e["seq"] for e in items] == [1]
    assert items[0]["reasons"] == ["k-anonymity: cell below 10"]
    assert _events(client, auth, dataset="d1", decision="allow")["items"][-1]["seq"] == 2


def test_bad_filters_are_400_with_a_clear_message(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 2)
    cases = {
        "since=2026-13-01": "since: '2026-13-01' is not an ISO 8601 date",
        "until=yesterday": "until: 'yesterday' is not an ISO 8601",
        "colour=blue": "unknown filter(s): colour",
        "decision=maybe": "decision must be one of: allow, deny, info",
        "limit=0": "limit must be an integer between 1 and 500",
        "limit=ten": "limit must be an integer between 1 and 500",
        "since=2026-02-01&until=2026-01-01": "since must be earlier than until",
    }
    for query, message in cases.items():
        resp = client.get(f"{API}/events?{query}", headers=auth("dpo"))
        assert resp.status_code == 400, (query, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert message in resp.json()["detail"], (query, resp.json())
    export = client.get(f"{API}/export?format=xml", headers=auth("dpo"))
    assert export.status_code == 400 and "csv or jsonl" in export.json()["detail"]


def test_only_dpo_and_operator_read_and_refusals_are_audited(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 1)
    assert client.get(f"{API}/events").status_code == 401
    resp = client.get(f"{API}/events", headers=auth("researcher", sub="eve"))
    assert resp.status_code == 403
    assert client.get(f"{API}/events", headers=auth("operator", sub="op")).status_code == 200
    assert client.post(f"{API}/checkpoints", headers=auth("operator")).status_code == 403
    denied = _events(client, auth, actor="eve", decision="deny")["items"]
    assert denied and denied[0]["resource_id"] == "GET /api/v1/audit/events"


def test_every_dpo_access_is_itself_audited(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 3)
    client.get(f"{API}/events/2", headers=auth("dpo", sub="dpo.1"))
    client.get(f"{API}/export", params={"actor": "r1"}, headers=auth("dpo", sub="dpo.1"))
    reads = _events(client, auth, actor="dpo.1", limit=10)["items"]
    targets = [e["resource_id"] for e in reads]
    # a read is chained before it runs: this search lists itself
    assert targets == ["events?actor=dpo.1&limit=10", "export?actor=r1", "events/2"]
    assert all(e["action"] == "policy.edh/audit/read" for e in reads)
    assert all(e["actor_role"] == "dpo" and e["decision"] == "allow" for e in reads)


def test_event_detail_and_missing_event(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 2)
    event = client.get(f"{API}/events/2", headers=auth("dpo")).json()
    assert event["resource_id"] == "q2" and event["purpose"] == "étude"
    assert event["ts"] == (T0 + timedelta(hours=1)).isoformat(timespec="microseconds")
    missing = client.get(f"{API}/events/999", headers=auth("dpo"))
    assert missing.status_code == 404 and "999" in missing.json()["detail"]


def test_export_csv_and_jsonl_stream_every_match(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 30)
    resp = client.get(
        f"{API}/export", params={"format": "csv", "contract": "c0"}, headers=auth("dpo")
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [int(r["seq"]) for r in rows] == list(range(2, 31, 2))
    assert json.loads(rows[0]["reasons"]) == []
    params = {"decision": "allow", "action": "sandbox.query"}
    lines = client.get(f"{API}/export", params=params, headers=auth("dpo")).text
    events = [json.loads(x) for x in lines.splitlines()]
    assert len(events) == 30 and events[0]["details"] == {"sql_hash": f"{1:064x}", "rows": 1}


def test_csv_export_neutralises_spreadsheet_formulas(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 1)
    sql(hub_ctx, "UPDATE audit_event SET resource_id = '=HYPERLINK(1)' WHERE seq = 1")
    text = client.get(
        f"{API}/export?format=csv&resource_id==HYPERLINK(1)", headers=auth("dpo")
    ).text
    assert "'=HYPERLINK(1)" in text


def test_no_api_edits_or_deletes_events(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 3)
    for method in ("DELETE", "PUT", "PATCH"):
        resp = client.request(
            method, f"{API}/events/2", headers=auth("dpo", sub="mallory"), json={}
        )
        assert resp.status_code == 405, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert "append-only" in resp.json()["detail"]
    assert (
        client.delete(f"{API}/events", headers=auth("operator", sub="mallory")).status_code == 405
    )
    refused = _events(client, auth, action="audit.change_refused")["items"]
    assert len(refused) == 4 and {e["actor_sub"] for e in refused} == {"mallory"}
    assert client.get(f"{API}/events/2", headers=auth("dpo")).status_code == 200
    assert client.get(f"{API}/verify", headers=auth("dpo")).json()["ok"] is True


def test_verify_endpoint_reports_tampering_and_raises_an_alert(
    hub_ctx: HubContext, client: TestClient, auth: Auth, bus_alerts: list[dict[str, Any]]
) -> None:
    received = bus_alerts
    seed(hub_ctx, 5)
    assert client.get(f"{API}/verify", headers=auth("dpo")).json()["ok"] is True
    sql(hub_ctx, "UPDATE audit_event SET purpose = 'autre' WHERE seq = 3")
    report = client.get(f"{API}/verify", headers=auth("operator")).json()
    assert report["ok"] is False and report["problems"][0]["seq"] == 3
    assert [a["rule"] for a in received] == ["verification-failure"]
    listed = client.get(f"{API}/alerts", headers=auth("dpo")).json()
    assert listed["alerts"][0]["rule"] == "verification-failure"
    assert {r["id"] for r in listed["rules"]} >= {"refused-burst", "verification-failure"}


def test_checkpoints_proofs_and_offline_verification(
    hub_ctx: HubContext, client: TestClient, auth: Auth
) -> None:
    seed(hub_ctx, 5)
    first = client.post(f"{API}/checkpoints", headers=auth("dpo")).json()
    seed(hub_ctx, 9)
    second = client.post(f"{API}/checkpoints", headers=auth("dpo")).json()
    assert first["tree_size"] == 6  # the 5 events and the DPO's own (audited) request
    assert second["tree_size"] == 6 + 9 + 1
    export = client.get(f"{API}/checkpoints/export", headers=auth("dpo")).json()
    assert verify_export(export) == []
    export["checkpoints"][0]["root_hash"] = "00" * 32
    assert any("bad signature" in p for p in verify_export(export))
    proof = client.get(f"{API}/events/3/proof", headers=auth("dpo")).json()
    assert proof["tree_size"] == 6 and verify_inclusion_proof(proof, first["root_hash"])
    assert not verify_inclusion_proof(proof, second["root_hash"])
    params = {"first": first["tree_size"], "second": second["tree_size"]}
    cons = client.get(f"{API}/consistency", params=params, headers=auth("dpo")).json()
    assert cons["second_root"] == second["root_hash"] and verify_consistency_proof(cons)
    bad = client.get(f"{API}/consistency", params={"first": 9, "second": 2}, headers=auth("dpo"))
    assert bad.status_code == 400
