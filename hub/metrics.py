"""Prometheus metrics of the hub: the series, the functions areas call, ``GET /metrics``.

Every hub process keeps its own series in :data:`REGISTRY` (one process per container or
pod; Prometheus scrapes each replica and sums). Areas never touch the metric objects:
they call the small functions below, which are cheap (a lock and an add) and never raise.

Series (all prefixed ``edh_``):

- ``edh_http_requests_total{method,route,status}`` and
  ``edh_http_request_duration_seconds{method,route}``: every HTTP request, labelled by the
  route *template* (``/api/v1/organisations/{org_id}``), never the raw path.
- ``edh_policy_decisions_total{decision,result}``: :func:`record_policy_decision`.
- ``edh_batches_total{state}`` and ``edh_batch_rows_total{state}``: :func:`record_batch`.
- ``edh_queue_lag{consumer}``: :func:`set_queue_lag` (messages not yet consumed).
- ``edh_sandbox_jobs_total{status}``, ``edh_sandbox_jobs_running`` and
  ``edh_sandbox_job_duration_seconds``: :func:`sandbox_job` (a context manager) or
  :func:`record_sandbox_job`.

``GET /metrics`` is public on the hub's own port, like ``/health``: it carries counts and
route templates, never personal data. The production proxy does not forward it; only the
internal network (Prometheus) reaches it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp

from contracts import http_metrics

REGISTRY = CollectorRegistry(auto_describe=True)
"""The hub's series; separate from prometheus_client's global registry on purpose."""

UNMATCHED_ROUTE = http_metrics.UNMATCHED_ROUTE

HTTP_REQUESTS = Counter(
    "edh_http_requests",
    "HTTP requests answered by the hub.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "edh_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    registry=REGISTRY,
)
POLICY_DECISIONS = Counter(
    "edh_policy_decisions",
    "Policy decisions taken, by decision path and result (allow/deny).",
    ["decision", "result"],
    registry=REGISTRY,
)
BATCHES = Counter(
    "edh_batches", "Ingestion batches, by state reached.", ["state"], registry=REGISTRY
)
BATCH_ROWS = Counter(
    "edh_batch_rows", "Statements in ingestion batches, by state.", ["state"], registry=REGISTRY
)
QUEUE_LAG = Gauge(
    "edh_queue_lag",
    "Messages published but not yet processed, per consumer.",
    ["consumer"],
    registry=REGISTRY,
)
SANDBOX_JOBS = Counter(
    "edh_sandbox_jobs", "Sandbox query jobs finished, by status.", ["status"], registry=REGISTRY
)
SANDBOX_RUNNING = Gauge(
    "edh_sandbox_jobs_running", "Sandbox query jobs running now.", registry=REGISTRY
)
SANDBOX_DURATION = Histogram(
    "edh_sandbox_job_duration_seconds",
    "Wall time of sandbox query jobs.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)


def record_policy_decision(decision: str, allowed: bool) -> None:
    """Count one policy decision, e.g. ``("edh/sandbox/query", False)``."""
    POLICY_DECISIONS.labels(decision=decision, result="allow" if allowed else "deny").inc()


def record_batch(state: str, rows: int = 0) -> None:
    """Count one batch reaching ``state`` (``registered``, ``completed``, ``quarantined``...).

    ``rows`` (statements in the batch, ≥ 0) is added to ``edh_batch_rows_total``.
    """
    BATCHES.labels(state=state).inc()
    BATCH_ROWS.labels(state=state).inc(max(rows, 0))


def set_queue_lag(consumer: str, lag: int) -> None:
    """Publish how many messages ``consumer`` has still to process (negative reads as 0)."""
    QUEUE_LAG.labels(consumer=consumer).set(max(lag, 0))


def record_sandbox_job(status: str, seconds: float) -> None:
    """Count one finished sandbox job (``succeeded``, ``failed``, ``refused``, ``timeout``)."""
    SANDBOX_JOBS.labels(status=status).inc()
    SANDBOX_DURATION.observe(max(seconds, 0.0))


@contextmanager
def sandbox_job() -> Iterator[dict[str, str]]:
    """Track a running sandbox job; set ``state["status"]`` inside, default ``succeeded``.

    An exception escaping the block counts the job as ``failed`` and propagates.
    """
    state = {"status": "succeeded"}
    SANDBOX_RUNNING.inc()
    start = time.perf_counter()
    try:
        yield state
    except BaseException:
        state["status"] = "failed"
        raise
    finally:
        SANDBOX_RUNNING.dec()
        record_sandbox_job(state["status"], time.perf_counter() - start)


class RequestMetricsMiddleware(http_metrics.RequestMetricsMiddleware):
    """Counts every hub request in ``edh_http_requests_total`` and its duration."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, HTTP_REQUESTS, HTTP_DURATION)


router = http_metrics.metrics_router(REGISTRY)
"""``GET /metrics``: the hub's series (public, see the module docstring)."""
