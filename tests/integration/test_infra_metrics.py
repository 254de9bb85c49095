"""``GET /metrics`` on the hub and the connector: the named series, and that they move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from connector import metrics as cmetrics
from connector.config import ConnectorSettings
from connector.xapi.app import create_app as create_connector_app
from hub import metrics
from hub.app import create_app
from tests.support.factories import make_context

HUB_SERIES = {
    "edh_http_requests": "counter",
    "edh_http_request_duration_seconds": "histogram",
    "edh_policy_decisions": "counter",
    "edh_batches": "counter",
    "edh_batch_rows": "counter",
    "edh_queue_lag": "gauge",
    "edh_sandbox_jobs": "counter",
    "edh_sandbox_jobs_running": "gauge",
    "edh_sandbox_job_duration_seconds": "histogram",
}
CONNECTOR_SERIES = {
    "edh_connector_http_requests": "counter",
    "edh_connector_statements": "counter",
    "edh_connector_batches": "counter",
    "edh_connector_batch_rows": "counter",
    "edh_connector_upload_duration_seconds": "histogram",
    "edh_connector_spool_lag": "gauge",
}


@pytest.fixture
def hub_client(tmp_path: Path) -> Iterator[TestClient]:
    ctx = make_context(f"sqlite:///{tmp_path / 'hub.sqlite3'}", tmp_path)
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as c:
        yield c
    ctx.engine.dispose()


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def _families(client: TestClient) -> dict[str, str]:
    text = client.get("/metrics").text
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_hub_exposes_every_named_series(hub_client: TestClient) -> None:
    assert _families(hub_client).items() >= HUB_SERIES.items()


def test_requests_are_counted_by_route_template_not_raw_path(hub_client: TestClient) -> None:
    before = _scrape(hub_client)
    assert hub_client.get("/health").status_code == 200
    assert hub_client.get("/no/such/page-123").status_code == 404
    after = _scrape(hub_client)
    name = "edh_http_requests_total"
    ok = {"method": "GET", "route": "/health", "status": "200"}
    lost = {"method": "GET", "route": metrics.UNMATCHED_ROUTE, "status": "404"}
    assert _value(after, name, **ok) - _value(before, name, **ok) == 1
    assert _value(after, name, **lost) - _value(before, name, **lost) == 1
    assert not any("page-123" in str(labels) for _, labels in after)


def test_area_functions_move_their_series(hub_client: TestClient) -> None:
    before = _scrape(hub_client)
    metrics.record_policy_decision("edh/sandbox/query", allowed=False)
    metrics.record_batch("quarantined", rows=250)
    metrics.set_queue_lag("ingest-indexer", 42)
    after = _scrape(hub_client)
    deny = {"decision": "edh/sandbox/query", "result": "deny"}
    name = "edh_policy_decisions_total"
    assert _value(after, name, **deny) - _value(before, name, **deny) == 1
    rows = "edh_batch_rows_total"
    assert (
        _value(after, rows, state="quarantined") - _value(before, rows, state="quarantined") == 250
    )
    assert _value(after, "edh_queue_lag", consumer="ingest-indexer") == 42
    metrics.set_queue_lag("ingest-indexer", -5)
    assert _value(_scrape(hub_client), "edh_queue_lag", consumer="ingest-indexer") == 0


def test_sandbox_job_counts_failures_and_releases_the_running_gauge(
    hub_client: TestClient,
) -> None:
    before = _scrape(hub_client)
    with pytest.raises(RuntimeError), metrics.sandbox_job():
        assert _value(_scrape(hub_client), "edh_sandbox_jobs_running") == (
            _value(before, "edh_sandbox_jobs_running") + 1
        )
        raise RuntimeError("worker died")
    with metrics.sandbox_job() as job:
        job["status"] = "refused"
    after = _scrape(hub_client)
    jobs = "edh_sandbox_jobs_total"
    assert _value(after, jobs, status="failed") - _value(before, jobs, status="failed") == 1
    assert _value(after, jobs, status="refused") - _value(before, jobs, status="refused") == 1
    assert _value(after, "edh_sandbox_jobs_running") == _value(before, "edh_sandbox_jobs_running")
    count = "edh_sandbox_job_duration_seconds_count"
    assert _value(after, count) - _value(before, count) == 2


def test_metrics_refuses_other_methods_with_problem_json(hub_client: TestClient) -> None:
    resp = hub_client.post("/metrics", content=b"x")
    assert resp.status_code == 405
    assert resp.headers["content-type"] == "application/problem+json"


@pytest.fixture
def connector_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ConnectorSettings(dev_mode=True, data_dir=tmp_path)
    with TestClient(create_connector_app(settings)) as c:
        yield c


def test_connector_app_exposes_its_series_and_counts(connector_client: TestClient) -> None:
    client = connector_client
    assert _families(client).items() >= CONNECTOR_SERIES.items()
    before = _scrape(client)
    assert client.get("/xapi/about").status_code == 200
    cmetrics.record_statements("accepted", 1)
    cmetrics.record_batch("uploaded", rows=1000, seconds=0.4)
    cmetrics.set_spool_lag(17)
    after = _scrape(client)
    req = {"method": "GET", "route": "/xapi/about", "status": "200"}
    name = "edh_connector_http_requests_total"
    assert _value(after, name, **req) - _value(before, name, **req) == 1
    stmts = "edh_connector_statements_total"
    assert _value(after, stmts, outcome="accepted") - _value(before, stmts, outcome="accepted") == 1
    rows = "edh_connector_batch_rows_total"
    assert (
        _value(after, rows, outcome="uploaded") - _value(before, rows, outcome="uploaded") == 1000
    )
    assert _value(after, "edh_connector_spool_lag") == 17
