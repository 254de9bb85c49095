"""Prometheus metrics of the connector: the series, the functions to call, ``GET /metrics``.

The connector's app includes :data:`router` and wraps itself in
:class:`RequestMetricsMiddleware`; its pipeline calls the small functions below (cheap,
never raising). Series live in :data:`REGISTRY`, separate from the global registry.

Series (all prefixed ``edh_connector_``):

- ``edh_connector_http_requests_total{method,route,status}``: every xAPI request, by route
  template (``/xapi/statements``), never the raw path or query string.
- ``edh_connector_statements_total{outcome}``: :func:`record_statements`
  (``accepted``, ``rejected``, ``voided``).
- ``edh_connector_batches_total{outcome}``, ``edh_connector_batch_rows_total{outcome}`` and
  ``edh_connector_upload_duration_seconds``: :func:`record_batch`
  (``uploaded``, ``failed``, ``refused``).
- ``edh_connector_spool_lag``: :func:`set_spool_lag`, statements spooled and not yet
  uploaded (the connector's queue lag).

``GET /metrics`` is public on the connector's port: counts only, no statement content.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp

from contracts import http_metrics

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "edh_connector_http_requests",
    "HTTP requests answered by the connector.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
STATEMENTS = Counter(
    "edh_connector_statements",
    "xAPI statements received, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
BATCHES = Counter(
    "edh_connector_batches", "Batches sent to the hub, by outcome.", ["outcome"], registry=REGISTRY
)
BATCH_ROWS = Counter(
    "edh_connector_batch_rows",
    "Statements in batches sent to the hub, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
UPLOAD_DURATION = Histogram(
    "edh_connector_upload_duration_seconds",
    "Time to build, sign and upload one batch.",
    registry=REGISTRY,
)
SPOOL_LAG = Gauge(
    "edh_connector_spool_lag",
    "Statements in the spool not yet uploaded to the lake.",
    registry=REGISTRY,
)


def record_statements(outcome: str, count: int) -> None:
    """Count ``count`` (≥ 0) statements with ``outcome``."""
    STATEMENTS.labels(outcome=outcome).inc(max(count, 0))


def record_batch(outcome: str, rows: int, seconds: float) -> None:
    """Count one batch of ``rows`` statements that took ``seconds`` and ended in ``outcome``."""
    BATCHES.labels(outcome=outcome).inc()
    BATCH_ROWS.labels(outcome=outcome).inc(max(rows, 0))
    UPLOAD_DURATION.observe(max(seconds, 0.0))


def set_spool_lag(statements: int) -> None:
    """Publish the spool's backlog: highest sequence minus the uploader's cursor."""
    SPOOL_LAG.set(max(statements, 0))


class RequestMetricsMiddleware(http_metrics.RequestMetricsMiddleware):
    """Counts every connector request in ``edh_connector_http_requests_total``."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, HTTP_REQUESTS)


router = http_metrics.metrics_router(REGISTRY)
"""``GET /metrics``: the connector's series."""
