"""Prometheus plumbing shared by the hub and the connector (which never import each other).

Each process keeps its own series in its own ``CollectorRegistry`` (``hub.metrics``,
``connector.metrics``); this module only gives them the two HTTP pieces they have in
common: a middleware that counts requests by route template, and the ``GET /metrics``
router.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's template (set by FastAPI routing), or ``unmatched``.

    Labels never carry the raw path, so identifiers in URLs cannot leak into metrics and
    the number of series stays bounded.
    """
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    """ASGI middleware: ``requests{method,route,status}`` and optionally
    ``duration{method,route}`` for every HTTP request (counted even when the app raises)."""

    def __init__(self, app: ASGIApp, requests: Counter, duration: Histogram | None = None) -> None:
        self.app = app
        self.requests = requests
        self.duration = duration

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def observe_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe_status)
        finally:
            self._record(scope, status[0], time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = str(scope.get("method", "")), route_template(scope)
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        if self.duration is not None:
            self.duration.labels(method=method, route=route).observe(seconds)


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """A router serving ``GET /metrics``: ``registry`` in the Prometheus text format.

    Public on the process's own port (counts and route templates only); the production
    proxy does not forward it.
    """
    router = APIRouter(tags=["system"])

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
